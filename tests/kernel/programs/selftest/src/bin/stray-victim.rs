//! Runs busy work in user mode for a while and checks every result, while the kernel's
//! `stray-interrupts` self test sends interrupts nothing handles (exception vectors 16-31,
//! unused vectors, an NMI; SGIs on AArch64): they must neither kill this process nor
//! disturb its registers.
#![no_std]
#![no_main]

use ostrog_rt::println;
use selftest::now_ms;

ostrog_rt::main!(main);

/// How long to keep busy: well past the self test's last interrupt (20 timer ticks).
const RUN_MS: u64 = 800;

fn main() -> i32 {
    let expected = selftest::spin(200_000);
    let start = now_ms();
    let (mut rounds, mut wrong) = (0u32, 0u32);
    while now_ms().saturating_sub(start) < RUN_MS {
        if selftest::spin(200_000) != expected {
            wrong += 1;
        }
        rounds += 1;
    }
    if wrong == 0 {
        println!("stray-victim: {rounds} rounds of busy work, every result right");
        0
    } else {
        println!("stray-victim: {wrong} of {rounds} results WRONG");
        1
    }
}
