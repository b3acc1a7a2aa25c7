//! The services' client (class entropy.Client): reads 64 KiB from kl.EntropyEntity (channel
//! `entropy`) and checks it three ways, printing the figures; makes the bad requests (one
//! byte over the bound); reads the wall clock of kl.RtcClock (channel `clock`) and prints it
//! as Unix seconds for the scenario to compare with the host's clock; sets it an hour ahead,
//! reads it back, and sets it back.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};
use ostrog_abi::TIMEOUT_FOREVER;
use ostrog_rt::client::{channel, refuser};
use ostrog_rt::idl::kl_core_core::riid as core_riid;
use ostrog_rt::idl::kl_core_time::TimeProxy;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;
use ostrog_rt::sys::{self, CoreTransport};

// Generated from the SDK tree's kl/: this program uses kl.Entropy and kl.WallClock.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_entropy::{EntropyProxy, GET_RANDOM_MAX, INVALID_ARGUMENT};
use idl::kl_wall_clock::WallClockProxy;

ostrog_rt::main!(main);

/// Bytes checked.
const SAMPLE: usize = 64 * 1024;

/// The figures of the three checks; each passes at a false-alarm rate of about 1 in 10^4
/// for a good generator.
struct Figures {
    ones: u64,
    bits: u64,
    runs: u64,
    chi_square: f64,
}

impl Figures {
    fn of(bytes: &[u8]) -> Figures {
        let bits = bytes.len() as u64 * 8;
        let ones = bytes.iter().map(|b| u64::from(b.count_ones())).sum();
        // Runs: maximal stretches of equal bits, counted as 1 + the bit changes.
        let mut runs = 1;
        let mut previous = bytes.first().map_or(0, |b| b & 1);
        for b in bytes {
            for i in 0..8 {
                let bit = (b >> i) & 1;
                if bit != previous {
                    runs += 1;
                }
                previous = bit;
            }
        }
        let mut counts = [0u64; 256];
        for &b in bytes {
            counts[b as usize] += 1;
        }
        let expected = bytes.len() as f64 / 256.0;
        let chi_square = counts
            .iter()
            .map(|&c| (c as f64 - expected) * (c as f64 - expected) / expected)
            .sum();
        Figures {
            ones,
            bits,
            runs,
            chi_square,
        }
    }

    /// Monobit (NIST SP 800-22 2.1): |ones - zeros| / sqrt(n) below 3.89.
    fn monobit(&self) -> (f64, bool) {
        let d = (2.0 * self.ones as f64 - self.bits as f64).abs();
        let s2 = d * d / self.bits as f64;
        (s2, s2 < 3.89 * 3.89)
    }

    /// Runs (SP 800-22 2.3): the runs' distance from 2n·p(1-p), in standard deviations
    /// 2·sqrt(2n)·p(1-p), below 3.89.
    fn runs(&self) -> (f64, bool) {
        let n = self.bits as f64;
        let p = self.ones as f64 / n;
        let q = p * (1.0 - p);
        let d = self.runs as f64 - 2.0 * n * q;
        let z2 = d * d / (8.0 * n * q * q);
        (z2, z2 < 3.89 * 3.89)
    }

    /// Chi-square of the byte counts, 255 degrees of freedom: inside (176, 346), the
    /// 0.005% and 99.995% points, neither too uneven nor too even.
    fn chi(&self) -> bool {
        self.chi_square > 176.0 && self.chi_square < 346.0
    }
}

/// A request to kl.EntropyEntity's endpoint: method `mid`, fixed part `fixed`.
fn message(mid: u32, fixed: &[u8]) -> Vec<u8> {
    let header = Header {
        riid: idl::kl_entropy_entity::riid::ENTROPY,
        mid,
        fixed_size: fixed.len() as u32,
        ..Header::default()
    };
    let mut bytes = alloc::vec![0u8; HEADER_SIZE];
    header.write(&mut bytes);
    bytes.extend_from_slice(fixed);
    bytes
}

/// A square root to a tenth, for printing (no floating-point library here).
fn root(x: f64) -> f64 {
    let mut r = if x > 1.0 { x / 2.0 } else { 1.0 };
    for _ in 0..40 {
        r = 0.5 * (r + x / r);
    }
    r
}

fn main() -> i32 {
    let (Some(entropy), Some(clock)) = (channel("client", "entropy"), channel("client", "clock"))
    else {
        return 1;
    };
    let mut rng = EntropyProxy {
        transport: entropy,
        riid: idl::kl_entropy_entity::riid::ENTROPY,
    };
    let mut clock = WallClockProxy {
        transport: clock,
        riid: idl::kl_rtc_clock::riid::CLOCK,
    };
    let mut failed = 0;

    let now = || {
        TimeProxy {
            transport: CoreTransport,
            riid: core_riid::TIME,
        }
        .now()
        .map_or(0, |r| r.ns)
    };
    let started = now();
    let mut sample = Vec::with_capacity(SAMPLE);
    while sample.len() < SAMPLE {
        match rng.get_random(GET_RANDOM_MAX) {
            Ok(r) if r.data.len() == GET_RANDOM_MAX as usize => sample.extend_from_slice(&r.data),
            Ok(r) => {
                println!(
                    "client: FAILED: asked {GET_RANDOM_MAX} bytes, got {}",
                    r.data.len()
                );
                return 1;
            }
            Err(e) => {
                println!("client: FAILED: GetRandom refused: {}", refuser(&e));
                return 1;
            }
        }
    }
    let took_ms = now().saturating_sub(started) / 1_000_000;
    println!(
        "client: {} requests of {GET_RANDOM_MAX} bytes took {took_ms} ms",
        SAMPLE / GET_RANDOM_MAX as usize
    );
    let f = Figures::of(&sample);
    let (mono, mono_ok) = f.monobit();
    let (runs, runs_ok) = f.runs();
    println!(
        "client: {} random bytes: {} ones of {} bits, monobit {:.2} sigma {}",
        sample.len(),
        f.ones,
        f.bits,
        root(mono),
        if mono_ok { "pass" } else { "FAILED" }
    );
    println!(
        "client: {} runs, runs test {:.2} sigma {}",
        f.runs,
        root(runs),
        if runs_ok { "pass" } else { "FAILED" }
    );
    println!(
        "client: chi-square of the byte counts {:.1} (255 degrees of freedom) {}",
        f.chi_square,
        if f.chi() { "pass" } else { "FAILED" }
    );
    failed += [mono_ok, runs_ok, f.chi()]
        .iter()
        .filter(|ok| !**ok)
        .count();

    // The bound: one byte more is refused whole; nothing is refused at zero.
    match rng.get_random(GET_RANDOM_MAX + 1) {
        Err(CallError::Remote(e)) if e.status == INVALID_ARGUMENT => {
            println!(
                "client: GetRandom({}) refused with errno 22",
                GET_RANDOM_MAX + 1
            )
        }
        other => {
            println!(
                "client: FAILED: GetRandom over the bound gave {:?}",
                other.map(|r| r.data.len())
            );
            failed += 1;
        }
    }
    match rng.get_random(0) {
        Ok(r) if r.data.is_empty() => println!("client: GetRandom(0) gives nothing"),
        _ => {
            println!("client: FAILED: GetRandom(0)");
            failed += 1;
        }
    }

    // Malformed requests (no fixed part; a method the interface lacks; a fixed part of the
    // wrong size): refused before the server sees them or answered with an error, and the
    // server keeps serving.
    let handle = rng.transport.handle;
    let malformed = [
        ("GetRandom without its size", message(0, &[])),
        ("a method kl.Entropy lacks", message(7, &[0; 8])),
        ("GetRandom with a 16-byte fixed part", message(0, &[0; 16])),
    ];
    for (what, bytes) in &malformed {
        let mut answer = [0u8; 256];
        match sys::call(handle, bytes, &mut answer, TIMEOUT_FOREVER) {
            Err(s) => println!("client: {what}: refused ({})", s.name()),
            Ok(n) => match Header::read(&answer[..n]) {
                Some(h) if h.flags & FLAG_ERROR != 0 => {
                    println!("client: {what}: error response")
                }
                _ => {
                    println!("client: FAILED: {what} was answered");
                    failed += 1;
                }
            },
        }
    }
    match rng.get_random(16) {
        Ok(r) if r.data.len() == 16 => println!("client: the service still serves"),
        _ => {
            println!("client: FAILED: the service stopped serving");
            failed += 1;
        }
    }

    // The wall clock, for the scenario to compare with the host's.
    let Ok(t) = clock.get_time() else {
        println!("client: FAILED: GetTime");
        return 1;
    };
    println!(
        "client: wall clock unix {} s {} ns",
        t.seconds, t.nanoseconds
    );
    // An hour ahead, read back, and back again (this class may set the clock).
    let ahead = t.seconds + 3600;
    let moved = clock
        .set_time(ahead, t.nanoseconds)
        .ok()
        .and_then(|_| clock.get_time().ok())
        .map(|now| now.seconds - t.seconds);
    match moved {
        Some(d) if (3600..3610).contains(&d) => println!("client: SetTime moved the clock {d} s"),
        other => {
            println!("client: FAILED: SetTime moved the clock {other:?} s");
            failed += 1;
        }
    }
    match clock.get_time() {
        Ok(now) if clock.set_time(now.seconds - 3600, now.nanoseconds).is_ok() => {}
        _ => {
            println!("client: FAILED: setting the clock back");
            failed += 1;
        }
    }
    match clock.set_time(-1, 0) {
        Err(CallError::Remote(e)) if e.status == INVALID_ARGUMENT => {
            println!("client: SetTime(-1) refused with errno 22")
        }
        _ => {
            println!("client: FAILED: SetTime(-1)");
            failed += 1;
        }
    }
    match clock.set_time(0, 1_000_000_000) {
        Err(CallError::Remote(e)) if e.status == INVALID_ARGUMENT => {
            println!("client: SetTime with 10^9 ns refused with errno 22")
        }
        _ => {
            println!("client: FAILED: SetTime with 10^9 ns");
            failed += 1;
        }
    }
    match clock.get_time() {
        Ok(t) => println!(
            "client: wall clock unix {} s {} ns",
            t.seconds, t.nanoseconds
        ),
        Err(_) => {
            println!("client: FAILED: GetTime");
            failed += 1;
        }
    }
    println!("client: done, {failed} failed");
    0
}
