/* c-fds: one descriptor table for files, pipes and the standard descriptors: dup2/dup3
 * of files onto 0-2, the lowest free number after close(0), fcntl's descriptor and status
 * flags on files, poll/ppoll and select/pselect6 on files mixed with pipes, in a
 * folder `c-fds.d` of the working directory (on Ostrog / of the VFS server, on the host
 * the run's folder). */
#include "conf.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/select.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#define D "c-fds.d"

static void clean(void) {
    unlink(D "/f");
    unlink(D "/g");
    rmdir(D);
}

/* The bits of F_GETFL this checks (Linux adds O_LARGEFILE on 64-bit hosts). */
#define STATUS (O_ACCMODE | O_APPEND | O_NONBLOCK)

int main(void) {
    conf_start("c-fds");
    clean();
    char buf[64];
    struct stat st;
    CHECK_RES("mkdir", mkdir(D, 0755), 0);
    int fd = open(D "/f", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK_RES("open_is_3", fd, 3);
    CHECK_RES("write", write(fd, "0123456789", 10), 10);

    /* A file onto standard input: read, lseek, fstat through 0. */
    int in = dup(0);
    CHECK_RES("dup_of_stdin_is_4", in, 4);
    CHECK_RES("dup2_file_onto_0", dup2(fd, 0), 0);
    CHECK_RES("lseek_0", lseek(0, 2, SEEK_SET), 2);
    CHECK_RES("read_0", read(0, buf, 3), 3);
    CHECK_RES("read_0_bytes", memcmp(buf, "234", 3), 0);
    CHECK_RES("shared_position", lseek(fd, 0, SEEK_CUR), 5);
    CHECK_RES("fstat_0_regular", fstat(0, &st) == 0 && S_ISREG(st.st_mode), 1);
    CHECK_RES("fstat_0_size", st.st_size, 10);
    CHECK_RES("dup2_stdin_back", dup2(in, 0), 0);
    CHECK_RES("close_saved_stdin", close(in), 0);

    /* A file onto standard error, then back with dup3 and O_CLOEXEC. */
    int err = dup(2);
    CHECK_RES("dup2_file_onto_2", dup2(fd, 2), 2);
    CHECK_RES("write_2", write(2, "ab", 2), 2);
    CHECK_RES("pread_what_2_wrote", pread(fd, buf, 2, 5), 2);
    CHECK_RES("pread_bytes", memcmp(buf, "ab", 2), 0);
    CHECK_RES("dup3_back_cloexec", dup3(err, 2, O_CLOEXEC), 2);
    CHECK_RES("getfd_2_cloexec", fcntl(2, F_GETFD), FD_CLOEXEC);
    CHECK_RES("setfd_2", fcntl(2, F_SETFD, 0), 0);
    CHECK_RES("close_saved_stderr", close(err), 0);

    /* The lowest free number: 0 after close(0), for open, dup and pipe alike. */
    in = dup(0);
    CHECK_RES("close_0", close(0), 0);
    CHECK_ERR("read_closed_0_ebadf", read(0, buf, 1), EBADF);
    int g = open(D "/f", O_RDONLY);
    CHECK_RES("open_after_close_0_is_0", g, 0);
    CHECK_RES("read_new_0", read(0, buf, 4), 4);
    CHECK_RES("read_new_0_bytes", memcmp(buf, "0123", 4), 0);
    CHECK_RES("close_0_again", close(0), 0);
    CHECK_RES("dup_after_close_0_is_0", dup(fd), 0);
    CHECK_RES("close_0_third", close(0), 0);
    int p[2];
    CHECK_RES("pipe", pipe(p), 0);
    CHECK_RES("pipe_read_end_is_0", p[0], 0);
    CHECK_RES("close_pipe_0", close(p[0]), 0);
    CHECK_RES("dup2_stdin_back_again", dup2(in, 0), 0);
    CHECK_RES("close_saved_stdin_again", close(in), 0);

    /* dup2 across kinds: a pipe end onto a file's number, a file onto a pipe's. */
    int h = open(D "/g", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    CHECK_RES("dup2_pipe_onto_file", dup2(p[1], h), h);
    CHECK_ERR("lseek_pipe_there", lseek(h, 0, SEEK_CUR), ESPIPE);
    CHECK_RES("dup2_file_onto_pipe", dup2(fd, p[1]), p[1]);
    CHECK_RES("lseek_file_there", lseek(p[1], 0, SEEK_CUR), 7);
    CHECK_RES("close_h", close(h), 0);
    CHECK_RES("close_p1", close(p[1]), 0);
    CHECK_ERR("dup2_from_closed_ebadf", dup2(h, 0), EBADF);
    CHECK_ERR("dup2_onto_too_big_ebadf", dup2(fd, 1 << 20), EBADF);

    /* fcntl on files. */
    int a = open(D "/f", O_WRONLY | O_APPEND | O_CLOEXEC);
    CHECK_RES("getfl_append", fcntl(a, F_GETFL) & STATUS, O_WRONLY | O_APPEND);
    CHECK_RES("getfd_cloexec", fcntl(a, F_GETFD), FD_CLOEXEC);
    CHECK_RES("setfl_nonblock", fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK), 0);
    CHECK_RES("getfl_nonblock", fcntl(a, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    CHECK_RES("setfd_0", fcntl(a, F_SETFD, 0), 0);
    CHECK_RES("getfd_0", fcntl(a, F_GETFD), 0);
    int b = fcntl(a, F_DUPFD, 30);
    CHECK_RES("dupfd_30", b, 30);
    CHECK_RES("dupfd_no_cloexec", fcntl(b, F_GETFD), 0);
    CHECK_RES("dupfd_same_status", fcntl(b, F_GETFL) & O_ACCMODE, O_WRONLY);
    int c = fcntl(a, F_DUPFD_CLOEXEC, 30);
    CHECK_RES("dupfd_cloexec_31", c, 31);
    CHECK_RES("dupfd_cloexec_set", fcntl(c, F_GETFD), FD_CLOEXEC);
    CHECK_RES("dup_clears_cloexec", fcntl(dup2(c, 32), F_GETFD), 0);
    CHECK_RES("append_writes_at_end", write(c, "Z", 1), 1);
    CHECK_RES("size_after_append", fstat(fd, &st) == 0 ? st.st_size : -1, 11);
    CHECK_ERR("fcntl_bad_fd", fcntl(40, F_GETFD), EBADF);
    close(a);
    close(b);
    close(c);
    close(32);

    /* poll and ppoll: a file is always ready; an empty pipe's read end is not. */
    CHECK_RES("pipe_again", pipe(p), 0);
    struct pollfd pf[4] = {
        {.fd = fd, .events = POLLIN | POLLOUT},
        {.fd = p[0], .events = POLLIN},
        {.fd = p[1], .events = POLLOUT},
        {.fd = 40, .events = POLLIN},
    };
    CHECK_RES("poll_file_and_pipes", poll(pf, 4, 0), 3);
    CHECK_RES("poll_file_revents", pf[0].revents, POLLIN | POLLOUT);
    CHECK_RES("poll_empty_pipe_revents", pf[1].revents, 0);
    CHECK_RES("poll_pipe_write_revents", pf[2].revents, POLLOUT);
    CHECK_RES("poll_closed_nval", pf[3].revents, POLLNVAL);
    struct pollfd one = {.fd = fd, .events = POLLIN};
    struct timespec ts = {.tv_sec = 5};
    CHECK_RES("ppoll_file_at_once", ppoll(&one, 1, &ts, NULL), 1);
    CHECK_RES("ppoll_file_revents", one.revents, POLLIN);
    struct pollfd rd = {.fd = fd, .events = POLLRDNORM | POLLWRNORM};
    CHECK_RES("poll_rdnorm_wrnorm", poll(&rd, 1, -1), 1);
    CHECK_RES("poll_rdnorm_wrnorm_revents", rd.revents, POLLRDNORM | POLLWRNORM);
    /* select and pselect6 (the same engine): the file readable and writable, the empty
     * pipe's read end not, its write end writable. */
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fd, &r);
    FD_SET(p[0], &r);
    FD_SET(fd, &w);
    FD_SET(p[1], &w);
    struct timeval tv = {0, 0};
    int top = (fd > p[1] ? fd : p[1]) + 1;
    CHECK_RES("select_file_and_pipes", select(top, &r, &w, NULL, &tv), 3);
    CHECK_RES("select_file_readable", FD_ISSET(fd, &r) != 0, 1);
    CHECK_RES("select_empty_pipe_not", FD_ISSET(p[0], &r) != 0, 0);
    CHECK_RES("select_file_writable", FD_ISSET(fd, &w) != 0, 1);
    CHECK_RES("select_pipe_writable", FD_ISSET(p[1], &w) != 0, 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timespec zero = {0, 0};
    CHECK_RES("pselect_empty_pipe_at_once", pselect(p[0] + 1, &r, NULL, NULL, &zero, NULL), 0);
    CHECK_RES("pselect_set_cleared", FD_ISSET(p[0], &r) != 0, 0);
    FD_SET(p[0], &r);
    tv.tv_usec = 20000;
    CHECK_RES("select_empty_pipe_times_out", select(p[0] + 1, &r, NULL, NULL, &tv), 0);
    CHECK_RES("select_timed_out_set_cleared", FD_ISSET(p[0], &r) != 0, 0);
    CHECK_RES("write_pipe", write(p[1], "x", 1), 1);
    FD_SET(p[0], &r);
    CHECK_RES("select_pipe_with_data", select(p[0] + 1, &r, NULL, NULL, NULL), 1);
    CHECK_RES("select_pipe_with_data_set", FD_ISSET(p[0], &r) != 0, 1);
    FD_ZERO(&r);
    FD_SET(40, &r);
    tv.tv_usec = 0;
    CHECK_ERR("select_closed_fd_ebadf", select(41, &r, NULL, NULL, &tv), EBADF);
    CHECK_ERR("select_negative_nfds_einval", select(-1, NULL, NULL, NULL, &tv), EINVAL);
    tv.tv_sec = -1;
    CHECK_ERR("select_negative_timeval_einval", select(0, NULL, NULL, NULL, &tv), EINVAL);
    close(p[0]);
    close(p[1]);

    CHECK_RES("close_fd", close(fd), 0);
    CHECK_ERR("close_twice_ebadf", close(fd), EBADF);
    clean();
    return conf_end();
}
