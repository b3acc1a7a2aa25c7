//! The generator of kl.EntropyEntity (docs/services.md), apart from where its seeds come
//! from, so that it is tested on the host.
//!
//! ChaCha20 (`rand_chacha`) keyed with 32 bytes. Three rules keep what it gives hard to
//! predict or recompute:
//! * **reseed**: after [`RESEED_BYTES`] bytes or [`RESEED_NS`] nanoseconds the key becomes
//!   the generator's next 32 bytes XORed with 32 fresh bytes from the seed source (the
//!   kernel's generator, itself fed by RDRAND / RNDR and timing, XORed with a virtio-rng
//!   device's bytes where there is one: [`mix`]), so the key is at least as unpredictable as
//!   either input;
//! * **fast key erasure**: after every request the key becomes the generator's next 32 bytes,
//!   so the server's memory, read later, does not reveal bytes it already gave;
//! * **bounds**: one request gives at most [`GET_RANDOM_MAX`] bytes; more is refused, not
//!   cut short, so a client always gets what it asked for or an error.
#![cfg_attr(not(test), no_std)]

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Most bytes one request gives (`GetRandomMax` of kl.Entropy).
pub const GET_RANDOM_MAX: usize = 4096;
/// Bytes given between two reseeds (`ReseedBytes`).
pub const RESEED_BYTES: u64 = 1 << 20;
/// Nanoseconds between two reseeds (`ReseedSeconds`).
pub const RESEED_NS: u64 = 60 * 1_000_000_000;

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// More than [`GET_RANDOM_MAX`] bytes asked for.
    TooMany,
    /// The seed source failed when a reseed was due: nothing is given until it works again.
    NoSeed,
}

/// A seed from the kernel's generator and, where there is one, 32 bytes of a hardware
/// source (a virtio-rng device): XORed, so that the seed is at least as unpredictable as
/// the better of two independent sources.
pub fn mix(kernel: [u8; 32], device: Option<[u8; 32]>) -> [u8; 32] {
    let mut seed = kernel;
    if let Some(device) = device {
        for (s, d) in seed.iter_mut().zip(device) {
            *s ^= d;
        }
    }
    seed
}

/// The generator and when it was last reseeded.
pub struct Generator {
    rng: ChaCha20Rng,
    /// Bytes given since the last reseed.
    given: u64,
    /// When (monotonic ns) the last reseed was.
    seeded_at: u64,
    /// Reseeds so far (the first keying counts).
    pub reseeds: u64,
}

impl Generator {
    /// A generator keyed with `seed` (32 bytes from the seed source) at time `now`.
    pub fn new(seed: [u8; 32], now: u64) -> Generator {
        Generator {
            rng: ChaCha20Rng::from_seed(seed),
            given: 0,
            seeded_at: now,
            reseeds: 1,
        }
    }

    /// Whether the next request must reseed first.
    pub fn reseed_due(&self, now: u64) -> bool {
        self.given >= RESEED_BYTES || now.saturating_sub(self.seeded_at) >= RESEED_NS
    }

    /// Mixes `fresh` (32 bytes from the seed source) into the key.
    pub fn reseed(&mut self, fresh: [u8; 32], now: u64) {
        let mut key = [0u8; 32];
        self.rng.fill_bytes(&mut key);
        for (k, f) in key.iter_mut().zip(fresh) {
            *k ^= f;
        }
        self.rng = ChaCha20Rng::from_seed(key);
        self.given = 0;
        self.seeded_at = now;
        self.reseeds += 1;
    }

    /// Fills `out` (at most [`GET_RANDOM_MAX`] bytes) at time `now`, reseeding first from
    /// `seed` when due, and rekeys afterwards.
    pub fn fill(
        &mut self,
        out: &mut [u8],
        now: u64,
        seed: impl FnOnce() -> Option<[u8; 32]>,
    ) -> Result<(), Refusal> {
        if out.len() > GET_RANDOM_MAX {
            return Err(Refusal::TooMany);
        }
        if self.reseed_due(now) {
            let fresh = seed().ok_or(Refusal::NoSeed)?;
            self.reseed(fresh, now);
        }
        self.rng.fill_bytes(out);
        self.given = self.given.saturating_add(out.len() as u64);
        let mut key = [0u8; 32];
        self.rng.fill_bytes(&mut key);
        self.rng = ChaCha20Rng::from_seed(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_seed_changes_the_key_and_no_device_leaves_the_kernels() {
        let kernel = [0x5a; 32];
        assert_eq!(mix(kernel, None), kernel);
        let mut device = [0u8; 32];
        device[3] = 0xff;
        let mixed = mix(kernel, Some(device));
        assert_ne!(mixed, kernel);
        assert_eq!(mixed[3], 0xa5);
        assert_eq!(mixed[..3], kernel[..3]);
        // A device that gives nothing but zeros cannot weaken the kernel's seed.
        assert_eq!(mix(kernel, Some([0; 32])), kernel);
    }

    #[test]
    fn requests_above_the_bound_are_refused_whole() {
        let mut g = Generator::new([1; 32], 0);
        let mut big = vec![0u8; GET_RANDOM_MAX + 1];
        assert_eq!(g.fill(&mut big, 0, || None), Err(Refusal::TooMany));
        assert!(big.iter().all(|&b| b == 0));
        let mut ok = vec![0u8; GET_RANDOM_MAX];
        assert_eq!(g.fill(&mut ok, 0, || None), Ok(()));
        assert!(ok.iter().any(|&b| b != 0));
    }

    #[test]
    fn each_request_rekeys_so_equal_seeds_diverge_from_a_plain_stream() {
        // The second request's bytes are not the continuation of the first key's stream.
        let mut g = Generator::new([7; 32], 0);
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        g.fill(&mut a, 0, || None).unwrap();
        g.fill(&mut b, 0, || None).unwrap();
        let mut plain = ChaCha20Rng::from_seed([7; 32]);
        let mut stream = [0u8; 128];
        plain.fill_bytes(&mut stream);
        assert_eq!(a[..], stream[..64]);
        assert_ne!(b[..], stream[64..]);
        assert_ne!(a, b);
    }

    #[test]
    fn reseeds_after_the_byte_budget_and_after_the_time_budget() {
        let mut g = Generator::new([3; 32], 0);
        let mut out = [0u8; GET_RANDOM_MAX];
        let mut asked = 0;
        for _ in 0..(RESEED_BYTES / GET_RANDOM_MAX as u64) {
            g.fill(&mut out, 0, || {
                asked += 1;
                Some([9; 32])
            })
            .unwrap();
        }
        assert_eq!((asked, g.reseeds), (0, 1));
        g.fill(&mut out, 0, || Some([9; 32])).unwrap();
        assert_eq!(g.reseeds, 2);
        g.fill(&mut out, RESEED_NS - 1, || None).unwrap();
        assert_eq!(g.reseeds, 2);
        g.fill(&mut out, RESEED_NS, || Some([5; 32])).unwrap();
        assert_eq!(g.reseeds, 3);
    }

    #[test]
    fn a_failed_seed_source_refuses_instead_of_giving_stale_bytes() {
        let mut g = Generator::new([3; 32], 0);
        let mut out = [0u8; 16];
        assert_eq!(g.fill(&mut out, RESEED_NS, || None), Err(Refusal::NoSeed));
        assert_eq!(out, [0; 16]);
        assert_eq!(g.fill(&mut out, RESEED_NS, || Some([1; 32])), Ok(()));
    }

    #[test]
    fn the_output_is_balanced() {
        // Monobit over 1 MiB: a working generator lands within a few standard deviations.
        let mut g = Generator::new([42; 32], 0);
        let mut ones = 0u64;
        let mut out = [0u8; GET_RANDOM_MAX];
        for _ in 0..256 {
            g.fill(&mut out, 0, || Some([0; 32])).unwrap();
            ones += out.iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
        }
        let n = 256 * GET_RANDOM_MAX as u64 * 8;
        let diff = (2 * ones as i64 - n as i64).unsigned_abs();
        // 4 sigma: sigma of (2*ones - n) is sqrt(n).
        assert!(diff * diff < 16 * n, "ones {ones} of {n}");
    }
}
