//! Code shared by the test programs.

#![no_std]

use ostrog_rt::println;

/// Busy work that the compiler cannot remove.
pub fn spin(iterations: u64) -> u64 {
    let mut x = 0u64;
    for i in 0..iterations {
        x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    x
}

/// Prints `lines` numbered lines tagged `name`, with busy work (and no system call other than
/// the print) in between: the program never yields, so any interleaving with another spinner
/// is the scheduler's preemption.
pub fn spinner(name: &str, lines: u32) -> i32 {
    for i in 0..lines {
        println!("{name} {i}");
        spin(3_000_000);
    }
    println!("{name} done");
    0
}
