//! `select` (x86_64) and `pselect6`: descriptor sets turned into `poll` entries and
//! looked at by the same engine ([`State::poll_look`]): console, pipe ends, files. A
//! read bit is `POLLIN` (also set for `POLLHUP`/`POLLERR`, as on Linux), a write bit
//! `POLLOUT` (also `POLLERR`), an exception bit `POLLPRI`. `pselect6`'s signal mask is
//! not applied for the wait (as `ppoll`'s; docs/linux.md, "Gaps"); the time-out is not
//! written back.

use alloc::vec::Vec;

use super::{err, ok, pipe_revents, Blocking, Kernel, Outcome, State, POLL_MAX};
use crate::errno::*;

/// `FD_SETSIZE`: the most descriptors a set holds.
pub const SET_MAX: u64 = 1024;
const POLLIN: u16 = 1;
const POLLPRI: u16 = 2;
const POLLOUT: u16 = 4;
const POLLERR: u16 = 8;
const POLLHUP: u16 = 0x10;
const POLLNVAL: u16 = 0x20;

/// Bytes of a set of `nfds` descriptors as the kernel reads and writes it (whole longs).
fn set_bytes(nfds: u64) -> u64 {
    nfds.div_ceil(64) * 8
}

/// The bits a descriptor's `revents` sets in the read, write and exception sets.
fn bits(revents: u16) -> [bool; 3] {
    [
        revents & (POLLIN | POLLHUP | POLLERR) != 0,
        revents & (POLLOUT | POLLERR) != 0,
        revents & POLLPRI != 0,
    ]
}

/// Writes the three sets (`at[i]`, 0 for none) with the descriptors of `ready`
/// (descriptor, its three bits); the number of bits set.
fn write_sets<K: Kernel>(k: &mut K, at: [u64; 3], nfds: u64, ready: &[(i32, [bool; 3])]) -> i64 {
    let words = set_bytes(nfds) as usize / 8;
    let mut count = 0;
    for (i, &set) in at.iter().enumerate() {
        if set == 0 {
            continue;
        }
        let mut out = alloc::vec![0u64; words];
        for &(fd, b) in ready {
            if b[i] {
                out[fd as usize / 64] |= 1 << (fd % 64);
                count += 1;
            }
        }
        let bytes: Vec<u8> = out.iter().flat_map(|w| w.to_le_bytes()).collect();
        k.write_user(set, &bytes);
    }
    count
}

/// Finishes a `select` that waits (outside the lock, as [`Blocking::Poll`]): for pipe ends
/// (`pipes`: descriptor, events, pipe handle, write end) or, without any, for console
/// input (`console`: the descriptors of console input in the read set). Writes the sets.
pub(super) fn select_block<K: Kernel>(
    k: &mut K,
    sets: [u64; 3],
    nfds: u64,
    timeout_ns: Option<u64>,
    pipes: &[(i32, u16, u32, bool)],
    console: &[i32],
) -> i64 {
    if pipes.is_empty() {
        let typed = match k.console_wait(timeout_ns) {
            Ok(t) => t,
            Err(e) => return -e,
        };
        let found: Vec<(i32, [bool; 3])> = match typed {
            true => console
                .iter()
                .map(|&fd| (fd, [true, false, false]))
                .collect(),
            false => Vec::new(),
        };
        return write_sets(k, sets, nfds, &found);
    }
    let handles: Vec<u32> = pipes.iter().map(|e| e.2).collect();
    let mut ready = alloc::vec![0u8; handles.len()];
    if let Err(e) = k.pipe_poll(&handles, timeout_ns, &mut ready) {
        return -e;
    }
    let found: Vec<(i32, [bool; 3])> = pipes
        .iter()
        .zip(ready)
        .map(|(&(fd, events, _, write), r)| {
            let b = bits(pipe_revents(write, events, r));
            let asked = [events & POLLIN != 0, events & POLLOUT != 0, false];
            (fd, [b[0] && asked[0], b[1] && asked[1], false])
        })
        .collect();
    write_sets(k, sets, nfds, &found)
}

impl State {
    /// Whether `fd` reads console input (0 on the console, or a console copy of it).
    fn console_input_fd(&self, fd: u64) -> bool {
        (fd == 0 && self.is_open(0)) || self.pipe_fd(fd).is_some_and(|f| f.console && !f.write)
    }

    /// `select`/`pselect6` of `nfds` descriptors with the sets at `sets` (read, write,
    /// exception; 0 for none) and a time-out (`None`: wait for ever).
    pub(super) fn sys_select<K: Kernel>(
        &mut self,
        k: &mut K,
        nfds: u64,
        sets: [u64; 3],
        timeout_ns: Option<u64>,
    ) -> Outcome {
        let nfds = nfds as i32 as i64;
        if !(0..=SET_MAX as i64).contains(&nfds) {
            return err(EINVAL);
        }
        let nfds = nfds as u64;
        let len = set_bytes(nfds);
        // The sets asked for: per descriptor, its events.
        let mut wanted = alloc::vec![0u16; nfds as usize];
        for (i, &set) in sets.iter().enumerate() {
            if set == 0 {
                continue;
            }
            if !self.space.accessible(set, len, true) {
                return err(EFAULT);
            }
            let mut bytes = alloc::vec![0u8; len as usize];
            if let Err(e) = self.read(k, set, &mut bytes) {
                return err(e);
            }
            for (fd, w) in wanted.iter_mut().enumerate() {
                if bytes[fd / 8] & (1 << (fd % 8)) != 0 {
                    *w |= [POLLIN, POLLOUT, POLLPRI][i];
                }
            }
        }
        let entries: Vec<(i32, u16)> = wanted
            .iter()
            .enumerate()
            .filter(|(_, &w)| w != 0)
            .map(|(fd, &w)| (fd as i32, w))
            .collect();
        if entries.len() > POLL_MAX {
            return err(EINVAL);
        }
        let look = match self.poll_look(k, &entries) {
            Ok(l) => l,
            Err(e) => return err(e),
        };
        // A descriptor in a set that is not open: EBADF, as on Linux.
        if look.revents.iter().any(|&r| r & POLLNVAL != 0) {
            return err(EBADF);
        }
        let found: Vec<(i32, [bool; 3])> = entries
            .iter()
            .zip(&look.revents)
            .map(|(&(fd, w), &r)| {
                let b = bits(r);
                let asked = [w & POLLIN != 0, w & POLLOUT != 0, w & POLLPRI != 0];
                (fd, [b[0] && asked[0], b[1] && asked[1], b[2] && asked[2]])
            })
            .collect();
        let ready = found.iter().any(|(_, b)| b.iter().any(|&x| x));
        let pipes: Vec<(i32, u16, u32, bool)> = entries
            .iter()
            .zip(&look.ends)
            .filter(|(_, e)| e.0 != 0)
            .map(|(&(fd, w), &(h, write))| (fd, w, h, write))
            .collect();
        // Console input asked for: descriptors of console input in the read set.
        let console: Vec<i32> = entries
            .iter()
            .filter(|&&(fd, w)| w & POLLIN != 0 && self.console_input_fd(fd as u64))
            .map(|&(fd, _)| fd)
            .collect();
        // The wait's key: the first set given.
        let key = sets.iter().copied().find(|&s| s != 0).unwrap_or(0);
        match (ready, timeout_ns) {
            (true, _) | (false, Some(0)) => {
                self.end_socket_wait(key);
                ok(write_sets(k, sets, nfds, &found))
            }
            // Sockets: looked at again (with everything else) after a while.
            (false, t) if look.sockets => match self.socket_wait(k, key, t) {
                Some(again) => again,
                None => ok(write_sets(k, sets, nfds, &[])),
            },
            // Console input and pipe ends together: pipe waits of at most 10 ms, as `poll`.
            (false, t) if !pipes.is_empty() || look.console_input => {
                Outcome::Block(Blocking::Select {
                    sets,
                    nfds,
                    timeout_ns: match look.console_input && !pipes.is_empty() {
                        true => Some(t.unwrap_or(u64::MAX).min(10_000_000)),
                        false => t,
                    },
                    pipes,
                    console,
                })
            }
            (false, Some(ns)) => {
                // Nothing can become ready: the sets come back empty after the time-out.
                write_sets(k, sets, nfds, &[]);
                Outcome::Block(Blocking::Sleep { ns })
            }
            (false, None) => Outcome::Block(Blocking::Forever),
        }
    }
}
