//! Measures the null system call round trip, and a `futex.Wake` with no waiter (the
//! cheapest core request: a `Call` to the kernel, judged by the security module).
#![no_std]
#![no_main]

use core::sync::atomic::AtomicU32;

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
    // `ticks=` and `loop=` are what `cargo xtask bench syscall` reads.
    println!(
        "null-bench: {} counter ticks per null system call round trip (best of 5 x {ROUNDS}) \
         ticks={best} rounds={ROUNDS} loop={}",
        best / ROUNDS,
        selftest::ticks_per_two_million_instructions()
    );
    let word = AtomicU32::new(0);
    const WAKES: u64 = ROUNDS / 10;
    let mut best = u64::MAX;
    for _ in 0..5 {
        let start = sys::cycles();
        for _ in 0..WAKES {
            let _ = sys::futex_wake(&word, 1);
        }
        best = best.min(sys::cycles().wrapping_sub(start));
    }
    println!(
        "futex-bench: {} counter ticks per futex.Wake with no waiter (best of 5 x {WAKES}) \
         ticks={best} rounds={WAKES} loop={}",
        best / WAKES,
        selftest::ticks_per_two_million_instructions()
    );
    0
}
