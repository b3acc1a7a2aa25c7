/* pipes-c: pipes between processes as a musl C program sees them. It starts itself
 * (`./pipes-c`, the same relative name on Linux, where the test runs it in the folder
 * holding it, and on Ostrog, where it is the ROMFS file `pipes-c`):
 *
 * - posix_spawn() with posix_spawn_file_actions_adddup2() of a pipe's write end onto the
 *   child's standard output: the parent reads what the child printed, then end of file;
 * - vfork() + dup2() of a pipe's read end onto standard input + execve(): the parent
 *   writes 200 KiB (three times what a pipe holds: the writer waits for the reader) and the
 *   child counts them;
 * - poll() of a pipe: nothing, then POLLIN, then POLLHUP once the writer is gone;
 * - a reader that exits early: write() fails with EPIPE (SIGPIPE ignored);
 * - then, with SIGPIPE's default action, the same write ends the program by SIGPIPE.
 *
 * Nothing printed depends on the run (no pids). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *me = "./pipes-c";

#define BIG (200 * 1024)

static void show(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("pipes-c: %s: exited with %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("pipes-c: %s: killed by signal %d\n", what, WTERMSIG(status));
    else
        printf("pipes-c: %s: status %#x\n", what, status);
}

static int role(const char *r)
{
    if (strcmp(r, "print") == 0) {
        printf("line one from the child\n");
        printf("line two from the child\n");
        return 4;
    }
    if (strcmp(r, "count") == 0) {
        static char buf[8192];
        long total = 0, sum = 0;
        ssize_t n;
        while ((n = read(0, buf, sizeof buf)) > 0) {
            total += n;
            for (ssize_t i = 0; i < n; i++)
                sum += (unsigned char)buf[i];
        }
        printf("pipes-c: count: %ld bytes, sum %ld, last read %zd\n", total, sum, n);
        return 0;
    }
    if (strcmp(r, "early") == 0) {
        char buf[10];
        ssize_t n = read(0, buf, sizeof buf);
        printf("pipes-c: early: read %zd bytes, leaving\n", n);
        return 0;
    }
    printf("pipes-c: unknown role %s\n", r);
    return 1;
}

int main(int argc, char **argv)
{
    /* One line at a time, whatever stdout is: the parent's and children's lines in order. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1)
        return role(argv[1]);

    /* 1. posix_spawn with the child's stdout on a pipe. */
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        printf("pipes-c: pipe2: %s\n", strerror(errno));
        return 1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    pid_t pid;
    char *pargv[] = {"pipes-c", "print", NULL};
    int e = posix_spawn(&pid, me, &fa, NULL, pargv, environ);
    posix_spawn_file_actions_destroy(&fa);
    printf("pipes-c: posix_spawn: %s\n", e ? strerror(e) : "ok");
    close(p[1]);
    char out[256];
    size_t got = 0;
    ssize_t n;
    while ((n = read(p[0], out + got, sizeof out - 1 - got)) > 0)
        got += n;
    out[got] = 0;
    printf("pipes-c: captured %zu bytes (last read %zd):\n%s", got, n, out);
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    show("print", status);

    /* 2. vfork, dup2 onto stdin, execve; 200 KiB through the pipe. */
    if (pipe(p) != 0)
        return 1;
    pid = vfork();
    if (pid == 0) {
        dup2(p[0], 0);
        close(p[0]);
        close(p[1]);
        char *cargv[] = {"pipes-c", "count", NULL};
        execve(me, cargv, environ);
        _exit(127);
    }
    close(p[0]);
    static char big[BIG];
    long sum = 0;
    for (int i = 0; i < BIG; i++) {
        big[i] = (char)(i % 251);
        sum += i % 251;
    }
    size_t sent = 0;
    while (sent < BIG) {
        n = write(p[1], big + sent, BIG - sent);
        if (n <= 0) {
            printf("pipes-c: write: %s\n", strerror(errno));
            break;
        }
        sent += n;
    }
    close(p[1]);
    waitpid(pid, &status, 0);
    printf("pipes-c: sent %zu bytes, sum %ld\n", sent, sum);
    show("count", status);

    /* 3. poll of a pipe. */
    if (pipe(p) != 0)
        return 1;
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    printf("pipes-c: poll empty: %d\n", poll(&pf, 1, 0));
    write(p[1], "x", 1);
    int r = poll(&pf, 1, 1000);
    printf("pipes-c: poll after a write: %d, POLLIN %d\n", r, !!(pf.revents & POLLIN));
    char c;
    read(p[0], &c, 1);
    close(p[1]);
    r = poll(&pf, 1, 1000);
    printf("pipes-c: poll without a writer: %d, POLLHUP %d, read %zd\n", r,
           !!(pf.revents & POLLHUP), read(p[0], &c, 1));
    close(p[0]);

    /* 4. A reader that leaves: EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(p, O_CLOEXEC) != 0)
        return 1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    char *eargv[] = {"pipes-c", "early", NULL};
    e = posix_spawn(&pid, me, &fa, NULL, eargv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[0]);
    write(p[1], "0123456789", 10);
    waitpid(pid, &status, 0);
    show("early", status);
    n = write(p[1], "more", 4);
    printf("pipes-c: write without a reader: %zd (%s)\n", n, n < 0 ? strerror(errno) : "-");

    /* 5. The same with SIGPIPE's default action: the program ends by the signal. */
    signal(SIGPIPE, SIG_DFL);
    printf("pipes-c: writing again with SIGPIPE's default action\n");
    write(p[1], "more", 4);
    printf("pipes-c: still running (wrong)\n");
    return 0;
}
