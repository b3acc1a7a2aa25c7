/* c-attr: umask, chmod/fchmod/fchmodat, chown/fchown/lchown/fchownat, utimensat and
 * futimens: their results and errno, in a folder `c-attr.d` of the working directory (on
 * Ostrog / of the VFS server, on the host the run's folder). Only what agrees between a
 * file system that keeps modes, owners and times (the host's) and one that does not (the
 * VFS server's, docs/linux.md "Files") is compared: results, errno, and the mode a new
 * file gets under the umask. */
#include "conf.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#define D "c-attr.d"

static void clean(void) {
    unlink(D "/f");
    unlink(D "/g");
    rmdir(D);
}

int main(void) {
    conf_start("c-attr");
    clean();
    struct stat st;
    mode_t first = umask(077);
    CHECK_RES("umask_again", umask(first), 077);
    umask(077);
    CHECK_RES("mkdir", mkdir(D, 0777), 0);
    CHECK_RES("mkdir_mode_under_umask", stat(D, &st) == 0 ? (long)(st.st_mode & 0777) : -1, 0700);
    int fd = open(D "/f", O_CREAT | O_RDWR, 0666);
    CHECK_RES("open_mode_under_umask", fstat(fd, &st) == 0 ? (long)(st.st_mode & 0777) : -1, 0600);
    CHECK_RES("umask_high_bits_dropped", umask(0777 | 01000), 077);
    CHECK_RES("umask_read_back", umask(022), 0777);
    int g = open(D "/g", O_CREAT | O_RDWR, 0666);
    CHECK_RES("open_mode_umask_022", fstat(g, &st) == 0 ? (long)(st.st_mode & 0777) : -1, 0644);
    close(g);

    CHECK_RES("chmod", chmod(D "/f", 0640), 0);
    CHECK_ERR("chmod_missing_enoent", chmod(D "/none", 0640), ENOENT);
    CHECK_ERR("chmod_bad_pointer_efault", chmod((const char *)16, 0640), EFAULT);
    CHECK_RES("fchmod", fchmod(fd, 0600), 0);
    CHECK_ERR("fchmod_bad_fd_ebadf", fchmod(40, 0600), EBADF);
    CHECK_RES("fchmodat", fchmodat(AT_FDCWD, D "/f", 0600, 0), 0);
    CHECK_ERR("fchmodat_missing_enoent", fchmodat(AT_FDCWD, D "/none", 0600, 0), ENOENT);
    CHECK_RES("fchmodat_raw_fourth_ignored", syscall(SYS_fchmodat, AT_FDCWD, D "/f", 0600, 1), 0);

    CHECK_RES("chown_unchanged", chown(D "/f", -1, -1), 0);
    CHECK_RES("lchown_unchanged", lchown(D "/f", -1, -1), 0);
    CHECK_ERR("chown_missing_enoent", chown(D "/none", -1, -1), ENOENT);
    CHECK_RES("fchown_unchanged", fchown(fd, -1, -1), 0);
    CHECK_ERR("fchown_bad_fd_ebadf", fchown(40, -1, -1), EBADF);
    CHECK_RES("fchownat_unchanged", fchownat(AT_FDCWD, D "/f", -1, -1, 0), 0);
    CHECK_RES("fchownat_empty_path", fchownat(fd, "", -1, -1, AT_EMPTY_PATH), 0);
    CHECK_ERR("fchownat_bad_flags_einval", fchownat(AT_FDCWD, D "/f", -1, -1, 1), EINVAL);

    struct timespec times[2] = {{.tv_sec = 1, .tv_nsec = 0}, {.tv_sec = 2, .tv_nsec = UTIME_OMIT}};
    CHECK_RES("utimensat", utimensat(AT_FDCWD, D "/f", times, 0), 0);
    CHECK_RES("utimensat_now", utimensat(AT_FDCWD, D "/f", NULL, 0), 0);
    CHECK_ERR("utimensat_missing_enoent", utimensat(AT_FDCWD, D "/none", NULL, 0), ENOENT);
    CHECK_RES("futimens", futimens(fd, times), 0);
    CHECK_ERR("futimens_bad_fd_ebadf", futimens(40, NULL), EBADF);
    struct timespec bad[2] = {{.tv_sec = 1, .tv_nsec = 1000000000}, {.tv_sec = 1}};
    CHECK_ERR("utimensat_bad_nsec_einval", utimensat(AT_FDCWD, D "/f", bad, 0), EINVAL);
    CHECK_ERR("utimensat_bad_flags_einval", utimensat(AT_FDCWD, D "/f", NULL, 1), EINVAL);

    close(fd);
    umask(first);
    clean();
    return conf_end();
}
