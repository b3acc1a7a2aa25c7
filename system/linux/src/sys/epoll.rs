//! `epoll`: an interest list kept by the personality (`epoll_create1`, `epoll_ctl`) and
//! looked at by the engine of `poll` ([`State::poll_look`]) when the program waits
//! (`epoll_wait`, `epoll_pwait`). Level-triggered: `EPOLLET` is accepted and reported as
//! level (a program that reads until `EAGAIN` sees at most a wake-up too many),
//! `EPOLLONESHOT` disarms the entry once reported. A wait with nothing ready looks again
//! every [`super::socket::RETRY_NS`] until its time-out, outside the lock.

use alloc::vec::Vec;

use super::{err, ok, Kernel, Outcome, State, RLIMIT_NOFILE};
use crate::errno::*;
use crate::Arch;

/// Most descriptors one epoll instance watches (the most one `poll` looks at).
pub const WATCH_MAX: usize = super::POLL_MAX;
const EPOLL_CLOEXEC: u64 = 0o2000000;
const EPOLL_CTL_ADD: u64 = 1;
const EPOLL_CTL_DEL: u64 = 2;
const EPOLL_CTL_MOD: u64 = 3;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;
const POLLNVAL: u16 = 0x20;

/// One watched descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest {
    pub fd: u64,
    pub events: u32,
    pub data: u64,
}

/// An epoll instance (a descriptor of its own).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Epoll {
    pub interests: Vec<Interest>,
    pub cloexec: bool,
}

/// Bytes of a `struct epoll_event`: packed on x86_64 (12), aligned on AArch64 (16).
fn event_size(arch: Arch) -> u64 {
    match arch {
        Arch::X86_64 => 12,
        Arch::Aarch64 => 16,
    }
}

impl State {
    pub(super) fn epoll_create(&mut self, flags: u64) -> Outcome {
        if flags & !EPOLL_CLOEXEC != 0 {
            return err(EINVAL);
        }
        let limit = self.limits[RLIMIT_NOFILE].0.min(1024);
        let Some(fd) = (0..limit).find(|&n| !self.fd_open(n)) else {
            return err(EMFILE);
        };
        self.sockets.epolls.insert(
            fd,
            Epoll {
                interests: Vec::new(),
                cloexec: flags & EPOLL_CLOEXEC != 0,
            },
        );
        ok(fd as i64)
    }

    pub(super) fn epoll_ctl<K: Kernel>(
        &mut self,
        k: &mut K,
        epfd: u64,
        op: u64,
        fd: u64,
        at: u64,
    ) -> Outcome {
        if !self.fd_open(epfd) || !self.fd_open(fd) {
            return err(EBADF);
        }
        if !self.sockets.epolls.contains_key(&epfd) || fd == epfd {
            return err(EINVAL);
        }
        // Files are always ready: Linux refuses to watch them.
        if self.files.is_open(fd) {
            return err(EPERM);
        }
        let (events, data) = match op {
            EPOLL_CTL_DEL => (0, 0),
            _ => {
                let mut b = [0u8; 16];
                let n = event_size(self.arch) as usize;
                if let Err(e) = self.read(k, at, &mut b[..n]) {
                    return err(e);
                }
                let events = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let d = match self.arch {
                    Arch::X86_64 => &b[4..12],
                    Arch::Aarch64 => &b[8..16],
                };
                (events, u64::from_le_bytes(d.try_into().unwrap_or([0; 8])))
            }
        };
        let Some(ep) = self.sockets.epolls.get_mut(&epfd) else {
            return err(EINVAL);
        };
        let at = ep.interests.iter().position(|i| i.fd == fd);
        match (op, at) {
            (EPOLL_CTL_ADD, Some(_)) => err(EEXIST),
            (EPOLL_CTL_ADD, None) if ep.interests.len() >= WATCH_MAX => err(ENOSPC),
            (EPOLL_CTL_ADD, None) => {
                ep.interests.push(Interest { fd, events, data });
                ok(0)
            }
            (EPOLL_CTL_MOD, Some(i)) => {
                ep.interests[i] = Interest { fd, events, data };
                ok(0)
            }
            (EPOLL_CTL_DEL, Some(i)) => {
                ep.interests.remove(i);
                ok(0)
            }
            (EPOLL_CTL_MOD | EPOLL_CTL_DEL, None) => err(ENOENT),
            _ => err(EINVAL),
        }
    }

    pub(super) fn epoll_wait<K: Kernel>(
        &mut self,
        k: &mut K,
        epfd: u64,
        at: u64,
        max: u64,
        timeout_ms: i64,
    ) -> Outcome {
        if !self.fd_open(epfd) {
            return err(EBADF);
        }
        let max = max as u32 as i32;
        let Some(ep) = self.sockets.epolls.get(&epfd) else {
            return err(EINVAL);
        };
        if max <= 0 {
            return err(EINVAL);
        }
        let size = event_size(self.arch);
        if !self.space.accessible(at, max as u64 * size, true) {
            return err(EFAULT);
        }
        // Descriptors closed since they were added are no longer watched.
        let watched: Vec<Interest> = ep
            .interests
            .iter()
            .copied()
            .filter(|i| self.fd_open(i.fd))
            .collect();
        let entries: Vec<(i32, u16)> = watched
            .iter()
            .map(|i| (i.fd as i32, (i.events & 0xffff) as u16))
            .collect();
        let look = match self.poll_look(k, &entries) {
            Ok(l) => l,
            Err(e) => return err(e),
        };
        let mut out = Vec::new();
        let mut fired = Vec::new();
        for (i, &r) in look.revents.iter().enumerate() {
            if r == 0 || r & POLLNVAL != 0 || out.len() as u64 >= max as u64 * size {
                continue;
            }
            let w = watched[i];
            out.extend_from_slice(&u32::from(r).to_le_bytes());
            if self.arch == Arch::Aarch64 {
                out.extend_from_slice(&[0; 4]);
            }
            out.extend_from_slice(&w.data.to_le_bytes());
            fired.push(w.fd);
        }
        let open: Vec<u64> = watched.iter().map(|i| i.fd).collect();
        if let Some(ep) = self.sockets.epolls.get_mut(&epfd) {
            ep.interests.retain(|i| open.contains(&i.fd));
            for i in ep.interests.iter_mut() {
                if i.events & EPOLLONESHOT != 0 && fired.contains(&i.fd) {
                    i.events &= EPOLLONESHOT | EPOLLET;
                }
            }
        }
        if !out.is_empty() {
            self.end_socket_wait(at);
            if let Err(e) = self.write(k, at, &out) {
                return err(e);
            }
            return ok(fired.len() as i64);
        }
        let timeout_ns = (timeout_ms >= 0).then(|| timeout_ms as u64 * 1_000_000);
        match timeout_ns {
            Some(0) => ok(0),
            t => self.socket_wait(k, at, t).unwrap_or(ok(0)),
        }
    }
}
