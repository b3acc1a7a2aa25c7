//! Console input: `read`/`readv` of descriptor 0 (and its copies) and its readiness for
//! `poll`, over the kernel's `console.Read` and `console.Poll` ([`Kernel::console_read`],
//! [`Kernel::console_ready`], [`Kernel::console_wait`]).
//!
//! The kernel passes bytes on raw (a carriage return already a line feed) and ends a read
//! after an end-of-file byte (Ctrl-D, 0x04). As a terminal in canonical mode gives it, the
//! byte itself is never returned: a read that gets it alone returns 0, end of file; one
//! that gets it after a line feed (Ctrl-D at the start of a line) returns the bytes before
//! it, and the next read returns 0; one that gets it in the middle of a line returns the
//! bytes before it (the line pushed without its end, as a terminal does). With
//! nothing buffered a read waits, without the personality's lock ([`Outcome::WaitInput`]),
//! unless the descriptor is non-blocking (`EAGAIN`). A class whose `console.Read` the policy
//! denies gets `EACCES`.

use alloc::vec;
use alloc::vec::Vec;

use super::{err, ok, Kernel, Outcome, State};
use crate::errno::*;

/// Most bytes one `read` of the console returns (`ReadMax` of `kl.core.Console`); a
/// larger count gives a short read, as a terminal gives one line at a time.
pub const CONSOLE_READ_MAX: u64 = 1024;

/// The end-of-file byte (Ctrl-D, `VEOF`).
const EOF_BYTE: u8 = 0x04;

/// Most `iovec`s of one `readv` (Linux's `UIO_MAXIOV`).
const IOV_MAX: u64 = 1024;

/// What the personality keeps of console input: descriptor 0's status flag, and an end of
/// file seen but not yet returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsoleIn {
    /// `O_NONBLOCK` of descriptor 0 (`fcntl(F_SETFL)`).
    pub nonblock: bool,
    /// A Ctrl-D at the start of a line came with the bytes a read returned: the next read
    /// returns end of file.
    eof_pending: bool,
}

impl State {
    /// `read(fd, buf, len)` of console input.
    pub(super) fn console_read<K: Kernel>(
        &mut self,
        k: &mut K,
        buf: u64,
        len: u64,
        nonblock: bool,
    ) -> Outcome {
        self.console_read_into(k, &[(buf, len)], nonblock)
    }

    /// `readv(fd, iov, count)` of console input.
    pub(super) fn console_readv<K: Kernel>(
        &mut self,
        k: &mut K,
        iov: u64,
        count: u64,
        nonblock: bool,
    ) -> Outcome {
        if count > IOV_MAX {
            return err(EINVAL);
        }
        let mut pieces = Vec::new();
        for i in 0..count {
            let mut pair = [0u8; 16];
            if let Err(e) = self.read(k, iov.wrapping_add(i * 16), &mut pair) {
                return err(e);
            }
            let base = u64::from_le_bytes(pair[..8].try_into().unwrap_or([0; 8]));
            let len = u64::from_le_bytes(pair[8..].try_into().unwrap_or([0; 8]));
            if len > i64::MAX as u64 {
                return err(EINVAL);
            }
            pieces.push((base, len));
        }
        self.console_read_into(k, &pieces, nonblock)
    }

    /// Reads console input into `pieces` (address, length), filled in order.
    fn console_read_into<K: Kernel>(
        &mut self,
        k: &mut K,
        pieces: &[(u64, u64)],
        nonblock: bool,
    ) -> Outcome {
        // Every byte a read may write must be writable before any input is taken: input
        // taken and then not delivered would be lost.
        let mut total = 0u64;
        for &(base, len) in pieces {
            let len = len.min(CONSOLE_READ_MAX - total);
            if len > 0 && !self.space.accessible(base, len, true) {
                return err(EFAULT);
            }
            total += len;
        }
        if total == 0 {
            return ok(0);
        }
        if core::mem::take(&mut self.console_in.eof_pending) {
            return ok(0);
        }
        let mut data = vec![0u8; total as usize];
        let n = match k.console_read(&mut data) {
            Ok(n) => n.min(data.len()),
            Err(EAGAIN) if nonblock => return err(EAGAIN),
            Err(EAGAIN) => return Outcome::WaitInput { timeout_ns: None },
            Err(e) => return err(e),
        };
        let n = match data.get(..n) {
            Some([.., b'\n', EOF_BYTE]) => {
                self.console_in.eof_pending = true;
                n - 1
            }
            Some([.., EOF_BYTE]) => n - 1,
            _ => n,
        };
        let mut at = 0usize;
        for &(base, len) in pieces {
            if at == n {
                break;
            }
            let take = (len as usize).min(n - at);
            if let Err(e) = self.write(k, base, &data[at..at + take]) {
                return err(e);
            }
            at += take;
        }
        ok(n as i64)
    }

    /// Whether console input is waiting (`POLLIN` of descriptor 0); `Err` if the kernel
    /// refuses to say (the policy denies `console.Poll`).
    pub(super) fn console_ready<K: Kernel>(&self, k: &mut K) -> Result<bool, i64> {
        k.console_ready()
    }
}

/// `poll` revents of console input: `POLLIN` when bytes are waiting, `POLLERR` when the
/// kernel refuses to say.
pub(super) fn console_revents<K: Kernel>(state: &State, k: &mut K, events: u16) -> u16 {
    const POLLIN: u16 = 1;
    const POLLERR: u16 = 8;
    match state.console_ready(k) {
        Ok(true) => events & POLLIN,
        Ok(false) => 0,
        Err(_) => POLLERR,
    }
}
