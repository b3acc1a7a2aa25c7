//! Jumps to an unmapped address: must be killed with a report.
#![no_std]
#![no_main]

use ostrog_rt::println;

ostrog_rt::main!(main);

const UNMAPPED: usize = 0x5000_0000;

fn main() -> i32 {
    println!("fault-jump: jumping to {UNMAPPED:#x}");
    // SAFETY: deliberately invalid: nothing is mapped there, so the fetch faults.
    let f: extern "C" fn() = unsafe { core::mem::transmute(UNMAPPED) };
    f();
    println!("fault-jump: SURVIVED");
    0
}
