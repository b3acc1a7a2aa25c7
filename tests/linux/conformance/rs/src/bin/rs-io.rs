//! rs-io: file-descriptor calls on the standard streams, issued raw (write, writev, read,
//! readv, close, lseek, fcntl, ioctl, ppoll, dup, pipe2), then the same calls on a pipe
//! (status flags, non-blocking reads and writes, a full pipe, end of file, a broken pipe:
//! Rust's runtime ignores SIGPIPE, so the write fails with EPIPE). On the host stdin is
//! /dev/null and stdout a pipe; on Ostrog they are the console: only what both share is
//! checked.

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
        pipes(&c);
    }
    c.done();
}

/// A pollfd as one word: fd, events, revents.
fn pollfd(fd: i32, events: u16) -> u64 {
    fd as u32 as u64 | u64::from(events) << 32
}

/// `ppoll` of one descriptor without waiting: (result, revents).
unsafe fn poll_one(fd: i32, events: u16) -> (i64, i64) {
    let mut p = [pollfd(fd, events)];
    let zero = Timespec { sec: 0, nsec: 0 };
    let r = sys(
        nr::PPOLL,
        &[
            p.as_mut_ptr() as u64,
            1,
            &zero as *const Timespec as u64,
            0,
            8,
        ],
    );
    (r, (p[0] >> 48) as i64)
}

/// The calls on a pipe's ends.
unsafe fn pipes(c: &Conf) {
    const O_NONBLOCK: i64 = 0o4000;
    const O_CLOEXEC: u64 = 0o2000000;
    const POLLIN: u16 = 1;
    const POLLOUT: u16 = 4;
    let mut p = [0i32; 2];
    c.check(
        "pipe2_nonblock_cloexec",
        sys(
            nr::PIPE2,
            &[p.as_mut_ptr() as u64, O_NONBLOCK as u64 | O_CLOEXEC],
        ),
        0,
    );
    let (r, w) = (p[0] as u64, p[1] as u64);
    c.check("pipe_getfd_cloexec", sys(nr::FCNTL, &[r, 1]), 1);
    c.check("pipe_getfl_read_end", sys(nr::FCNTL, &[r, 3]), O_NONBLOCK);
    c.check(
        "pipe_getfl_write_end",
        sys(nr::FCNTL, &[w, 3]),
        O_NONBLOCK | 1,
    );
    let mut buf = [0u8; 8];
    c.check_err(
        "pipe_read_empty_eagain",
        sys(nr::READ, &[r, buf.as_mut_ptr() as u64, 8]),
        EAGAIN,
    );
    c.check("pipe_poll_empty", poll_one(p[0], POLLIN).0, 0);
    c.check(
        "pipe_write_returns_count",
        sys(nr::WRITE, &[w, b"hello".as_ptr() as u64, 5]),
        5,
    );
    c.check("pipe_poll_pollin", poll_one(p[0], POLLIN).1, 1);
    c.check("pipe_poll_pollout", poll_one(p[1], POLLOUT).1, 4);
    let iov = [buf.as_mut_ptr() as u64, 3u64];
    c.check(
        "pipe_readv_takes_bytes",
        sys(nr::READV, &[r, iov.as_ptr() as u64, 1]),
        3,
    );
    c.check(
        "pipe_read_rest",
        sys(nr::READ, &[r, buf.as_mut_ptr().add(3) as u64, 8]),
        2,
    );
    c.check_true("pipe_bytes_in_order", &buf[..5] == b"hello");
    c.check_err("pipe_lseek_espipe", sys(nr::LSEEK, &[r, 0, 1]), ESPIPE);
    c.check_err(
        "pipe_ioctl_tcgets_enotty",
        sys(nr::IOCTL, &[r, 0x5401, buf.as_mut_ptr() as u64]),
        ENOTTY,
    );
    // A full pipe: 64 KiB in pieces of 4 KiB, then EAGAIN, and no POLLOUT.
    let chunk = [7u8; 4096];
    let mut total = 0;
    loop {
        let n = sys(nr::WRITE, &[w, chunk.as_ptr() as u64, 4096]);
        if n <= 0 {
            c.check_err("pipe_full_write_eagain", n, EAGAIN);
            break;
        }
        total += n;
    }
    c.check("pipe_holds_64k", total, 65536);
    c.check("pipe_full_no_pollout", poll_one(p[1], POLLOUT).0, 0);
    // No reader: EPIPE, and POLLERR on the write end.
    c.check("pipe_close_read_end", sys(nr::CLOSE, &[r]), 0);
    c.check_err(
        "pipe_write_without_reader_epipe",
        sys(nr::WRITE, &[w, chunk.as_ptr() as u64, 1]),
        EPIPE,
    );
    c.check("pipe_poll_pollerr", poll_one(p[1], POLLOUT).1, 8);
    c.check("pipe_close_write_end", sys(nr::CLOSE, &[w]), 0);
    // No writer: end of file, and POLLHUP on the read end.
    c.check(
        "pipe2_plain",
        sys(nr::PIPE2, &[p.as_mut_ptr() as u64, 0]),
        0,
    );
    c.check(
        "pipe_close_write_end_first",
        sys(nr::CLOSE, &[p[1] as u64]),
        0,
    );
    c.check("pipe_poll_pollhup", poll_one(p[0], POLLIN).1, 0x10);
    c.check(
        "pipe_read_eof",
        sys(nr::READ, &[p[0] as u64, buf.as_mut_ptr() as u64, 8]),
        0,
    );
    c.check(
        "pipe_close_read_end_last",
        sys(nr::CLOSE, &[p[0] as u64]),
        0,
    );
}
