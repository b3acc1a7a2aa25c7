//! The card's interrupt: a second thread waits on its line and takes the frames that came.
//!
//! The server's loop waits for requests (`Recv`), which no interrupt can end; so a thread of
//! its own claims the card's line (`io.ClaimIrq`) and waits on it (`io.WaitIrq`). When the
//! line fires, the thread takes the server's lock ([`crate::server::Shared`]), acknowledges
//! the card's interrupt status (which on virtio-pci also lowers its level-triggered INTx
//! line) and only then polls the card and the stack: a frame that comes after the look
//! raises the line again, and the next `WaitIrq` returns at once, so none is lost. A wait is
//! bounded ([`WAIT_MS`]) so the thread also sees that the server ends.
//!
//! Until the line has fired and brought a frame, the loop keeps polling at least every
//! [`crate::server`]'s 10 ms; after that it waits for requests as long as the stack's timers
//! allow (up to 100 ms), frames being taken by this thread as they come. When the policy
//! refuses `ClaimIrq` (the kernel audits the denial), no line is known, or the thread cannot
//! start, the server polls and says so once on the console.
//!
//! Which line: `virtio_support::line` (QEMU's board wiring).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ostrog_abi::Status;
use ostrog_rt::println;
use ostrog_rt::sys::call_status;
use ostrog_rt::thread::{self, JoinHandle};

use crate::server::Shared;
use virtio_support::hal::io;
use virtio_support::{line, Place};

/// The longest wait for the line before the thread looks whether the server ends (ms).
const WAIT_MS: u32 = 100;
/// The thread's priority: the server's own.
const PRIORITY: u8 = 16;

/// What the interrupt thread tells the loop, and its counts.
#[derive(Default)]
pub struct IrqState {
    /// The line has fired and brought a frame: the loop may wait longer.
    pub works: AtomicBool,
    /// The server ends: the thread stops.
    pub ending: AtomicBool,
    /// Waits that ended because the line fired, and that timed out.
    pub fired: AtomicU64,
    pub timed_out: AtomicU64,
    /// Frames taken by the thread (on a wake-up of the line).
    pub frames: AtomicU64,
}

/// The running interrupt thread.
pub struct Irq {
    pub line: u32,
    pub state: Arc<IrqState>,
    thread: JoinHandle,
}

impl Irq {
    /// Claims the line of the card at `place` and starts the thread; `None` (polling, said
    /// on the console) when there is no line, the claim is refused or no thread starts.
    pub fn start(place: Place, shared: &Arc<Shared>) -> Option<Irq> {
        let Some(line) = line(place) else {
            println!("VfsNet: no interrupt line known for the card; polling");
            return None;
        };
        let handle = match io().claim_irq(line) {
            Ok(r) => r.irq,
            Err(e) => {
                println!(
                    "VfsNet: interrupt line {line} refused ({}); polling",
                    call_status(e).name()
                );
                return None;
            }
        };
        let state = Arc::new(IrqState::default());
        let (server, seen) = (shared.clone(), state.clone());
        let started = thread::spawn(PRIORITY, move || {
            run(line, handle, &server, &seen);
            let _ = io().release_irq(handle);
            0
        });
        match started {
            Ok(thread) => Some(Irq {
                line,
                state,
                thread,
            }),
            Err(e) => {
                println!(
                    "VfsNet: no thread for interrupt line {line} ({}); polling",
                    e.name()
                );
                let _ = io().release_irq(handle);
                None
            }
        }
    }

    /// Stops the thread and waits for it; its counts for the console.
    pub fn stop(self) -> alloc::string::String {
        self.state.ending.store(true, Ordering::Release);
        let _ = self.thread.join();
        let s = &self.state;
        alloc::format!(
            "interrupt line {}: {} wake-ups, {} waits timed out, {} frames taken on wake-ups",
            self.line,
            s.fired.load(Ordering::Relaxed),
            s.timed_out.load(Ordering::Relaxed),
            s.frames.load(Ordering::Relaxed)
        )
    }
}

/// The thread: waits on the line, then acknowledges and polls under the server's lock.
fn run(line: u32, handle: ostrog_rt::idl::spec_rt::Handle, shared: &Shared, seen: &IrqState) {
    while !seen.ending.load(Ordering::Acquire) {
        match io().wait_irq(handle, WAIT_MS) {
            Ok(_) => {
                seen.fired.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => match call_status(e) {
                Status::TimedOut => {
                    seen.timed_out.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                other => {
                    println!(
                        "VfsNet: waiting for interrupt line {line}: {}; polling",
                        other.name()
                    );
                    seen.works.store(false, Ordering::Release);
                    return;
                }
            },
        }
        let mut server = shared.lock();
        // Acknowledge before looking: a frame after the look raises the line again.
        server.ack_interrupt();
        let taken = server.poll();
        drop(server);
        if taken > 0 {
            seen.frames.fetch_add(taken, Ordering::Relaxed);
            if !seen.works.swap(true, Ordering::AcqRel) {
                println!("VfsNet: interrupt line {line} fires for the card");
            }
        }
    }
}
