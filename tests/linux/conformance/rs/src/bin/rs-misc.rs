//! rs-misc: the process, time, futexes and signal bookkeeping, issued raw (getpid, gettid,
//! set_tid_address, set_robust_list, getuid, uname, getcwd, readlinkat, prlimit64,
//! sched_yield, sched_getaffinity, clock_gettime, clock_getres, nanosleep,
//! clock_nanosleep, futex, getrandom, rt_sigprocmask, rt_sigaction, sigaltstack,
//! arch_prctl on x86_64, and a number no Linux has).

use conformance_rs::errno::*;
use conformance_rs::{monotonic_ns, nr, sys, Conf, Timespec};

fn main() {
    let c = Conf::new("rs-misc");
    // SAFETY (every call below): pointers passed are to live locals of the right size, or
    // deliberately bad addresses the kernel must refuse without touching.
    unsafe {
        let pid = sys(nr::GETPID, &[]);
        c.check_true("getpid_positive", pid > 0);
        c.check("gettid_main_is_pid", sys(nr::GETTID, &[]), pid);
        let mut word = 0u32;
        c.check(
            "set_tid_address_returns_tid",
            sys(nr::SET_TID_ADDRESS, &[&mut word as *mut u32 as u64]),
            pid,
        );
        let head = [0u64; 3];
        c.check_err(
            "set_robust_list_bad_size_einval",
            sys(nr::SET_ROBUST_LIST, &[head.as_ptr() as u64, 8]),
            EINVAL,
        );
        c.check(
            "set_robust_list",
            sys(nr::SET_ROBUST_LIST, &[head.as_ptr() as u64, 24]),
            0,
        );
        c.check_true("getuid_not_negative", sys(nr::GETUID, &[]) >= 0);

        let mut uts = [0u8; 390];
        c.check("uname", sys(nr::UNAME, &[uts.as_mut_ptr() as u64]), 0);
        c.check_true("uname_sysname_linux", uts.starts_with(b"Linux\0"));
        let machine = &uts[4 * 65..5 * 65];
        let want: &[u8] = if cfg!(target_arch = "x86_64") {
            b"x86_64\0"
        } else {
            b"aarch64\0"
        };
        c.check_true("uname_machine", machine.starts_with(want));
        c.check_true("uname_release_numeric", uts[2 * 65].is_ascii_digit());

        let mut cwd = [0u8; 64];
        let n = sys(nr::GETCWD, &[cwd.as_mut_ptr() as u64, 64]);
        c.check_true(
            "getcwd_returns_length_with_nul",
            n >= 2 && cwd[n as usize - 1] == 0,
        );
        c.check_err(
            "getcwd_zero_size_erange",
            sys(nr::GETCWD, &[cwd.as_mut_ptr() as u64, 0]),
            ERANGE,
        );
        let mut link = [0u8; 128];
        let at_fdcwd = (-100i64) as u64;
        c.check_true(
            "readlinkat_proc_self_exe",
            sys(
                nr::READLINKAT,
                &[
                    at_fdcwd,
                    c"/proc/self/exe".as_ptr() as u64,
                    link.as_mut_ptr() as u64,
                    128,
                ],
            ) > 0,
        );
        c.check_err(
            "readlinkat_missing_enoent",
            sys(
                nr::READLINKAT,
                &[
                    at_fdcwd,
                    c"/no/such".as_ptr() as u64,
                    link.as_mut_ptr() as u64,
                    128,
                ],
            ),
            ENOENT,
        );

        let mut lim = [0u64; 2];
        c.check(
            "prlimit_stack",
            sys(nr::PRLIMIT64, &[0, 3, 0, lim.as_mut_ptr() as u64]),
            0,
        );
        c.check_true("prlimit_stack_at_least_8mib", lim[0] >= 8 << 20);
        c.check_err(
            "prlimit_bad_resource_einval",
            sys(nr::PRLIMIT64, &[0, 99, 0, lim.as_mut_ptr() as u64]),
            EINVAL,
        );
        let raise = [u64::MAX, u64::MAX];
        sys(nr::PRLIMIT64, &[0, 4, 0, lim.as_mut_ptr() as u64]);
        let core_hard = lim[1];
        let capped = [0u64, 0u64];
        c.check(
            "prlimit_lower_hard",
            sys(nr::PRLIMIT64, &[0, 4, capped.as_ptr() as u64, 0]),
            0,
        );
        c.check_err(
            "prlimit_raise_hard_eperm",
            if core_hard == 0 {
                -EPERM
            } else {
                sys(nr::PRLIMIT64, &[0, 4, raise.as_ptr() as u64, 0])
            },
            EPERM,
        );

        c.check("sched_yield", sys(nr::SCHED_YIELD, &[]), 0);
        let mut mask = [0u64; 16];
        let r = sys(nr::SCHED_GETAFFINITY, &[0, 128, mask.as_mut_ptr() as u64]);
        c.check_true(
            "sched_getaffinity_one_cpu_at_least",
            r >= 8 && mask[0] & 1 == 1,
        );
        c.check_err(
            "sched_getaffinity_small_einval",
            sys(nr::SCHED_GETAFFINITY, &[0, 1, mask.as_mut_ptr() as u64]),
            EINVAL,
        );

        let mut t = Timespec::default();
        let tp = &mut t as *mut Timespec as u64;
        c.check(
            "clock_gettime_realtime",
            sys(nr::CLOCK_GETTIME, &[0, tp]),
            0,
        );
        c.check_err(
            "clock_gettime_bad_clock_einval",
            sys(nr::CLOCK_GETTIME, &[99, tp]),
            EINVAL,
        );
        c.check("clock_getres_monotonic", sys(nr::CLOCK_GETRES, &[1, tp]), 0);
        c.check_true("clock_getres_positive", t.sec == 0 && t.nsec > 0);
        let start = monotonic_ns();
        let ten = Timespec {
            sec: 0,
            nsec: 10_000_000,
        };
        c.check(
            "nanosleep_10ms",
            sys(nr::NANOSLEEP, &[&ten as *const Timespec as u64, 0]),
            0,
        );
        c.check_true(
            "nanosleep_advances_10ms",
            monotonic_ns() - start >= 10_000_000,
        );
        let bad = Timespec { sec: 0, nsec: -1 };
        c.check_err(
            "nanosleep_negative_nsec_einval",
            sys(nr::NANOSLEEP, &[&bad as *const Timespec as u64, 0]),
            EINVAL,
        );
        c.check(
            "clock_nanosleep_monotonic",
            sys(
                nr::CLOCK_NANOSLEEP,
                &[1, 0, &ten as *const Timespec as u64, 0],
            ),
            0,
        );
        c.check_err(
            "clock_nanosleep_bad_clock_einval",
            sys(
                nr::CLOCK_NANOSLEEP,
                &[99, 0, &ten as *const Timespec as u64, 0],
            ),
            EINVAL,
        );

        let mut f = 1u32;
        let fp = &mut f as *mut u32 as u64;
        c.check_err(
            "futex_wait_value_differs_eagain",
            sys(nr::FUTEX, &[fp, 128, 2, 0]),
            EAGAIN,
        );
        let short = Timespec {
            sec: 0,
            nsec: 5_000_000,
        };
        c.check_err(
            "futex_wait_times_out",
            sys(nr::FUTEX, &[fp, 128, 1, &short as *const Timespec as u64]),
            ETIMEDOUT,
        );
        c.check("futex_wake_none_waiting", sys(nr::FUTEX, &[fp, 129, 10]), 0);
        c.check_err(
            "futex_wait_null_efault",
            sys(nr::FUTEX, &[0, 128, 1, 0]),
            EFAULT,
        );

        let mut buf = [0u8; 64];
        c.check(
            "getrandom_64_bytes",
            sys(nr::GETRANDOM, &[buf.as_mut_ptr() as u64, 64, 0]),
            64,
        );
        c.check_true("getrandom_not_all_zero", buf.iter().any(|&b| b != 0));
        c.check_err(
            "getrandom_unknown_flag_einval",
            sys(nr::GETRANDOM, &[buf.as_mut_ptr() as u64, 8, 0x100]),
            EINVAL,
        );

        let block: u64 = 1 << (10 - 1); // SIGUSR1
        let mut old = 0u64;
        c.check(
            "rt_sigprocmask_block",
            sys(nr::RT_SIGPROCMASK, &[0, &block as *const u64 as u64, 0, 8]),
            0,
        );
        c.check(
            "rt_sigprocmask_old_mask",
            match sys(nr::RT_SIGPROCMASK, &[0, 0, &mut old as *mut u64 as u64, 8]) {
                0 => (old & block != 0) as i64,
                e => e,
            },
            1,
        );
        let kill_stop: u64 = (1 << 8) | (1 << 18); // SIGKILL, SIGSTOP
        sys(
            nr::RT_SIGPROCMASK,
            &[0, &kill_stop as *const u64 as u64, 0, 8],
        );
        sys(nr::RT_SIGPROCMASK, &[0, 0, &mut old as *mut u64 as u64, 8]);
        c.check_true(
            "rt_sigprocmask_never_blocks_kill_stop",
            old & kill_stop == 0,
        );
        c.check(
            "rt_sigprocmask_setmask_empty",
            sys(nr::RT_SIGPROCMASK, &[2, &0u64 as *const u64 as u64, 0, 8]),
            0,
        );
        c.check_err(
            "rt_sigprocmask_bad_pointer_efault",
            sys(nr::RT_SIGPROCMASK, &[0, 8, 0, 8]),
            EFAULT,
        );

        // struct sigaction of the kernel: handler, flags, restorer, mask.
        let act = [1u64 /* SIG_IGN */, 0, 0, 1 << 1];
        let mut back = [0u64; 4];
        c.check(
            "rt_sigaction_set_ignore",
            sys(nr::RT_SIGACTION, &[12, act.as_ptr() as u64, 0, 8]),
            0,
        );
        c.check(
            "rt_sigaction_reads_back",
            match sys(nr::RT_SIGACTION, &[12, 0, back.as_mut_ptr() as u64, 8]) {
                0 => (back[0] == 1 && back[3] == 1 << 1) as i64,
                e => e,
            },
            1,
        );
        c.check_err(
            "rt_sigaction_sigstop_einval",
            sys(nr::RT_SIGACTION, &[19, act.as_ptr() as u64, 0, 8]),
            EINVAL,
        );
        c.check_err(
            "rt_sigaction_bad_size_einval",
            sys(nr::RT_SIGACTION, &[12, 0, back.as_mut_ptr() as u64, 4]),
            EINVAL,
        );

        let mut ss = [0u64; 3];
        c.check(
            "sigaltstack_query_std_installed_one",
            match sys(nr::SIGALTSTACK, &[0, ss.as_mut_ptr() as u64]) {
                0 => (ss[1] & 2) as i64, // SS_DISABLE in ss_flags: clear, std set one
                e => e,
            },
            0,
        );
        let tiny = [0x1000u64, 0, 64];
        c.check_err(
            "sigaltstack_too_small_enomem",
            sys(nr::SIGALTSTACK, &[tiny.as_ptr() as u64, 0]),
            ENOMEM,
        );

        #[cfg(target_arch = "x86_64")]
        {
            let mut fs = 0u64;
            c.check(
                "arch_prctl_get_fs",
                sys(nr::ARCH_PRCTL, &[0x1003, &mut fs as *mut u64 as u64]),
                0,
            );
            c.check_true("arch_prctl_fs_is_tls", fs != 0);
            c.check_err(
                "arch_prctl_unknown_code_einval",
                sys(nr::ARCH_PRCTL, &[0x7777, 0]),
                EINVAL,
            );
        }
        #[cfg(target_arch = "aarch64")]
        {
            // No arch_prctl: the TLS pointer is tpidr_el0, which musl set at start.
            let tp: u64;
            core::arch::asm!("mrs {}, tpidr_el0", out(reg) tp);
            c.check_true("tpidr_el0_is_tls", tp != 0);
        }
        c.check_err("unknown_number_enosys", sys(4095, &[]), ENOSYS);
    }
    c.done();
}
