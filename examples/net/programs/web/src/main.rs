//! The web server: listens on TCP port 80 of the network server (kl.Net through its channel
//! `net`) and answers every HTTP request with a small page naming the request's number,
//! until a request for `/quit`, after which it ends. A connection closed before it sent a
//! whole request is dropped and not counted. Before
//! serving it checks what the policy and the server refuse: a bind to another port
//! (denied by the policy: EACCES), a socket number it does not hold (EBADF), and more
//! sockets than a client may hold (EMFILE).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;

use ostrog_rt::client::channel;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;
use ostrog_rt::sys::{self, Channel};

#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_net::*;
use idl::kl_vfs_net::riid;

ostrog_rt::main!(main);

/// Linux `EACCES`: what a program sees when the policy denies a call.
const EACCES: i32 = 13;
/// How long to wait for a connection or data before giving up (ms).
const PATIENCE_MS: u32 = 300_000;
/// Requests and dropped connections shown on the console (the benchmark makes many).
const LOUD: u32 = 5;

type Net = NetProxy<Channel>;

/// The errno of a failed call: the server's, or EACCES when the kernel refused the call
/// (the policy denied it; the denial is audited).
fn errno<E: HasStatus>(e: &CallError<E>) -> i32 {
    match e {
        CallError::Remote(e) => e.status(),
        other => match ostrog_rt::call_refusal(other) {
            Some(ostrog_abi::Status::AccessDenied) => EACCES,
            _ => -1,
        },
    }
}

trait HasStatus {
    fn status(&self) -> i32;
}

macro_rules! has_status {
    ($($t:ident),*) => {$(
        impl HasStatus for $t {
            fn status(&self) -> i32 {
                self.status
            }
        }
    )*};
}
has_status!(
    SocketError,
    BindError,
    ListenError,
    AcceptError,
    SendError,
    RecvError,
    CloseError
);

fn ip(addr: u32) -> [u8; 4] {
    addr.to_be_bytes()
}

/// Retries `op` while it answers WouldBlock, sleeping 1 ms in between.
fn patiently<T, E: HasStatus>(mut op: impl FnMut() -> Result<T, CallError<E>>) -> Result<T, i32> {
    for _ in 0..PATIENCE_MS {
        match op() {
            Ok(v) => return Ok(v),
            Err(e) if errno(&e) == WOULD_BLOCK => {
                let _ = sys::sleep_ms(1);
            }
            Err(e) => return Err(errno(&e)),
        }
    }
    Err(WOULD_BLOCK)
}

/// The refusals the policy and the server owe this program; how many were not as expected.
fn hostile(net: &mut Net) -> u32 {
    let failed = core::cell::Cell::new(0);
    let check = |what: &str, got: i32, want: i32| {
        if got == want {
            println!("web: {what}: errno {got}, as expected");
        } else {
            println!("web: FAILED {what}: errno {got}, expected {want}");
            failed.set(failed.get() + 1);
        }
    };
    let sock = match net.socket(TCP) {
        Ok(r) => r.sock,
        Err(e) => {
            println!("web: FAILED Socket: errno {}", errno(&e));
            return 1;
        }
    };
    check(
        "bind to port 8080 (the policy allows 80 only)",
        net.bind(sock, 0, 8080).map_or_else(|e| errno(&e), |_| 0),
        EACCES,
    );
    check(
        "UDP socket (the policy allows TCP only)",
        net.socket(UDP).map_or_else(|e| errno(&e), |_| 0),
        EACCES,
    );
    check(
        "listen on a socket number never given",
        net.listen(1000, 1).map_or_else(|e| errno(&e), |_| 0),
        BAD_SOCKET,
    );
    check(
        "listen before bind",
        net.listen(sock, 1).map_or_else(|e| errno(&e), |_| 0),
        INVALID,
    );
    check(
        "recv on a socket not connected",
        net.recv(sock, 100).map_or_else(|e| errno(&e), |_| 0),
        NOT_CONNECTED,
    );
    // Every socket a client may hold, then one more.
    let mut held = Vec::new();
    let refused = loop {
        match net.socket(TCP) {
            Ok(r) if held.len() < 64 => held.push(r.sock),
            Ok(_) => break 0,
            Err(e) => break errno(&e),
        }
    };
    check("one socket too many", refused, TOO_MANY_SOCKETS);
    if held.len() + 1 != SOCKETS_MAX as usize {
        println!("web: FAILED held {} sockets", held.len() + 1);
        failed.set(failed.get() + 1);
    }
    for s in held.into_iter().chain([sock]) {
        if let Err(e) = net.close(s) {
            println!("web: FAILED Close {s}: errno {}", errno(&e));
            failed.set(failed.get() + 1);
        }
    }
    check(
        "close of a closed socket",
        net.close(sock).map_or_else(|e| errno(&e), |_| 0),
        BAD_SOCKET,
    );
    failed.get()
}

/// What became of a connection.
enum Served {
    Page,
    Quit,
    /// Closed by the peer before a whole request came.
    Dropped,
}

/// Reads a request up to its empty line, answers it and closes the connection.
fn serve(net: &mut Net, conn: u32, n: u32) -> Result<Served, i32> {
    let mut request = Vec::new();
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let data = match patiently(|| net.recv(conn, DATA_MAX)) {
            Ok(r) => r.data,
            Err(BROKEN_PIPE | NOT_CONNECTED) => Vec::new(),
            Err(e) => return Err(e),
        };
        if data.is_empty() {
            let _ = net.close(conn);
            return Ok(Served::Dropped);
        }
        request.extend_from_slice(&data);
        if request.len() > 16 * 1024 {
            return Err(MESSAGE_SIZE);
        }
    }
    let line = request.split(|&b| b == b'\r').next().unwrap_or(&[]);
    let quit = line.starts_with(b"GET /quit ");
    if n <= LOUD || quit {
        println!(
            "web: request {n}: {}",
            core::str::from_utf8(line).unwrap_or("(not text)")
        );
    }
    let body = format!("<html><body><h1>Hello from Ostrog</h1><p>request {n}</p></body></html>\n");
    let response = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut rest = response.as_bytes();
    while !rest.is_empty() {
        let sent = patiently(|| net.send(conn, rest.to_vec()))?.sent as usize;
        rest = rest.get(sent..).unwrap_or(&[]);
    }
    net.close(conn).map_err(|e| errno(&e))?;
    Ok(if quit { Served::Quit } else { Served::Page })
}

fn main() -> i32 {
    let Some(transport) = channel("web", "net") else {
        return 1;
    };
    let mut net = NetProxy {
        transport,
        riid: riid::NET,
    };
    let mut failed = hostile(&mut net);
    let listener = match net
        .socket(TCP)
        .map_err(|e| errno(&e))
        .and_then(|r| {
            net.bind(r.sock, 0, 80)
                .map(|_| r.sock)
                .map_err(|e| errno(&e))
        })
        .and_then(|s| net.listen(s, BACKLOG_MAX).map(|_| s).map_err(|e| errno(&e)))
    {
        Ok(s) => s,
        Err(e) => {
            println!("web: FAILED listening on port 80: errno {e}");
            return 1;
        }
    };
    println!("web: listening on port 80");
    let (mut served, mut dropped) = (0u32, 0u32);
    loop {
        let c = match patiently(|| net.accept(listener)) {
            Ok(c) => c,
            Err(e) => {
                println!("web: FAILED Accept: errno {e}");
                return 1;
            }
        };
        if served < LOUD {
            let [a, b, c3, d] = ip(c.addr);
            println!("web: connection from {a}.{b}.{c3}.{d}:{}", c.port);
        }
        match serve(&mut net, c.conn, served + 1) {
            Ok(Served::Page) => served += 1,
            Ok(Served::Quit) => {
                served += 1;
                break;
            }
            Ok(Served::Dropped) => dropped += 1,
            Err(e) => {
                println!("web: FAILED serving request {}: errno {e}", served + 1);
                let _ = net.close(c.conn);
                failed += 1;
            }
        }
    }
    let _ = net.close(listener);
    println!(
        "web: served {served} requests ({dropped} connections closed without one), {failed} failed"
    );
    i32::from(failed > 0)
}
