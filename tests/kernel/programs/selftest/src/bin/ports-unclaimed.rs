//! Reads an I/O port it never claimed (the CMOS data port 0x71, claimed meanwhile by the
//! `ports` program): the TSS's I/O bitmap denies it, so the process must be killed with a
//! report (a general protection fault) while `ports` goes on. Nothing to do on AArch64,
//! which has no I/O ports.
#![no_std]
#![no_main]

use ostrog_rt::println;

ostrog_rt::main!(main);

#[cfg(target_arch = "x86_64")]
fn main() -> i32 {
    // Let `ports` claim its ports first: they are loaded while it runs, never for us.
    let _ = ostrog_rt::sys::sleep_ms(100);
    println!("ports-unclaimed: reading port 0x71 without a claim");
    let value: u8;
    // SAFETY: deliberately not allowed: the port is not ours, so the `in` raises #GP and the
    // kernel kills this process. No memory is touched.
    unsafe { core::arch::asm!("in al, dx", in("dx") 0x71u16, out("al") value) };
    println!("ports-unclaimed: SURVIVED, read {value:#x}");
    0
}

#[cfg(target_arch = "aarch64")]
fn main() -> i32 {
    println!("ports-unclaimed: no I/O ports on aarch64");
    0
}
