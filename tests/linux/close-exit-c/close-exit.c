/* close-exit-c: processes that end while they hold open files (docs/files.md, "When a
 * client ends"). The VFS server keeps open files per process and serves at most 32
 * processes with open files at once, so files left open by processes that ended must be
 * closed for them, or the next open fails with ENFILE:
 *
 * 1. 200 children, one after another, each open three files (one of them new) and end
 *    without closing them: by _exit, by exit, or by a fault (a write through a null
 *    pointer; its status is printed as 128 + the signal on both systems);
 * 2. 40 children open three files each, tell the parent through a pipe, and are killed by
 *    it with SIGKILL while they wait;
 * 3. after each part the parent still opens, writes and reads a file.
 *
 * The argument is the folder to work in (made if missing). Prints the same on Linux. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENDED 200
#define KILLED 40

static const char *dir;

static const char *at(char *buf, size_t size, const char *leaf) {
    snprintf(buf, size, "%s/%s", dir, leaf);
    return buf;
}

/* Opens the three files of child `i` and leaves them open: 0 or the errno of the first
 * failure. */
static int open_three(int i) {
    char buf[512], leaf[64];
    if (open(at(buf, sizeof buf, "a"), O_RDONLY) < 0) return errno;
    if (open(at(buf, sizeof buf, "b"), O_RDWR | O_APPEND) < 0) return errno;
    snprintf(leaf, sizeof leaf, "child-%d", i % 8);
    int fd = open(at(buf, sizeof buf, leaf), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return errno;
    if (write(fd, "held", 4) != 4) return errno;
    return 0;
}

/* The status of a child as a number both systems print alike: its exit code, or 128 +
 * the signal that ended it. */
static int code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

/* The parent opens, writes and reads back a file of its own. */
static void parent_opens(const char *when) {
    char buf[512], back[16] = {0};
    int fd = open(at(buf, sizeof buf, "parent"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("close-exit-c: %s: the parent cannot open a file: %s\n", when, strerror(errno));
        return;
    }
    int ok = write(fd, "parent", 6) == 6 && lseek(fd, 0, SEEK_SET) == 0 &&
             read(fd, back, sizeof back) == 6 && memcmp(back, "parent", 6) == 0;
    close(fd);
    printf("close-exit-c: %s: the parent opens, writes and reads a file: %s\n", when,
           ok ? "ok" : "wrong");
}

int main(int argc, char **argv) {
    char buf[512];
    setvbuf(stdout, NULL, _IONBF, 0);
    dir = argc > 1 ? argv[1] : "/data/CloseExitC";
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        printf("close-exit-c: mkdir %s: %s\n", dir, strerror(errno));
        return 1;
    }
    for (const char *leaf = "a"; leaf; leaf = leaf[0] == 'a' ? "b" : NULL) {
        int fd = open(at(buf, sizeof buf, leaf), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0) {
            printf("close-exit-c: cannot make %s: %s\n", leaf, strerror(errno));
            return 1;
        }
    }

    /* 1: children that end holding files. */
    int counts[3] = {0, 0, 0}, wrong = 0;
    for (int i = 0; i < ENDED; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            printf("close-exit-c: fork %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (pid == 0) {
            int e = open_three(i);
            if (e) _exit(e < 100 ? 100 + e : 99);
            switch (i % 3) {
            case 0: _exit(0);
            case 1: exit(3);
            default: *(volatile int *)0 = 1; _exit(98);
            }
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) {
            printf("close-exit-c: waitpid %d: %s\n", i, strerror(errno));
            return 1;
        }
        int want = i % 3 == 0 ? 0 : i % 3 == 1 ? 3 : 128 + SIGSEGV;
        if (code(status) == want) {
            counts[i % 3]++;
        } else if (wrong++ < 3) {
            printf("close-exit-c: child %d ended with %d, not %d\n", i, code(status), want);
        }
    }
    printf("close-exit-c: ended holding files: %d by _exit, %d by exit, %d by a fault, %d "
           "otherwise\n", counts[0], counts[1], counts[2], wrong);
    parent_opens("after the ended children");

    /* 2: children killed while they hold files. */
    int killed = 0, failed = 0;
    for (int i = 0; i < KILLED; i++) {
        int p[2];
        if (pipe(p) < 0) {
            printf("close-exit-c: pipe: %s\n", strerror(errno));
            return 1;
        }
        pid_t pid = fork();
        if (pid < 0) {
            printf("close-exit-c: fork %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (pid == 0) {
            close(p[0]);
            int e = open_three(ENDED + i);
            char said = e ? 'n' : 'y';
            if (write(p[1], &said, 1) != 1) _exit(97);
            for (;;) pause();
        }
        close(p[1]);
        char said = 0;
        if (read(p[0], &said, 1) != 1) said = '?';
        close(p[0]);
        if (said != 'y') failed++;
        int status;
        if (kill(pid, SIGKILL) < 0 || waitpid(pid, &status, 0) != pid) {
            printf("close-exit-c: kill/waitpid %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (code(status) == 128 + SIGKILL) killed++;
    }
    printf("close-exit-c: killed holding files: %d, opens that failed in them: %d\n", killed,
           failed);
    parent_opens("after the killed children");
    printf("close-exit-c: done\n");
    return 0;
}
