//! The conformance checks' common part for the Rust programs: raw Linux system calls and
//! the case lines.
//!
//! Each case prints `PROGRAM: ok NAME` or `PROGRAM: FAIL NAME: got G expected E`, and the
//! program ends with `PROGRAM: done N cases, F failed` and status 0. The same executable
//! runs on the Linux host and on Ostrog; the test compares the lines, so a case prints
//! values only when it fails.

use std::cell::Cell;

/// Linux error numbers used by the cases (the same on both architectures).
pub mod errno {
    pub const EPERM: i64 = 1;
    pub const ENOENT: i64 = 2;
    pub const EBADF: i64 = 9;
    pub const EAGAIN: i64 = 11;
    pub const ENOMEM: i64 = 12;
    pub const EFAULT: i64 = 14;
    pub const EEXIST: i64 = 17;
    pub const EINVAL: i64 = 22;
    pub const ENOTTY: i64 = 25;
    pub const ESPIPE: i64 = 29;
    pub const EPIPE: i64 = 32;
    pub const ERANGE: i64 = 34;
    pub const ENOSYS: i64 = 38;
    pub const ETIMEDOUT: i64 = 110;
}

/// The system-call numbers the cases use, for the architecture built for.
#[cfg(target_arch = "x86_64")]
pub mod nr {
    pub const READ: u64 = 0;
    pub const WRITE: u64 = 1;
    pub const CLOSE: u64 = 3;
    pub const LSEEK: u64 = 8;
    pub const MMAP: u64 = 9;
    pub const MPROTECT: u64 = 10;
    pub const MUNMAP: u64 = 11;
    pub const BRK: u64 = 12;
    pub const RT_SIGACTION: u64 = 13;
    pub const RT_SIGPROCMASK: u64 = 14;
    pub const IOCTL: u64 = 16;
    pub const READV: u64 = 19;
    pub const WRITEV: u64 = 20;
    pub const SCHED_YIELD: u64 = 24;
    pub const MADVISE: u64 = 28;
    pub const GETPID: u64 = 39;
    pub const UNAME: u64 = 63;
    pub const FCNTL: u64 = 72;
    pub const GETCWD: u64 = 79;
    pub const GETUID: u64 = 102;
    pub const SIGALTSTACK: u64 = 131;
    pub const ARCH_PRCTL: u64 = 158;
    pub const GETTID: u64 = 186;
    pub const FUTEX: u64 = 202;
    pub const SCHED_GETAFFINITY: u64 = 204;
    pub const SET_TID_ADDRESS: u64 = 218;
    pub const CLOCK_GETTIME: u64 = 228;
    pub const CLOCK_GETRES: u64 = 229;
    pub const CLOCK_NANOSLEEP: u64 = 230;
    pub const READLINKAT: u64 = 267;
    pub const PPOLL: u64 = 271;
    pub const SET_ROBUST_LIST: u64 = 273;
    pub const PRLIMIT64: u64 = 302;
    pub const GETRANDOM: u64 = 318;
    pub const NANOSLEEP: u64 = 35;
    pub const DUP: u64 = 32;
    pub const PIPE2: u64 = 293;
}

/// The system-call numbers the cases use, for the architecture built for.
#[cfg(target_arch = "aarch64")]
pub mod nr {
    pub const READ: u64 = 63;
    pub const WRITE: u64 = 64;
    pub const CLOSE: u64 = 57;
    pub const LSEEK: u64 = 62;
    pub const MMAP: u64 = 222;
    pub const MPROTECT: u64 = 226;
    pub const MUNMAP: u64 = 215;
    pub const BRK: u64 = 214;
    pub const RT_SIGACTION: u64 = 134;
    pub const RT_SIGPROCMASK: u64 = 135;
    pub const IOCTL: u64 = 29;
    pub const READV: u64 = 65;
    pub const WRITEV: u64 = 66;
    pub const SCHED_YIELD: u64 = 124;
    pub const MADVISE: u64 = 233;
    pub const GETPID: u64 = 172;
    pub const UNAME: u64 = 160;
    pub const FCNTL: u64 = 25;
    pub const GETCWD: u64 = 17;
    pub const GETUID: u64 = 174;
    pub const SIGALTSTACK: u64 = 132;
    pub const GETTID: u64 = 178;
    pub const FUTEX: u64 = 98;
    pub const SCHED_GETAFFINITY: u64 = 123;
    pub const SET_TID_ADDRESS: u64 = 96;
    pub const CLOCK_GETTIME: u64 = 113;
    pub const CLOCK_GETRES: u64 = 114;
    pub const CLOCK_NANOSLEEP: u64 = 115;
    pub const READLINKAT: u64 = 78;
    pub const PPOLL: u64 = 73;
    pub const SET_ROBUST_LIST: u64 = 99;
    pub const PRLIMIT64: u64 = 261;
    pub const GETRANDOM: u64 = 278;
    pub const NANOSLEEP: u64 = 101;
    pub const DUP: u64 = 23;
    pub const PIPE2: u64 = 59;
}

/// A raw system call with up to six arguments: the kernel's result, `-errno` on failure.
///
/// # Safety
/// The call may read or write memory the arguments point at, or change the process.
#[cfg(target_arch = "x86_64")]
pub unsafe fn syscall(n: u64, a: [u64; 6]) -> i64 {
    let ret: i64;
    core::arch::asm!(
        "syscall",
        inlateout("rax") n as i64 => ret,
        in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
        in("r10") a[3], in("r8") a[4], in("r9") a[5],
        lateout("rcx") _, lateout("r11") _,
        options(nostack),
    );
    ret
}

/// A raw system call with up to six arguments: the kernel's result, `-errno` on failure.
///
/// # Safety
/// The call may read or write memory the arguments point at, or change the process.
#[cfg(target_arch = "aarch64")]
pub unsafe fn syscall(n: u64, a: [u64; 6]) -> i64 {
    let ret: i64;
    core::arch::asm!(
        "svc 0",
        in("x8") n,
        inlateout("x0") a[0] as i64 => ret,
        in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
        options(nostack),
    );
    ret
}

/// `syscall` with fewer arguments (the rest 0).
///
/// # Safety
/// As for [`syscall`].
pub unsafe fn sys(n: u64, args: &[u64]) -> i64 {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    syscall(n, a)
}

/// The cases of one program.
pub struct Conf {
    program: &'static str,
    cases: Cell<u32>,
    failed: Cell<u32>,
}

impl Conf {
    pub fn new(program: &'static str) -> Conf {
        Conf {
            program,
            cases: Cell::new(0),
            failed: Cell::new(0),
        }
    }

    /// One case: `got` must be `expected`.
    pub fn check(&self, name: &str, got: i64, expected: i64) {
        self.cases.set(self.cases.get() + 1);
        if got == expected {
            println!("{}: ok {name}", self.program);
        } else {
            self.failed.set(self.failed.get() + 1);
            println!(
                "{}: FAIL {name}: got {got} expected {expected}",
                self.program
            );
        }
    }

    /// One case whose condition must hold.
    pub fn check_true(&self, name: &str, holds: bool) {
        self.check(name, i64::from(holds), 1);
    }

    /// One case: the call must fail with `errno`.
    pub fn check_err(&self, name: &str, got: i64, errno: i64) {
        self.check(name, got, -errno);
    }

    /// The last line; the program then exits with status 0.
    pub fn done(self) {
        println!(
            "{}: done {} cases, {} failed",
            self.program,
            self.cases.get(),
            self.failed.get()
        );
    }
}

/// A `struct timespec` as the kernel reads and writes it.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

impl Timespec {
    pub fn ns(&self) -> i128 {
        i128::from(self.sec) * 1_000_000_000 + i128::from(self.nsec)
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds.
pub fn monotonic_ns() -> i128 {
    let mut t = Timespec::default();
    // SAFETY: the kernel writes one timespec into `t`.
    unsafe { sys(nr::CLOCK_GETTIME, &[1, &mut t as *mut Timespec as u64]) };
    t.ns()
}
