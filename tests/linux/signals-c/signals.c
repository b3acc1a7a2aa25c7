/* signals-c: Linux signals as a static musl C program sees them: a handler for raise(),
 * a signal blocked with sigprocmask that is delivered once unblocked, a SIGSEGV handler
 * that leaves a fault on a PROT_NONE page with siglongjmp (the mask saved by sigsetjmp
 * restored), and last kill(getpid(), SIGTERM) with the default action, which ends the
 * process (status 143 on Ostrog, killed by SIGTERM on Linux). Nothing printed depends on
 * the run. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t count;
static volatile sig_atomic_t last;
static void *volatile fault_addr;
static sigjmp_buf env;

static void on_signal(int sig) {
    count++;
    last = sig;
}

static void on_segv(int sig, siginfo_t *info, void *uc) {
    (void)uc;
    last = sig;
    fault_addr = info->si_addr;
    siglongjmp(env, 1);
}

static int blocked(int sig) {
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, sig);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("signals-c: raise(SIGUSR1): handler ran %d time(s), signal %d\n", (int)count,
           (int)last);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    count = 0;
    kill(getpid(), SIGUSR1);
    printf("signals-c: blocked: handler ran %d time(s)\n", (int)count);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("signals-c: unblocked: handler ran %d time(s)\n", (int)count);

    char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        printf("signals-c: mmap failed\n");
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(env, 1) == 0) {
        page[100] = 1;
        printf("signals-c: the write to a PROT_NONE page did not fault\n");
    } else {
        printf("signals-c: SIGSEGV caught: signal %d, si_addr is the address: %d, "
               "siglongjmp back; SIGSEGV blocked after it: %d\n",
               (int)last, fault_addr == page + 100, blocked(SIGSEGV));
    }

    printf("signals-c: kill(getpid(), SIGTERM)\n");
    fflush(stdout);
    kill(getpid(), SIGTERM);
    printf("signals-c: survived SIGTERM\n");
    return 0;
}
