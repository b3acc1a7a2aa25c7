//! rs-io: file-descriptor calls on the standard streams, issued raw (write, writev, read,
//! readv, close, lseek, fcntl, ioctl, ppoll, dup, pipe2). On the host stdin is /dev/null
//! and stdout a pipe; on Ostrog they are the console: only what both share is checked.

use conformance_rs::errno::*;
use conformance_rs::{nr, sys, Conf, Timespec};

fn main() {
    let c = Conf::new("rs-io");
    let line = b"rs-io: this line is written by a raw write\n";
    let p = line.as_ptr() as u64;
    let len = line.len() as u64;
    // SAFETY (every call below): the pointers passed are valid for what the call does with
    // them, or deliberately bad addresses the kernel must refuse without touching.
    unsafe {
        c.check(
            "write_fd1_returns_count",
            sys(nr::WRITE, &[1, p, len]),
            len as i64,
        );
        c.check("write_fd2_zero_bytes", sys(nr::WRITE, &[2, p, 0]), 0);
        c.check_err(
            "write_unopened_fd_ebadf",
            sys(nr::WRITE, &[55, p, len]),
            EBADF,
        );
        c.check_err(
            "write_fd_upper_bits_ignored_ebadf",
            sys(nr::WRITE, &[0xffff_ffff_0000_0037, p, 0]),
            EBADF,
        );
        c.check_err(
            "write_bad_pointer_efault",
            sys(nr::WRITE, &[1, 8, 4]),
            EFAULT,
        );
        let parts: [&[u8]; 2] = [b"rs-io: this line is written ", b"by a raw writev\n"];
        let iov = [
            parts[0].as_ptr() as u64,
            parts[0].len() as u64,
            parts[1].as_ptr() as u64,
            parts[1].len() as u64,
        ];
        let total = (parts[0].len() + parts[1].len()) as i64;
        c.check(
            "writev_returns_total",
            sys(nr::WRITEV, &[1, iov.as_ptr() as u64, 2]),
            total,
        );
        c.check_err(
            "writev_bad_vector_efault",
            sys(nr::WRITEV, &[1, 8, 1]),
            EFAULT,
        );
        c.check_err(
            "writev_too_many_einval",
            sys(nr::WRITEV, &[1, iov.as_ptr() as u64, 1025]),
            EINVAL,
        );
        let mut buf = [0u8; 8];
        let b = buf.as_mut_ptr() as u64;
        c.check("read_stdin_end_of_file", sys(nr::READ, &[0, b, 8]), 0);
        c.check_err("read_unopened_fd_ebadf", sys(nr::READ, &[55, b, 8]), EBADF);
        let rv = [b, 8u64];
        c.check(
            "readv_stdin_end_of_file",
            sys(nr::READV, &[0, rv.as_ptr() as u64, 1]),
            0,
        );
        c.check_err("close_unopened_fd_ebadf", sys(nr::CLOSE, &[55]), EBADF);
        c.check_err("lseek_stdout_espipe", sys(nr::LSEEK, &[1, 0, 1]), ESPIPE);
        c.check_err(
            "lseek_unopened_fd_ebadf",
            sys(nr::LSEEK, &[55, 0, 1]),
            EBADF,
        );
        c.check("fcntl_getfd_stdout", sys(nr::FCNTL, &[1, 1]), 0);
        c.check("fcntl_getfl_stdout_wronly", sys(nr::FCNTL, &[1, 3]) & 3, 1);
        c.check_err("fcntl_unopened_fd_ebadf", sys(nr::FCNTL, &[55, 1]), EBADF);
        c.check_err(
            "ioctl_unknown_request_enotty",
            sys(nr::IOCTL, &[1, 0x7e7e, 0]),
            ENOTTY,
        );
        c.check_err(
            "ioctl_tiocgwinsz_unopened_ebadf",
            sys(nr::IOCTL, &[55, 0x5413, b]),
            EBADF,
        );
        // struct pollfd { int fd; short events, revents; }: fd 1 POLLOUT, fd 55 POLLIN.
        let mut fds: [u64; 2] = [1 | (4 << 32), 55 | (1 << 32)];
        let zero = Timespec::default();
        c.check(
            "ppoll_stdout_writable_and_nval",
            sys(
                nr::PPOLL,
                &[
                    fds.as_mut_ptr() as u64,
                    2,
                    &zero as *const Timespec as u64,
                    0,
                    8,
                ],
            ),
            2,
        );
        c.check(
            "ppoll_revents",
            (fds[0] >> 48) as i64 | ((fds[1] >> 48) as i64) << 16,
            4 | 0x20 << 16,
        );
        let start = conformance_rs::monotonic_ns();
        let wait = Timespec {
            sec: 0,
            nsec: 15_000_000,
        };
        c.check(
            "ppoll_nothing_times_out",
            sys(nr::PPOLL, &[0, 0, &wait as *const Timespec as u64, 0, 8]),
            0,
        );
        c.check_true(
            "ppoll_timeout_waits_15ms",
            conformance_rs::monotonic_ns() - start >= 15_000_000,
        );
        let dup = sys(nr::DUP, &[1]);
        c.check_true("dup_stdout_new_fd", dup >= 3);
        let mut pipe = [0i32; 2];
        c.check(
            "pipe2_creates_pair",
            sys(nr::PIPE2, &[pipe.as_mut_ptr() as u64, 0]),
            0,
        );
    }
    c.done();
}
