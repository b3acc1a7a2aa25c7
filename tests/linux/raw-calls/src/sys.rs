//! Linux system calls made directly, without the C library, and the CPU's counter.

#![allow(dead_code)]

#[cfg(target_arch = "x86_64")]
pub mod nr {
    pub const MMAP: usize = 9;
    pub const MPROTECT: usize = 10;
    pub const MUNMAP: usize = 11;
    pub const GETPID: usize = 39;
    pub const FUTEX: usize = 202;
}

#[cfg(target_arch = "aarch64")]
pub mod nr {
    pub const FUTEX: usize = 98;
    pub const GETPID: usize = 172;
    pub const MUNMAP: usize = 215;
    pub const MMAP: usize = 222;
    pub const MPROTECT: usize = 226;
}

/// A number no Linux architecture uses (x86_64 and AArch64 stop below 500).
pub const UNKNOWN: usize = 1000;

pub const PROT_READ: usize = 1;
pub const PROT_WRITE: usize = 2;
pub const PROT_EXEC: usize = 4;
pub const MAP_PRIVATE: usize = 2;
pub const MAP_FIXED: usize = 0x10;
pub const MAP_ANONYMOUS: usize = 0x20;
pub const MAP_FIXED_NOREPLACE: usize = 0x10_0000;
pub const FUTEX_WAIT_PRIVATE: usize = 128;
pub const FUTEX_WAKE_PRIVATE: usize = 129;

/// System call `nr` with six arguments; the raw result (`-errno` on failure).
#[inline(always)]
pub fn syscall(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a Linux system call; the calls made here (getpid, futex, mmap, mprotect,
    // munmap, an unknown number) touch no memory the program relies on except what the
    // caller passes for that purpose.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

/// The name of an errno (the negated result of a failed call).
pub fn errno_name(ret: isize) -> String {
    match -ret {
        1 => "EPERM".into(),
        12 => "ENOMEM".into(),
        13 => "EACCES".into(),
        22 => "EINVAL".into(),
        38 => "ENOSYS".into(),
        e => format!("errno {e}"),
    }
}

/// The CPU's counter: the TSC on x86_64, the virtual counter on AArch64.
#[inline(always)]
pub fn counter() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: rdtsc reads the time-stamp counter and has no other effect.
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
    #[cfg(target_arch = "aarch64")]
    {
        let value: u64;
        // SAFETY: reads the virtual counter (readable at EL0 on Linux and Ostrog).
        unsafe { core::arch::asm!("isb", "mrs {0}, cntvct_el0", out(reg) value) };
        value
    }
}

/// The counter's frequency in Hz where the program can read it (AArch64 `CNTFRQ_EL0`).
pub fn counter_hz() -> Option<u64> {
    #[cfg(target_arch = "aarch64")]
    {
        let value: u64;
        // SAFETY: reads the counter frequency register, readable at EL0 with the counter.
        unsafe { core::arch::asm!("mrs {0}, cntfrq_el0", out(reg) value) };
        Some(value)
    }
    #[cfg(not(target_arch = "aarch64"))]
    None
}

/// Runs a loop of exactly `2 * n` instructions (a decrement and a conditional branch, `n`
/// times; `n` > 0): the counter ticks it takes tell how many instructions a tick is.
#[inline(never)]
pub fn two_instruction_loop(n: u64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: changes only the register it is given.
    unsafe {
        core::arch::asm!("2:", "sub {0}, 1", "jnz 2b", inout(reg) n => _, options(nomem, nostack));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: changes only the register it is given and the flags.
    unsafe {
        core::arch::asm!("2:", "subs {0}, {0}, #1", "b.ne 2b", inout(reg) n => _, options(nomem, nostack));
    }
}
