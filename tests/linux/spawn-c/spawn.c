/* spawn-c: processes as a musl C program sees them. It starts itself (`./spawn-c`, the same
 * relative name on Linux, where the test runs it in the folder holding it, and on Ostrog,
 * where it is the ROMFS file `spawn-c`):
 *
 * - with vfork() and execve(), and waits with waitpid(): WEXITSTATUS 5;
 * - with clone(CLONE_VM | CLONE_VFORK) on a 2 KiB stack, as small as a C library may give a
 *   child that only calls execve(): exit status 7, and the memory below that stack is as it
 *   was (the system's work for the child's calls is not done on the child's stack);
 * - with posix_spawn(), a child that exits with 3, waited for with waitid();
 * - posix_spawn() of a missing program: ENOENT;
 * - a sleeping child: waitpid(WNOHANG) says it runs, kill(SIGTERM) ends it, WTERMSIG 15;
 * - a child that execve()s (without vfork) into another run of the program: exit status 6;
 * - a pipe inside the process; wait() with no child left: ECHILD.
 *
 * Nothing printed depends on the run (no pids). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *me = "./spawn-c";

static int child(int argc, char **argv)
{
    printf("spawn-c: child: %d argument(s):", argc - 2);
    for (int i = 2; i < argc; i++)
        printf(" [%s]", argv[i]);
    printf("\n");
    const char *g = getenv("GREETING");
    printf("spawn-c: child: GREETING = %s\n", g ? g : "(none)");
    fflush(stdout);
    return argc > 2 ? atoi(argv[argc - 1]) : 0;
}

/* The small child stack is the top SMALL_STACK bytes of `area`; the rest is a pattern that
 * must still be there after the child ran. */
#define SMALL_STACK 2048
static unsigned char area[16 * 1024] __attribute__((aligned(16)));

static int small_child(void *arg)
{
    (void)arg;
    char *cargv[] = {"spawn-c", "child", "small stack", "7", NULL};
    execve(me, cargv, environ);
    _exit(127);
}

static void show(const char *what, int status);

static void small_stack_clone(void)
{
    size_t below = sizeof area - SMALL_STACK;
    memset(area, 0xa5, below);
    pid_t pid = clone(small_child, area + sizeof area, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
    if (pid < 0) {
        printf("spawn-c: small-stack clone: %s\n", strerror(errno));
        return;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    show("small-stack child", status);
    size_t touched = 0;
    for (size_t i = 0; i < below; i++)
        touched += area[i] != 0xa5;
    printf("spawn-c: memory below the small stack: %s\n",
           touched ? "overwritten" : "untouched");
}

static void show(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("spawn-c: %s: exited with %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("spawn-c: %s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("spawn-c: %s: status %#x\n", what, status);
}

int main(int argc, char **argv)
{
    /* One line at a time, whatever stdout is: the parent's and children's lines in order. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child(argc, argv);
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        char *eargv[] = {"spawn-c", "child", "replaced", "6", NULL};
        execve(me, eargv, environ);
        printf("spawn-c: execve: %s\n", strerror(errno));
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "sleep") == 0) {
        sleep(60);
        printf("spawn-c: sleeper was not killed\n");
        return 1;
    }
    printf("spawn-c: parent starts\n");
    fflush(stdout);

    /* vfork + execve + waitpid. */
    char *vargv[] = {"spawn-c", "child", "from vfork", "5", NULL};
    char *venv[] = {"GREETING=vfork", NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execve(me, vargv, venv);
        _exit(127);
    }
    if (pid < 0) {
        printf("spawn-c: vfork: %s\n", strerror(errno));
    } else {
        int status = 0;
        pid_t got = waitpid(pid, &status, 0);
        printf("spawn-c: waitpid gave the child: %s\n", got == pid ? "yes" : "no");
        show("vfork child", status);
    }

    small_stack_clone();

    /* posix_spawn + waitid. */
    char *sargv[] = {"spawn-c", "child", "3", NULL};
    int e = posix_spawn(&pid, me, NULL, NULL, sargv, environ);
    if (e) {
        printf("spawn-c: posix_spawn: %s\n", strerror(e));
    } else {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int r = waitid(P_PID, pid, &si, WEXITED);
        printf("spawn-c: waitid: %d, signo %d, code %s, pid %s, status %d\n", r, si.si_signo,
               si.si_code == CLD_EXITED ? "CLD_EXITED" : "other",
               si.si_pid == pid ? "the child" : "other", si.si_status);
    }

    /* A missing program. */
    char *margv[] = {"no-such-program", NULL};
    e = posix_spawn(&pid, "./no-such-program", NULL, NULL, margv, environ);
    printf("spawn-c: missing program: %s\n", e == ENOENT ? "ENOENT" : strerror(e));

    /* kill. */
    char *kargv[] = {"spawn-c", "sleep", NULL};
    e = posix_spawn(&pid, me, NULL, NULL, kargv, environ);
    if (e) {
        printf("spawn-c: sleeper: %s\n", strerror(e));
    } else {
        int status = 0;
        printf("spawn-c: WNOHANG: %d\n", (int)waitpid(pid, &status, WNOHANG));
        printf("spawn-c: kill: %d\n", kill(pid, SIGTERM));
        waitpid(pid, &status, 0);
        show("sleeper", status);
    }

    /* execve replacing a process. */
    char *xargv[] = {"spawn-c", "exec", NULL};
    e = posix_spawn(&pid, me, NULL, NULL, xargv, environ);
    if (e) {
        printf("spawn-c: exec child: %s\n", strerror(e));
    } else {
        int status = 0;
        waitpid(pid, &status, 0);
        show("exec child", status);
    }

    /* A pipe inside the process. */
    int p[2];
    if (pipe(p) == 0) {
        char buf[16] = {0};
        ssize_t w = write(p[1], "through", 7);
        close(p[1]);
        ssize_t r = read(p[0], buf, sizeof buf - 1);
        ssize_t end = read(p[0], buf + 8, 4);
        printf("spawn-c: pipe: wrote %d, read %d [%s], then %d\n", (int)w, (int)r, buf, (int)end);
        close(p[0]);
    } else {
        printf("spawn-c: pipe: %s\n", strerror(errno));
    }

    errno = 0;
    pid_t none = wait(NULL);
    printf("spawn-c: wait with no child: %d %s\n", (int)none,
           errno == ECHILD ? "ECHILD" : strerror(errno));
    printf("spawn-c: parent ends\n");
    return 0;
}
