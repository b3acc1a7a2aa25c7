/* c-proc: the process's identity and settings (getpid, gettid, getppid, the ids, uname,
 * getrlimit, prlimit64, getcwd, readlink of /proc/self/exe, getrandom, sched_getaffinity,
 * signal masks and actions, kill with signal 0, unknown calls). */
#define _GNU_SOURCE
#include "conf.h"
#include <sched.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <fcntl.h>

static volatile sig_atomic_t usr1_seen;
static void on_usr1(int sig) { (void)sig; usr1_seen++; }

int main(int argc, char **argv) {
    (void)argc;
    conf_start("c-proc");
    pid_t pid = getpid();
    CHECK("getpid_positive", pid > 0, 1);
    CHECK("gettid_equals_pid_in_main_thread", syscall(SYS_gettid), pid);
    CHECK("getpid_stable", getpid(), pid);
    CHECK("getppid_not_self", getppid() != pid, 1);
    CHECK("set_tid_address_returns_tid", syscall(SYS_set_tid_address, NULL), pid);
    CHECK("getuid_geteuid_agree", getuid() == geteuid(), 1);
    CHECK("getgid_getegid_agree", getgid() == getegid(), 1);

    struct utsname u;
    CHECK_RES("uname_succeeds", uname(&u), 0);
    CHECK("uname_sysname_linux", strcmp(u.sysname, "Linux"), 0);
#if defined(__x86_64__)
    CHECK("uname_machine", strcmp(u.machine, "x86_64"), 0);
#else
    CHECK("uname_machine", strcmp(u.machine, "aarch64"), 0);
#endif
    CHECK_ERR("uname_bad_pointer_efault", syscall(SYS_uname, (void *)16), EFAULT);

    struct rlimit rl;
    CHECK_RES("getrlimit_nofile", getrlimit(RLIMIT_NOFILE, &rl), 0);
    CHECK("getrlimit_nofile_soft_le_hard", rl.rlim_cur <= rl.rlim_max, 1);
    CHECK_ERR("getrlimit_bad_resource_einval", getrlimit(999, &rl), EINVAL);
    struct rlimit old, lower = {0, 0};
    CHECK_RES("prlimit_read_core", prlimit(0, RLIMIT_CORE, NULL, &old), 0);
    lower.rlim_cur = 0;
    lower.rlim_max = old.rlim_max;
    CHECK_RES("prlimit_lower_core_soft", prlimit(0, RLIMIT_CORE, &lower, NULL), 0);
    CHECK_RES("prlimit_reads_back", prlimit(0, RLIMIT_CORE, NULL, &old) == 0 && old.rlim_cur == 0,
              1);
    struct rlimit inverted = {2, 1};
    CHECK_ERR("prlimit_soft_above_hard_einval", prlimit(0, RLIMIT_CORE, &inverted, NULL), EINVAL);
    CHECK_ERR("prlimit_bad_pointer_efault", syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, 16),
              EFAULT);

    char cwd[256];
    CHECK("getcwd_absolute", getcwd(cwd, sizeof cwd) != NULL && cwd[0] == '/', 1);
    CHECK_ERR("getcwd_size_one_erange", syscall(SYS_getcwd, cwd, 1), ERANGE);
    char exe[256];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK("readlink_proc_self_exe", n > 0, 1);
    if (n > 0) {
        exe[n] = 0;
        const char *base = strrchr(exe, '/');
        const char *arg = strrchr(argv[0], '/');
        CHECK("readlink_proc_self_exe_names_program",
              strcmp(base ? base + 1 : exe, arg ? arg + 1 : argv[0]), 0);
    }
    CHECK_ERR("readlink_missing_enoent", readlink("/no/such/file", exe, sizeof exe), ENOENT);

    unsigned char r1[32] = {0}, r2[32] = {0};
    CHECK_RES("getrandom_fills", getrandom(r1, sizeof r1, 0), 32);
    CHECK_RES("getrandom_nonblock", getrandom(r2, sizeof r2, GRND_NONBLOCK), 32);
    CHECK("getrandom_differs", memcmp(r1, r2, sizeof r1) != 0, 1);
    CHECK_ERR("getrandom_bad_flags_einval", getrandom(r1, sizeof r1, 0x40), EINVAL);
    CHECK_ERR("getrandom_bad_pointer_efault", syscall(SYS_getrandom, 16, 8, 0), EFAULT);
    CHECK_RES("getrandom_zero_length", getrandom(r1, 0, 0), 0);

    cpu_set_t set;
    CHECK("sched_getaffinity_some_cpu",
          sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1, 1);
    CHECK_RES("sched_yield", sched_yield(), 0);

    sigset_t s, o;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    CHECK_RES("sigprocmask_block", sigprocmask(SIG_BLOCK, &s, &o), 0);
    CHECK_RES("sigprocmask_reads_back", sigprocmask(SIG_SETMASK, NULL, &o) == 0 &&
                                            sigismember(&o, SIGUSR1) == 1, 1);
    CHECK_RES("sigprocmask_unblock", sigprocmask(SIG_UNBLOCK, &s, &o), 0);
    CHECK_RES("sigprocmask_unblocked", sigprocmask(SIG_SETMASK, NULL, &o) == 0 &&
                                           sigismember(&o, SIGUSR1) == 0, 1);
    CHECK_ERR("sigprocmask_bad_how_einval", syscall(SYS_rt_sigprocmask, 77, &s, NULL, 8), EINVAL);
    CHECK_ERR("sigprocmask_bad_size_einval", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &s, NULL, 4),
              EINVAL);

    struct sigaction act, back;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_usr1;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, SIGUSR2);
    CHECK_RES("sigaction_set_handler", sigaction(SIGUSR1, &act, NULL), 0);
    CHECK_RES("sigaction_reads_back", sigaction(SIGUSR1, NULL, &back) == 0 &&
                                          back.sa_handler == on_usr1 &&
                                          sigismember(&back.sa_mask, SIGUSR2) == 1, 1);
    act.sa_handler = SIG_IGN;
    CHECK_ERR("sigaction_sigkill_einval", sigaction(SIGKILL, &act, NULL), EINVAL);
    CHECK_ERR("sigaction_signal_zero_einval", sigaction(0, &act, NULL), EINVAL);
    CHECK_ERR("sigaction_signal_65_einval", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8), EINVAL);
    CHECK_RES("sigaction_ignore", sigaction(SIGUSR2, &act, NULL), 0);
    CHECK_RES("kill_self_ignored_signal", kill(pid, SIGUSR2), 0);
    CHECK_RES("kill_signal_zero_probe", kill(pid, 0), 0);
    CHECK_ERR("kill_bad_signal_einval", kill(pid, 1000), EINVAL);
    stack_t ss;
    CHECK_RES("sigaltstack_query_disabled", sigaltstack(NULL, &ss) == 0 &&
                                                (ss.ss_flags & SS_DISABLE) != 0, 1);

    /* Pending signals: seen by sigpending while blocked, taken by sigtimedwait, ended
     * waits by sigsuspend; kill of a process that is not ours. */
    sigset_t u1, pend, none;
    sigemptyset(&u1);
    sigaddset(&u1, SIGUSR1);
    sigemptyset(&none);
    siginfo_t si;
    struct timespec zero = {0, 0}, short_wait = {0, 20000000};
    CHECK_RES("sigpending_block", sigprocmask(SIG_BLOCK, &u1, NULL), 0);
    CHECK_RES("sigpending_empty", sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1) == 0, 1);
    CHECK_RES("kill_self_blocked_pends", kill(pid, SIGUSR1), 0);
    CHECK_RES("sigpending_shows_blocked", sigpending(&pend) == 0 &&
                                              sigismember(&pend, SIGUSR1) == 1, 1);
    memset(&si, 0, sizeof si);
    CHECK_RES("sigtimedwait_takes_pending", sigtimedwait(&u1, &si, &zero), SIGUSR1);
    CHECK_RES("sigtimedwait_siginfo", si.si_signo == SIGUSR1 && si.si_code == SI_USER &&
                                          si.si_pid == pid, 1);
    CHECK_RES("sigpending_empty_after_wait", sigpending(&pend) == 0 &&
                                                 sigismember(&pend, SIGUSR1) == 0, 1);
    CHECK_ERR("sigtimedwait_timeout_eagain", sigtimedwait(&u1, &si, &short_wait), EAGAIN);
    CHECK_ERR("sigtimedwait_zero_timeout_eagain", sigtimedwait(&u1, &si, &zero), EAGAIN);
    CHECK_ERR("sigtimedwait_bad_size_einval", syscall(SYS_rt_sigtimedwait, &u1, NULL, &zero, 4),
              EINVAL);
    CHECK_RES("kill_self_blocked_again", kill(pid, SIGUSR1), 0);
    int seen = usr1_seen;
    CHECK_ERR("sigsuspend_pending_eintr", sigsuspend(&none), EINTR);
    CHECK_RES("sigsuspend_ran_handler_once", usr1_seen - seen, 1);
    CHECK_RES("sigsuspend_mask_restored", sigprocmask(SIG_SETMASK, NULL, &o) == 0 &&
                                              sigismember(&o, SIGUSR1) == 1, 1);
    CHECK_ERR("sigsuspend_bad_size_einval", syscall(SYS_rt_sigsuspend, &none, 4), EINVAL);
    CHECK_RES("sigpending_unblock", sigprocmask(SIG_UNBLOCK, &u1, NULL), 0);
    siginfo_t q;
    memset(&q, 0, sizeof q);
    q.si_signo = SIGUSR1;
    q.si_code = SI_QUEUE;
    seen = usr1_seen;
    CHECK_RES("sigqueueinfo_self", syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &q), 0);
    CHECK_RES("sigqueueinfo_self_ran_handler", usr1_seen - seen, 1);
    /* Far above Linux's pid_max (at most 2^22): no such process. */
    CHECK_ERR("kill_foreign_pid_esrch", kill(0x3fffffff, SIGUSR1), ESRCH);
    CHECK_ERR("kill_foreign_pid_signal_zero_esrch", kill(0x3fffffff, 0), ESRCH);
    CHECK_ERR("tkill_foreign_tid_esrch", syscall(SYS_tkill, 0x3fffffff, SIGUSR1), ESRCH);
    CHECK_ERR("tgkill_foreign_process_esrch",
              syscall(SYS_tgkill, 0x3fffffff, 0x3fffffff, SIGUSR1), ESRCH);
    CHECK_ERR("tgkill_foreign_thread_esrch", syscall(SYS_tgkill, 0x3fffffff, 0x3ffffffe, 0),
              ESRCH);
    q.si_code = 1;
    CHECK_ERR("sigqueueinfo_other_positive_code_eperm",
              syscall(SYS_rt_sigqueueinfo, 0x3fffffff, SIGUSR1, &q), EPERM);

    CHECK_ERR("unknown_syscall_enosys", syscall(4000), ENOSYS);
    CHECK_ERR("openat_missing_enoent", syscall(SYS_openat, AT_FDCWD, "/no/such/file", 0, 0),
              ENOENT);
    return conf_end();
}
