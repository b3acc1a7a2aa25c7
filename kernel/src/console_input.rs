//! Console input: the bytes the serial console receives, kept for `console.Read`.
//!
//! The UART is polled ([`crate::arch::console_read`]) on every timer tick and at every
//! `console.Read`/`console.Poll`, never by interrupt: the kernel's console is the polled
//! boot console on both architectures, and the UART's own FIFO (16 bytes on the 16550,
//! 16 or 32 on the PL011) holds what arrives between two ticks. Received bytes go into one
//! fixed ring of [`CAPACITY`] bytes in the kernel image (no allocation, nothing a process
//! can grow); a byte arriving when the ring is full is dropped and counted ([`dropped`]).
//!
//! The line discipline is deliberately small: bytes are passed on raw, except that a
//! carriage return becomes a line feed (what a terminal in canonical mode with `ICRNL`
//! gives a reader), and a read ends after an end-of-file byte (Ctrl-D, 0x04) so that the
//! reader can tell where it was (the Linux personality turns it into end of file). There is
//! no echo and no line editing.
//!
//! Readers: a `console.Read` takes whatever is buffered (at most its size). When nothing is
//! buffered the thread waits in [`State::ConsoleRead`] with a ticket; when input arrives,
//! the waiter with the lowest ticket (the one that has waited longest) is woken, and when a
//! reader leaves input behind, the next one is. So several readers are served in the order
//! they began to wait, each taking what is there when it runs.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use spin::Mutex;

use crate::sid::ThreadId;
use crate::task::{State, Tasks};

/// Bytes the kernel keeps for readers.
pub const CAPACITY: usize = 4096;

/// At most this many bytes are taken from the UART per poll (a wedged or absent device
/// that always reports data cannot keep the kernel in the tick).
const POLL_MAX: usize = 64;

/// The end-of-file byte (Ctrl-D): a read ends after it.
pub const EOF_BYTE: u8 = 0x04;

struct Ring {
    bytes: [u8; CAPACITY],
    /// Index of the oldest byte.
    head: usize,
    len: usize,
}

static RING: Mutex<Ring> = Mutex::new(Ring {
    bytes: [0; CAPACITY],
    head: 0,
    len: 0,
});

static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Threads in [`State::ConsoleRead`] now (the tick looks for one only then).
static WAITING: AtomicUsize = AtomicUsize::new(0);
/// The next waiter's ticket.
static TICKET: AtomicU64 = AtomicU64::new(0);

impl Ring {
    fn push(&mut self, byte: u8) {
        if self.len == CAPACITY {
            DROPPED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let at = (self.head + self.len) % CAPACITY;
        if let Some(slot) = self.bytes.get_mut(at) {
            *slot = byte;
            self.len += 1;
        }
    }

    /// Moves up to `out.len()` bytes into `out`, stopping after an [`EOF_BYTE`]; how many.
    fn take(&mut self, out: &mut [u8]) -> usize {
        let mut n = 0;
        while n < out.len() && self.len > 0 {
            let byte = self.bytes.get(self.head).copied().unwrap_or(0);
            self.head = (self.head + 1) % CAPACITY;
            self.len -= 1;
            if let Some(slot) = out.get_mut(n) {
                *slot = byte;
            }
            n += 1;
            if byte == EOF_BYTE {
                break;
            }
        }
        n
    }
}

/// Moves what the UART received into the ring (CR becomes LF).
fn drain_uart(ring: &mut Ring) {
    for _ in 0..POLL_MAX {
        let Some(byte) = crate::arch::console_read() else {
            break;
        };
        ring.push(if byte == b'\r' { b'\n' } else { byte });
    }
}

/// Bytes dropped because the ring was full, since boot.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Polls the UART, then takes up to `out.len()` buffered bytes (stopping after an
/// end-of-file byte); how many (0: nothing buffered). Interrupts are disabled (a system
/// call).
pub fn take(out: &mut [u8]) -> usize {
    let mut ring = RING.lock();
    drain_uart(&mut ring);
    ring.take(out)
}

/// Polls the UART; how many bytes are buffered.
pub fn available() -> usize {
    let mut ring = RING.lock();
    drain_uart(&mut ring);
    ring.len
}

/// Marks `thread` waiting for input (under the task lock the caller holds, so that a tick
/// cannot slip between the caller's look at the buffer and this); [`end_wait`] must follow
/// once the thread runs again.
pub fn begin_wait(tasks: &mut Tasks, thread: ThreadId) -> bool {
    let Some(t) = tasks.threads.get_mut(&thread) else {
        return false;
    };
    t.state = State::ConsoleRead(TICKET.fetch_add(1, Ordering::Relaxed));
    WAITING.fetch_add(1, Ordering::Relaxed);
    true
}

/// The thread that called [`begin_wait`] runs again (woken, timed out or ended).
pub fn end_wait() {
    WAITING.fetch_sub(1, Ordering::Relaxed);
}

/// The waiter that has waited longest, if any.
fn oldest_waiter(tasks: &Tasks) -> Option<(ThreadId, u8)> {
    tasks
        .threads
        .iter()
        .filter_map(|(sid, t)| match t.state {
            State::ConsoleRead(ticket) => Some((ticket, *sid, t.priority)),
            _ => None,
        })
        .min_by_key(|&(ticket, _, _)| ticket)
        .map(|(_, sid, priority)| (sid, priority))
}

/// A reader leaves: if input is still buffered, the next waiter is woken (from a system
/// call, with the task lock held by the caller).
pub fn pass_on(tasks: &mut Tasks) {
    if WAITING.load(Ordering::Relaxed) == 0 || RING.lock().len == 0 {
        return;
    }
    if let Some((sid, priority)) = oldest_waiter(tasks) {
        if let Some(t) = tasks.threads.get_mut(&sid) {
            t.state = State::Ready;
            crate::sched::make_ready(sid, priority);
        }
    }
}

/// Timer tick (interrupt context): poll the UART, and wake the oldest waiter if input is
/// buffered. Every lock is only tried: what cannot be done now is done at the next tick.
pub fn on_tick() {
    let buffered = {
        let Some(mut ring) = RING.try_lock() else {
            return;
        };
        drain_uart(&mut ring);
        ring.len
    };
    if buffered == 0 || WAITING.load(Ordering::Relaxed) == 0 {
        return;
    }
    let Some(mut tasks) = crate::task::TASKS.try_lock() else {
        return;
    };
    if let Some((sid, priority)) = oldest_waiter(&tasks) {
        if crate::sched::try_make_ready(sid, priority) {
            if let Some(t) = tasks.threads.get_mut(&sid) {
                t.state = State::Ready;
            }
        }
    }
}
