//! Measures the null system call round trip.
#![no_std]
#![no_main]

use ostrog_rt::{println, sys};

ostrog_rt::main!(main);

const ROUNDS: u64 = 100_000;

fn main() -> i32 {
    // Warm up caches and TLB.
    for _ in 0..1000 {
        let _ = sys::null();
    }
    let mut best = u64::MAX;
    for _ in 0..5 {
        let start = sys::cycles();
        for _ in 0..ROUNDS {
            let _ = sys::null();
        }
        best = best.min(sys::cycles().wrapping_sub(start));
    }
    println!(
        "null-bench: {} counter ticks per null system call round trip (best of 5 x {ROUNDS})",
        best / ROUNDS
    );
    0
}
