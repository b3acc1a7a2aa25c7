//! Raises interrupt vectors by software: `int 0x11` (the alignment-check exception's
//! number) on x86_64, whose gate user mode may not use: a general protection fault that
//! kills this process and nothing else. AArch64 has no such instruction; there it makes a
//! hypervisor call (`hvc`), undefined at EL0, with the same outcome.
#![no_std]
#![no_main]

use ostrog_rt::println;

ostrog_rt::main!(main);

fn main() -> i32 {
    println!("soft-int: raising a vector from user mode");
    // SAFETY: deliberately refused by the CPU: the process must be killed right here; no
    // memory is touched.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!("int 0x11")
    };
    // SAFETY: as above: `hvc` is undefined at EL0.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("hvc #0")
    };
    println!("soft-int: SURVIVED");
    0
}
