//! Writes to its own code: must be killed with a report.
#![no_std]
#![no_main]

use ostrog_rt::println;

ostrog_rt::main!(main);

fn main() -> i32 {
    let code = main as *const () as *mut u8;
    println!(
        "fault-code-write: writing to my code at {:#x}",
        code as usize
    );
    // SAFETY: deliberately invalid: code pages are not writable.
    unsafe { core::ptr::write_volatile(code, 0) };
    println!("fault-code-write: SURVIVED");
    0
}
