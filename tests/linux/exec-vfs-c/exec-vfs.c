/* exec-vfs-c: programs run from files written at run time (docs/linux.md, "Processes"):
 * `exec-vfs-c DIR SELF` copies its own executable SELF (on Ostrog /rom/exec-vfs-c, on the
 * host the built file) into the folder DIR (on Ostrog /data/ExecVfsC of the VFS server), as
 * an installer would, and starts the copy with posix_spawn and with fork + execve; then
 * what Linux refuses: a copy no one may execute (EACCES), an empty file (ENOEXEC), a
 * missing one (ENOENT), a folder (EACCES). Every line it prints must be the same on the
 * host and on Ostrog.
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

/* Copies `from` to `to` with permissions `mode`; the bytes copied, or -errno. */
static long copy(const char *from, const char *to, mode_t mode) {
    int in = open(from, O_RDONLY);
    if (in < 0)
        return -errno;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (out < 0) {
        int e = errno;
        close(in);
        return -e;
    }
    static char buf[16384];
    long total = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) {
            total = -errno;
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, n - done);
            if (w <= 0) {
                total = -errno;
                goto out;
            }
            done += w;
        }
        total += n;
    }
out:
    close(in);
    close(out);
    return total;
}

static const char *status_text(int status) {
    static char buf[64];
    if (WIFEXITED(status))
        snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, sizeof buf, "signal %d", WTERMSIG(status));
    else
        snprintf(buf, sizeof buf, "status %#x", status);
    return buf;
}

/* posix_spawn of `prog`: its outcome as a line. */
static void spawn(const char *what, const char *prog) {
    char *argv[] = {(char *)"installed", (char *)"child", (char *)what, NULL};
    pid_t pid;
    int err = posix_spawn(&pid, prog, NULL, NULL, argv, environ);
    if (err != 0) {
        say("exec-vfs-c: spawn %s: %s\n", what, strerror(err));
        return;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) {
        say("exec-vfs-c: spawn %s: waitpid: %s\n", what, strerror(errno));
        return;
    }
    say("exec-vfs-c: spawn %s: %s\n", what, status_text(status));
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "child") == 0) {
        say("exec-vfs-c: child %s: running as %s\n", argv[2], argv[0]);
        return 7;
    }
    if (argc < 3) {
        say("usage: exec-vfs-c DIR SELF\n");
        return 2;
    }
    dir = argv[1];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        say("exec-vfs-c: mkdir: %s\n", strerror(errno));
        return 1;
    }
    long n = copy(argv[2], path("prog"), 0755);
    say("exec-vfs-c: installed a copy: %s\n", n > 0 ? "ok" : strerror((int)-n));
    spawn("posix_spawn", path("prog"));

    /* fork + execve, as a shell does. */
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {(char *)"installed", (char *)"child", (char *)"execve", NULL};
        execve(path("prog"), args, environ);
        say("exec-vfs-c: execve: %s\n", strerror(errno));
        _exit(126);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        say("exec-vfs-c: fork: %s\n", strerror(errno));
    else
        say("exec-vfs-c: fork and execve: %s\n", status_text(status));

    /* What cannot run. */
    copy(argv[2], path("noexec"), 0644);
    spawn("a file without x", path("noexec"));
    int fd = open(path("empty"), O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd >= 0)
        close(fd);
    spawn("an empty file", path("empty"));
    spawn("a missing file", path("missing"));
    mkdir(path("folder"), 0755);
    spawn("a folder", path("folder"));
    say("exec-vfs-c: done\n");
    return 0;
}
