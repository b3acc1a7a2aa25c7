//! Code shared by the test programs.

#![no_std]

use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_time::TimeProxy;
use ostrog_rt::println;
use ostrog_rt::sys::CoreTransport;

/// The kernel's clock in milliseconds (`time.Now`; 0 if the call fails).
pub fn now_ms() -> u64 {
    let mut time = TimeProxy {
        transport: CoreTransport,
        riid: riid::TIME,
    };
    time.now().map(|n| n.ns / 1_000_000).unwrap_or(0)
}

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

/// Counter ticks a loop of exactly 2,000,000 instructions takes (a decrement and a
/// conditional branch, 1,000,000 times): under QEMU's `-icount shift=0` the benchmarks
/// turn counter ticks into instructions with it (one per TSC tick on x86_64; the AArch64
/// virtual counter ticks at CNTFRQ against a 1 GHz virtual clock).
pub fn ticks_per_two_million_instructions() -> u64 {
    let start = ostrog_rt::sys::cycles();
    two_instruction_loop(1_000_000);
    ostrog_rt::sys::cycles().wrapping_sub(start)
}

#[inline(never)]
fn two_instruction_loop(n: u64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: changes only the register it is given and the flags.
    unsafe {
        core::arch::asm!("2:", "sub {0}, 1", "jnz 2b", inout(reg) n => _, options(nomem, nostack));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: changes only the register it is given and the flags.
    unsafe {
        core::arch::asm!("2:", "subs {0}, {0}, #1", "b.ne 2b", inout(reg) n => _, options(nomem, nostack));
    }
}
