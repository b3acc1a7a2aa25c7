/* kill-c: signals between processes as a musl C program sees them. It starts itself
 * (`./kill-c child`, as spawn-c does) with posix_spawn():
 *
 * - the child sends SIGUSR1 to its parent (kill(getppid())), then waits in sigsuspend() for
 *   SIGUSR2 from the parent; the parent waits for SIGUSR1 in sigsuspend() too;
 * - the parent sends SIGUSR2, then sleeps in nanosleep(), which the child's second SIGUSR1
 *   interrupts: EINTR, with the time left;
 * - the child then computes (a loop without system calls) until a second SIGUSR2 reaches
 *   it: delivered asynchronously;
 * - the child waits on a futex; a third SIGUSR2, whose SA_RESTART handler changes the futex
 *   word, ends the wait: the call is made again after the handler and fails with EAGAIN
 *   (without SA_RESTART it would be EINTR);
 * - the child exits with 3: the parent's SIGCHLD handler sees its pid, CLD_EXITED and 3;
 * - kill() of the reaped child: ESRCH; kill(getppid(), 0): 0.
 *
 * The handlers are SA_SIGINFO handlers; what they saw is printed by the program, not in
 * the handlers. Nothing printed depends on the run (no pids). */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *me = "./kill-c";

static volatile sig_atomic_t usr1, usr2, chld;
static volatile pid_t usr1_pid, usr2_pid, chld_pid;
static volatile int usr1_code, usr2_code, chld_code, chld_status;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    usr1++;
    usr1_pid = si->si_pid;
    usr1_code = si->si_code;
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    usr2++;
    usr2_pid = si->si_pid;
    usr2_code = si->si_code;
}

/* FUTEX_WAIT | FUTEX_PRIVATE_FLAG (musl's headers have no <linux/futex.h>). */
#define FUTEX_WAIT_PRIVATE 128

/* The futex word the child waits on; the SA_RESTART handler changes it. */
static volatile int word;

static void on_usr2_restart(int sig)
{
    (void)sig;
    usr2++;
    word = 1;
}

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    chld++;
    chld_pid = si->si_pid;
    chld_code = si->si_code;
    chld_status = si->si_status;
}

static void handle(int sig, void (*f)(int, siginfo_t *, void *))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = f;
    sa.sa_flags = SA_SIGINFO;
    sigaction(sig, &sa, NULL);
}

static void block(int how, int a, int b)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, a);
    if (b)
        sigaddset(&s, b);
    sigprocmask(how, &s, NULL);
}

/* Waits in sigsuspend() with nothing blocked until `*flag` is set. */
static void suspend_until(volatile sig_atomic_t *flag, const char *who)
{
    sigset_t none;
    sigemptyset(&none);
    while (!*flag) {
        int r = sigsuspend(&none);
        if (r != -1 || errno != EINTR)
            printf("kill-c: %s: sigsuspend returned %d (%s)\n", who, r, strerror(errno));
    }
}

static int child(void)
{
    handle(SIGUSR2, on_usr2);
    block(SIG_BLOCK, SIGUSR2, 0);
    pid_t parent = getppid();
    if (kill(parent, SIGUSR1) != 0)
        printf("kill-c: child: kill(getppid(), SIGUSR1): %s\n", strerror(errno));
    suspend_until(&usr2, "child");
    printf("kill-c: child: SIGUSR2 %d time(s), from the parent: %s, si_code %d\n", usr2,
           usr2_pid == parent ? "yes" : "no", usr2_code);
    sigset_t pending;
    sigpending(&pending);
    printf("kill-c: child: SIGUSR2 still pending: %s\n",
           sigismember(&pending, SIGUSR2) ? "yes" : "no");
    block(SIG_UNBLOCK, SIGUSR2, 0);
    /* Time for the parent to be in its nanosleep (on a host with several CPUs). */
    struct timespec little = {0, 50000000};
    nanosleep(&little, NULL);
    if (kill(parent, SIGUSR1) != 0)
        printf("kill-c: child: second kill(getppid(), SIGUSR1): %s\n", strerror(errno));
    /* No system call until the parent's second SIGUSR2 comes. */
    while (usr2 < 2)
        ;
    printf("kill-c: child: SIGUSR2 reached it while it computed (%d in all)\n", usr2);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2_restart;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
    if (kill(parent, SIGUSR1) != 0)
        printf("kill-c: child: third kill(getppid(), SIGUSR1): %s\n", strerror(errno));
    errno = 0;
    long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    int e = errno;
    printf("kill-c: child: futex wait with an SA_RESTART handler: %ld (%s), SIGUSR2 %d in all\n",
           r, e == EAGAIN ? "EAGAIN: made again after the handler" : e == EINTR ? "EINTR" : "?",
           usr2);
    return 3;
}

int main(int argc, char **argv)
{
    /* One line at a time, whatever stdout is: the parent's and child's lines in order. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child();
    handle(SIGUSR1, on_usr1);
    handle(SIGCHLD, on_chld);
    block(SIG_BLOCK, SIGUSR1, SIGCHLD);
    pid_t pid;
    char *cargv[] = {"kill-c", "child", NULL};
    int r = posix_spawn(&pid, me, NULL, NULL, cargv, environ);
    if (r != 0) {
        printf("kill-c: posix_spawn: %s\n", strerror(r));
        return 1;
    }
    suspend_until(&usr1, "parent");
    printf("kill-c: SIGUSR1 from the child: %s, si_code %d\n", usr1_pid == pid ? "yes" : "no",
           usr1_code);

    /* SIGUSR1 may come now: the child sends another once it has SIGUSR2. */
    block(SIG_UNBLOCK, SIGUSR1, 0);
    int k = kill(pid, SIGUSR2);
    struct timespec req = {10, 0}, rem = {0, 0};
    r = nanosleep(&req, &rem);
    int e = errno;
    printf("kill-c: kill(child, SIGUSR2) = %d\n", k);
    /* Linux may give back a little more than asked for (its timer slack). */
    long long left_us = (long long)rem.tv_sec * 1000000 + rem.tv_nsec / 1000;
    printf("kill-c: nanosleep: %d (%s), time left above 0 and at most 10.1 s: %s\n", r,
           r == -1 && e == EINTR ? "EINTR" : "no EINTR",
           left_us > 0 && left_us <= 10100000 ? "yes" : "no");
    printf("kill-c: SIGUSR1 %d time(s)\n", usr1);
    /* The child computes now: a signal must reach it without a call of its own. */
    struct timespec little = {0, 100000000};
    nanosleep(&little, NULL);
    /* Its result is printed after the child's end: the child prints when it gets it. */
    int k2 = kill(pid, SIGUSR2);
    /* The child says when it waits on its futex. */
    block(SIG_BLOCK, SIGUSR1, 0);
    {
        sigset_t none;
        sigemptyset(&none);
        while (usr1 < 3)
            sigsuspend(&none);
    }
    block(SIG_UNBLOCK, SIGUSR1, 0);
    nanosleep(&little, NULL);
    int k3 = kill(pid, SIGUSR2);

    suspend_until(&chld, "parent");
    printf("kill-c: kill(child, SIGUSR2) while it computed = %d\n", k2);
    printf("kill-c: kill(child, SIGUSR2) while it waited on a futex = %d\n", k3);
    printf("kill-c: SIGCHLD from the child: %s, si_code %s, si_status %d\n",
           chld_pid == pid ? "yes" : "no", chld_code == CLD_EXITED ? "CLD_EXITED" : "other",
           chld_status);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        printf("kill-c: waitpid: %s\n", strerror(errno));
    else if (WIFEXITED(status))
        printf("kill-c: child exited with %d\n", WEXITSTATUS(status));
    else
        printf("kill-c: child status %#x\n", status);
    errno = 0;
    r = kill(pid, 0);
    printf("kill-c: kill(reaped child, 0) = %d (%s)\n", r, errno == ESRCH ? "ESRCH" : "?");
    printf("kill-c: kill(getppid(), 0) = %d\n", kill(getppid(), 0));
    printf("kill-c: done\n");
    return 0;
}
