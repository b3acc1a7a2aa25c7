/* files-c: stdio, dirent and stat on Ostrog's VFS server through the Linux personality,
 * compared with the same program on the host: `files-c DATA` works in the folder DATA
 * (/data/FilesC on Ostrog, a temporary folder on the host). At the end it starts itself
 * (`./files-c DATA child`, posix_spawn) to read a file it wrote: a started program reaches
 * the same files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char path[512];

static const char *at(const char *base, const char *rest) {
    snprintf(path, sizeof path, "%s/%s", base, rest);
    return path;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: files-c DATA\n");
        return 2;
    }
    const char *data = argv[1];
    if (argc > 2 && strcmp(argv[2], "child") == 0) {
        char line[64] = "";
        FILE *h = fopen(at(data, "handoff.txt"), "r");
        if (!h) {
            printf("files-c: spawn: child open: %s\n", strerror(errno));
            return 1;
        }
        if (!fgets(line, sizeof line, h))
            line[0] = 0;
        fclose(h);
        printf("files-c: spawn: child read: %s\n", line);
        return 0;
    }
    char base[256];
    snprintf(base, sizeof base, "%s/c", data);
    if (mkdir(data, 0755) != 0 && errno != EEXIST) {
        printf("files-c: mkdir data: %s\n", strerror(errno));
        return 1;
    }
    /* Each call before the printf that shows it: argument order is unspecified. */
    int r = mkdir(base, 0755);
    printf("files-c: mkdir: %d\n", r);
    r = mkdir(base, 0755);
    printf("files-c: mkdir again: %d %s\n", r, errno == EEXIST ? "EEXIST" : "?");

    FILE *f = fopen(at(base, "notes.txt"), "w");
    if (!f) {
        printf("files-c: fopen: %s\n", strerror(errno));
        return 1;
    }
    for (int i = 1; i <= 3; i++)
        fprintf(f, "line %d of %d\n", i, 3);
    fclose(f);

    f = fopen(at(base, "notes.txt"), "r");
    char line[128];
    while (f && fgets(line, sizeof line, f))
        printf("files-c: read: %s", line);
    if (f)
        fclose(f);

    f = fopen(at(base, "notes.txt"), "a");
    fputs("appended\n", f);
    fclose(f);

    struct stat st;
    r = stat(at(base, "notes.txt"), &st);
    printf("files-c: stat: %d size %lld regular %d\n", r, (long long)st.st_size,
           S_ISREG(st.st_mode));
    r = stat(base, &st);
    printf("files-c: stat dir: %d dir %d\n", r, S_ISDIR(st.st_mode));
    errno = 0;
    r = stat(at(base, "missing"), &st);
    printf("files-c: stat missing: %d %s\n", r, errno == ENOENT ? "ENOENT" : "?");

    int fd = open(at(base, "raw.bin"), O_CREAT | O_EXCL | O_RDWR, 0644);
    ssize_t n_io = write(fd, "0123456789", 10);
    printf("files-c: write: %zd\n", n_io);
    printf("files-c: lseek: %lld\n", (long long)lseek(fd, 3, SEEK_SET));
    char buf[8] = {0};
    n_io = read(fd, buf, 4);
    printf("files-c: read: %zd %.4s\n", n_io, buf);
    n_io = pread(fd, buf, 2, 8);
    printf("files-c: pread: %zd %.2s\n", n_io, buf);
    r = fstat(fd, &st);
    printf("files-c: fstat: %d size %lld\n", r, (long long)st.st_size);
    printf("files-c: ftruncate: %d\n", ftruncate(fd, 4));
    r = fstat(fd, &st);
    printf("files-c: fstat: %d size %lld\n", r, (long long)st.st_size);
    close(fd);
    errno = 0;
    r = open(at(base, "raw.bin"), O_CREAT | O_EXCL | O_RDWR, 0644);
    printf("files-c: O_EXCL again: %d %s\n", r, errno == EEXIST ? "EEXIST" : "?");

    DIR *d = opendir(base);
    char *names[16];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 16)
        names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    for (int i = 0; i < n; i++)
        printf("files-c: entry %s\n", names[i]);

    char target[320];
    snprintf(target, sizeof target, "%s/moved.txt", base);
    printf("files-c: rename: %d\n", rename(at(base, "notes.txt"), target));
    printf("files-c: unlink: %d\n", unlink(target));
    printf("files-c: unlink raw: %d\n", unlink(at(base, "raw.bin")));
    printf("files-c: rmdir: %d\n", rmdir(base));
    errno = 0;
    r = rmdir(base);
    printf("files-c: rmdir again: %d %s\n", r, errno == ENOENT ? "ENOENT" : "?");
    /* Before the chdir: the child is ./files-c, where the program was started. */
    FILE *h = fopen(at(data, "handoff.txt"), "w");
    if (h) {
        fputs("from the parent", h);
        fclose(h);
    }
    fflush(stdout);
    char *cargv[] = {"files-c", (char *)data, "child", NULL};
    pid_t pid;
    int status = -1;
    r = posix_spawn(&pid, "./files-c", NULL, NULL, cargv, environ);
    if (r == 0 && waitpid(pid, &status, 0) != pid)
        status = -1;
    printf("files-c: spawn: %d, child status %d\n", r, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("files-c: chdir: %d\n", chdir(data));
    char cwd[256];
    printf("files-c: getcwd ends with the folder: %d\n",
           getcwd(cwd, sizeof cwd) && strlen(cwd) >= strlen(data) &&
               strcmp(cwd + strlen(cwd) - strlen("FilesC"), "FilesC") == 0);
    printf("files-c: done\n");
    return 0;
}
