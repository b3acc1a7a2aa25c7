//! Reads kernel memory: must be killed with a report.
#![no_std]
#![no_main]

use ostrog_rt::println;

ostrog_rt::main!(main);

/// An address in the kernel's half where the kernel image lives.
#[cfg(target_arch = "x86_64")]
const KERNEL_ADDRESS: usize = 0xffff_ffff_8020_0000;
#[cfg(target_arch = "aarch64")]
const KERNEL_ADDRESS: usize = 0xffff_ff80_4020_0000;

fn main() -> i32 {
    println!("fault-kernel-read: reading {KERNEL_ADDRESS:#x}");
    // SAFETY: deliberately invalid: the kernel must stop this program here.
    let value = unsafe { core::ptr::read_volatile(KERNEL_ADDRESS as *const u64) };
    println!("fault-kernel-read: SURVIVED, read {value:#x}");
    0
}
