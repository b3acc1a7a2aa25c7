//! Sockets: the Linux socket calls (`socket`, `bind`, `listen`, `accept4`, `connect`,
//! `sendto`, `recvfrom`, `sendmsg`, `recvmsg`, `shutdown`, `getsockname`, `getpeername`,
//! `setsockopt`, `getsockopt`) and `read`/`write`/`close`/`fcntl`/`poll` of socket
//! descriptors, as requests to the network server (`kl.VfsNet`, docs/net.md) through
//! [`Kernel::net`]. The server numbers the sockets per client and the policy judges each
//! request (the address and port are fields of Bind, Connect and SendTo); a denial comes
//! back as `EACCES`.
//!
//! The server never waits: an operation that would (accept with no connection, receive
//! with no data, send with a full buffer, a connection being made) answers `EAGAIN` or
//! `EINPROGRESS`. A descriptor in blocking mode makes its call again after a short sleep
//! ([`RETRY_NS`], the kernel's tick) outside the personality's lock
//! ([`Outcome::WaitEventUntil`]), so other threads run meanwhile and a signal ends the wait
//! as it ends other blocking calls. `poll`/`select` find a socket ready by asking the server
//! (an accept or a receive made ahead): what that takes is kept with the socket
//! ([`Sock::inbox`], [`Sock::pending`]) for the next `accept` or `recv`, at most one
//! request's worth ([`DATA_MAX`] bytes) per socket. See `docs/linux.md`, "Sockets".

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use super::{err, ok, Kernel, Outcome, State, RLIMIT_NOFILE};
use crate::errno::*;
use crate::nr::Sys;

/// Most bytes one request moves (`DataMax` of kl.Net).
pub const DATA_MAX: usize = 8192;
/// Most bytes one `send`/`write` of a stream moves (in requests of [`DATA_MAX`]); more is
/// a short count, which callers loop on.
pub const IO_MAX: usize = 64 * 1024;
/// How long a blocking socket call sleeps before it asks the server again.
pub const RETRY_NS: u64 = 5_000_000;
/// Most pending connections of a listening socket (`BacklogMax` of kl.Net).
pub const BACKLOG_MAX: u64 = 4;

/// Socket kinds of kl.Net.
pub const TCP: u32 = 1;
pub const UDP: u32 = 2;
/// Not the network server's: an `AF_UNIX` socket connected to a service through the
/// dynamic connection manager ([`super::service`]).
pub const SERVICE: u32 = 3;

const AF_INET: u64 = 2;
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;
const IPPROTO_TCP: u64 = 6;
const IPPROTO_UDP: u64 = 17;
const SOL_SOCKET: u64 = 1;
const SO_REUSEADDR: u64 = 2;
const SO_TYPE: u64 = 3;
const SO_ERROR: u64 = 4;
const SO_SNDBUF: u64 = 7;
const SO_RCVBUF: u64 = 8;
const SO_KEEPALIVE: u64 = 9;
const TCP_NODELAY: u64 = 1;
/// `SO_RCVTIMEO`, `SO_SNDTIMEO` (`_OLD` and `_NEW`: on 64-bit Linux both take a
/// `struct timeval` of two 64-bit words).
const SO_RCVTIMEO: u64 = 20;
const SO_SNDTIMEO: u64 = 21;
const SO_RCVTIMEO_NEW: u64 = 66;
const SO_SNDTIMEO_NEW: u64 = 67;
const TIMEVAL: usize = 16;
/// `send` flag: no `SIGPIPE` for a broken connection.
pub const MSG_NOSIGNAL: u64 = 0x4000;
const MSG_PEEK: u64 = 2;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_OOB: u64 = 1;
const O_RDWR: i64 = 2;
const O_NONBLOCK: u64 = 0o4000;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const FIONBIO: u64 = 0x5421;
const FIONREAD: u64 = 0x541b;
/// `struct sockaddr_in`: family, port (big-endian), address (big-endian), padding.
const SOCKADDR_IN: usize = 16;
/// The buffer sizes `getsockopt` reports (the server's, docs/net.md).
const BUFFER: u32 = 8192;

/// A request to the network server (one method of kl.Net). Addresses are IPv4 addresses
/// as numbers (10.0.2.15 is 0x0a00020f), ports in host order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetRequest<'a> {
    Socket {
        kind: u32,
    },
    Bind {
        sock: u32,
        addr: u32,
        port: u16,
    },
    Listen {
        sock: u32,
        backlog: u32,
    },
    Accept {
        sock: u32,
    },
    Connect {
        sock: u32,
        addr: u32,
        port: u16,
    },
    Send {
        sock: u32,
        data: &'a [u8],
    },
    SendTo {
        sock: u32,
        addr: u32,
        port: u16,
        data: &'a [u8],
    },
    Recv {
        sock: u32,
        max: u32,
    },
    RecvFrom {
        sock: u32,
        max: u32,
    },
    Shutdown {
        sock: u32,
        how: u32,
    },
    Close {
        sock: u32,
    },
    GetSockName {
        sock: u32,
    },
    GetPeerName {
        sock: u32,
    },
}

/// The server's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetReply {
    /// A new socket (`Socket`).
    Socket(u32),
    /// A connection (`Accept`) and its peer.
    Accepted {
        conn: u32,
        addr: u32,
        port: u16,
    },
    /// Bytes taken (`Send`).
    Sent(u32),
    /// Bytes received (`Recv`; none at the end of the stream).
    Data(Vec<u8>),
    /// A datagram and its sender (`RecvFrom`).
    From {
        data: Vec<u8>,
        addr: u32,
        port: u16,
    },
    /// An address (`GetSockName`, `GetPeerName`).
    Addr {
        addr: u32,
        port: u16,
    },
    Done,
}

/// One socket of the server, shared by the descriptors that name it (`dup`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sock {
    /// [`TCP`] or [`UDP`].
    pub kind: u32,
    pub nonblock: bool,
    pub listening: bool,
    /// A TCP connection being made (`connect` answered `EINPROGRESS`).
    pub connecting: bool,
    pub connected: bool,
    /// A UDP socket's default destination (`connect`).
    pub peer: Option<(u32, u16)>,
    /// The error `SO_ERROR` reports (a failed connection), taken when read.
    pub error: i64,
    /// A connection accepted ahead by `poll` (server socket, address, port).
    pub pending: Option<(u32, u32, u16)>,
    /// Bytes received ahead by `poll` or `MSG_PEEK`, read first.
    pub inbox: Vec<u8>,
    /// A datagram received ahead (data, address, port).
    pub datagram: Option<(Vec<u8>, u32, u16)>,
    /// The peer's stream ended (a receive found nothing more).
    pub eof: bool,
    /// Options as set (`getsockopt` reads them back).
    pub reuseaddr: bool,
    pub keepalive: bool,
    pub nodelay: bool,
    /// A [`SERVICE`] socket's channel to its service, once connected.
    pub channel: Option<u32>,
    /// A [`SERVICE`] socket's answer to its last request, not read yet.
    pub answer: Option<Vec<u8>>,
    /// `SO_RCVTIMEO`, `SO_SNDTIMEO`: how long a blocking receive (`accept`) or send
    /// (`connect`) waits before `EAGAIN` (`EINPROGRESS`); `None` for ever.
    pub rcvtimeo: Option<u64>,
    pub sndtimeo: Option<u64>,
}

/// A socket descriptor: the server's socket number and close-on-exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFd {
    pub sock: u32,
    pub cloexec: bool,
}

/// The descriptor table of sockets.
#[derive(Clone, Debug, Default)]
pub struct Sockets {
    fds: Vec<Option<SockFd>>,
    /// By the server's socket number, or a number of [`super::service`] (`SERVICE_KEYS`
    /// up) for a service socket.
    pub(super) socks: BTreeMap<u32, Sock>,
    /// The deadlines of `poll`/`select` calls over sockets being made again (keyed by the
    /// address of their entries; at most [`WAITS_MAX`]).
    waits: Vec<(u64, u64)>,
    /// The epoll instances, by descriptor ([`super::epoll`]).
    pub(super) epolls: BTreeMap<u64, super::epoll::Epoll>,
}

/// Most `poll`/`select` deadlines kept (one per waiting thread).
const WAITS_MAX: usize = 64;
/// A deadline this long past is not the call's own (one ended by a signal left it).
const STALE_NS: u64 = 100_000_000;

impl Sockets {
    pub fn get(&self, fd: u64) -> Option<SockFd> {
        self.fds.get(fd as usize).copied().flatten()
    }

    pub fn is_open(&self, fd: u64) -> bool {
        self.get(fd).is_some()
    }

    /// The socket `fd` names.
    pub fn sock(&self, fd: u64) -> Option<&Sock> {
        self.socks.get(&self.get(fd)?.sock)
    }

    pub(super) fn sock_mut(&mut self, fd: u64) -> Option<&mut Sock> {
        let s = self.get(fd)?.sock;
        self.socks.get_mut(&s)
    }

    pub(super) fn place(&mut self, fd: u64, f: SockFd) {
        let i = fd as usize;
        while self.fds.len() <= i {
            self.fds.push(None);
        }
        self.fds[i] = Some(f);
    }

    /// Takes `fd` out of the table; the server socket to close (and a connection accepted
    /// ahead of it) if no descriptor names it any more.
    pub(super) fn take(&mut self, fd: u64) -> Option<(u32, Option<u32>)> {
        let f = self.fds.get_mut(fd as usize).and_then(Option::take)?;
        while self.fds.last().is_some_and(Option::is_none) {
            self.fds.pop();
        }
        if self.fds.iter().flatten().any(|g| g.sock == f.sock) {
            return None;
        }
        let pending = self.socks.remove(&f.sock).and_then(|s| s.pending);
        Some((f.sock, pending.map(|p| p.0)))
    }

    /// Every server socket the process holds (and connections accepted ahead), emptied.
    pub fn take_all(&mut self) -> Vec<u32> {
        let socks = core::mem::take(&mut self.socks);
        self.fds.clear();
        self.epolls.clear();
        let mut all = Vec::new();
        for (n, s) in socks {
            all.push(n);
            if let Some((conn, _, _)) = s.pending {
                all.push(conn);
            }
        }
        all
    }

    /// How many server sockets the process holds.
    pub fn count(&self) -> usize {
        self.socks.len()
    }
}

/// `struct sockaddr_in` of `addr`:`port`.
fn sockaddr(addr: u32, port: u16) -> [u8; SOCKADDR_IN] {
    let mut b = [0u8; SOCKADDR_IN];
    b[..2].copy_from_slice(&(AF_INET as u16).to_le_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&addr.to_be_bytes());
    b
}

/// The kl.Net socket kind of `socket`'s `type` and `protocol` (flags taken out).
fn kind_of(ty: u64, protocol: u64) -> Result<u32, i64> {
    match (ty, protocol) {
        (SOCK_STREAM, 0 | IPPROTO_TCP) => Ok(TCP),
        (SOCK_DGRAM, 0 | IPPROTO_UDP) => Ok(UDP),
        (SOCK_STREAM | SOCK_DGRAM, _) => Err(EPROTONOSUPPORT),
        // SOCK_RAW, SOCK_SEQPACKET, ...
        (1..=10, _) => Err(EPROTONOSUPPORT),
        _ => Err(EINVAL),
    }
}

/// The keys of a blocking receive or send on `fd` among [`Sockets::waits`]: above every
/// user address (the keys of `poll`/`select`), one per descriptor and direction.
fn wait_key(fd: u64, send: bool) -> u64 {
    (1 << 63) | (fd << 1) | u64::from(send)
}

/// A `struct timeval` as a socket time-out: `None` (for ever) for zero, as Linux; a
/// negative one does not wait; microseconds out of range are `EDOM`.
fn timeout_of(b: &[u8; TIMEVAL]) -> Result<Option<u64>, i64> {
    let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let usec = i64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8]));
    if !(0..1_000_000).contains(&usec) {
        return Err(EDOM);
    }
    Ok(match (sec, usec) {
        (s, _) if s < 0 => Some(0),
        (0, 0) => None,
        (s, u) => Some(
            (s as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(u as u64 * 1000),
        ),
    })
}

/// A socket time-out as a `struct timeval` (zero for none).
fn timeval_of(t: Option<u64>) -> [u8; TIMEVAL] {
    let ns = t.unwrap_or(0);
    let mut b = [0u8; TIMEVAL];
    b[..8].copy_from_slice(&((ns / 1_000_000_000) as i64).to_le_bytes());
    b[8..].copy_from_slice(&((ns % 1_000_000_000 / 1000) as i64).to_le_bytes());
    b
}

/// Whether an errno means "try again" for a blocking call.
fn would_block(e: i64) -> bool {
    e == EAGAIN
}

impl State {
    /// Handles `sys` if it is a socket call or names a socket descriptor; `None` otherwise.
    pub(super) fn socket_call<K: Kernel>(
        &mut self,
        k: &mut K,
        sys: Sys,
        a: [u64; 6],
    ) -> Option<Outcome> {
        let fd = a[0] as u32 as u64;
        let is_sock = self.sockets.is_open(fd);
        let is_epoll = self.sockets.epolls.contains_key(&fd);
        let outcome = match sys {
            Sys::EpollCreate if a[0] as i32 <= 0 => err(EINVAL),
            Sys::EpollCreate => self.epoll_create(0),
            Sys::EpollCreate1 => self.epoll_create(a[0] as u32 as u64),
            Sys::EpollCtl => self.epoll_ctl(k, fd, a[1] as u32 as u64, a[2] as u32 as u64, a[3]),
            Sys::EpollWait | Sys::EpollPwait => {
                self.epoll_wait(k, fd, a[1], a[2], a[3] as i32 as i64)
            }
            Sys::Close if is_epoll => {
                self.sockets.epolls.remove(&fd);
                ok(0)
            }
            Sys::Read | Sys::Write | Sys::Readv | Sys::Writev if is_epoll => err(EINVAL),
            Sys::Socket => self.sys_socket(k, a[0], a[1], a[2]),
            Sys::Socketpair => err(EOPNOTSUPP),
            s if is_sock && self.is_service(fd) && s.is_socket() => self.service_call(k, s, fd, a),
            s if s.is_socket() && !is_sock => match self.fd_open(fd) {
                true => err(ENOTSOCK),
                false => err(EBADF),
            },
            Sys::Bind => self.sys_bind(k, fd, a[1], a[2]),
            Sys::Listen => self.sys_listen(k, fd, a[1] as i32 as i64),
            Sys::Accept => self.sys_accept(k, fd, a[1], a[2], 0),
            Sys::Accept4 => self.sys_accept(k, fd, a[1], a[2], a[3]),
            Sys::Connect => self.sys_connect(k, fd, a[1], a[2]),
            Sys::Sendto => self.sys_sendto(k, fd, &[(a[1], a[2])], a[3], a[4], a[5]),
            Sys::Recvfrom => self.sys_recvfrom(k, fd, &[(a[1], a[2])], a[3], a[4], a[5]),
            Sys::Sendmsg => self.sys_msg(k, fd, a[1], a[2], true),
            Sys::Recvmsg => self.sys_msg(k, fd, a[1], a[2], false),
            Sys::Shutdown => self.sys_shutdown(k, fd, a[1]),
            Sys::Getsockname => self.sys_name(k, fd, a[1], a[2], false),
            Sys::Getpeername => self.sys_name(k, fd, a[1], a[2], true),
            Sys::Setsockopt => self.sys_setsockopt(k, fd, a[1], a[2], a[3], a[4]),
            Sys::Getsockopt => self.sys_getsockopt(k, fd, a[1], a[2], a[3], a[4]),
            _ if !is_sock => return None,
            Sys::Read => self.sys_recvfrom(k, fd, &[(a[1], a[2])], 0, 0, 0),
            Sys::Write => self.sys_sendto(k, fd, &[(a[1], a[2])], 0, 0, 0),
            Sys::Readv | Sys::Writev => match self.iovecs(k, a[1], a[2]) {
                Ok(v) if sys == Sys::Readv => self.sys_recvfrom(k, fd, &v, 0, 0, 0),
                Ok(v) => self.sys_sendto(k, fd, &v, 0, 0, 0),
                Err(e) => err(e),
            },
            Sys::Pread64 | Sys::Pwrite64 | Sys::Lseek => err(ESPIPE),
            Sys::Close => {
                self.close_socket_fd(k, fd);
                ok(0)
            }
            Sys::Fcntl => self.socket_fcntl(k, fd, a[1] as u32 as u64, a[2]),
            Sys::Ioctl => match a[1] as u32 as u64 {
                FIONBIO => {
                    let mut v = [0u8; 4];
                    if let Err(e) = self.read(k, a[2], &mut v) {
                        return Some(err(e));
                    }
                    if let Some(s) = self.sockets.sock_mut(fd) {
                        s.nonblock = v != [0; 4];
                    }
                    ok(0)
                }
                FIONREAD => {
                    let n = self.sockets.sock(fd).map_or(0, |s| s.inbox.len()) as u32;
                    self.result(self.write(k, a[2], &n.to_le_bytes()))
                }
                _ => err(ENOTTY),
            },
            Sys::Dup => self.socket_dup(k, fd, None, 0, false),
            Sys::Dup2 if a[1] as u32 as u64 == fd => ok(fd as i64),
            Sys::Dup2 => self.socket_dup(k, fd, Some(a[1] as u32 as u64), 0, false),
            Sys::Dup3 if a[2] & !SOCK_CLOEXEC != 0 || a[1] as u32 as u64 == fd => err(EINVAL),
            Sys::Dup3 => {
                self.socket_dup(k, fd, Some(a[1] as u32 as u64), 0, a[2] & SOCK_CLOEXEC != 0)
            }
            Sys::Fstat => {
                // A socket: S_IFSOCK, nothing else known.
                let st = super::file::FileStat {
                    mode: 0o140777,
                    ..Default::default()
                };
                let bytes = super::file::stat_bytes(self.arch, &st);
                self.result(self.write(k, a[1], &bytes))
            }
            Sys::Getdents64 => err(ENOTDIR),
            Sys::Fsync | Sys::Fdatasync | Sys::Ftruncate => err(EINVAL),
            _ => return None,
        };
        if is_sock && matches!(outcome, Outcome::Return(_)) {
            // A blocking call that ended: its time-out starts afresh next time.
            self.end_socket_wait(wait_key(fd, false));
            self.end_socket_wait(wait_key(fd, true));
        }
        Some(outcome)
    }

    /// Whether a socket call that answered `EPIPE` raises `SIGPIPE` (as Linux: a send
    /// without `MSG_NOSIGNAL`, or `write`).
    pub(super) fn socket_sigpipe(&self, sys: Sys, a: [u64; 6]) -> bool {
        let flags = match sys {
            Sys::Sendto => a[3],
            Sys::Sendmsg => a[2],
            Sys::Write | Sys::Writev => 0,
            _ => return false,
        };
        self.sockets.is_open(a[0] as u32 as u64) && flags & MSG_NOSIGNAL == 0
    }

    /// The lowest free descriptor.
    pub(super) fn free_socket_fd(&self) -> Result<u64, i64> {
        let limit = self.limits[RLIMIT_NOFILE].0.min(1024);
        (0..limit).find(|&n| !self.fd_open(n)).ok_or(EMFILE)
    }

    /// Closes `fd` if it is a socket (`close`, `dup2` onto it); the server's socket goes
    /// with the last descriptor naming it.
    pub(super) fn close_socket_fd<K: Kernel>(&mut self, k: &mut K, fd: u64) {
        if self.is_service(fd) {
            return self.close_service_fd(k, fd);
        }
        let Some((sock, pending)) = self.sockets.take(fd) else {
            return;
        };
        if let Some(conn) = pending {
            let _ = k.net(NetRequest::Close { sock: conn });
        }
        let _ = k.net(NetRequest::Close { sock });
    }

    /// The process ends: every server socket it holds is closed (the server does not learn
    /// of a client's end by itself). How many were closed.
    pub fn close_all_sockets<K: Kernel>(&mut self, k: &mut K) -> usize {
        self.close_all_services(k);
        let all = self.sockets.take_all();
        for &sock in &all {
            let _ = k.net(NetRequest::Close { sock });
        }
        all.len()
    }

    /// In a `fork` copy or a `vfork` child the parent's sockets are not this process's
    /// (the server numbers them per client): their descriptors close, the server's
    /// sockets stay the parent's.
    pub fn forget_sockets(&mut self) {
        self.sockets = Sockets::default();
    }

    /// A blocking call that found nothing to do: made again after [`RETRY_NS`], outside
    /// the lock.
    fn retry<K: Kernel>(&self, k: &mut K) -> Outcome {
        Outcome::WaitEventUntil(k.now_ns().saturating_add(RETRY_NS))
    }

    /// A blocking receive (`send`: send) on `fd` that found nothing to do: made again
    /// until the socket's time-out (`SO_RCVTIMEO`, `SO_SNDTIMEO`) from its first making
    /// has passed, then `expired` (`EAGAIN`; `EINPROGRESS` for `connect`).
    fn block<K: Kernel>(&mut self, k: &mut K, fd: u64, send: bool, expired: i64) -> Outcome {
        let timeout = self
            .sockets
            .sock(fd)
            .and_then(|s| if send { s.sndtimeo } else { s.rcvtimeo });
        if timeout.is_none() {
            return self.retry(k);
        }
        match self.socket_wait(k, wait_key(fd, send), timeout) {
            Some(wait) => wait,
            None => err(expired),
        }
    }

    fn sys_socket<K: Kernel>(&mut self, k: &mut K, domain: u64, ty: u64, protocol: u64) -> Outcome {
        if domain as u32 as u64 == super::service::AF_UNIX {
            return self.service_socket(ty, protocol);
        }
        if domain as u32 as u64 != AF_INET {
            return err(EAFNOSUPPORT);
        }
        let ty = ty as u32 as u64;
        let flags = ty & (SOCK_NONBLOCK | SOCK_CLOEXEC);
        let kind = match kind_of(ty & !flags, protocol as u32 as u64) {
            Ok(k) => k,
            Err(e) => return err(e),
        };
        let fd = match self.free_socket_fd() {
            Ok(fd) => fd,
            Err(e) => return err(e),
        };
        let sock = match k.net(NetRequest::Socket { kind }) {
            Ok(NetReply::Socket(s)) => s,
            Ok(_) => return err(EIO),
            Err(e) => return err(e),
        };
        self.sockets.socks.insert(
            sock,
            Sock {
                kind,
                nonblock: flags & SOCK_NONBLOCK != 0,
                ..Sock::default()
            },
        );
        self.sockets.place(
            fd,
            SockFd {
                sock,
                cloexec: flags & SOCK_CLOEXEC != 0,
            },
        );
        ok(fd as i64)
    }

    /// The address `len` bytes at `at` name (`struct sockaddr_in`).
    fn read_sockaddr<K: Kernel>(&self, k: &mut K, at: u64, len: u64) -> Result<(u32, u16), i64> {
        if (len as u32 as usize) < SOCKADDR_IN || len as u32 > 128 {
            return Err(EINVAL);
        }
        let mut b = [0u8; SOCKADDR_IN];
        self.read(k, at, &mut b)?;
        if u16::from_le_bytes([b[0], b[1]]) as u64 != AF_INET {
            return Err(EAFNOSUPPORT);
        }
        let port = u16::from_be_bytes([b[2], b[3]]);
        let addr = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        Ok((addr, port))
    }

    /// Writes `addr`:`port` to `at` (room: the `socklen_t` at `lenp`), and its full
    /// length to `lenp`, as Linux does (cut to the room given).
    fn write_sockaddr<K: Kernel>(
        &self,
        k: &mut K,
        at: u64,
        lenp: u64,
        addr: u32,
        port: u16,
    ) -> Result<(), i64> {
        if at == 0 {
            return Ok(());
        }
        let mut l = [0u8; 4];
        self.read(k, lenp, &mut l)?;
        let room = i32::from_le_bytes(l);
        if room < 0 {
            return Err(EINVAL);
        }
        let b = sockaddr(addr, port);
        let n = (room as usize).min(SOCKADDR_IN);
        self.write(k, at, &b[..n])?;
        self.write(k, lenp, &(SOCKADDR_IN as u32).to_le_bytes())
    }

    fn sys_bind<K: Kernel>(&mut self, k: &mut K, fd: u64, at: u64, len: u64) -> Outcome {
        let (addr, port) = match self.read_sockaddr(k, at, len) {
            Ok(a) => a,
            Err(e) => return err(e),
        };
        let sock = self.sockets.get(fd).map_or(0, |f| f.sock);
        match k.net(NetRequest::Bind { sock, addr, port }) {
            Ok(_) => ok(0),
            Err(e) => err(e),
        }
    }

    fn sys_listen<K: Kernel>(&mut self, k: &mut K, fd: u64, backlog: i64) -> Outcome {
        let Some(f) = self.sockets.get(fd) else {
            return err(EBADF);
        };
        if self.sockets.sock(fd).is_some_and(|s| s.kind != TCP) {
            return err(EOPNOTSUPP);
        }
        // A negative backlog asks for the most (as Linux's `somaxconn`).
        let backlog = match backlog {
            b if b < 0 => BACKLOG_MAX as u32,
            b => b.clamp(1, BACKLOG_MAX as i64) as u32,
        };
        match k.net(NetRequest::Listen {
            sock: f.sock,
            backlog,
        }) {
            Ok(_) => {
                if let Some(s) = self.sockets.sock_mut(fd) {
                    s.listening = true;
                }
                ok(0)
            }
            Err(e) => err(e),
        }
    }

    /// A connection of listening socket `fd`: one accepted ahead, or the server's.
    fn take_connection<K: Kernel>(&mut self, k: &mut K, fd: u64) -> Result<(u32, u32, u16), i64> {
        let f = self.sockets.get(fd).ok_or(EBADF)?;
        if let Some(p) = self.sockets.sock_mut(fd).and_then(|s| s.pending.take()) {
            return Ok(p);
        }
        match k.net(NetRequest::Accept { sock: f.sock })? {
            NetReply::Accepted { conn, addr, port } => Ok((conn, addr, port)),
            _ => Err(EIO),
        }
    }

    fn sys_accept<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        at: u64,
        lenp: u64,
        flags: u64,
    ) -> Outcome {
        let flags = flags as u32 as u64;
        if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return err(EINVAL);
        }
        let Some(s) = self.sockets.sock(fd) else {
            return err(EBADF);
        };
        if s.kind != TCP {
            return err(EOPNOTSUPP);
        }
        if !s.listening {
            return err(EINVAL);
        }
        let nonblock = s.nonblock;
        // Checked before a connection is taken, so that none is lost to a bad pointer.
        if at != 0 {
            let mut l = [0u8; 4];
            if let Err(e) = self.read(k, lenp, &mut l) {
                return err(e);
            }
            if i32::from_le_bytes(l) < 0 {
                return err(EINVAL);
            }
            let room = (i32::from_le_bytes(l) as u64).min(SOCKADDR_IN as u64);
            if !self.space.accessible(at, room, true) || !self.space.accessible(lenp, 4, true) {
                return err(EFAULT);
            }
        }
        let new = match self.free_socket_fd() {
            Ok(n) => n,
            Err(e) => return err(e),
        };
        let (conn, addr, port) = match self.take_connection(k, fd) {
            Ok(c) => c,
            Err(e) if would_block(e) && !nonblock => return self.block(k, fd, false, EAGAIN),
            Err(e) => return err(e),
        };
        self.sockets.socks.insert(
            conn,
            Sock {
                kind: TCP,
                nonblock: flags & SOCK_NONBLOCK != 0,
                connected: true,
                ..Sock::default()
            },
        );
        self.sockets.place(
            new,
            SockFd {
                sock: conn,
                cloexec: flags & SOCK_CLOEXEC != 0,
            },
        );
        if let Err(e) = self.write_sockaddr(k, at, lenp, addr, port) {
            return err(e);
        }
        ok(new as i64)
    }

    fn sys_connect<K: Kernel>(&mut self, k: &mut K, fd: u64, at: u64, len: u64) -> Outcome {
        let (addr, port) = match self.read_sockaddr(k, at, len) {
            Ok(a) => a,
            Err(e) => return err(e),
        };
        let Some(f) = self.sockets.get(fd) else {
            return err(EBADF);
        };
        let Some(s) = self.sockets.sock(fd).cloned() else {
            return err(EBADF);
        };
        if s.kind == UDP {
            // The default destination; the policy judges each datagram's (SendTo).
            if let Some(s) = self.sockets.sock_mut(fd) {
                s.peer = Some((addr, port));
            }
            return ok(0);
        }
        if s.connected {
            return err(EISCONN);
        }
        if s.listening {
            return err(EINVAL);
        }
        let r = k.net(NetRequest::Connect {
            sock: f.sock,
            addr,
            port,
        });
        let s = match self.sockets.sock_mut(fd) {
            Some(s) => s,
            None => return err(EBADF),
        };
        match r {
            Ok(_) => {
                s.connecting = false;
                s.connected = true;
                ok(0)
            }
            Err(EINPROGRESS) if s.nonblock && s.connecting => err(EALREADY),
            Err(EINPROGRESS) if s.nonblock => {
                s.connecting = true;
                err(EINPROGRESS)
            }
            Err(EINPROGRESS) => {
                s.connecting = true;
                self.block(k, fd, true, EINPROGRESS)
            }
            Err(e) => {
                s.connecting = false;
                err(e)
            }
        }
    }

    /// The `iovec`s (`count` at `iov`), each checked.
    fn iovecs<K: Kernel>(&self, k: &mut K, iov: u64, count: u64) -> Result<Vec<(u64, u64)>, i64> {
        if count > 1024 {
            return Err(EINVAL);
        }
        let mut v = Vec::new();
        for i in 0..count {
            let mut b = [0u8; 16];
            self.read(k, iov.wrapping_add(i * 16), &mut b)?;
            let base = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
            let len = u64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8]));
            match len as i64 {
                n if n < 0 => return Err(EINVAL),
                0 => continue,
                _ => {}
            }
            v.push((base, len));
        }
        Ok(v)
    }

    /// `sendto` (and `write`, `writev`, `sendmsg`) of the buffers `vectors` on `fd`, to
    /// `at` (`alen` bytes) if given.
    pub(super) fn sys_sendto<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        vectors: &[(u64, u64)],
        flags: u64,
        at: u64,
        alen: u64,
    ) -> Outcome {
        if self.is_service(fd) {
            return self.service_send(k, fd, vectors);
        }
        let Some(f) = self.sockets.get(fd) else {
            return err(EBADF);
        };
        let Some(s) = self.sockets.sock(fd).cloned() else {
            return err(EBADF);
        };
        if flags & MSG_OOB != 0 {
            return err(EOPNOTSUPP);
        }
        let nonblock = s.nonblock || flags & MSG_DONTWAIT != 0;
        let total: u64 = vectors.iter().map(|v| v.1).fold(0, u64::saturating_add);
        let want = total.min(IO_MAX as u64) as usize;
        let mut data = vec![0u8; want];
        let mut filled = 0;
        for &(base, len) in vectors {
            let n = (len as usize).min(want - filled);
            if let Err(e) = self.read(k, base, &mut data[filled..filled + n]) {
                return err(e);
            }
            filled += n;
            if filled == want {
                break;
            }
        }
        if s.kind == UDP {
            let (addr, port) = match (at, s.peer) {
                (0, Some(p)) => p,
                (0, None) => return err(EDESTADDRREQ),
                (at, _) => match self.read_sockaddr(k, at, alen) {
                    Ok(a) => a,
                    Err(e) => return err(e),
                },
            };
            if total > DATA_MAX as u64 {
                return err(EMSGSIZE);
            }
            return match k.net(NetRequest::SendTo {
                sock: f.sock,
                addr,
                port,
                data: &data,
            }) {
                Ok(_) => ok(want as i64),
                Err(e) if would_block(e) && !nonblock => self.block(k, fd, true, EAGAIN),
                Err(e) => err(e),
            };
        }
        if want == 0 {
            return ok(0);
        }
        let mut done = 0;
        while done < want {
            let n = (want - done).min(DATA_MAX);
            match k.net(NetRequest::Send {
                sock: f.sock,
                data: &data[done..done + n],
            }) {
                Ok(NetReply::Sent(0)) => break,
                Ok(NetReply::Sent(w)) => done += (w as usize).min(n),
                Ok(_) => return err(EIO),
                Err(e) if done > 0 => {
                    let _ = e;
                    break;
                }
                Err(e) if would_block(e) && !nonblock => return self.block(k, fd, true, EAGAIN),
                Err(e) => return err(e),
            }
        }
        if done == 0 && !nonblock {
            return self.block(k, fd, true, EAGAIN);
        }
        match done {
            0 => err(EAGAIN),
            n => ok(n as i64),
        }
    }

    /// Fills the socket's inbox (TCP) or datagram (UDP) from the server if it is empty:
    /// `Ok(true)` if something (or the end of the stream) is there to read.
    fn fill<K: Kernel>(&mut self, k: &mut K, fd: u64, max: usize) -> Result<bool, i64> {
        let f = self.sockets.get(fd).ok_or(EBADF)?;
        let s = self.sockets.sock(fd).ok_or(EBADF)?;
        match s.kind {
            UDP => {
                if s.datagram.is_some() {
                    return Ok(true);
                }
                match k.net(NetRequest::RecvFrom {
                    sock: f.sock,
                    max: DATA_MAX as u32,
                })? {
                    NetReply::From { data, addr, port } => {
                        if let Some(s) = self.sockets.sock_mut(fd) {
                            s.datagram = Some((data, addr, port));
                        }
                        Ok(true)
                    }
                    _ => Err(EIO),
                }
            }
            _ => {
                if !s.inbox.is_empty() || s.eof {
                    return Ok(true);
                }
                let max = max.clamp(1, DATA_MAX) as u32;
                match k.net(NetRequest::Recv { sock: f.sock, max })? {
                    NetReply::Data(d) => {
                        if let Some(s) = self.sockets.sock_mut(fd) {
                            match d.is_empty() {
                                true => s.eof = true,
                                false => s.inbox = d,
                            }
                        }
                        Ok(true)
                    }
                    _ => Err(EIO),
                }
            }
        }
    }

    /// `recvfrom` (and `read`, `readv`, `recvmsg`) into the buffers `vectors` of `fd`; the
    /// sender to `at` (room at `alenp`) for UDP.
    pub(super) fn sys_recvfrom<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        vectors: &[(u64, u64)],
        flags: u64,
        at: u64,
        alenp: u64,
    ) -> Outcome {
        if self.is_service(fd) {
            return self.service_recv(k, fd, vectors, flags & MSG_PEEK != 0, alenp);
        }
        let Some(s) = self.sockets.sock(fd) else {
            return err(EBADF);
        };
        let nonblock = s.nonblock || flags & MSG_DONTWAIT != 0;
        let kind = s.kind;
        let total: u64 = vectors.iter().map(|v| v.1).fold(0, u64::saturating_add);
        // At most one request's bytes are written: the buffers are checked that far.
        let mut room = DATA_MAX as u64;
        for &(base, len) in vectors {
            let n = len.min(room);
            if !self.space.accessible(base, n, true) {
                return err(EFAULT);
            }
            room -= n;
        }
        if total == 0 && kind == TCP {
            return ok(0);
        }
        match self.fill(k, fd, total.min(DATA_MAX as u64) as usize) {
            Ok(_) => {}
            Err(e) if would_block(e) && !nonblock => return self.block(k, fd, false, EAGAIN),
            Err(e) => return err(e),
        }
        let peek = flags & MSG_PEEK != 0;
        let Some(s) = self.sockets.sock_mut(fd) else {
            return err(EBADF);
        };
        let (data, from) = match kind {
            UDP => {
                let Some((d, addr, port)) = s.datagram.take() else {
                    return err(EAGAIN);
                };
                if peek {
                    s.datagram = Some((d.clone(), addr, port));
                }
                (d, Some((addr, port)))
            }
            _ => {
                let n = (total as usize).min(s.inbox.len());
                let d: Vec<u8> = match peek {
                    true => s.inbox[..n].to_vec(),
                    false => s.inbox.drain(..n).collect(),
                };
                (d, None)
            }
        };
        let mut done = 0usize;
        for &(base, len) in vectors {
            if done == data.len() {
                break;
            }
            let n = (len as usize).min(data.len() - done);
            if let Err(e) = self.write(k, base, &data[done..done + n]) {
                return err(e);
            }
            done += n;
        }
        if let Some((addr, port)) = from {
            if let Err(e) = self.write_sockaddr(k, at, alenp, addr, port) {
                return err(e);
            }
        }
        ok(done as i64)
    }

    /// `sendmsg`/`recvmsg`: the `struct msghdr` at `at` (name, its length, the iovecs);
    /// no control data (ancillary messages are not supported: `msg_controllen` comes back
    /// 0).
    pub(super) fn sys_msg<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        at: u64,
        flags: u64,
        send: bool,
    ) -> Outcome {
        let mut h = [0u8; 56];
        if let Err(e) = self.read(k, at, &mut h) {
            return err(e);
        }
        let word = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap_or([0; 8]));
        let (name, namelen, iov, iovlen) = (word(0), word(8) as u32 as u64, word(16), word(24));
        let vectors = match self.iovecs(k, iov, iovlen) {
            Ok(v) => v,
            Err(e) => return err(e),
        };
        if send {
            return self.sys_sendto(k, fd, &vectors, flags, name, namelen);
        }
        // recvmsg: the sender's length goes to msg_namelen.
        let r = self.sys_recvfrom(k, fd, &vectors, flags, name, at.wrapping_add(8));
        if matches!(r, Outcome::Return(n) if n >= 0) {
            // msg_controllen 0, msg_flags 0.
            let _ = self.write(k, at.wrapping_add(40), &0u64.to_le_bytes());
            let _ = self.write(k, at.wrapping_add(48), &0u32.to_le_bytes());
        }
        r
    }

    fn sys_shutdown<K: Kernel>(&mut self, k: &mut K, fd: u64, how: u64) -> Outcome {
        let how = how as u32;
        if how > 2 {
            return err(EINVAL);
        }
        let sock = self.sockets.get(fd).map_or(0, |f| f.sock);
        match k.net(NetRequest::Shutdown { sock, how }) {
            Ok(_) => ok(0),
            Err(e) => err(e),
        }
    }

    fn sys_name<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        at: u64,
        lenp: u64,
        peer: bool,
    ) -> Outcome {
        let sock = self.sockets.get(fd).map_or(0, |f| f.sock);
        let udp_peer = self.sockets.sock(fd).and_then(|s| s.peer);
        let r = match (peer, udp_peer) {
            (true, Some((addr, port))) => Ok(NetReply::Addr { addr, port }),
            (true, None) => k.net(NetRequest::GetPeerName { sock }),
            (false, _) => k.net(NetRequest::GetSockName { sock }),
        };
        match r {
            Ok(NetReply::Addr { addr, port }) => {
                if at == 0 {
                    return err(EFAULT);
                }
                self.result(self.write_sockaddr(k, at, lenp, addr, port))
            }
            Ok(_) => err(EIO),
            Err(e) => err(e),
        }
    }

    fn sys_setsockopt<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        level: u64,
        name: u64,
        at: u64,
        len: u64,
    ) -> Outcome {
        let (level, name) = (level as u32 as u64, name as u32 as u64);
        if level == SOL_SOCKET
            && matches!(
                name,
                SO_RCVTIMEO | SO_SNDTIMEO | SO_RCVTIMEO_NEW | SO_SNDTIMEO_NEW
            )
        {
            return self.set_timeout(k, fd, name, at, len);
        }
        let known = matches!(
            (level, name),
            (
                SOL_SOCKET,
                SO_REUSEADDR | SO_KEEPALIVE | SO_SNDBUF | SO_RCVBUF
            ) | (IPPROTO_TCP, TCP_NODELAY)
        );
        if !known {
            return err(ENOPROTOOPT);
        }
        if (len as u32) < 4 {
            return err(EINVAL);
        }
        let mut v = [0u8; 4];
        if let Err(e) = self.read(k, at, &mut v) {
            return err(e);
        }
        let on = v != [0; 4];
        let Some(s) = self.sockets.sock_mut(fd) else {
            return err(EBADF);
        };
        match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => s.reuseaddr = on,
            (SOL_SOCKET, SO_KEEPALIVE) => s.keepalive = on,
            (IPPROTO_TCP, _) if s.kind != TCP => return err(EOPNOTSUPP),
            (IPPROTO_TCP, _) => s.nodelay = on,
            // The server's buffers have one size: accepted, unchanged.
            _ => {}
        }
        ok(0)
    }

    fn sys_getsockopt<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        level: u64,
        name: u64,
        at: u64,
        lenp: u64,
    ) -> Outcome {
        let (level, name) = (level as u32 as u64, name as u32 as u64);
        let Some(s) = self.sockets.sock(fd).cloned() else {
            return err(EBADF);
        };
        let timeout = match (level, name) {
            (SOL_SOCKET, SO_RCVTIMEO | SO_RCVTIMEO_NEW) => Some(s.rcvtimeo),
            (SOL_SOCKET, SO_SNDTIMEO | SO_SNDTIMEO_NEW) => Some(s.sndtimeo),
            _ => None,
        };
        if let Some(t) = timeout {
            return self.put_option(k, at, lenp, &timeval_of(t));
        }
        let value: u32 = match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => s.reuseaddr.into(),
            (SOL_SOCKET, SO_KEEPALIVE) => s.keepalive.into(),
            (SOL_SOCKET, SO_TYPE) => match s.kind {
                UDP => SOCK_DGRAM as u32,
                _ => SOCK_STREAM as u32,
            },
            (SOL_SOCKET, SO_ERROR) => s.error as u32,
            (SOL_SOCKET, SO_SNDBUF | SO_RCVBUF) => BUFFER,
            (IPPROTO_TCP, TCP_NODELAY) if s.kind == TCP => s.nodelay.into(),
            (IPPROTO_TCP, TCP_NODELAY) => return err(EOPNOTSUPP),
            _ => return err(ENOPROTOOPT),
        };
        if let Outcome::Return(e) = self.put_option(k, at, lenp, &value.to_le_bytes()) {
            if e < 0 {
                return Outcome::Return(e);
            }
        }
        if name == SO_ERROR && level == SOL_SOCKET {
            if let Some(s) = self.sockets.sock_mut(fd) {
                s.error = 0;
            }
        }
        ok(0)
    }

    /// `setsockopt` of `SO_RCVTIMEO`/`SO_SNDTIMEO` (`name`): a `struct timeval` at `at`.
    fn set_timeout<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        name: u64,
        at: u64,
        len: u64,
    ) -> Outcome {
        if (len as u32 as usize) < TIMEVAL {
            return err(EINVAL);
        }
        let mut b = [0u8; TIMEVAL];
        if let Err(e) = self.read(k, at, &mut b) {
            return err(e);
        }
        let t = match timeout_of(&b) {
            Ok(t) => t,
            Err(e) => return err(e),
        };
        let Some(s) = self.sockets.sock_mut(fd) else {
            return err(EBADF);
        };
        match name {
            SO_RCVTIMEO | SO_RCVTIMEO_NEW => s.rcvtimeo = t,
            _ => s.sndtimeo = t,
        }
        ok(0)
    }

    /// `getsockopt`'s answer: `value` to `at`, cut to the room the `socklen_t` at `lenp`
    /// gives, and the length written there.
    fn put_option<K: Kernel>(&mut self, k: &mut K, at: u64, lenp: u64, value: &[u8]) -> Outcome {
        let mut l = [0u8; 4];
        if let Err(e) = self.read(k, lenp, &mut l) {
            return err(e);
        }
        let room = i32::from_le_bytes(l);
        if room < 0 {
            return err(EINVAL);
        }
        let n = (room as usize).min(value.len());
        if let Err(e) = self.write(k, at, &value[..n]) {
            return err(e);
        }
        self.result(self.write(k, lenp, &(n as u32).to_le_bytes()))
    }

    fn socket_fcntl<K: Kernel>(&mut self, k: &mut K, fd: u64, cmd: u64, arg: u64) -> Outcome {
        const F_DUPFD: u64 = 0;
        const F_DUPFD_CLOEXEC: u64 = 1030;
        match cmd {
            F_DUPFD => self.socket_dup(k, fd, None, arg as u32 as u64, false),
            F_DUPFD_CLOEXEC => self.socket_dup(k, fd, None, arg as u32 as u64, true),
            F_GETFD => ok(self.sockets.get(fd).map_or(0, |f| f.cloexec as i64)),
            F_SETFD => {
                if let Some(Some(f)) = self.sockets.fds.get_mut(fd as usize) {
                    f.cloexec = arg & 1 != 0;
                }
                ok(0)
            }
            F_GETFL => ok(O_RDWR
                | match self.sockets.sock(fd).is_some_and(|s| s.nonblock) {
                    true => O_NONBLOCK as i64,
                    false => 0,
                }),
            F_SETFL => {
                if let Some(s) = self.sockets.sock_mut(fd) {
                    s.nonblock = arg & O_NONBLOCK != 0;
                }
                ok(0)
            }
            _ => err(EINVAL),
        }
    }

    /// `dup`, `dup2`, `dup3`, `F_DUPFD(_CLOEXEC)` of a socket: a descriptor naming the
    /// same server socket.
    fn socket_dup<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        new: Option<u64>,
        min: u64,
        cloexec: bool,
    ) -> Outcome {
        let Some(f) = self.sockets.get(fd) else {
            return err(EBADF);
        };
        let limit = self.limits[RLIMIT_NOFILE].0.min(1024);
        let target = match self.dup_target(new, min, limit) {
            Ok(n) => n,
            Err(e) => return err(e),
        };
        if let Err(e) = self.close_any(k, target) {
            return err(e);
        }
        self.sockets.place(
            target,
            SockFd {
                sock: f.sock,
                cloexec,
            },
        );
        ok(target as i64)
    }

    /// A `poll`/`select` over sockets (its entries at `key`) found none ready: made again
    /// after [`RETRY_NS`] (outside the lock) until `timeout_ns` from its first making has
    /// passed; `None` once it has (the call answers 0).
    pub(super) fn socket_wait<K: Kernel>(
        &mut self,
        k: &mut K,
        key: u64,
        timeout_ns: Option<u64>,
    ) -> Option<Outcome> {
        let now = k.now_ns();
        let kept = self.sockets.waits.iter().find(|w| w.0 == key).map(|w| w.1);
        self.end_socket_wait(key);
        let Some(ns) = timeout_ns else {
            return Some(self.retry(k));
        };
        let at = match kept {
            Some(at) if now <= at.saturating_add(STALE_NS) => at,
            _ => now.saturating_add(ns),
        };
        if now >= at {
            return None;
        }
        if self.sockets.waits.len() >= WAITS_MAX {
            self.sockets.waits.remove(0);
        }
        self.sockets.waits.push((key, at));
        Some(Outcome::WaitEventUntil(
            at.min(now.saturating_add(RETRY_NS)),
        ))
    }

    /// The `poll`/`select` with entries at `key` is answered.
    pub(super) fn end_socket_wait(&mut self, key: u64) {
        self.sockets.waits.retain(|w| w.0 != key);
    }

    /// `poll`'s `revents` of socket `fd` for `events`, asking the server ahead where it
    /// must (a connection accepted, bytes or a datagram received, a connection's progress).
    pub(super) fn socket_revents<K: Kernel>(&mut self, k: &mut K, fd: u64, events: u16) -> u16 {
        const POLLIN: u16 = 1;
        const POLLOUT: u16 = 4;
        const POLLERR: u16 = 8;
        const POLLHUP: u16 = 0x10;
        const POLLRDNORM: u16 = 0x40;
        const POLLWRNORM: u16 = 0x100;
        let (Some(f), Some(s)) = (self.sockets.get(fd), self.sockets.sock(fd).cloned()) else {
            return 0x20;
        };
        let want_in = events & (POLLIN | POLLRDNORM);
        let want_out = events & (POLLOUT | POLLWRNORM);
        if s.kind == SERVICE {
            // Writable once connected (a request is a call), readable with an answer.
            let out = if s.channel.is_some() { want_out } else { 0 };
            return out | if s.answer.is_some() { want_in } else { 0 };
        }
        if s.listening {
            if want_in == 0 || s.pending.is_some() {
                return if s.pending.is_some() { want_in } else { 0 };
            }
            return match k.net(NetRequest::Accept { sock: f.sock }) {
                Ok(NetReply::Accepted { conn, addr, port }) => {
                    if let Some(s) = self.sockets.sock_mut(fd) {
                        s.pending = Some((conn, addr, port));
                    }
                    want_in
                }
                Err(e) if would_block(e) => 0,
                _ => POLLERR,
            };
        }
        if s.connecting {
            return match k.net(NetRequest::Connect {
                sock: f.sock,
                addr: 0,
                port: 0,
            }) {
                Ok(_) => {
                    if let Some(s) = self.sockets.sock_mut(fd) {
                        s.connecting = false;
                        s.connected = true;
                    }
                    want_out
                }
                Err(EINPROGRESS) => 0,
                Err(e) => {
                    if let Some(s) = self.sockets.sock_mut(fd) {
                        s.connecting = false;
                        s.error = e;
                    }
                    POLLERR | POLLHUP | want_out
                }
            };
        }
        let mut r = 0;
        if s.kind == UDP || s.connected {
            r |= want_out;
        }
        if want_in != 0 && (s.kind == UDP || s.connected) {
            match self.fill(k, fd, DATA_MAX) {
                Ok(_) => {
                    r |= want_in;
                    if self.sockets.sock(fd).is_some_and(|s| s.eof) {
                        r |= POLLHUP;
                    }
                }
                Err(e) if would_block(e) => {}
                Err(_) => r |= POLLERR,
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tv(sec: i64, usec: i64) -> [u8; TIMEVAL] {
        let mut b = [0u8; TIMEVAL];
        b[..8].copy_from_slice(&sec.to_le_bytes());
        b[8..].copy_from_slice(&usec.to_le_bytes());
        b
    }

    #[test]
    fn socket_time_outs_are_timevals_as_linux_reads_them() {
        assert_eq!(timeout_of(&tv(0, 0)), Ok(None));
        assert_eq!(timeout_of(&tv(1, 500_000)), Ok(Some(1_500_000_000)));
        assert_eq!(timeout_of(&tv(-1, 0)), Ok(Some(0)));
        assert_eq!(timeout_of(&tv(0, 1_000_000)), Err(EDOM));
        assert_eq!(timeout_of(&tv(0, -1)), Err(EDOM));
        assert_eq!(timeout_of(&tv(i64::MAX, 0)), Ok(Some(u64::MAX)));
        assert_eq!(timeval_of(Some(1_500_000_000)), tv(1, 500_000));
        assert_eq!(timeval_of(None), tv(0, 0));
        assert!(wait_key(63, true) > 1 << 63 && wait_key(63, true) != wait_key(63, false));
    }
}
