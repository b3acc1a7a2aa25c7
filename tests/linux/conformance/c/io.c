/* c-io: file-descriptor calls on the standard streams (write, writev, read, readv, close,
 * lseek, fcntl, ioctl, poll, ppoll, dup). On the host stdin is /dev/null and stdout a pipe;
 * on Ostrog they are the console, so only behaviour both share is checked. */
#include "conf.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>

int main(void) {
    conf_start("c-io");
    const char line[] = "c-io: this line is written by write(2)\n";
    fflush(stdout);
    CHECK_RES("write_fd1_returns_count", write(1, line, sizeof line - 1), sizeof line - 1);
    CHECK_RES("write_zero_bytes", write(1, line, 0), 0);
    CHECK_ERR("write_unopened_fd_ebadf", write(77, line, 4), EBADF);
    CHECK_ERR("write_negative_fd_ebadf", write(-1, line, 4), EBADF);
    CHECK_ERR("write_bad_pointer_efault", write(1, (const void *)16, 4), EFAULT);

    struct iovec iov[3] = {
        {(void *)"c-io: this line is ", 19},
        {(void *)"written by ", 11},
        {(void *)"writev(2)\n", 10},
    };
    CHECK_RES("writev_returns_total", writev(1, iov, 3), 40);
    CHECK_RES("writev_zero_vectors", writev(1, iov, 0), 0);
    CHECK_ERR("writev_unopened_fd_ebadf", writev(77, iov, 3), EBADF);
    CHECK_ERR("writev_bad_vector_pointer_efault", writev(1, (const struct iovec *)16, 1), EFAULT);
    CHECK_ERR("writev_negative_count_einval", writev(1, iov, -1), EINVAL);
    CHECK_ERR("writev_too_many_vectors_einval", writev(1, iov, 1025), EINVAL);

    char buf[16];
    CHECK_RES("read_stdin_end_of_file", read(0, buf, sizeof buf), 0);
    CHECK_ERR("read_unopened_fd_ebadf", read(77, buf, sizeof buf), EBADF);
    struct iovec rv = {buf, sizeof buf};
    CHECK_RES("readv_stdin_end_of_file", readv(0, &rv, 1), 0);
    CHECK_ERR("readv_unopened_fd_ebadf", readv(77, &rv, 1), EBADF);

    CHECK_ERR("close_unopened_fd_ebadf", close(77), EBADF);
    CHECK_ERR("lseek_unopened_fd_ebadf", lseek(77, 0, SEEK_SET), EBADF);
    CHECK_ERR("lseek_stdout_espipe", lseek(1, 0, SEEK_CUR), ESPIPE);

    CHECK_RES("fcntl_getfd_stdout_no_cloexec", fcntl(1, F_GETFD), 0);
    CHECK_RES("fcntl_setfd_cloexec", fcntl(2, F_SETFD, FD_CLOEXEC), 0);
    CHECK_RES("fcntl_getfd_after_setfd", fcntl(2, F_GETFD), FD_CLOEXEC);
    CHECK_RES("fcntl_setfd_clear", fcntl(2, F_SETFD, 0), 0);
    CHECK_RES("fcntl_getfl_stdout_wronly", fcntl(1, F_GETFL) & O_ACCMODE, O_WRONLY);
    CHECK_ERR("fcntl_unopened_fd_ebadf", fcntl(77, F_GETFD), EBADF);
    CHECK_ERR("fcntl_unknown_command_einval", fcntl(1, 0x7777), EINVAL);

    CHECK_ERR("ioctl_unopened_fd_ebadf", ioctl(77, TCGETS, buf), EBADF);
    CHECK_ERR("ioctl_unknown_request_enotty", ioctl(1, 0x7e7e, 0), ENOTTY);

    struct pollfd p[2] = {{1, POLLOUT, 0}, {77, POLLIN, 0}};
    CHECK_RES("poll_stdout_writable_and_nval", poll(p, 2, 0), 2);
    CHECK("poll_revents_pollout", p[0].revents, POLLOUT);
    CHECK("poll_revents_pollnval", p[1].revents, POLLNVAL);
    struct pollfd neg = {-1, POLLIN, 77};
    CHECK_RES("poll_negative_fd_ignored", poll(&neg, 1, 0), 0);
    CHECK("poll_negative_fd_revents_zero", neg.revents, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_RES("poll_nothing_times_out", poll(NULL, 0, 20), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK("poll_timeout_waits_20ms", ms >= 19, 1);
    CHECK_ERR("poll_bad_pointer_efault", poll((struct pollfd *)16, 1, 0), EFAULT);
    struct timespec zero = {0, 0};
    CHECK_RES("ppoll_stdout_writable", ppoll(p, 1, &zero, NULL), 1);
    struct timespec bad = {0, 1000000000};
    CHECK_ERR("ppoll_bad_timeout_einval", ppoll(p, 1, &bad, NULL), EINVAL);

    return conf_end();
}
