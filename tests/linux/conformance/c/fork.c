/* c-fork: fork and its results (musl's fork, raw clone(SIGCHLD) and, on x86_64, the raw
 * fork call): the values fork returns in each process, getpid/getppid in the child, memory
 * copied, wait statuses (exit, signal), WNOHANG, and ECHILD. A child reports what it saw
 * through its exit status. */
#define _GNU_SOURCE
#include "conf.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

static int global = 5;

/* Waits for `pid`; its status, or -1 if waitpid did not return it. */
static int reap(pid_t pid) {
    int status = 0;
    return waitpid(pid, &status, 0) == pid ? status : -1;
}

int main(void) {
    conf_start("c-fork");
    pid_t parent = getpid();
    char *heap = malloc(64);
    strcpy(heap, "parent");

    /* The child reports: bit 0 getppid() is the parent, bit 1 getpid() is not the parent's,
     * bit 2 it saw the parent's global and heap, bit 3 gettid() is its getpid(). */
    pid_t pid = fork();
    if (pid == 0) {
        int bits = (getppid() == parent) | (getpid() != parent) << 1 |
                   (global == 5 && strcmp(heap, "parent") == 0) << 2 |
                   (syscall(SYS_gettid) == getpid()) << 3;
        global = 6;
        strcpy(heap, "child");
        _exit(bits);
    }
    CHECK("fork_returns_a_pid_in_the_parent", pid > 0 && pid != parent, 1);
    int status = reap(pid);
    CHECK("fork_waitpid_returns_the_child", status != -1, 1);
    CHECK("fork_child_exited", WIFEXITED(status), 1);
    CHECK("fork_child_getppid_is_the_parent", WEXITSTATUS(status) & 1, 1);
    CHECK("fork_child_getpid_is_its_own", (WEXITSTATUS(status) >> 1) & 1, 1);
    CHECK("fork_child_sees_a_copy_of_memory", (WEXITSTATUS(status) >> 2) & 1, 1);
    CHECK("fork_child_gettid_is_getpid", (WEXITSTATUS(status) >> 3) & 1, 1);
    CHECK("fork_parent_global_unchanged", global, 5);
    CHECK("fork_parent_heap_unchanged", strcmp(heap, "parent"), 0);

    /* The pid the parent got is the child's getpid() (compared modulo 251). */
    pid = fork();
    if (pid == 0)
        _exit(getpid() % 251);
    status = reap(pid);
    CHECK("fork_pid_is_the_child_getpid", WEXITSTATUS(status), pid % 251);

    /* Exit statuses: 0, 255, and only the low byte of a larger one. */
    pid = fork();
    if (pid == 0)
        _exit(0);
    status = reap(pid);
    CHECK("fork_wait_status_zero", WIFEXITED(status) && WEXITSTATUS(status) == 0, 1);
    pid = fork();
    if (pid == 0)
        _exit(0x1ff);
    status = reap(pid);
    CHECK("fork_wait_status_low_byte", WEXITSTATUS(status), 255);

    /* A child that sleeps: WNOHANG finds it running; SIGKILL ends it. */
    pid = fork();
    if (pid == 0) {
        sleep(30);
        _exit(0);
    }
    CHECK_RES("fork_waitpid_wnohang_running", waitpid(pid, &status, WNOHANG), 0);
    CHECK_RES("fork_kill_child", kill(pid, SIGKILL), 0);
    status = reap(pid);
    CHECK("fork_killed_child_signaled", WIFSIGNALED(status), 1);
    CHECK("fork_killed_child_signal", WTERMSIG(status), SIGKILL);

    /* waitid of a forked child. */
    pid = fork();
    if (pid == 0)
        _exit(42);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK_RES("fork_waitid", waitid(P_PID, pid, &si, WEXITED), 0);
    CHECK("fork_waitid_pid", si.si_pid == pid, 1);
    CHECK("fork_waitid_code_exited", si.si_code, CLD_EXITED);
    CHECK("fork_waitid_status", si.si_status, 42);

    /* Raw clone(SIGCHLD): what musl's fork makes on AArch64. */
    long r = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (r == 0)
        syscall(SYS_exit_group, 3);
    CHECK("clone_sigchld_returns_a_pid", r > 0, 1);
    status = r > 0 ? reap((pid_t)r) : -1;
    CHECK("clone_sigchld_child_status", WIFEXITED(status) ? WEXITSTATUS(status) : -1, 3);
#if defined(__x86_64__)
    r = syscall(SYS_fork);
    if (r == 0)
        syscall(SYS_exit_group, 4);
    CHECK("raw_fork_returns_a_pid", r > 0, 1);
    status = r > 0 ? reap((pid_t)r) : -1;
    CHECK("raw_fork_child_status", WIFEXITED(status) ? WEXITSTATUS(status) : -1, 4);
#endif

    /* No children left. */
    CHECK_ERR("fork_wait_no_child_echild", wait(&status), ECHILD);
    CHECK_ERR("fork_waitpid_self_echild", waitpid(parent, &status, 0), ECHILD);
    return conf_end();
}
