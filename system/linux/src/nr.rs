//! Linux system-call numbers of x86_64 and AArch64 (they differ: AArch64 uses the generic
//! table, without the old calls such as `open`, `poll` or `getrlimit`'s x86 number).
//!
//! A small table written here rather than the `syscalls` crate: the personality needs only
//! the calls it handles, plus names for its "unsupported call" lines, and the numbers are
//! stable facts of the Linux ABI.

use crate::Arch;

/// The calls the personality knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sys {
    Read,
    Write,
    Readv,
    Writev,
    Close,
    Lseek,
    Ioctl,
    Fcntl,
    Poll,
    Ppoll,
    Mmap,
    Mprotect,
    Munmap,
    Mremap,
    Madvise,
    Brk,
    RtSigaction,
    RtSigprocmask,
    RtSigreturn,
    Sigaltstack,
    SchedYield,
    Nanosleep,
    ClockNanosleep,
    ClockGettime,
    ClockGetres,
    Gettimeofday,
    Getpid,
    Getppid,
    Gettid,
    Getuid,
    Geteuid,
    Getgid,
    Getegid,
    Clone,
    Clone3,
    Exit,
    ExitGroup,
    Kill,
    Tkill,
    Tgkill,
    Uname,
    Getcwd,
    Readlink,
    Readlinkat,
    Getrlimit,
    Prlimit64,
    ArchPrctl,
    Futex,
    SetTidAddress,
    SetRobustList,
    SchedGetaffinity,
    Getrandom,
    Openat,
    Open,
    Rseq,
    // Processes (`sys::proc`).
    Pipe,
    Pipe2,
    Fork,
    Vfork,
    Execve,
    Wait4,
    Waitid,
    Dup,
    Dup2,
    Dup3,
    Sysinfo,
    Prctl,
    SchedSetscheduler,
    SchedGetscheduler,
    SchedGetparam,
    Pause,
    // Signals between processes (`sys.rs`, `signal.rs`).
    RtSigpending,
    RtSigtimedwait,
    RtSigqueueinfo,
    RtSigsuspend,
}

use Sys::*;

/// x86_64 numbers (`arch/x86/entry/syscalls/syscall_64.tbl`).
const X86_64: &[(u64, Sys, &str)] = &[
    (0, Read, "read"),
    (1, Write, "write"),
    (2, Open, "open"),
    (3, Close, "close"),
    (7, Poll, "poll"),
    (8, Lseek, "lseek"),
    (9, Mmap, "mmap"),
    (10, Mprotect, "mprotect"),
    (11, Munmap, "munmap"),
    (12, Brk, "brk"),
    (13, RtSigaction, "rt_sigaction"),
    (14, RtSigprocmask, "rt_sigprocmask"),
    (15, RtSigreturn, "rt_sigreturn"),
    (16, Ioctl, "ioctl"),
    (19, Readv, "readv"),
    (20, Writev, "writev"),
    (24, SchedYield, "sched_yield"),
    (25, Mremap, "mremap"),
    (28, Madvise, "madvise"),
    (35, Nanosleep, "nanosleep"),
    (39, Getpid, "getpid"),
    (56, Clone, "clone"),
    (60, Exit, "exit"),
    (62, Kill, "kill"),
    (63, Uname, "uname"),
    (72, Fcntl, "fcntl"),
    (79, Getcwd, "getcwd"),
    (89, Readlink, "readlink"),
    (96, Gettimeofday, "gettimeofday"),
    (97, Getrlimit, "getrlimit"),
    (102, Getuid, "getuid"),
    (104, Getgid, "getgid"),
    (107, Geteuid, "geteuid"),
    (108, Getegid, "getegid"),
    (110, Getppid, "getppid"),
    (131, Sigaltstack, "sigaltstack"),
    (158, ArchPrctl, "arch_prctl"),
    (186, Gettid, "gettid"),
    (200, Tkill, "tkill"),
    (202, Futex, "futex"),
    (204, SchedGetaffinity, "sched_getaffinity"),
    (218, SetTidAddress, "set_tid_address"),
    (228, ClockGettime, "clock_gettime"),
    (229, ClockGetres, "clock_getres"),
    (230, ClockNanosleep, "clock_nanosleep"),
    (231, ExitGroup, "exit_group"),
    (234, Tgkill, "tgkill"),
    (257, Openat, "openat"),
    (267, Readlinkat, "readlinkat"),
    (271, Ppoll, "ppoll"),
    (273, SetRobustList, "set_robust_list"),
    (302, Prlimit64, "prlimit64"),
    (318, Getrandom, "getrandom"),
    (334, Rseq, "rseq"),
    (435, Clone3, "clone3"),
    (22, Pipe, "pipe"),
    (293, Pipe2, "pipe2"),
    (57, Fork, "fork"),
    (58, Vfork, "vfork"),
    (59, Execve, "execve"),
    (61, Wait4, "wait4"),
    (247, Waitid, "waitid"),
    (32, Dup, "dup"),
    (33, Dup2, "dup2"),
    (292, Dup3, "dup3"),
    (99, Sysinfo, "sysinfo"),
    (157, Prctl, "prctl"),
    (144, SchedSetscheduler, "sched_setscheduler"),
    (145, SchedGetscheduler, "sched_getscheduler"),
    (143, SchedGetparam, "sched_getparam"),
    (34, Pause, "pause"),
    (127, RtSigpending, "rt_sigpending"),
    (128, RtSigtimedwait, "rt_sigtimedwait"),
    (129, RtSigqueueinfo, "rt_sigqueueinfo"),
    (130, RtSigsuspend, "rt_sigsuspend"),
];

/// AArch64 numbers (the generic table, `include/uapi/asm-generic/unistd.h`).
const AARCH64: &[(u64, Sys, &str)] = &[
    (17, Getcwd, "getcwd"),
    (25, Fcntl, "fcntl"),
    (29, Ioctl, "ioctl"),
    (56, Openat, "openat"),
    (57, Close, "close"),
    (62, Lseek, "lseek"),
    (63, Read, "read"),
    (64, Write, "write"),
    (65, Readv, "readv"),
    (66, Writev, "writev"),
    (73, Ppoll, "ppoll"),
    (78, Readlinkat, "readlinkat"),
    (93, Exit, "exit"),
    (94, ExitGroup, "exit_group"),
    (96, SetTidAddress, "set_tid_address"),
    (98, Futex, "futex"),
    (99, SetRobustList, "set_robust_list"),
    (101, Nanosleep, "nanosleep"),
    (113, ClockGettime, "clock_gettime"),
    (114, ClockGetres, "clock_getres"),
    (115, ClockNanosleep, "clock_nanosleep"),
    (123, SchedGetaffinity, "sched_getaffinity"),
    (124, SchedYield, "sched_yield"),
    (129, Kill, "kill"),
    (130, Tkill, "tkill"),
    (131, Tgkill, "tgkill"),
    (132, Sigaltstack, "sigaltstack"),
    (134, RtSigaction, "rt_sigaction"),
    (135, RtSigprocmask, "rt_sigprocmask"),
    (139, RtSigreturn, "rt_sigreturn"),
    (160, Uname, "uname"),
    (163, Getrlimit, "getrlimit"),
    (169, Gettimeofday, "gettimeofday"),
    (172, Getpid, "getpid"),
    (173, Getppid, "getppid"),
    (174, Getuid, "getuid"),
    (175, Geteuid, "geteuid"),
    (176, Getgid, "getgid"),
    (177, Getegid, "getegid"),
    (178, Gettid, "gettid"),
    (214, Brk, "brk"),
    (215, Munmap, "munmap"),
    (216, Mremap, "mremap"),
    (220, Clone, "clone"),
    (222, Mmap, "mmap"),
    (226, Mprotect, "mprotect"),
    (233, Madvise, "madvise"),
    (261, Prlimit64, "prlimit64"),
    (278, Getrandom, "getrandom"),
    (293, Rseq, "rseq"),
    (435, Clone3, "clone3"),
    (59, Pipe2, "pipe2"),
    (221, Execve, "execve"),
    (260, Wait4, "wait4"),
    (95, Waitid, "waitid"),
    (23, Dup, "dup"),
    (24, Dup3, "dup3"),
    (179, Sysinfo, "sysinfo"),
    (167, Prctl, "prctl"),
    (119, SchedSetscheduler, "sched_setscheduler"),
    (120, SchedGetscheduler, "sched_getscheduler"),
    (121, SchedGetparam, "sched_getparam"),
    (133, RtSigsuspend, "rt_sigsuspend"),
    (136, RtSigpending, "rt_sigpending"),
    (137, RtSigtimedwait, "rt_sigtimedwait"),
    (138, RtSigqueueinfo, "rt_sigqueueinfo"),
];

fn table(arch: Arch) -> &'static [(u64, Sys, &'static str)] {
    match arch {
        Arch::X86_64 => X86_64,
        Arch::Aarch64 => AARCH64,
    }
}

/// The call with number `n` on `arch`, if the personality knows it.
pub fn decode(arch: Arch, n: u64) -> Option<Sys> {
    table(arch).iter().find(|e| e.0 == n).map(|e| e.1)
}

/// The Linux name of a known call.
pub fn name(arch: Arch, n: u64) -> Option<&'static str> {
    table(arch).iter().find(|e| e.0 == n).map(|e| e.2)
}

/// The number of `sys` on `arch` (`None` where the architecture has no such call).
pub fn number(arch: Arch, sys: Sys) -> Option<u64> {
    table(arch).iter().find(|e| e.1 == sys).map(|e| e.0)
}

/// Calls the personality knows by name but answers only with `ENOSYS` (reported once):
/// they are in the tables for their names, not implemented. The coverage report
/// (`cargo xtask linux-coverage`) counts every other call of the tables as implemented; a
/// test in `tests/sys.rs` checks that each of these really returns `ENOSYS`.
/// (`rt_sigreturn` is implemented by the shell, which has the frame: `State::sigreturn`.)
pub const NOT_IMPLEMENTED: &[Sys] = &[Open, Openat, Rseq, Clone3];

/// The calls of `arch`'s table: (number, name, implemented).
pub fn calls(arch: Arch) -> impl Iterator<Item = (u64, &'static str, bool)> {
    table(arch)
        .iter()
        .map(|&(n, sys, name)| (n, name, !NOT_IMPLEMENTED.contains(&sys)))
}
