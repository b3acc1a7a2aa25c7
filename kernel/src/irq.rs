//! Interrupt lines claimed by driver processes.
//!
//! `io.ClaimIrq` makes a line an *IRQ object*: the line number (GIC INTID on AArch64, I/O
//! APIC input on x86_64), the process that owns it, how often it fired since the last
//! `io.WaitIrq`, and the thread waiting for it. A line is claimed at most once; the lines
//! the kernel uses itself (timer, spurious, anything the architecture does not offer) are
//! refused by [`crate::arch::irq_claimable`].
//!
//! When a claimed line fires, the architecture's interrupt dispatch calls [`on_device_irq`],
//! which masks the line, counts the firing and wakes the waiter; the architecture then
//! ends the interrupt at its controller. The line stays masked until the owner's next
//! `WaitIrq`, so a level-triggered device that still asserts its line cannot storm the CPU:
//! the driver quiets the device, then waits again, and only then is the line unmasked.
//!
//! A waiting thread is blocked as [`State::Sleeping`] with the wait's deadline, so the
//! scheduler's timer ends a wait that times out just as it ends a sleep; a firing makes it
//! ready early. The line is released (masked, forgotten) by `io.ReleaseIrq` or when the
//! owning process ends ([`process_ended`]).

use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicU64, Ordering};

use ostrog_abi::Status;
use spin::Mutex;

use crate::sid::{IrqId, ProcessId, ThreadId};
use crate::task::{State, TASKS};
use crate::{arch, sched, time};

/// A claimed line.
struct Irq {
    sid: IrqId,
    /// The process that claimed it: the only one that may wait for it.
    owner: ProcessId,
    /// Firings since the last wait.
    pending: u32,
    /// The thread blocked in `WaitIrq`, if any.
    waiter: Option<ThreadId>,
}

/// Claimed lines by line number. Lock order: [`TASKS`] before this one.
static IRQS: Mutex<BTreeMap<u32, Irq>> = Mutex::new(BTreeMap::new());

/// Claims `line` for `owner`; the SID of the new IRQ object. The line is enabled (routed to
/// this CPU and unmasked).
pub fn claim(line: u32, owner: ProcessId) -> Result<IrqId, Status> {
    if !arch::irq_claimable(line) {
        return Err(Status::InvalidArgument);
    }
    let mut irqs = IRQS.lock();
    if irqs.contains_key(&line) {
        return Err(Status::Busy);
    }
    let sid = IrqId::new();
    irqs.insert(
        line,
        Irq {
            sid,
            owner,
            pending: 0,
            waiter: None,
        },
    );
    arch::enable_irq(line);
    Ok(sid)
}

/// The line of IRQ object `sid` and its record.
fn find(irqs: &mut BTreeMap<u32, Irq>, sid: IrqId) -> Option<(u32, &mut Irq)> {
    irqs.iter_mut()
        .find(|(_, irq)| irq.sid == sid)
        .map(|(&line, irq)| (line, irq))
}

/// Makes a thread blocked in [`wait`] ready again (it re-checks why it woke).
fn wake(thread: ThreadId) {
    let priority = TASKS.try_lock().and_then(|mut tasks| {
        let t = tasks.threads.get_mut(&thread)?;
        if !matches!(t.state, State::Sleeping(_)) {
            return None;
        }
        t.state = State::Ready;
        Some(t.priority)
    });
    if let Some(priority) = priority {
        sched::make_ready(thread, priority);
    }
}

/// Releases IRQ object `sid` of `process`: the line is masked and may be claimed again.
pub fn release(process: ProcessId, sid: IrqId) -> Result<(), Status> {
    let waiter = {
        let mut irqs = IRQS.lock();
        let (line, irq) = find(&mut irqs, sid).ok_or(Status::BadHandle)?;
        if irq.owner != process {
            return Err(Status::AccessDenied);
        }
        let waiter = irq.waiter;
        arch::mask_irq(line);
        irqs.remove(&line);
        waiter
    };
    // A thread of the process still waiting finds the object gone.
    if let Some(t) = waiter {
        wake(t);
    }
    Ok(())
}

/// Blocks `thread` of `process` until IRQ object `sid` has fired since the last wait, at
/// most `timeout_ms` milliseconds (0: only check; `u32::MAX`: no limit).
pub fn wait(
    thread: ThreadId,
    process: ProcessId,
    sid: IrqId,
    timeout_ms: u32,
) -> Result<(), Status> {
    let deadline = (timeout_ms != u32::MAX).then(|| time::deadline_after_ms(timeout_ms.into()));
    loop {
        {
            let tasks = TASKS.lock();
            let mut irqs = IRQS.lock();
            let (line, irq) = find(&mut irqs, sid).ok_or(Status::BadHandle)?;
            if irq.owner != process {
                return Err(Status::AccessDenied);
            }
            // One waiter at a time: another thread of the process still blocked here.
            if let Some(other) = irq.waiter.filter(|&w| w != thread) {
                let blocked = tasks
                    .threads
                    .get(&other)
                    .is_some_and(|t| matches!(t.state, State::Sleeping(_)));
                if blocked {
                    return Err(Status::Busy);
                }
            }
            if irq.pending > 0 {
                irq.pending = 0;
                irq.waiter = None;
                return Ok(());
            }
            // The previous firing has been served: let the line fire again.
            arch::unmask_irq(line);
            if deadline.is_some_and(|d| time::now_ns() >= d) {
                irq.waiter = None;
                return Err(Status::TimedOut);
            }
            irq.waiter = Some(thread);
        }
        // Interrupts stay disabled until the switch: no firing is lost in between.
        sched::block_current(State::Sleeping(deadline.unwrap_or(u64::MAX)), deadline)?;
    }
}

/// A device interrupt on `line` (from the architecture's dispatch, interrupts disabled):
/// mask the line, count the firing, wake the waiter. The caller ends the interrupt at the
/// controller afterwards. A line nobody claimed just stays masked.
pub fn on_device_irq(line: u32) {
    arch::mask_irq(line);
    // The kernel is not preemptible, so no lock is held when an interrupt arrives; should
    // one be, the firing is dropped and the next `WaitIrq` unmasks the line again.
    let waiter = IRQS.try_lock().and_then(|mut irqs| {
        let irq = irqs.get_mut(&line)?;
        irq.pending = irq.pending.saturating_add(1);
        irq.waiter.take()
    });
    if let Some(t) = waiter {
        wake(t);
    }
}

/// A process has ended: its lines are masked and released.
pub fn process_ended(process: ProcessId) {
    IRQS.lock().retain(|&line, irq| {
        if irq.owner == process {
            arch::mask_irq(line);
            false
        } else {
            true
        }
    });
}

/// Interrupts that arrived at a number nothing handles, and which numbers (below 1024) have
/// been reported.
static STRAYS: AtomicU64 = AtomicU64::new(0);
static STRAY_SEEN: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];

/// An interrupt nothing handles (a misprogrammed device, a forged MSI; from the
/// architecture's dispatch, which has already ended or disabled it): counted, and reported
/// the first time `number` (`what`: "vector", "id") appears. Nobody is at fault, nothing
/// else happens.
pub fn stray(what: &str, number: u32) {
    let count = STRAYS.fetch_add(1, Ordering::Relaxed) + 1;
    let bit = 1u64 << (number % 64);
    let first = STRAY_SEEN
        .get((number / 64) as usize)
        .is_none_or(|w| w.fetch_or(bit, Ordering::Relaxed) & bit == 0);
    if first {
        println!("interrupt: {what} {number} has no handler; ignored ({count} so far)");
    }
}
