//! The kernel's random numbers (`entropy.Read`, and so Linux `getrandom`).
//!
//! A ChaCha20 generator (`rand_chacha`), keyed at boot from the CPU's random-number
//! generator where there is one (`RDRAND` on x86_64, `RNDR` on AArch64 with FEAT_RNG) and
//! from cycle-counter samples always. Before every read it is rekeyed from its own output
//! mixed with a fresh counter sample and hardware value ("fast key erasure"): what it gave
//! earlier cannot be recomputed from its state later. On a CPU without a random-number
//! generator the key comes from timing alone, which is weak; the banner says which.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use spin::Mutex;

use crate::arch;

static GENERATOR: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

/// XORs a fresh cycle-counter sample and hardware value into `key`.
fn stir(key: &mut [u8; 32]) -> bool {
    let hardware = arch::hardware_random();
    let samples = [
        arch::cycles(),
        hardware.unwrap_or(0),
        arch::hardware_random().unwrap_or(0),
        arch::cycles().rotate_left(32),
    ];
    for (chunk, sample) in key.chunks_exact_mut(8).zip(samples) {
        for (byte, s) in chunk.iter_mut().zip(sample.to_le_bytes()) {
            *byte ^= s;
        }
    }
    hardware.is_some()
}

/// Keys the generator; the source it used, for the boot log.
pub fn init() -> &'static str {
    let mut key = [0u8; 32];
    let hardware = stir(&mut key);
    *GENERATOR.lock() = Some(ChaCha20Rng::from_seed(key));
    match (hardware, arch::NAME) {
        (true, "x86_64") => "ChaCha20 keyed from RDRAND and timing",
        (true, _) => "ChaCha20 keyed from RNDR and timing",
        (false, _) => {
            "ChaCha20 keyed from timing only (this CPU has no random-number generator: weak)"
        }
    }
}

/// Fills `out` with random bytes.
pub fn fill(out: &mut [u8]) {
    let mut generator = GENERATOR.lock();
    let rng = generator.get_or_insert_with(|| ChaCha20Rng::from_seed([0; 32]));
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    stir(&mut key);
    *rng = ChaCha20Rng::from_seed(key);
    rng.fill_bytes(out);
}
