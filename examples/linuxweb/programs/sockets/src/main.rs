//! Socket options and signals, case by case, over the loopback address 127.0.0.1: a Rust
//! std program for Linux (with `libc` for what std does not expose). Each case prints
//! `sockets: ok NAME` or `sockets: FAIL NAME: what happened`, and the last line counts them;
//! the same program on a Linux host prints the lines Ostrog must print (the test compares
//! them). Nothing printed depends on the run.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SIGPIPES: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_sigpipe(_: libc::c_int) {
    SIGPIPES.fetch_add(1, Ordering::SeqCst);
}

struct Cases {
    run: u32,
    failed: u32,
}

impl Cases {
    fn check(&mut self, name: &str, result: Result<(), String>) {
        self.run += 1;
        match result {
            Ok(()) => println!("sockets: ok {name}"),
            Err(why) => {
                self.failed += 1;
                println!("sockets: FAIL {name}: {why}");
            }
        }
    }
}

fn errno_of<T: std::fmt::Debug>(r: std::io::Result<T>, errno: i32) -> Result<(), String> {
    match r {
        Err(e) if e.raw_os_error() == Some(errno) => Ok(()),
        other => Err(format!("got {other:?}, expected errno {errno}")),
    }
}

/// The last OS error of a libc call that answered -1.
fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A loopback TCP connection: (the connecting end, the accepted end).
fn tcp_pair(listener: &TcpListener) -> std::io::Result<(TcpStream, TcpStream)> {
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    Ok((client, server))
}

fn timeval(usec: i64) -> libc::timeval {
    libc::timeval {
        tv_sec: usec / 1_000_000,
        tv_usec: (usec % 1_000_000) as _,
    }
}

fn set_timeval(fd: i32, name: libc::c_int, tv: &libc::timeval) -> i32 {
    // SAFETY: `tv` is a valid timeval for the call's duration, with its size given.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    }
}

fn main() {
    let mut c = Cases { run: 0, failed: 0 };

    // UDP over the loopback address, and a receive time-out.
    let a = UdpSocket::bind("127.0.0.1:0").expect("UDP socket");
    let b = UdpSocket::bind("127.0.0.1:0").expect("UDP socket");
    c.check(
        "udp_loopback",
        (|| {
            a.send_to(b"ping", b.local_addr().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 16];
            let (n, from) = b.recv_from(&mut buf).map_err(|e| e.to_string())?;
            match (&buf[..n], Some(from) == a.local_addr().ok()) {
                (b"ping", true) => Ok(()),
                other => Err(format!("received {other:?}")),
            }
        })(),
    );
    let wait = Duration::from_millis(300);
    c.check(
        "rcvtimeo_reads_back",
        (|| {
            b.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
            match b.read_timeout() {
                Ok(Some(t)) if t == wait => Ok(()),
                other => Err(format!("read back {other:?}")),
            }
        })(),
    );
    c.check(
        "rcvtimeo_eagain",
        (|| {
            let start = Instant::now();
            let mut buf = [0u8; 16];
            errno_of(b.recv_from(&mut buf), libc::EAGAIN)?;
            match start.elapsed() {
                t if t >= wait - Duration::from_millis(20) => Ok(()),
                t => Err(format!("gave up after {t:?}")),
            }
        })(),
    );
    c.check("rcvtimeo_bad_usec_edom", {
        let r = set_timeval(
            b.as_raw_fd(),
            libc::SO_RCVTIMEO,
            &libc::timeval {
                tv_sec: 0,
                tv_usec: 1_000_000,
            },
        );
        match (r, last_errno()) {
            (-1, libc::EDOM) => Ok(()),
            other => Err(format!("got {other:?}")),
        }
    });

    // A burst of datagrams to a socket that does not read: what does not fit is dropped
    // (bounded buffers), and the socket still works after.
    c.check(
        "udp_burst_bounded_then_served",
        (|| {
            let to = b.local_addr().map_err(|e| e.to_string())?;
            for i in 0..100u8 {
                a.send_to(&[i; 1000], to).map_err(|e| e.to_string())?;
            }
            // What is still on its way arrives or is dropped meanwhile.
            std::thread::sleep(Duration::from_millis(200));
            b.set_nonblocking(true).map_err(|e| e.to_string())?;
            let mut buf = [0u8; 1500];
            let mut got = 0;
            while let Ok((n, _)) = b.recv_from(&mut buf) {
                got += usize::from(n == 1000);
            }
            b.set_nonblocking(false).map_err(|e| e.to_string())?;
            a.send_to(b"after", to).map_err(|e| e.to_string())?;
            let (n, _) = b.recv_from(&mut buf).map_err(|e| e.to_string())?;
            match (got > 0, &buf[..n]) {
                (true, b"after") => Ok(()),
                other => Err(format!("{got} of the burst, then {other:?}")),
            }
        })(),
    );

    // TCP over the loopback address.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listening socket");
    c.check(
        "tcp_loopback",
        (|| {
            let (mut client, mut server) = tcp_pair(&listener).map_err(|e| e.to_string())?;
            client.write_all(b"hello").map_err(|e| e.to_string())?;
            let mut buf = [0u8; 5];
            server.read_exact(&mut buf).map_err(|e| e.to_string())?;
            server.write_all(b"back").map_err(|e| e.to_string())?;
            let mut back = [0u8; 4];
            client.read_exact(&mut back).map_err(|e| e.to_string())?;
            match (&buf, &back) {
                (b"hello", b"back") => Ok(()),
                other => Err(format!("received {other:?}")),
            }
        })(),
    );
    c.check("accept_rcvtimeo_eagain", {
        let r = set_timeval(listener.as_raw_fd(), libc::SO_RCVTIMEO, &timeval(200_000));
        match r {
            0 => errno_of(listener.accept(), libc::EAGAIN),
            _ => Err(format!("setsockopt: errno {}", last_errno())),
        }
    });
    let _ = set_timeval(listener.as_raw_fd(), libc::SO_RCVTIMEO, &timeval(0));
    c.check(
        "sndtimeo_eagain",
        (|| {
            let (mut client, _server) = tcp_pair(&listener).map_err(|e| e.to_string())?;
            client
                .set_write_timeout(Some(Duration::from_millis(200)))
                .map_err(|e| e.to_string())?;
            // The peer reads nothing: the buffers fill, then a write times out.
            let chunk = vec![7u8; 64 * 1024];
            for _ in 0..4096 {
                match client.write(&chunk) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                    Err(e) => return Err(e.to_string()),
                }
            }
            Err("256 MiB written without a time-out".into())
        })(),
    );

    // A send on a connection shut for writing: EPIPE, and SIGPIPE unless MSG_NOSIGNAL.
    // SAFETY: the handler only adds to an atomic counter.
    unsafe { libc::signal(libc::SIGPIPE, on_sigpipe as *const () as libc::sighandler_t) };
    match tcp_pair(&listener) {
        Ok((mut client, _server)) => {
            let fd = client.as_raw_fd();
            let shut = client.shutdown(std::net::Shutdown::Write);
            c.check("shutdown_write", shut.map_err(|e| e.to_string()));
            // std's TcpStream sends with MSG_NOSIGNAL.
            c.check("epipe_std_write", errno_of(client.write(b"x"), libc::EPIPE));
            c.check("no_sigpipe_with_msg_nosignal", {
                // SAFETY: one byte from a live buffer.
                let r = unsafe { libc::send(fd, b"x".as_ptr().cast(), 1, libc::MSG_NOSIGNAL) };
                match (r, last_errno(), SIGPIPES.load(Ordering::SeqCst)) {
                    (-1, libc::EPIPE, 0) => Ok(()),
                    other => Err(format!("got (result, errno, SIGPIPEs) {other:?}")),
                }
            });
            c.check("sigpipe_on_send", {
                // SAFETY: as above.
                let r = unsafe { libc::send(fd, b"x".as_ptr().cast(), 1, 0) };
                match (r, last_errno(), SIGPIPES.load(Ordering::SeqCst)) {
                    (-1, libc::EPIPE, 1) => Ok(()),
                    other => Err(format!("got (result, errno, SIGPIPEs) {other:?}")),
                }
            });
            c.check("sigpipe_on_write", {
                // SAFETY: as above.
                let r = unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
                match (r, last_errno(), SIGPIPES.load(Ordering::SeqCst)) {
                    (-1, libc::EPIPE, 2) => Ok(()),
                    other => Err(format!("got (result, errno, SIGPIPEs) {other:?}")),
                }
            });
        }
        Err(e) => c.check("shutdown_write", Err(format!("no connection: {e}"))),
    }
    println!("sockets: done {} cases, {} failed", c.run, c.failed);
    std::process::exit(i32::from(c.failed > 0));
}
