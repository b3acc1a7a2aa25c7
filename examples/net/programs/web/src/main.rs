//! The web server: listens on TCP port 80 of the network server (kl.Net through its channel
//! `net`) and answers every HTTP request with a small page naming the request's number,
//! until a request for `/quit`, after which it ends. A connection closed before it sent a
//! whole request is dropped and not counted. Before
//! serving it checks what the policy and the server refuse: a bind to another port
//! (denied by the policy: EACCES), a socket number it does not hold (EBADF), and more
//! sockets than a client may hold (EMFILE). Then it checks that the server reclaims what
//! clients that end leave ([`clients`]): copies of itself (`task.Fork`) become clients
//! until the server's table of clients is full (ENFILE), and clients that end holding open
//! sockets do not keep their slots.
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
/// Bytes of the body of `GET /big` (the throughput benchmark's).
const BIG: usize = 1 << 20;
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

/// Stack of the copies ([`clients`]): allocated once, each copy has its own copy of it.
const CHILD_STACK: usize = 64 * 1024;
/// What a copy does (bits 16-23 of its argument; the channel's handle above bit 32).
const HOLD: usize = 1;
const OPEN_AND_END: usize = 2;
/// The code a holder is killed with (it never exits by itself before its socket is given).
const KILLED: i32 = 100;
/// Sockets a short-lived copy opens and leaves open.
const LEFT_OPEN: usize = 3;

/// A copy's one thread: opens sockets as told, then holds them until killed (HOLD) or ends
/// without closing them (OPEN_AND_END). Its exit code: 0, or the errno it met.
extern "C" fn child(arg: usize) -> ! {
    // SAFETY: the first action of the copy's only thread (`sys::fork`'s contract).
    unsafe { sys::forked() };
    let mut net = NetProxy {
        transport: Channel {
            handle: (arg >> 32) as u32,
        },
        riid: riid::NET,
    };
    let (mode, k) = ((arg >> 16) & 0xff, arg & 0xffff);
    let count = if mode == HOLD { 1 } else { LEFT_OPEN };
    for _ in 0..count {
        if let Err(e) = net.socket(TCP) {
            let e = errno(&e);
            println!("web: client copy {k}: Socket: errno {e}");
            sys::exit(e as isize);
        }
    }
    if mode == HOLD {
        // Killed by the parent long before this ends.
        for _ in 0..120 {
            let _ = sys::sleep_ms(1000);
        }
    }
    sys::exit(0)
}

/// Starts a copy of this program doing `mode`; its task handle.
fn fork_client(
    net: &Net,
    stack: usize,
    mode: usize,
    k: usize,
) -> Result<ostrog_rt::idl::spec_rt::Handle, ostrog_abi::Status> {
    let arg = ((net.transport.handle as usize) << 32) | (mode << 16) | k;
    let (task, _sid) = sys::fork(child, stack + CHILD_STACK, arg)?;
    sys::tasks()
        .start(task)
        .map_err(sys::call_status)
        .map(|_| task)
}

/// The exit code of a copy (waited for), or -1.
fn wait_code(task: ostrog_rt::idl::spec_rt::Handle) -> i64 {
    let code = sys::tasks().wait(task).map_or(-1, |r| r.code);
    let _ = sys::handles().close(task);
    code
}

/// The server's table of clients filled, refused (ENFILE), and reclaimed: copies of this
/// program hold a socket each until, with this program, the server serves CLIENTS_MAX
/// clients; one more is refused; the holders are killed (ending with their sockets open);
/// then more than CLIENTS_MAX copies one after another open sockets and end without
/// closing them: each must be served. How many checks failed.
fn clients(net: &mut Net) -> u32 {
    let Ok(stack) = sys::vmm()
        .allocate(CHILD_STACK as u64, sys::VMM_WRITE)
        .map(|r| r.addr as usize)
    else {
        println!("web: FAILED vmm.Allocate of a stack for copies");
        return 1;
    };
    let mut failed = 0;
    // This program is a client already (its socket for the listener comes later).
    let mine = net.socket(TCP).map(|r| r.sock);
    let mut holders = Vec::new();
    for k in 1..CLIENTS_MAX as usize {
        match fork_client(net, stack, HOLD, k) {
            Ok(task) => holders.push(task),
            Err(e) => {
                println!("web: FAILED fork of client copy {k}: {}", e.name());
                failed += 1;
            }
        }
        // Time for the copy to open its socket before the next one asks.
        let _ = sys::sleep_ms(300);
    }
    let extra = CLIENTS_MAX as usize;
    match fork_client(net, stack, OPEN_AND_END, extra).map(wait_code) {
        Ok(code) if code == i64::from(TOO_MANY_CLIENTS) => println!(
            "web: client {} refused with {} clients served: errno {code}, as expected",
            extra + 1,
            extra
        ),
        other => {
            println!(
                "web: FAILED client {}: {other:?}, expected errno {TOO_MANY_CLIENTS}",
                extra + 1
            );
            failed += 1;
        }
    }
    for task in holders {
        let _ = sys::tasks().kill(task, KILLED);
        let code = wait_code(task);
        if code != i64::from(KILLED) {
            println!("web: FAILED a holding copy ended with {code}, not killed holding");
            failed += 1;
        }
    }
    let mut served = 0;
    for k in 0..2 * CLIENTS_MAX as usize {
        match fork_client(net, stack, OPEN_AND_END, 100 + k).map(wait_code) {
            Ok(0) => served += 1,
            other => {
                println!("web: FAILED client copy {}: {other:?}", 100 + k);
                failed += 1;
            }
        }
    }
    println!(
        "web: {served} clients served one after another, each ended with {LEFT_OPEN} sockets open"
    );
    if let Ok(sock) = mine {
        let _ = net.close(sock);
    }
    let _ = sys::vmm().free(stack as u64, CHILD_STACK as u64);
    failed
}

/// Sends all of `data` (at most DataMax bytes a request).
fn send_all(net: &mut Net, conn: u32, mut data: &[u8]) -> Result<(), i32> {
    while !data.is_empty() {
        let chunk = data.get(..DATA_MAX as usize).unwrap_or(data);
        let sent = patiently(|| net.send(conn, chunk.to_vec()))?.sent as usize;
        data = data.get(sent..).unwrap_or(&[]);
    }
    Ok(())
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
    if line.starts_with(b"GET /big ") {
        // The throughput benchmark's body: BIG bytes, each its offset's low byte, made a
        // request's worth at a time.
        send_all(
            net,
            conn,
            format!(
                "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {BIG}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )?;
        for start in (0..BIG).step_by(DATA_MAX as usize) {
            let end = (start + DATA_MAX as usize).min(BIG);
            let chunk: Vec<u8> = (start..end).map(|i| i as u8).collect();
            send_all(net, conn, &chunk)?;
        }
    } else {
        let body =
            format!("<html><body><h1>Hello from Ostrog</h1><p>request {n}</p></body></html>\n");
        let response = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        send_all(net, conn, response.as_bytes())?;
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
    failed += clients(&mut net);
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
