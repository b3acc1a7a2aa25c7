/* fork-c: fork() as a musl C program sees it. Without arguments (compared with the same
 * program on Linux):
 *
 * - the child changes a global and a heap buffer and exits with 7; the parent's copies are
 *   unchanged and waitpid() reports 7; in the child fork() returned 0, getpid() is the pid
 *   the parent got and getppid() the parent's pid;
 * - a child that execve()s another run of the program (`./fork-c exec-child 9`): 9;
 * - a child that sleeps: waitpid(WNOHANG) says it runs, kill(SIGTERM) ends it;
 * - three children waited for with wait() and waitid(); then wait() says ECHILD;
 * - a pipe made before fork() is shared: the child writes 100 KiB into it (more than the
 *   pipe holds) and exits, the parent reads to end of file once its own write end is closed.
 *
 * With an argument, modes whose lines the test knows (the host is no reference):
 * `refused` (a class whose forked children the policy may not start: fork() fails with
 * EAGAIN and the memory it took is given back), `oom` (a class with a memory limit: a fork
 * that does not fit fails with ENOMEM and takes nothing, and a chain of forks, each child
 * forking again, ends when the limit is reached).
 *
 * Nothing printed depends on the run (no pids). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int global = 1;

static void show(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("fork-c: %s: exited with %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("fork-c: %s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("fork-c: %s: status %#x\n", what, status);
}

static const char *errname(int e)
{
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    default: return "other";
    }
}

static unsigned long used_memory(void)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        return 0;
    return (si.totalram - si.freeram) * si.mem_unit;
}

static int refused(void)
{
    /* Let the kernel settle what earlier starts left. */
    for (int i = 0; i < 4; i++)
        sched_yield();
    unsigned long before = used_memory();
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0) {
        printf("fork-c: refused: fork succeeded\n");
        return 1;
    }
    printf("fork-c: refused: fork failed with %s\n", errname(errno));
    for (int i = 0; i < 4; i++)
        sched_yield();
    unsigned long after = used_memory();
    printf("fork-c: refused: memory after the refused fork: %s\n",
           after == before ? "as before" : "more than before");
    int status;
    if (wait(&status) < 0)
        printf("fork-c: refused: wait: %s\n", errno == ECHILD ? "ECHILD" : "other");
    return 0;
}

/* A chain: each process forks one child and waits for it, until a fork fails. */
static int chain(int depth)
{
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork-c: chain: a fork failed with %s\n", errname(errno));
        return 0;
    }
    if (pid == 0)
        _exit(chain(depth + 1) == 0 ? 0 : 1);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 1;
    return WEXITSTATUS(status);
}

static int oom(void)
{
    struct sysinfo si;
    sysinfo(&si);
    unsigned long limit = si.totalram * si.mem_unit;
    unsigned long room = limit - used_memory();
    /* More than half of what is left: a copy of the process cannot fit next to it. */
    size_t size = room / 2 + room / 8;
    char *big = malloc(size);
    if (!big) {
        printf("fork-c: oom: malloc failed\n");
        return 1;
    }
    memset(big, 0x5a, size);
    /* The buffer is used: no compiler may leave out the allocation. */
    __asm__ volatile("" : : "r"(big) : "memory");
    unsigned long before = used_memory();
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0) {
        printf("fork-c: oom: the fork with the buffer succeeded\n");
        waitpid(pid, NULL, 0);
    } else {
        printf("fork-c: oom: fork with the buffer: %s\n", errname(errno));
    }
    unsigned long after = used_memory();
    printf("fork-c: oom: memory after the failed fork: %s\n",
           after == before ? "as before" : "more than before");
    free(big);
    pid = fork();
    if (pid == 0)
        _exit(3);
    if (pid < 0) {
        printf("fork-c: oom: fork after freeing the buffer: %s\n", errname(errno));
        return 1;
    }
    int status;
    waitpid(pid, &status, 0);
    show("oom: child after freeing the buffer", status);
    int r = chain(0);
    printf("fork-c: chain: every process ended, %s\n", r == 0 ? "all ok" : "a failure");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        printf("fork-c: exec-child: argument %s\n", argc > 2 ? argv[2] : "(none)");
        return argc > 2 ? atoi(argv[2]) : 0;
    }
    if (argc > 1 && strcmp(argv[1], "refused") == 0)
        return refused();
    if (argc > 1 && strcmp(argv[1], "oom") == 0)
        return oom();

    /* 1. Memory is copied: the child's changes stay in the child. */
    char *heap = malloc(4096 * 3);
    strcpy(heap, "parent");
    memset(heap + 4096, 'p', 8192);
    pid_t parent = getpid();
    int local = 0;
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork-c: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        global = 2;
        strcpy(heap, "child");
        memset(heap + 4096, 'c', 8192);
        local = 1;
        printf("fork-c: child: global %d, heap %s, getppid is the parent: %s\n", global, heap,
               getppid() == parent ? "yes" : "no");
        printf("fork-c: child: getpid differs from the parent's: %s\n",
               getpid() != parent ? "yes" : "no");
        exit(7);
    }
    int status;
    pid_t got = waitpid(pid, &status, 0);
    printf("fork-c: waitpid returned the child's pid: %s\n", got == pid ? "yes" : "no");
    show("child", status);
    printf("fork-c: parent: global %d, heap %s, %s, local %d\n", global, heap,
           heap[4096] == 'p' && heap[4096 + 8191] == 'p' ? "pages unchanged" : "pages changed",
           local);

    /* 2. fork + execve of another run of the program. */
    pid = fork();
    if (pid == 0) {
        char *eargv[] = {"fork-c", "exec-child", "9", NULL};
        execve("./fork-c", eargv, environ);
        printf("fork-c: execve: %s\n", strerror(errno));
        _exit(1);
    }
    waitpid(pid, &status, 0);
    show("exec child", status);

    /* 3. kill of a sleeping child. */
    pid = fork();
    if (pid == 0) {
        sleep(30);
        _exit(0);
    }
    printf("fork-c: WNOHANG while it sleeps: %d\n", waitpid(pid, &status, WNOHANG));
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    show("sleeping child", status);

    /* 4. Three children; wait() and waitid(). */
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(10 + i);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, kids[1], &si, WEXITED) == 0)
        printf("fork-c: waitid: pid matches %s, code %s, status %d\n",
               si.si_pid == kids[1] ? "yes" : "no", si.si_code == CLD_EXITED ? "CLD_EXITED" : "other",
               si.si_status);
    int sum = 0;
    for (int i = 0; i < 2; i++) {
        if (wait(&status) > 0 && WIFEXITED(status))
            sum += WEXITSTATUS(status);
    }
    printf("fork-c: wait: the other two exited with %d in all\n", sum);
    errno = 0;
    got = wait(&status);
    printf("fork-c: wait with no child: %d %s\n", got, errno == ECHILD ? "ECHILD" : "other");

    /* 5. A pipe made before fork() joins parent and child. */
    int fds[2];
    if (pipe(fds) != 0) {
        printf("fork-c: pipe: %s\n", strerror(errno));
        return 1;
    }
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char block[1024];
        for (int i = 0; i < 100; i++) {
            memset(block, 'a' + i % 26, sizeof block);
            if (write(fds[1], block, sizeof block) != (ssize_t)sizeof block)
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    long total = 0, checksum = 0;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            checksum += buf[i];
        total += n;
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    printf("fork-c: pipe from the child: %ld bytes, checksum %ld\n", total, checksum);
    show("writing child", status);
    printf("fork-c: done\n");
    return 0;
}
