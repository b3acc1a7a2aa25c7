//! Service sockets: how a Linux program finds a native service through the dynamic
//! connection manager (`kl.core.DCM`, docs/services.md) and calls it.
//!
//! A program opens `socket(AF_UNIX, SOCK_SEQPACKET or SOCK_DGRAM, 0)` and `connect`s it to
//! the address `/kl.core.DCM/NAME/ENDPOINT`: the personality asks the manager for a channel
//! to the service NAME published at the server's endpoint ENDPOINT (`Connect`, judged by the
//! policy: a refusal is `EACCES`, audited; no such service `ENOENT`; a program without a
//! channel to the manager `ECONNREFUSED`). Each message the program then sends is one
//! request on that channel, in the native message format (header and IDL-encoded
//! arguments, `ostrog_abi::message`): the personality makes the call and keeps the answer
//! for the next receive, which returns it as one message (cut to the room given, as a
//! datagram is). Each request is judged by the policy like a native program's (`EACCES`
//! when refused). No address other than the manager's exists for `AF_UNIX` sockets here:
//! another path is `ENOENT`, `bind`/`listen`/`accept` are `EOPNOTSUPP`. See docs/linux.md,
//! "Services".

use alloc::vec;
use alloc::vec::Vec;

use super::socket::{Sock, SockFd, SERVICE};
use super::{err, ok, Kernel, Outcome, State};
use crate::errno::*;
use crate::nr::Sys;

/// `AF_UNIX` (`AF_LOCAL`).
pub const AF_UNIX: u64 = 1;
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_SEQPACKET: u64 = 5;
const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;
/// Where the services are: `/kl.core.DCM/NAME/ENDPOINT`.
pub const PREFIX: &str = "/kl.core.DCM/";
/// `sun_path`'s size in `struct sockaddr_un`.
const SUN_PATH: usize = 108;
/// Most bytes of one request, and of one answer kept (the kernel's default largest
/// message; a larger request is `EMSGSIZE`).
pub const MESSAGE_MAX: usize = 64 * 1024;
/// The numbers of service sockets in the socket table start here (the network server's
/// numbers are small).
const SERVICE_KEYS: u32 = 0x8000_0000;

/// The service name and endpoint a `struct sockaddr_un` names.
pub fn parse_address(bytes: &[u8]) -> Result<(&str, &str), i64> {
    let family = bytes.get(..2).ok_or(EINVAL)?;
    if u16::from_le_bytes([family[0], family[1]]) as u64 != AF_UNIX {
        return Err(EINVAL);
    }
    let path = &bytes[2..];
    let path = path.split(|&b| b == 0).next().unwrap_or(path);
    if path.len() > SUN_PATH {
        return Err(EINVAL);
    }
    let path = core::str::from_utf8(path).map_err(|_| ENOENT)?;
    let rest = path.strip_prefix(PREFIX).ok_or(ENOENT)?;
    match rest.split_once('/') {
        Some((name, endpoint))
            if !name.is_empty() && !endpoint.is_empty() && !endpoint.contains('/') =>
        {
            Ok((name, endpoint))
        }
        _ => Err(ENOENT),
    }
}

impl State {
    /// Whether `fd` is a service socket.
    pub(super) fn is_service(&self, fd: u64) -> bool {
        self.sockets.sock(fd).is_some_and(|s| s.kind == SERVICE)
    }

    /// `socket(AF_UNIX, ty, protocol)`.
    pub(super) fn service_socket(&mut self, ty: u64, protocol: u64) -> Outcome {
        let ty = ty as u32 as u64;
        let flags = ty & (SOCK_NONBLOCK | SOCK_CLOEXEC);
        match (ty & !flags, protocol as u32) {
            (SOCK_SEQPACKET | SOCK_DGRAM, 0) => {}
            (SOCK_SEQPACKET | SOCK_DGRAM, _) => return err(EPROTONOSUPPORT),
            // No AF_UNIX streams: as before service sockets existed, the family is not
            // supported for them (musl takes that to mean "no nscd" in `getpwnam`).
            (SOCK_STREAM, _) => return err(EAFNOSUPPORT),
            (1..=10, _) => return err(EPROTONOSUPPORT),
            _ => return err(EINVAL),
        }
        let fd = match self.free_socket_fd() {
            Ok(fd) => fd,
            Err(e) => return err(e),
        };
        let Some(key) = (SERVICE_KEYS..=u32::MAX).find(|n| !self.sockets.socks.contains_key(n))
        else {
            return err(ENFILE);
        };
        self.sockets.socks.insert(
            key,
            Sock {
                kind: SERVICE,
                nonblock: flags & SOCK_NONBLOCK != 0,
                ..Sock::default()
            },
        );
        self.sockets.place(
            fd,
            SockFd {
                sock: key,
                cloexec: flags & SOCK_CLOEXEC != 0,
            },
        );
        ok(fd as i64)
    }

    /// The socket calls on a service socket.
    pub(super) fn service_call<K: Kernel>(
        &mut self,
        k: &mut K,
        sys: Sys,
        fd: u64,
        a: [u64; 6],
    ) -> Outcome {
        match sys {
            Sys::Connect => self.service_connect(k, fd, a[1], a[2]),
            Sys::Sendto => self.sys_sendto(k, fd, &[(a[1], a[2])], a[3], a[4], a[5]),
            Sys::Recvfrom => self.sys_recvfrom(k, fd, &[(a[1], a[2])], a[3], a[4], a[5]),
            Sys::Sendmsg => self.sys_msg(k, fd, a[1], a[2], true),
            Sys::Recvmsg => self.sys_msg(k, fd, a[1], a[2], false),
            Sys::Shutdown => ok(0),
            Sys::Setsockopt | Sys::Getsockopt => err(ENOPROTOOPT),
            _ => err(EOPNOTSUPP),
        }
    }

    /// `connect` to `/kl.core.DCM/NAME/ENDPOINT`: a channel from the manager.
    fn service_connect<K: Kernel>(&mut self, k: &mut K, fd: u64, at: u64, len: u64) -> Outcome {
        if self.sockets.sock(fd).is_some_and(|s| s.channel.is_some()) {
            return err(EISCONN);
        }
        let len = len as u32 as usize;
        if !(2..=2 + SUN_PATH).contains(&len) {
            return err(EINVAL);
        }
        let mut bytes = vec![0u8; len];
        if let Err(e) = self.read(k, at, &mut bytes) {
            return err(e);
        }
        let channel = match parse_address(&bytes) {
            Ok((name, endpoint)) => k.dcm_connect(name, endpoint),
            Err(e) => Err(e),
        };
        match (channel, self.sockets.sock_mut(fd)) {
            (Ok(channel), Some(s)) => {
                s.channel = Some(channel);
                ok(0)
            }
            (Ok(_), None) => err(EBADF),
            (Err(e), _) => err(e),
        }
    }

    /// A request: the bytes of `vectors`, one call on the socket's channel; the answer is
    /// kept for the next receive (replacing one not read).
    pub(super) fn service_send<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        vectors: &[(u64, u64)],
    ) -> Outcome {
        let Some(channel) = self.sockets.sock(fd).and_then(|s| s.channel) else {
            return err(ENOTCONN);
        };
        let total = vectors.iter().map(|v| v.1).fold(0, u64::saturating_add);
        if total > MESSAGE_MAX as u64 {
            return err(EMSGSIZE);
        }
        let mut request = vec![0u8; total as usize];
        let mut at = 0;
        for &(base, len) in vectors {
            let len = len as usize;
            if let Err(e) = self.read(k, base, &mut request[at..at + len]) {
                return err(e);
            }
            at += len;
        }
        let mut answer = vec![0u8; MESSAGE_MAX];
        match k.channel_call(channel, &request, &mut answer) {
            Ok(n) => {
                answer.truncate(n);
                if let Some(s) = self.sockets.sock_mut(fd) {
                    s.answer = Some(answer);
                }
                ok(total as i64)
            }
            Err(e) => err(e),
        }
    }

    /// The answer kept, as one message (the rest of a longer one is dropped, as of a
    /// datagram); `EAGAIN` when there is none (no request was sent since the last one).
    pub(super) fn service_recv<K: Kernel>(
        &mut self,
        k: &mut K,
        fd: u64,
        vectors: &[(u64, u64)],
        peek: bool,
        alenp: u64,
    ) -> Outcome {
        let Some(s) = self.sockets.sock_mut(fd) else {
            return err(EBADF);
        };
        if s.channel.is_none() {
            return err(ENOTCONN);
        }
        let answer = match peek {
            true => s.answer.clone(),
            false => s.answer.take(),
        };
        let Some(answer) = answer else {
            return err(EAGAIN);
        };
        let mut done = 0;
        for &(base, len) in vectors {
            let n = (len as usize).min(answer.len() - done);
            if let Err(e) = self.write(k, base, &answer[done..done + n]) {
                return err(e);
            }
            done += n;
        }
        // No sender address: its length is 0.
        if alenp != 0 {
            if let Err(e) = self.write(k, alenp, &0u32.to_le_bytes()) {
                return err(e);
            }
        }
        ok(done as i64)
    }

    /// Closes the service socket `fd`; its channel goes with the last socket using it.
    pub(super) fn close_service_fd<K: Kernel>(&mut self, k: &mut K, fd: u64) {
        let channel = self.sockets.sock(fd).and_then(|s| s.channel);
        if self.sockets.take(fd).is_none() {
            return;
        }
        if let Some(c) = channel {
            if !self.sockets.socks.values().any(|s| s.channel == Some(c)) {
                k.close_handle(c);
            }
        }
    }

    /// The process ends: the channels of its service sockets are closed, the sockets go.
    pub(super) fn close_all_services<K: Kernel>(&mut self, k: &mut K) {
        let keys: Vec<u32> = self
            .sockets
            .socks
            .iter()
            .filter(|(_, s)| s.kind == SERVICE)
            .map(|(n, _)| *n)
            .collect();
        let mut closed = Vec::new();
        for key in keys {
            if let Some(c) = self.sockets.socks.remove(&key).and_then(|s| s.channel) {
                if !closed.contains(&c) {
                    k.close_handle(c);
                    closed.push(c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(path: &str) -> Vec<u8> {
        let mut b = (AF_UNIX as u16).to_le_bytes().to_vec();
        b.extend_from_slice(path.as_bytes());
        b.push(0);
        b
    }

    #[test]
    fn addresses_name_a_service_and_its_endpoint() {
        assert_eq!(
            parse_address(&address("/kl.core.DCM/echo/ping")),
            Ok(("echo", "ping"))
        );
        assert_eq!(parse_address(&address("/tmp/socket")), Err(ENOENT));
        assert_eq!(parse_address(&address("/kl.core.DCM/echo")), Err(ENOENT));
        assert_eq!(parse_address(&address("/kl.core.DCM//e")), Err(ENOENT));
        assert_eq!(parse_address(&address("/kl.core.DCM/a/b/c")), Err(ENOENT));
        assert_eq!(parse_address(&[2, 0, b'/']), Err(EINVAL));
        assert_eq!(parse_address(&[1]), Err(EINVAL));
    }
}
