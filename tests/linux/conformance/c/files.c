/* c-files: file calls (open, openat, read, write, lseek, pread, pwrite, stat, fstat,
 * getdents64, mkdir, rmdir, unlink, rename, ftruncate, fsync, access, readlink) and their
 * errno, in a folder `c-files.d` of the working directory: on Ostrog `/` of the VFS
 * server (kl.VfsRamFs, docs/files.md), on the host the run's folder. */
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#define D "c-files.d"

static void clean(void) {
    unlink(D "/f");
    unlink(D "/g");
    unlink(D "/sub/x");
    rmdir(D "/sub");
    rmdir(D "/sub2");
    rmdir(D);
}

/* Entries of a directory by getdents64. */
static long entries(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -errno;
    char buf[1024];
    long n = 0;
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (got <= 0) {
            n = got < 0 ? -errno : n;
            break;
        }
        for (long at = 0; at < got;) {
            unsigned short reclen;
            memcpy(&reclen, buf + at + 16, 2);
            at += reclen;
            n++;
        }
    }
    close(fd);
    return n;
}

int main(void) {
    conf_start("c-files");
    clean();
    struct stat st;
    char buf[64];

    CHECK_ERR("open_missing_enoent", open(D "/none", O_RDONLY), ENOENT);
    CHECK_ERR("openat_missing_enoent", syscall(SYS_openat, AT_FDCWD, D "/none", 0, 0), ENOENT);
    CHECK_ERR("open_empty_path_enoent", open("", O_RDONLY), ENOENT);
    CHECK_ERR("open_bad_pointer_efault", open((const char *)16, O_RDONLY), EFAULT);
    CHECK_ERR("mkdir_missing_parent_enoent", mkdir(D "/a/b", 0755), ENOENT);
    CHECK_RES("mkdir", mkdir(D, 0755), 0);
    CHECK_ERR("mkdir_exists_eexist", mkdir(D, 0755), EEXIST);

    int fd = open(D "/f", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    CHECK("open_creat_gives_a_descriptor", fd >= 3, 1);
    CHECK_RES("fcntl_getfd_cloexec", fcntl(fd, F_GETFD), FD_CLOEXEC);
    CHECK_RES("write_count", write(fd, "0123456789", 10), 10);
    CHECK_RES("lseek_set", lseek(fd, 2, SEEK_SET), 2);
    CHECK_RES("read_after_lseek", read(fd, buf, 3), 3);
    CHECK("read_bytes", memcmp(buf, "234", 3), 0);
    CHECK_RES("lseek_cur", lseek(fd, 0, SEEK_CUR), 5);
    CHECK_RES("lseek_end", lseek(fd, -1, SEEK_END), 9);
    CHECK_ERR("lseek_negative_einval", lseek(fd, -100, SEEK_SET), EINVAL);
    CHECK_ERR("lseek_bad_whence_einval", lseek(fd, 0, 42), EINVAL);
    CHECK_RES("read_to_end", read(fd, buf, 64), 1);
    CHECK_RES("read_at_end_zero", read(fd, buf, 64), 0);
    CHECK_RES("lseek_past_end", lseek(fd, 20, SEEK_SET), 20);
    CHECK_RES("write_past_end", write(fd, "x", 1), 1);
    CHECK_RES("pread_hole_is_zero", pread(fd, buf, 2, 12), 2);
    CHECK("hole_bytes", buf[0] == 0 && buf[1] == 0, 1);
    CHECK_RES("pwrite", pwrite(fd, "AB", 2, 0), 2);
    CHECK_RES("pwrite_keeps_position", lseek(fd, 0, SEEK_CUR), 21);
    CHECK_RES("pread", pread(fd, buf, 3, 0), 3);
    CHECK("pread_bytes", memcmp(buf, "AB2", 3), 0);
    CHECK_ERR("pread_negative_offset_einval", pread(fd, buf, 1, -1), EINVAL);
    CHECK_ERR("pread_bad_pointer_efault", pread(fd, (void *)16, 4, 0), EFAULT);
    CHECK_RES("fstat", fstat(fd, &st), 0);
    CHECK("fstat_size", st.st_size, 21);
    CHECK("fstat_regular", S_ISREG(st.st_mode), 1);
    CHECK_RES("ftruncate_shrinks", ftruncate(fd, 4), 0);
    CHECK_RES("fstat_after_ftruncate", fstat(fd, &st), 0);
    CHECK("size_after_ftruncate", st.st_size, 4);
    CHECK_ERR("ftruncate_negative_einval", ftruncate(fd, -1), EINVAL);
    int copy = dup(fd);
    CHECK("dup_gives_a_descriptor", copy > fd, 1);
    CHECK_RES("dup_shares_the_position", lseek(copy, 0, SEEK_CUR), 21);
    CHECK_RES("lseek_on_the_copy", lseek(copy, 1, SEEK_SET), 1);
    CHECK_RES("moves_the_original", lseek(fd, 0, SEEK_CUR), 1);
    CHECK_RES("close_the_copy", close(copy), 0);
    CHECK_RES("original_still_open", lseek(fd, 0, SEEK_CUR), 1);
    CHECK_RES("fsync", fsync(fd), 0);
    CHECK_RES("fdatasync", fdatasync(fd), 0);
    CHECK_RES("close", close(fd), 0);
    CHECK_ERR("close_twice_ebadf", close(fd), EBADF);
    CHECK_ERR("read_closed_ebadf", read(fd, buf, 1), EBADF);

    CHECK_ERR("open_excl_eexist", open(D "/f", O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST);
    CHECK_ERR("open_dir_for_writing_eisdir", open(D, O_WRONLY), EISDIR);
    CHECK_ERR("open_directory_on_file_enotdir", open(D "/f", O_RDONLY | O_DIRECTORY), ENOTDIR);
    CHECK_ERR("open_through_a_file_enotdir", open(D "/f/x", O_RDONLY), ENOTDIR);
    fd = open(D "/f", O_RDONLY);
    CHECK_ERR("write_on_read_only_ebadf", write(fd, "x", 1), EBADF);
    CHECK_ERR("ftruncate_read_only_einval", ftruncate(fd, 0), EINVAL);
    close(fd);
    fd = open(D "/f", O_WRONLY | O_APPEND);
    CHECK_ERR("read_on_write_only_ebadf", read(fd, buf, 1), EBADF);
    CHECK_RES("append_write", write(fd, "yz", 2), 2);
    CHECK_RES("append_lands_at_end", lseek(fd, 0, SEEK_CUR), 6);
    close(fd);
    fd = open(D "/f", O_WRONLY | O_TRUNC);
    CHECK_RES("o_trunc_empties", lseek(fd, 0, SEEK_END), 0);
    close(fd);
    fd = open(D, O_RDONLY | O_DIRECTORY);
    CHECK_ERR("read_on_directory_eisdir", read(fd, buf, 1), EISDIR);
    close(fd);

    CHECK_RES("stat", stat(D "/f", &st), 0);
    CHECK("stat_size", st.st_size, 0);
    CHECK_RES("stat_dir", stat(D, &st), 0);
    CHECK("stat_is_dir", S_ISDIR(st.st_mode), 1);
    CHECK_ERR("stat_missing_enoent", stat(D "/none", &st), ENOENT);
    CHECK_ERR("stat_through_a_file_enotdir", stat(D "/f/x", &st), ENOTDIR);
    CHECK_RES("fstatat", fstatat(AT_FDCWD, D "/f", &st, 0), 0);
    CHECK_RES("access_exists", access(D "/f", F_OK), 0);
    CHECK_ERR("access_missing_enoent", access(D "/none", F_OK), ENOENT);
    CHECK_ERR("readlink_not_a_link_einval", readlink(D "/f", buf, sizeof buf), EINVAL);
    CHECK_ERR("readlink_missing_enoent", readlink(D "/none", buf, sizeof buf), ENOENT);

    CHECK_RES("mkdir_sub", mkdir(D "/sub", 0755), 0);
    CHECK_RES("create_in_sub", close(open(D "/sub/x", O_CREAT | O_WRONLY, 0644)), 0);
    CHECK("getdents64_entries", entries(D), 4);
    CHECK("getdents64_of_file_enotdir", entries(D "/f"), -ENOTDIR);
    CHECK_ERR("rmdir_not_empty_enotempty", rmdir(D "/sub"), ENOTEMPTY);
    CHECK_ERR("rmdir_file_enotdir", rmdir(D "/f"), ENOTDIR);
    CHECK_ERR("unlink_dir_eisdir", unlink(D "/sub"), EISDIR);
    CHECK_ERR("unlink_missing_enoent", unlink(D "/none"), ENOENT);
    CHECK_RES("rename", rename(D "/f", D "/g"), 0);
    CHECK_ERR("renamed_from_is_gone", access(D "/f", F_OK), ENOENT);
    CHECK_ERR("rename_missing_enoent", rename(D "/none", D "/h"), ENOENT);
    CHECK_ERR("rename_file_over_dir_eisdir", rename(D "/g", D "/sub"), EISDIR);
    CHECK_RES("mkdir_sub2", mkdir(D "/sub2", 0755), 0);
    CHECK_ERR("rename_dir_over_nonempty_enotempty", rename(D "/sub2", D "/sub"), ENOTEMPTY);
    CHECK_ERR("rename_dir_into_itself_einval", rename(D "/sub", D "/sub/y"), EINVAL);
    CHECK_RES("unlink", unlink(D "/sub/x"), 0);
    CHECK_RES("rename_dir_over_empty", rename(D "/sub2", D "/sub"), 0);
    CHECK_RES("rmdir", rmdir(D "/sub"), 0);
    CHECK_ERR("rmdir_again_enoent", rmdir(D "/sub"), ENOENT);
    CHECK_RES("chdir", chdir(D), 0);
    CHECK_RES("relative_open", close(open("g", O_RDONLY)), 0);
    CHECK_RES("chdir_back", chdir(".."), 0);
    clean();
    CHECK_ERR("folder_gone", access(D, F_OK), ENOENT);
    return conf_end();
}
