//! `futex`: waiting on a 32-bit word of the caller's memory (what Linux `futex` and every
//! user-space lock need).
//!
//! A waiter is a thread in [`State::Futex`]`(addr)`; the key is that address in the thread's
//! own process, so there is no table to fill: waiters are bounded by threads, and a thread
//! ended while it waits leaves nothing behind (its state is all there was). `Wait` reads the
//! word and sets the waiting state under the task lock, the same lock `Wake` holds while it
//! looks for waiters, so a `Wake` made after the word changed finds the waiter or the waiter
//! sees the new value: no wake-up is lost.

use ostrog_abi::layout::{USER_END, USER_MIN};
use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_futex::{
    FutexServer, WaitError, WaitRequest, WaitResponse, WakeError, WakeRequest, WakeResponse,
};
use crate::task::{State, Tasks, TASKS};
use crate::usercopy::{copy_from_user, UserSlice};
use crate::{sched, time};

/// `timeout_ns` that waits as long as it takes.
const FOREVER: u64 = u64::MAX;

/// A futex address: 4-byte aligned, the whole word in the user range.
fn word(addr: u64) -> Result<usize, Status> {
    let addr = usize::try_from(addr).map_err(|_| Status::InvalidArgument)?;
    if !addr.is_multiple_of(4) || !(USER_MIN..=USER_END - 4).contains(&addr) {
        return Err(Status::InvalidArgument);
    }
    Ok(addr)
}

/// The instant a wait of `ns` from now ends at ([`time::now_ns`]).
fn deadline(ns: u64) -> u64 {
    time::deadline_after_ns(ns)
}

impl Caller {
    /// Compares the word at `addr` with `expected` and, if equal, marks the calling thread
    /// waiting on it: one step under the task lock.
    fn futex_prepare(&self, addr: usize, expected: u32) -> Result<(), Status> {
        let mut tasks = TASKS.lock();
        let p = tasks
            .processes
            .get(&self.process)
            .ok_or(Status::NoSuchThread)?;
        let mut value = [0u8; 4];
        copy_from_user(&p.space, &mut value, UserSlice::new(addr, 4))?;
        if u32::from_ne_bytes(value) != expected {
            return Err(Status::WouldBlock);
        }
        // A notification it accepts is pending: the wait would only be cut short.
        if crate::notify::take_interrupt(&mut tasks, self.thread) {
            return Err(Status::Interrupted);
        }
        let t = tasks
            .threads
            .get_mut(&self.thread)
            .ok_or(Status::NoSuchThread)?;
        t.futex_woken = false;
        t.state = State::Futex(addr);
        Ok(())
    }
}

impl FutexServer for Caller {
    fn wait(&mut self, r: WaitRequest) -> Result<WaitResponse, WaitError> {
        (|| {
            let addr = word(r.addr)?;
            if r.timeout_ns == 0 {
                // Only the comparison: there is no time to wait.
                let tasks = TASKS.lock();
                let p = tasks
                    .processes
                    .get(&self.process)
                    .ok_or(Status::NoSuchThread)?;
                let mut value = [0u8; 4];
                copy_from_user(&p.space, &mut value, UserSlice::new(addr, 4))?;
                return Err(if u32::from_ne_bytes(value) == r.expected {
                    Status::TimedOut
                } else {
                    Status::WouldBlock
                });
            }
            let until = (r.timeout_ns != FOREVER).then(|| deadline(r.timeout_ns));
            self.futex_prepare(addr, r.expected)?;
            sched::block_prepared(until)?;
            let mut tasks = TASKS.lock();
            let t = tasks
                .threads
                .get_mut(&self.thread)
                .ok_or(Status::NoSuchThread)?;
            let woken = core::mem::take(&mut t.futex_woken);
            let interrupted = crate::notify::take_interrupt(&mut tasks, self.thread);
            if woken {
                Ok(WaitResponse {})
            } else if interrupted {
                Err(Status::Interrupted)
            } else {
                Err(Status::TimedOut)
            }
        })()
        .map_err(|s| WaitError { status: code(s) })
    }

    fn wake(&mut self, r: WakeRequest) -> Result<WakeResponse, WakeError> {
        (|| {
            let addr = word(r.addr)?;
            let mut tasks = TASKS.lock();
            let Tasks {
                processes, threads, ..
            } = &mut *tasks;
            let process = processes.get(&self.process).ok_or(Status::NoSuchThread)?;
            let mut woken = 0u32;
            // The process's own threads, oldest first.
            for sid in &process.threads {
                if woken >= r.count {
                    break;
                }
                let Some(t) = threads.get_mut(sid) else {
                    continue;
                };
                if t.state != State::Futex(addr) {
                    continue;
                }
                t.state = State::Ready;
                t.futex_woken = true;
                sched::make_ready(*sid, t.priority);
                woken += 1;
            }
            Ok(WakeResponse { woken })
        })()
        .map_err(|s| WakeError { status: code(s) })
    }
}
