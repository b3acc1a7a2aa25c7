/* redirect-c: what a shell does with descriptors, on files (docs/linux.md, "Processes"):
 * `cmd > file`, `cmd < file`, `2>&1`, `>>`, a file shared across fork and execve (one
 * position), close-on-exec, the lowest free number. `./redirect-c DIR` runs the cases in
 * the folder DIR (on Ostrog /data/RedirectC of the VFS server, on the host a temporary
 * folder); it starts itself (`./redirect-c DIR MODE ...`) for the commands. Every line it
 * prints must be the same on the host and on Ostrog.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *dir;

/* One line with one write(2) (no stdio buffer: children share the console). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 1)
        n = sizeof line - 1;
    if (n > 0 && write(1, line, n) != n)
        exit(3);
}

static char *path(const char *name) {
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* A file's content, newlines shown as '|'. */
static const char *content(const char *name) {
    static char buf[256];
    int fd = open(path(name), O_RDONLY);
    if (fd < 0) {
        snprintf(buf, sizeof buf, "(open: %s)", strerror(errno));
        return buf;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        n = 0;
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = '|';
    return buf;
}

static void put(const char *name, const char *text) {
    int fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        say("redirect-c: cannot write %s: %s\n", name, strerror(errno));
    close(fd);
}

static int status_of(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1000 - errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

/* Starts `./redirect-c DIR mode arg` with `actions`; its exit status. */
static int spawn(posix_spawn_file_actions_t *actions, const char *mode, const char *arg) {
    char *argv[] = {"./redirect-c", (char *)dir, (char *)mode, (char *)arg, NULL};
    pid_t pid;
    int r = posix_spawn(&pid, "./redirect-c", actions, NULL, argv, environ);
    if (r != 0)
        return -r;
    return status_of(pid);
}

/* The commands, run as children. */
static int command(const char *mode, const char *arg) {
    if (strcmp(mode, "print") == 0) {
        /* Standard output only. */
        say("%s\n", arg);
        return 0;
    }
    if (strcmp(mode, "both") == 0) {
        /* Standard output, then standard error. */
        say("out %s\n", arg);
        char line[128];
        int n = snprintf(line, sizeof line, "err %s\n", arg);
        return write(2, line, n) == n ? 0 : 4;
    }
    if (strcmp(mode, "cat") == 0) {
        /* Standard input to standard output, upper-cased. */
        char buf[128];
        ssize_t n;
        while ((n = read(0, buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] >= 'a' && buf[i] <= 'z')
                    buf[i] -= 32;
            if (write(1, buf, n) != n)
                return 5;
        }
        return n < 0 ? 6 : 0;
    }
    if (strcmp(mode, "fd") == 0) {
        /* What descriptor `arg` is here, told on standard output. */
        int fd = atoi(arg);
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0) {
            say("fd %s: %s\n", arg, strerror(errno));
            return 0;
        }
        char c;
        ssize_t n = read(fd, &c, 1);
        say("fd %s: open, read %zd\n", arg, n);
        return 0;
    }
    if (strcmp(mode, "append") == 0) {
        /* Writes to descriptor `arg` (inherited, shared position). */
        int fd = atoi(arg);
        return write(fd, "exec|", 5) == 5 ? 0 : 7;
    }
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: redirect-c DIR [MODE ARG]\n");
        return 2;
    }
    dir = argv[1];
    if (argc >= 4)
        return command(argv[2], argv[3]);
    mkdir(dir, 0755);
    posix_spawn_file_actions_t a;

    /* cmd > file: the shell's way, fork, open + dup2 onto 1, execve. */
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path("out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) != 1)
            _exit(10);
        close(fd);
        char *cargv[] = {"./redirect-c", (char *)dir, "print", "hello file", NULL};
        execve("./redirect-c", cargv, environ);
        _exit(11);
    }
    int st = status_of(pid);
    say("redirect-c: > (fork, dup2, execve): status %d, file [%s]\n", st, content("out"));

    /* The same with posix_spawn's file actions (addopen onto 1). */
    posix_spawn_file_actions_init(&a);
    posix_spawn_file_actions_addopen(&a, 1, path("out2"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    st = spawn(&a, "print", "spawned");
    posix_spawn_file_actions_destroy(&a);
    say("redirect-c: > (posix_spawn addopen): status %d, file [%s]\n", st, content("out2"));

    /* cmd < in > out: both standard descriptors files. */
    put("in", "some input\nsecond line\n");
    posix_spawn_file_actions_init(&a);
    posix_spawn_file_actions_addopen(&a, 0, path("in"), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&a, 1, path("upper"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    st = spawn(&a, "cat", "-");
    posix_spawn_file_actions_destroy(&a);
    say("redirect-c: < >: status %d, file [%s]\n", st, content("upper"));

    /* cmd > file 2>&1: adddup2 of 1 onto 2. */
    int fd = open(path("both"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_init(&a);
    posix_spawn_file_actions_adddup2(&a, fd, 1);
    posix_spawn_file_actions_adddup2(&a, 1, 2);
    posix_spawn_file_actions_addclose(&a, fd);
    st = spawn(&a, "both", "x");
    posix_spawn_file_actions_destroy(&a);
    close(fd);
    say("redirect-c: 2>&1: status %d, file [%s]\n", st, content("both"));

    /* cmd >> file: O_APPEND. */
    put("log", "first|");
    posix_spawn_file_actions_init(&a);
    posix_spawn_file_actions_addopen(&a, 1, path("log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
    st = spawn(&a, "print", "appended");
    posix_spawn_file_actions_destroy(&a);
    say("redirect-c: >>: status %d, file [%s]\n", st, content("log"));

    /* A file shared across fork: one position (A, the child's B, then C). */
    fd = open(path("shared"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (write(fd, "A", 1) != 1)
        say("redirect-c: write A: %s\n", strerror(errno));
    pid = fork();
    if (pid == 0) {
        _exit(write(fd, "B", 1) == 1 ? 0 : 12);
    }
    st = status_of(pid);
    long at = (long)lseek(fd, 0, SEEK_CUR);
    if (write(fd, "C", 1) != 1)
        say("redirect-c: write C: %s\n", strerror(errno));
    say("redirect-c: fork shares the position: status %d, at %ld, file [%s]\n", st, at,
        content("shared"));

    /* ... and across execve (the same number in the new program). */
    char number[16];
    snprintf(number, sizeof number, "%d", fd);
    st = spawn(NULL, "append", number);
    at = (long)lseek(fd, 0, SEEK_CUR);
    say("redirect-c: execve shares the position: status %d, at %ld, file [%s]\n", st, at,
        content("shared"));
    close(fd);

    /* Close-on-exec: the child has the plain file, not the O_CLOEXEC one (EBADF), nor a
     * number never given. */
    put("plain", "p");
    int plain = open(path("plain"), O_RDONLY);
    int closing = open(path("plain"), O_RDONLY | O_CLOEXEC);
    int later = open(path("plain"), O_RDONLY);
    if (fcntl(later, F_SETFD, FD_CLOEXEC) != 0)
        say("redirect-c: F_SETFD: %s\n", strerror(errno));
    say("redirect-c: numbers %d %d %d\n", plain, closing, later);
    snprintf(number, sizeof number, "%d", plain);
    spawn(NULL, "fd", number);
    snprintf(number, sizeof number, "%d", closing);
    spawn(NULL, "fd", number);
    snprintf(number, sizeof number, "%d", later);
    spawn(NULL, "fd", number);
    spawn(NULL, "fd", "40");
    close(plain);
    close(closing);
    close(later);

    /* The lowest free number: 0 once closed, then standard input restored. */
    int saved = dup(0);
    close(0);
    fd = open(path("in"), O_RDONLY);
    char buf[8] = {0};
    ssize_t n = read(0, buf, 4);
    say("redirect-c: lowest free: %d, read %zd [%s]\n", fd, n, buf);
    dup2(saved, 0);
    close(saved);

    /* Standard output onto a file in this process, and back. */
    saved = dup(1);
    fd = open(path("self"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    close(fd);
    say("into the file\n");
    struct stat s;
    int regular = fstat(1, &s) == 0 && S_ISREG(s.st_mode);
    dup2(saved, 1);
    close(saved);
    say("redirect-c: 1 onto a file: regular %d, file [%s]\n", regular, content("self"));

    const char *names[] = {"out", "out2", "in", "upper", "both", "log", "shared", "plain", "self"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        unlink(path(names[i]));
    rmdir(dir);
    say("redirect-c: done\n");
    return 0;
}
