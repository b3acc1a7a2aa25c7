//! The socket calls against a fake kernel whose network server is a small model of
//! kl.VfsNet (per-socket state, a connection queue, the server's bounds, a policy that
//! denies chosen methods): addresses as the server sees them, descriptors, errnos (bad
//! descriptors, descriptors that are not sockets, bad lengths and pointers, denials,
//! exhaustion), blocking calls made again, `poll`, and a kernel without a `net` channel.

use std::collections::BTreeMap;

use linux::elf::Rights;
use linux::errno::*;
use linux::mm::{Kind, Memory, Space};
use linux::nr::{number, Sys};
use linux::sys::socket::{NetReply, NetRequest};
use linux::sys::{Call, Kernel, Outcome, State};
use linux::{Arch, PERSONALITY_BASE};

const PAGE: u64 = 4096;

#[derive(Default, Debug)]
struct FakeSock {
    #[allow(dead_code)]
    kind: u32,
    port: u16,
    listening: bool,
    backlog: u32,
    /// Connections waiting to be accepted.
    queue: Vec<u32>,
    /// Bytes to be received; `eof` after them.
    inbox: Vec<u8>,
    eof: bool,
    /// Bytes sent.
    sent: Vec<u8>,
    /// `Connect` answers InProgress this many more times.
    connecting: u32,
}

#[derive(Default)]
struct Net {
    socks: BTreeMap<u32, FakeSock>,
    next: u32,
    /// Methods the policy denies (`AccessDenied`, EACCES).
    denied: Vec<&'static str>,
    /// Every request, by method name.
    log: Vec<String>,
}

struct Fake {
    pages: BTreeMap<u64, Vec<u8>>,
    net: Option<Net>,
    /// The channels the manager made (service sockets), and those closed.
    services: Vec<u32>,
    closed: Vec<u32>,
    /// The clock (ns since boot).
    now: u64,
}

impl Memory for Fake {
    fn allocate_at(&mut self, addr: u64, len: u64, _: Rights) -> Result<(), i64> {
        for p in (addr..addr + len).step_by(PAGE as usize) {
            self.pages.insert(p, vec![0; PAGE as usize]);
        }
        Ok(())
    }
    fn allocate(&mut self, _: u64, _: Rights) -> Result<u64, i64> {
        Err(ENOMEM)
    }
    fn free(&mut self, _: u64, _: u64) -> Result<(), i64> {
        Ok(())
    }
    fn protect(&mut self, _: u64, _: u64, _: Rights) -> Result<(), i64> {
        Ok(())
    }
}

impl Kernel for Fake {
    fn console_write(&mut self, _: u64, len: usize) -> Result<usize, i64> {
        Ok(len)
    }
    fn console_read(&mut self, _: &mut [u8]) -> Result<usize, i64> {
        Err(EAGAIN)
    }
    fn console_ready(&mut self) -> Result<bool, i64> {
        Ok(false)
    }
    fn console_wait(&mut self, _: Option<u64>) -> Result<bool, i64> {
        Ok(false)
    }
    fn console_write_bytes(&mut self, b: &[u8]) -> Result<usize, i64> {
        Ok(b.len())
    }
    fn read_user(&mut self, addr: u64, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr + i as u64;
            *b = self.pages[&(a & !(PAGE - 1))][(a % PAGE) as usize];
        }
    }
    fn write_user(&mut self, addr: u64, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            let a = addr + i as u64;
            self.pages.get_mut(&(a & !(PAGE - 1))).unwrap()[(a % PAGE) as usize] = *b;
        }
    }
    fn now_ns(&mut self) -> u64 {
        self.now
    }
    fn sleep_ns(&mut self, _: u64) {}
    fn yield_now(&mut self) {}
    fn futex_wait(&mut self, _: u64, _: u32, _: Option<u64>) -> Result<(), i64> {
        Err(EAGAIN)
    }
    fn futex_wake(&mut self, _: u64, _: u32) -> Result<u64, i64> {
        Ok(0)
    }
    fn spawn(&mut self, _: u64, _: Option<u64>) -> Result<u64, i64> {
        Err(EAGAIN)
    }
    fn join(&mut self, _: u64) {}
    fn log(&mut self, _: &str) {}
    fn audit(&mut self, _: &str) -> bool {
        true
    }
    fn random(&mut self, _: &mut [u8]) -> Result<(), i64> {
        Ok(())
    }
    /// The manager knows `echo` at endpoint `echo`; the policy refuses `secret`; a
    /// program without the manager (no network either, in these tests) is refused.
    fn dcm_connect(&mut self, name: &str, endpoint: &str) -> Result<u32, i64> {
        match (name, endpoint, self.net.is_some()) {
            (_, _, false) => Err(ECONNREFUSED),
            ("echo", "echo", _) => {
                let handle = 70 + self.services.len() as u32;
                self.services.push(handle);
                Ok(handle)
            }
            ("secret", _, _) => Err(EACCES),
            _ => Err(ENOENT),
        }
    }
    /// The service answers a request with its bytes reversed.
    fn channel_call(
        &mut self,
        handle: u32,
        request: &[u8],
        answer: &mut [u8],
    ) -> Result<usize, i64> {
        if !self.services.contains(&handle) || self.closed.contains(&handle) {
            return Err(ENOTCONN);
        }
        for (a, r) in answer.iter_mut().zip(request.iter().rev()) {
            *a = *r;
        }
        Ok(request.len())
    }
    fn close_handle(&mut self, handle: u32) {
        self.closed.push(handle);
    }
    fn net(&mut self, r: NetRequest<'_>) -> Result<NetReply, i64> {
        let Some(net) = self.net.as_mut() else {
            return Err(EAFNOSUPPORT);
        };
        let method = format!("{r:?}");
        let name = method.split([' ', '{']).next().unwrap_or("").to_string();
        net.log.push(method);
        if net.denied.contains(&name.as_str()) {
            return Err(EACCES);
        }
        match r {
            NetRequest::Socket { kind } => {
                if net.socks.len() >= 16 {
                    return Err(EMFILE);
                }
                net.next += 1;
                let n = net.next;
                net.socks.insert(
                    n,
                    FakeSock {
                        kind,
                        connecting: 1,
                        ..FakeSock::default()
                    },
                );
                Ok(NetReply::Socket(n))
            }
            NetRequest::Bind { sock: s, port, .. } => {
                sock(net, s)?.port = port;
                Ok(NetReply::Done)
            }
            NetRequest::Listen { sock: s, backlog } => {
                let f = sock(net, s)?;
                if f.port == 0 {
                    return Err(EINVAL);
                }
                f.listening = true;
                f.backlog = backlog;
                Ok(NetReply::Done)
            }
            NetRequest::Accept { sock: s } => {
                let f = sock(net, s)?;
                if f.queue.is_empty() {
                    return Err(EAGAIN);
                }
                let conn = f.queue.remove(0);
                Ok(NetReply::Accepted {
                    conn,
                    addr: 0x0a00_0202,
                    port: 40000,
                })
            }
            NetRequest::Connect { sock: s, .. } => {
                let f = sock(net, s)?;
                if f.connecting > 0 {
                    f.connecting -= 1;
                    return Err(EINPROGRESS);
                }
                Ok(NetReply::Done)
            }
            NetRequest::Send { sock: s, data } => {
                sock(net, s)?.sent.extend_from_slice(data);
                Ok(NetReply::Sent(data.len() as u32))
            }
            NetRequest::SendTo { sock: s, data, .. } => {
                sock(net, s)?.sent.extend_from_slice(data);
                Ok(NetReply::Done)
            }
            NetRequest::Recv { sock: s, max } => {
                let f = sock(net, s)?;
                if f.inbox.is_empty() {
                    return match f.eof {
                        true => Ok(NetReply::Data(Vec::new())),
                        false => Err(EAGAIN),
                    };
                }
                let n = (max as usize).min(f.inbox.len());
                Ok(NetReply::Data(f.inbox.drain(..n).collect()))
            }
            NetRequest::RecvFrom { sock: s, max } => {
                let f = sock(net, s)?;
                if f.inbox.is_empty() {
                    return Err(EAGAIN);
                }
                let mut d = std::mem::take(&mut f.inbox);
                d.truncate(max as usize);
                Ok(NetReply::From {
                    data: d,
                    addr: 0x0a00_0202,
                    port: 53,
                })
            }
            NetRequest::Shutdown { sock: s, .. } => sock(net, s).map(|_| NetReply::Done),
            NetRequest::Close { sock: s } => {
                net.socks.remove(&s).map(|_| NetReply::Done).ok_or(EBADF)
            }
            NetRequest::GetSockName { sock: s } => Ok(NetReply::Addr {
                addr: 0x0a00_020f,
                port: sock(net, s)?.port,
            }),
            NetRequest::GetPeerName { sock: s } => {
                sock(net, s)?;
                Err(ENOTCONN)
            }
        }
    }
}

fn sock(net: &mut Net, s: u32) -> Result<&mut FakeSock, i64> {
    net.socks.get_mut(&s).ok_or(EBADF)
}

const STACK_TOP: u64 = 0x3000_0000;
const STACK: u64 = STACK_TOP - 0x10000;
/// Scratch memory.
const BUF: u64 = STACK + 0x4000;
const ADDR: u64 = STACK + 0x100;
const LEN: u64 = STACK + 0x200;
const VAL: u64 = STACK + 0x300;
/// An address nothing is mapped at.
const UNMAPPED: u64 = 0x2000_0000;

fn setup(arch: Arch, with_net: bool) -> (State, Fake) {
    let mut fake = Fake {
        pages: BTreeMap::new(),
        net: with_net.then(Net::default),
        services: Vec::new(),
        closed: Vec::new(),
        now: 1_000_000_000,
    };
    let mut space = Space::new();
    space.reserve(0, 0x10000);
    space.reserve(PERSONALITY_BASE, u64::MAX);
    fake.allocate_at(STACK, STACK_TOP - STACK, Rights::RW)
        .unwrap();
    space.record(STACK, STACK_TOP, Rights::RW, Kind::Stack);
    (State::new(arch, space, 42, STACK_TOP, b"/bin/test"), fake)
}

fn outcome(st: &mut State, k: &mut Fake, sys: Sys, args: &[u64]) -> Outcome {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    let nr = number(st.arch, sys).expect("no such call on this arch");
    st.dispatch(
        k,
        &mut Call {
            nr,
            args: a,
            tls: 0,
            sp: STACK_TOP - 0x1000,
        },
    )
}

fn call(st: &mut State, k: &mut Fake, sys: Sys, args: &[u64]) -> i64 {
    match outcome(st, k, sys, args) {
        Outcome::Return(v) => v,
        other => panic!("expected a result, got {other:?}"),
    }
}

const AF_INET: u64 = 2;
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;

/// A `sockaddr_in` of `a.b.c.d:port` at [`ADDR`], its length at [`LEN`].
fn sockaddr(k: &mut Fake, ip: [u8; 4], port: u16) -> u64 {
    let mut b = vec![2u8, 0];
    b.extend_from_slice(&port.to_be_bytes());
    b.extend_from_slice(&ip);
    b.extend_from_slice(&[0; 8]);
    k.write_user(ADDR, &b);
    k.write_user(LEN, &16u32.to_le_bytes());
    ADDR
}

fn net(k: &mut Fake) -> &mut Net {
    k.net.as_mut().unwrap()
}

/// A listening TCP socket on port 8080 (non-blocking if asked); its descriptor and the
/// server's number.
fn listener(st: &mut State, k: &mut Fake, nonblock: bool) -> (u64, u32) {
    let flags = if nonblock { SOCK_NONBLOCK } else { 0 };
    let fd = call(st, k, Sys::Socket, &[AF_INET, SOCK_STREAM | flags, 0]);
    assert!(fd >= 3, "{fd}");
    let a = sockaddr(k, [0, 0, 0, 0], 8080);
    assert_eq!(call(st, k, Sys::Bind, &[fd as u64, a, 16]), 0);
    assert_eq!(call(st, k, Sys::Listen, &[fd as u64, 128]), 0);
    (fd as u64, net(k).next)
}

#[test]
fn a_server_binds_listens_accepts_and_talks() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let (mut st, mut k) = setup(arch, true);
        let fd = call(
            &mut st,
            &mut k,
            Sys::Socket,
            &[AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0],
        );
        assert_eq!(fd, 3);
        k.write_user(VAL, &1u32.to_le_bytes());
        assert_eq!(
            call(&mut st, &mut k, Sys::Setsockopt, &[3, 1, 2, VAL, 4]),
            0
        );
        let a = sockaddr(&mut k, [0, 0, 0, 0], 8080);
        assert_eq!(call(&mut st, &mut k, Sys::Bind, &[3, a, 16]), 0);
        // The port as the server (and the policy) sees it; a backlog cut to BacklogMax.
        assert!(net(&mut k)
            .log
            .contains(&"Bind { sock: 1, addr: 0, port: 8080 }".into()));
        assert_eq!(call(&mut st, &mut k, Sys::Listen, &[3, 128]), 0);
        assert_eq!(net(&mut k).socks[&1].backlog, 4);
        // Blocking, no connection: the call is made again later, outside the lock.
        k.write_user(LEN, &16u32.to_le_bytes());
        assert!(matches!(
            outcome(&mut st, &mut k, Sys::Accept4, &[3, ADDR, LEN, SOCK_CLOEXEC]),
            Outcome::WaitEventUntil(_)
        ));
        // A connection arrives.
        let conn = call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 0]);
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[conn as u64]), 0);
        net(&mut k).next += 1;
        let c = net(&mut k).next;
        net(&mut k).socks.insert(
            c,
            FakeSock {
                kind: 1,
                inbox: b"GET / HTTP/1.0\r\n\r\n".to_vec(),
                eof: true,
                ..FakeSock::default()
            },
        );
        net(&mut k).socks.get_mut(&1).unwrap().queue.push(c);
        k.write_user(LEN, &16u32.to_le_bytes());
        let new = call(&mut st, &mut k, Sys::Accept4, &[3, ADDR, LEN, SOCK_CLOEXEC]);
        assert_eq!(new, 4);
        let mut peer = [0u8; 16];
        k.read_user(ADDR, &mut peer);
        assert_eq!(&peer[..8], &[2, 0, 0x9c, 0x40, 10, 0, 2, 2]);
        // read, write on the connection; end of stream.
        assert_eq!(call(&mut st, &mut k, Sys::Read, &[4, BUF, 100]), 18);
        let mut got = [0u8; 18];
        k.read_user(BUF, &mut got);
        assert_eq!(&got, b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(call(&mut st, &mut k, Sys::Read, &[4, BUF, 100]), 0);
        k.write_user(BUF, b"HTTP/1.0 200 OK\r\n");
        assert_eq!(
            call(&mut st, &mut k, Sys::Sendto, &[4, BUF, 17, 0x4000, 0, 0]),
            17
        );
        assert_eq!(net(&mut k).socks[&c].sent, b"HTTP/1.0 200 OK\r\n");
        // The local name.
        k.write_user(LEN, &16u32.to_le_bytes());
        assert_eq!(call(&mut st, &mut k, Sys::Getsockname, &[3, ADDR, LEN]), 0);
        k.read_user(ADDR, &mut peer);
        assert_eq!(&peer[..8], &[2, 0, 0x1f, 0x90, 10, 0, 2, 15]);
        // Options read back.
        k.write_user(LEN, &4u32.to_le_bytes());
        assert_eq!(
            call(&mut st, &mut k, Sys::Getsockopt, &[3, 1, 3, VAL, LEN]),
            0
        );
        let mut v = [0u8; 4];
        k.read_user(VAL, &mut v);
        assert_eq!(u32::from_le_bytes(v), 1, "SO_TYPE is SOCK_STREAM");
        assert_eq!(
            call(&mut st, &mut k, Sys::Getsockopt, &[3, 1, 2, VAL, LEN]),
            0
        );
        k.read_user(VAL, &mut v);
        assert_eq!(u32::from_le_bytes(v), 1, "SO_REUSEADDR as set");
        // close: the server's socket goes.
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[4]), 0);
        assert!(!net(&mut k).socks.contains_key(&c));
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[4]), -EBADF);
    }
}

#[test]
fn bad_descriptors_lengths_and_pointers() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let a = sockaddr(&mut k, [0, 0, 0, 0], 80);
    // A descriptor never opened, and one that is no socket (the console).
    assert_eq!(call(&mut st, &mut k, Sys::Bind, &[9, a, 16]), -EBADF);
    assert_eq!(call(&mut st, &mut k, Sys::Listen, &[1, 1]), -ENOTSOCK);
    assert_eq!(
        call(&mut st, &mut k, Sys::Accept4, &[0, 0, 0, 0]),
        -ENOTSOCK
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Getsockname, &[2, ADDR, LEN]),
        -ENOTSOCK
    );
    let fd = call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 0]) as u64;
    // Too short an address, an address that is not AF_INET, a pointer to nothing.
    assert_eq!(call(&mut st, &mut k, Sys::Bind, &[fd, a, 8]), -EINVAL);
    k.write_user(ADDR, &10u16.to_le_bytes());
    assert_eq!(
        call(&mut st, &mut k, Sys::Bind, &[fd, a, 16]),
        -EAFNOSUPPORT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Bind, &[fd, UNMAPPED, 16]),
        -EFAULT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Connect, &[fd, UNMAPPED, 16]),
        -EFAULT
    );
    // A socket of a family, type or protocol there is none of.
    assert_eq!(
        call(&mut st, &mut k, Sys::Socket, &[10, SOCK_STREAM, 0]),
        -EAFNOSUPPORT
    );
    // AF_UNIX is for the services of the connection manager: messages, no streams.
    assert_eq!(
        call(&mut st, &mut k, Sys::Socket, &[1, SOCK_STREAM, 0]),
        -EAFNOSUPPORT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Socket, &[AF_INET, 3, 0]),
        -EPROTONOSUPPORT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 17]),
        -EPROTONOSUPPORT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Socket, &[AF_INET, 99, 0]),
        -EINVAL
    );
    // Options: unknown ones, short values, values at no address.
    k.write_user(VAL, &1u32.to_le_bytes());
    assert_eq!(
        call(&mut st, &mut k, Sys::Setsockopt, &[fd, 1, 99, VAL, 4]),
        -ENOPROTOOPT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Setsockopt, &[fd, 1, 2, VAL, 2]),
        -EINVAL
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Setsockopt, &[fd, 1, 2, UNMAPPED, 4]),
        -EFAULT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Setsockopt, &[fd, 6, 1, VAL, 4]),
        0
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Getsockopt, &[fd, 1, 99, VAL, LEN]),
        -ENOPROTOOPT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Getsockopt, &[fd, 1, 4, VAL, UNMAPPED]),
        -EFAULT
    );
    // Reads and writes at no address; an accept of a socket not listening; shutdown's how.
    assert_eq!(
        call(&mut st, &mut k, Sys::Read, &[fd, UNMAPPED, 10]),
        -EFAULT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Write, &[fd, UNMAPPED, 10]),
        -EFAULT
    );
    assert_eq!(call(&mut st, &mut k, Sys::Accept4, &[fd, 0, 0, 0]), -EINVAL);
    assert_eq!(
        call(&mut st, &mut k, Sys::Accept4, &[fd, 0, 0, 0x1]),
        -EINVAL
    );
    assert_eq!(call(&mut st, &mut k, Sys::Shutdown, &[fd, 7]), -EINVAL);
    assert_eq!(call(&mut st, &mut k, Sys::Lseek, &[fd, 0, 0]), -ESPIPE);
    // A UDP socket does not listen; a datagram needs a destination.
    let u = call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_DGRAM, 0]) as u64;
    assert_eq!(call(&mut st, &mut k, Sys::Listen, &[u, 1]), -EOPNOTSUPP);
    assert_eq!(
        call(&mut st, &mut k, Sys::Write, &[u, BUF, 10]),
        -EDESTADDRREQ
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Socketpair, &[1, 1, 0, VAL]),
        -EOPNOTSUPP
    );
}

#[test]
fn denials_are_eacces_and_no_channel_is_no_family() {
    let (mut st, mut k) = setup(Arch::Aarch64, true);
    net(&mut k).denied = vec!["Socket"];
    assert_eq!(
        call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 0]),
        -EACCES
    );
    // Nothing is left of a refused socket: the descriptor is free.
    net(&mut k).denied = vec!["Bind", "Connect"];
    let fd = call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 0]);
    assert_eq!(fd, 3);
    let a = sockaddr(&mut k, [10, 0, 2, 2], 443);
    assert_eq!(call(&mut st, &mut k, Sys::Bind, &[3, a, 16]), -EACCES);
    assert_eq!(call(&mut st, &mut k, Sys::Connect, &[3, a, 16]), -EACCES);
    let (mut st, mut k) = setup(Arch::X86_64, false);
    assert_eq!(
        call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 0]),
        -EAFNOSUPPORT
    );
}

#[test]
fn sockets_run_out_at_the_server_and_at_the_descriptor_limit() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    for i in 0..16 {
        assert_eq!(
            call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 0]),
            3 + i
        );
    }
    assert_eq!(
        call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 0]),
        -EMFILE
    );
    // Copies of one socket up to RLIMIT_NOFILE (64 descriptors, 0-2 the console's).
    let mut n = 0;
    loop {
        match call(&mut st, &mut k, Sys::Fcntl, &[3, 1030, 0]) {
            fd if fd > 0 => n += 1,
            e => {
                assert_eq!(e, -EMFILE);
                break;
            }
        }
    }
    assert_eq!(n, 64 - 3 - 16);
    // The copies share the server's socket: it goes with the last of them.
    for fd in 19..64 {
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[fd]), 0);
    }
    assert!(net(&mut k).socks.contains_key(&1));
    assert_eq!(call(&mut st, &mut k, Sys::Close, &[3]), 0);
    assert!(!net(&mut k).socks.contains_key(&1));
    // The process ends: the server closes the rest.
    assert_eq!(st.close_all_sockets(&mut k), 15);
    assert!(net(&mut k).socks.is_empty());
}

#[test]
fn nonblocking_calls_answer_eagain_and_einprogress() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let (fd, _) = listener(&mut st, &mut k, true);
    assert_eq!(call(&mut st, &mut k, Sys::Accept4, &[fd, 0, 0, 0]), -EAGAIN);
    let c = call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 0]) as u64;
    // O_NONBLOCK by fcntl.
    assert_eq!(call(&mut st, &mut k, Sys::Fcntl, &[c, 3, 0]), 2);
    assert_eq!(call(&mut st, &mut k, Sys::Fcntl, &[c, 4, 0o4000]), 0);
    assert_eq!(call(&mut st, &mut k, Sys::Fcntl, &[c, 3, 0]), 2 | 0o4000);
    let a = sockaddr(&mut k, [10, 0, 2, 100], 80);
    assert_eq!(
        call(&mut st, &mut k, Sys::Connect, &[c, a, 16]),
        -EINPROGRESS
    );
    // poll for POLLOUT: the connection is made; SO_ERROR is 0.
    let mut p = (c as i32).to_le_bytes().to_vec();
    p.extend_from_slice(&4u16.to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes());
    k.write_user(BUF, &p);
    assert_eq!(call(&mut st, &mut k, Sys::Poll, &[BUF, 1, 0]), 1);
    let mut r = [0u8; 8];
    k.read_user(BUF, &mut r);
    assert_eq!(u16::from_le_bytes([r[6], r[7]]), 4);
    k.write_user(LEN, &4u32.to_le_bytes());
    assert_eq!(
        call(&mut st, &mut k, Sys::Getsockopt, &[c, 1, 4, VAL, LEN]),
        0
    );
    let mut v = [0u8; 4];
    k.read_user(VAL, &mut v);
    assert_eq!(v, [0; 4]);
    assert_eq!(call(&mut st, &mut k, Sys::Connect, &[c, a, 16]), -EISCONN);
    // Nothing to read yet.
    assert_eq!(call(&mut st, &mut k, Sys::Read, &[c, BUF, 10]), -EAGAIN);
    assert_eq!(
        call(&mut st, &mut k, Sys::Recvfrom, &[c, BUF, 10, 0x40, 0, 0]),
        -EAGAIN
    );
}

#[test]
fn socket_time_outs_end_blocking_calls_with_eagain() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let (fd, _) = listener(&mut st, &mut k, false);
    // SO_RCVTIMEO of 0.3 s (a struct timeval), read back as set.
    let tv = |sec: i64, usec: i64| [sec.to_le_bytes(), usec.to_le_bytes()].concat();
    k.write_user(VAL, &tv(0, 300_000));
    assert_eq!(
        call(&mut st, &mut k, Sys::Setsockopt, &[fd, 1, 20, VAL, 16]),
        0
    );
    k.write_user(VAL, &[0xff; 16]);
    k.write_user(LEN, &16u32.to_le_bytes());
    assert_eq!(
        call(&mut st, &mut k, Sys::Getsockopt, &[fd, 1, 20, VAL, LEN]),
        0
    );
    let mut back = [0u8; 16];
    k.read_user(VAL, &mut back);
    assert_eq!(back.to_vec(), tv(0, 300_000));
    // A blocking accept waits in slices, then answers EAGAIN once 0.3 s have passed.
    for _ in 0..3 {
        assert!(matches!(
            outcome(&mut st, &mut k, Sys::Accept4, &[fd, 0, 0, 0]),
            Outcome::WaitEventUntil(at) if at <= k.now + 300_000_000
        ));
        k.now += 100_000_000;
    }
    k.now += 1;
    assert_eq!(call(&mut st, &mut k, Sys::Accept4, &[fd, 0, 0, 0]), -EAGAIN);
    // The next call's time-out starts afresh.
    assert!(matches!(
        outcome(&mut st, &mut k, Sys::Accept4, &[fd, 0, 0, 0]),
        Outcome::WaitEventUntil(_)
    ));
    // Bad time-outs: microseconds out of range, a short value, a bad pointer.
    k.write_user(VAL, &tv(1, 1_000_000));
    assert_eq!(
        call(&mut st, &mut k, Sys::Setsockopt, &[fd, 1, 21, VAL, 16]),
        -EDOM
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Setsockopt, &[fd, 1, 21, VAL, 8]),
        -EINVAL
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Setsockopt, &[fd, 1, 21, UNMAPPED, 16]),
        -EFAULT
    );
}

#[test]
fn a_blocking_connect_is_made_again_until_done() {
    let (mut st, mut k) = setup(Arch::Aarch64, true);
    let c = call(&mut st, &mut k, Sys::Socket, &[AF_INET, SOCK_STREAM, 0]) as u64;
    let a = sockaddr(&mut k, [10, 0, 2, 100], 80);
    assert!(matches!(
        outcome(&mut st, &mut k, Sys::Connect, &[c, a, 16]),
        Outcome::WaitEventUntil(_)
    ));
    assert_eq!(call(&mut st, &mut k, Sys::Connect, &[c, a, 16]), 0);
    assert!(net(&mut k)
        .log
        .contains(&"Connect { sock: 1, addr: 167772772, port: 80 }".into()));
}

#[test]
fn poll_finds_a_connection_and_accept_takes_it() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let (fd, s) = listener(&mut st, &mut k, false);
    let mut p = (fd as i32).to_le_bytes().to_vec();
    p.extend_from_slice(&1u16.to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes());
    k.write_user(BUF, &p);
    // Nothing yet: a time-out of 0 answers 0, none waits by being made again.
    assert_eq!(call(&mut st, &mut k, Sys::Poll, &[BUF, 1, 0]), 0);
    assert!(matches!(
        outcome(&mut st, &mut k, Sys::Poll, &[BUF, 1, -1i64 as u64]),
        Outcome::WaitEventUntil(_)
    ));
    // A connection: POLLIN, and accept takes the one poll accepted ahead.
    net(&mut k).next += 1;
    let c = net(&mut k).next;
    net(&mut k).socks.insert(c, FakeSock::default());
    net(&mut k).socks.get_mut(&s).unwrap().queue.push(c);
    assert_eq!(call(&mut st, &mut k, Sys::Poll, &[BUF, 1, 1000]), 1);
    let accepts = |k: &mut Fake| {
        net(k)
            .log
            .iter()
            .filter(|l| l.starts_with("Accept"))
            .count()
    };
    let before = accepts(&mut k);
    assert_eq!(call(&mut st, &mut k, Sys::Accept, &[fd, 0, 0]), 4);
    assert_eq!(accepts(&mut k), before, "no second Accept request");
    // A poll with a time-out whose time has passed (the fake clock stands still: the
    // deadline kept from the first making is reached only with a zero time-out).
    assert_eq!(call(&mut st, &mut k, Sys::Poll, &[BUF, 1, 0]), 0);
}

#[test]
fn udp_datagrams_carry_their_addresses() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let u = call(
        &mut st,
        &mut k,
        Sys::Socket,
        &[AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0],
    ) as u64;
    let a = sockaddr(&mut k, [10, 0, 2, 3], 53);
    k.write_user(BUF, b"query");
    assert_eq!(
        call(&mut st, &mut k, Sys::Sendto, &[u, BUF, 5, 0, a, 16]),
        5
    );
    assert!(net(&mut k)
        .log
        .iter()
        .any(|l| l.starts_with("SendTo { sock: 1, addr: 167772675, port: 53")));
    assert_eq!(
        call(&mut st, &mut k, Sys::Recvfrom, &[u, BUF, 100, 0, ADDR, LEN]),
        -EAGAIN
    );
    net(&mut k).socks.get_mut(&1).unwrap().inbox = b"answer".to_vec();
    k.write_user(LEN, &16u32.to_le_bytes());
    assert_eq!(
        call(&mut st, &mut k, Sys::Recvfrom, &[u, BUF, 100, 0, ADDR, LEN]),
        6
    );
    let mut from = [0u8; 8];
    k.read_user(ADDR, &mut from);
    assert_eq!(from, [2, 0, 0, 53, 10, 0, 2, 2]);
    // A connected UDP socket writes to its peer.
    let b = sockaddr(&mut k, [10, 0, 2, 3], 5353);
    assert_eq!(call(&mut st, &mut k, Sys::Connect, &[u, b, 16]), 0);
    assert_eq!(call(&mut st, &mut k, Sys::Write, &[u, BUF, 3]), 3);
    assert!(net(&mut k).log.last().unwrap().contains("port: 5353"));
}

#[test]
fn epoll_watches_sockets() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let (mut st, mut k) = setup(arch, true);
        let size: usize = if arch == Arch::X86_64 { 12 } else { 16 };
        let ep = call(&mut st, &mut k, Sys::EpollCreate1, &[0o2000000]) as u64;
        assert_eq!(ep, 3);
        assert_eq!(call(&mut st, &mut k, Sys::EpollCreate1, &[1]), -EINVAL);
        let (fd, s) = listener(&mut st, &mut k, true);
        assert_eq!(fd, 4);
        // struct epoll_event { EPOLLIN, data 0x1234 } (packed on x86_64).
        let mut ev = 1u32.to_le_bytes().to_vec();
        if arch == Arch::Aarch64 {
            ev.extend_from_slice(&[0; 4]);
        }
        ev.extend_from_slice(&0x1234u64.to_le_bytes());
        k.write_user(VAL, &ev);
        assert_eq!(call(&mut st, &mut k, Sys::EpollCtl, &[ep, 1, fd, VAL]), 0);
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollCtl, &[ep, 1, fd, VAL]),
            -EEXIST
        );
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollCtl, &[ep, 3, 1, VAL]),
            -ENOENT
        );
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollCtl, &[ep, 1, 9, VAL]),
            -EBADF
        );
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollCtl, &[fd, 1, ep, VAL]),
            -EINVAL
        );
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollCtl, &[ep, 1, ep, VAL]),
            -EINVAL
        );
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollCtl, &[ep, 1, 1, UNMAPPED]),
            -EFAULT
        );
        // Nothing ready: 0 at once with no time-out, made again later with one.
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollPwait, &[ep, BUF, 8, 0, 0, 8]),
            0
        );
        assert!(matches!(
            outcome(
                &mut st,
                &mut k,
                Sys::EpollPwait,
                &[ep, BUF, 8, -1i64 as u64, 0, 8]
            ),
            Outcome::WaitEventUntil(_)
        ));
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollPwait, &[ep, BUF, 0, 0, 0, 8]),
            -EINVAL
        );
        assert_eq!(
            call(
                &mut st,
                &mut k,
                Sys::EpollPwait,
                &[ep, UNMAPPED, 8, 0, 0, 8]
            ),
            -EFAULT
        );
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollPwait, &[fd, BUF, 8, 0, 0, 8]),
            -EINVAL
        );
        // A connection: EPOLLIN with the data given.
        net(&mut k).next += 1;
        let c = net(&mut k).next;
        net(&mut k).socks.insert(c, FakeSock::default());
        net(&mut k).socks.get_mut(&s).unwrap().queue.push(c);
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollPwait, &[ep, BUF, 8, 100, 0, 8]),
            1
        );
        let mut got = vec![0u8; size];
        k.read_user(BUF, &mut got);
        assert_eq!(u32::from_le_bytes(got[..4].try_into().unwrap()), 1);
        assert_eq!(
            u64::from_le_bytes(got[size - 8..].try_into().unwrap()),
            0x1234
        );
        // Closed descriptors are no longer watched; the instance closes.
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[fd]), 0);
        assert_eq!(
            call(&mut st, &mut k, Sys::EpollPwait, &[ep, BUF, 8, 0, 0, 8]),
            0
        );
        assert_eq!(call(&mut st, &mut k, Sys::Read, &[ep, BUF, 8]), -EINVAL);
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[ep]), 0);
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[ep]), -EBADF);
    }
}

const AF_UNIX: u64 = 1;
const SOCK_SEQPACKET: u64 = 5;

/// A `sockaddr_un` of `path` at [`ADDR`]; its length.
fn sockaddr_un(k: &mut Fake, path: &str) -> u64 {
    let mut b = vec![1u8, 0];
    b.extend_from_slice(path.as_bytes());
    b.push(0);
    k.write_user(ADDR, &b);
    b.len() as u64
}

#[test]
fn service_sockets_reach_the_services_of_the_manager() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let fd = call(&mut st, &mut k, Sys::Socket, &[AF_UNIX, SOCK_SEQPACKET, 0]) as u64;
    assert_eq!(fd, 3);
    // Not connected yet; no address but the manager's; the policy's refusal.
    assert_eq!(call(&mut st, &mut k, Sys::Write, &[fd, BUF, 4]), -ENOTCONN);
    let len = sockaddr_un(&mut k, "/tmp/socket");
    assert_eq!(
        call(&mut st, &mut k, Sys::Connect, &[fd, ADDR, len]),
        -ENOENT
    );
    let len = sockaddr_un(&mut k, "/kl.core.DCM/secret/echo");
    assert_eq!(
        call(&mut st, &mut k, Sys::Connect, &[fd, ADDR, len]),
        -EACCES
    );
    let len = sockaddr_un(&mut k, "/kl.core.DCM/nothing/echo");
    assert_eq!(
        call(&mut st, &mut k, Sys::Connect, &[fd, ADDR, len]),
        -ENOENT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Bind, &[fd, ADDR, len]),
        -EOPNOTSUPP
    );
    let len = sockaddr_un(&mut k, "/kl.core.DCM/echo/echo");
    assert_eq!(call(&mut st, &mut k, Sys::Connect, &[fd, ADDR, len]), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Connect, &[fd, ADDR, len]),
        -EISCONN
    );
    // A request is a call; its answer is the next message read, once.
    assert_eq!(call(&mut st, &mut k, Sys::Read, &[fd, BUF, 16]), -EAGAIN);
    k.write_user(BUF, b"abcd");
    assert_eq!(call(&mut st, &mut k, Sys::Write, &[fd, BUF, 4]), 4);
    assert_eq!(call(&mut st, &mut k, Sys::Read, &[fd, BUF + 0x100, 2]), 2);
    let mut got = [0u8; 2];
    k.read_user(BUF + 0x100, &mut got);
    assert_eq!(&got, b"dc");
    assert_eq!(call(&mut st, &mut k, Sys::Read, &[fd, BUF, 16]), -EAGAIN);
    // A request past the largest message is refused before any call.
    assert_eq!(
        call(&mut st, &mut k, Sys::Write, &[fd, BUF, 64 * 1024 + 1]),
        -EMSGSIZE
    );
    // A copy shares the channel; it closes with the last descriptor.
    let copy = call(&mut st, &mut k, Sys::Dup, &[fd]) as u64;
    assert_eq!(call(&mut st, &mut k, Sys::Close, &[fd]), 0);
    assert!(k.closed.is_empty());
    assert_eq!(call(&mut st, &mut k, Sys::Close, &[copy]), 0);
    assert_eq!(k.closed, vec![70]);
}

#[test]
fn service_sockets_need_the_manager() {
    let (mut st, mut k) = setup(Arch::Aarch64, false);
    let fd = call(&mut st, &mut k, Sys::Socket, &[AF_UNIX, SOCK_DGRAM, 0]) as u64;
    let len = sockaddr_un(&mut k, "/kl.core.DCM/echo/echo");
    assert_eq!(
        call(&mut st, &mut k, Sys::Connect, &[fd, ADDR, len]),
        -ECONNREFUSED
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Socket, &[AF_UNIX, SOCK_SEQPACKET, 7]),
        -EPROTONOSUPPORT
    );
}
