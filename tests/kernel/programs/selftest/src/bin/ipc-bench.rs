//! Measures the Call+Reply round trip between two processes, through the security hook.
//! The request is the smallest well-formed message (a header); the server answers with the
//! same. The figure is the best of several batches, in the CPU's counter ticks, with the
//! ticks of a loop of known length to turn them into instructions under `-icount shift=0`.
#![no_std]
#![no_main]

use ostrog_abi::message::{Header, HEADER_SIZE};
use ostrog_abi::TIMEOUT_FOREVER;
use ostrog_rt::println;
use ostrog_rt::sys::{self, Channel};

ostrog_rt::main!(main);

const ROUNDS: u64 = 20_000;

fn main() -> i32 {
    let Ok(channel) = Channel::lookup("bench") else {
        println!("ipc-bench: no channel named bench");
        return 1;
    };
    let mut request = [0u8; HEADER_SIZE];
    Header::default().write(&mut request);
    let mut response = [0u8; 256];
    for _ in 0..1000 {
        if sys::call(channel.handle, &request, &mut response, TIMEOUT_FOREVER).is_err() {
            println!("ipc-bench: the warm-up call failed");
            return 1;
        }
    }
    let mut best = u64::MAX;
    for _ in 0..5 {
        let start = sys::cycles();
        for _ in 0..ROUNDS {
            let _ = sys::call(channel.handle, &request, &mut response, TIMEOUT_FOREVER);
        }
        best = best.min(sys::cycles().wrapping_sub(start));
    }
    // `ticks=` and `loop=` are what `cargo xtask bench ipc` reads.
    println!(
        "ipc-bench: {} counter ticks per Call+Reply round trip (best of 5 x {ROUNDS}) \
         ticks={best} rounds={ROUNDS} loop={}",
        best / ROUNDS,
        selftest::ticks_per_two_million_instructions()
    );
    0
}
