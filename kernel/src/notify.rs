//! Notifications: asynchronous, bounded signals between processes, with no meaning to the
//! kernel (a Linux personality maps them to Linux signals; docs/linux.md, "Signals").
//!
//! A process has 64 notification bits. `task.Signal` (by the holder of a task handle with the
//! signal or control right) and the end of a process it watches (`task.NotifyExit`) set one
//! in its *pending* set, and record the poster's SID for that bit: a bitmask and 64 words,
//! nothing a sender can grow. Each thread says which bits it accepts (`task.AcceptNotify`;
//! none by default, so a program that never asks is never disturbed). Posting makes one
//! accepting thread see the bits promptly:
//!
//! - a thread running a resumed frame (program code under a trap entry) enters its trap
//!   entry with a frame of kind [`ostrog_abi::trap::NOTIFY`] at its next return to user mode
//!   ([`crate::trap_redirect::deliver_notification`]): at once after a system call, within a
//!   tick when it computes (the timer interrupt returns to user mode too);
//! - otherwise a thread waiting in `futex.Wait`, `time.Sleep` or `Recv` is woken, and its wait
//!   returns `Interrupted` ([`take_interrupt`]); a wait begun while an accepted bit is
//!   pending returns `Interrupted` at once, so a notification posted just before a wait is
//!   not missed. The thread takes the bits with `task.Pending`.
//!
//! Bits that no thread accepts stay pending until one does or `task.Pending` takes them.
//! While a process has a pending bit one of its threads accepts but does not take (it
//! neither runs a resumed frame nor waits interruptibly nor asks `task.Pending`), every
//! return to user mode looks up the running thread and rescans the processes ([`WORK`]
//! stays set): a cost the accepting process causes, bounded by the number of processes and
//! threads; nothing is allocated.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::sched;
use crate::sid::ProcessId;
use crate::task::{State, Tasks};

/// Notification bits: 1..=64.
pub const BITS: u32 = 64;

/// A process's notifications.
pub struct ProcessNotify {
    /// Pending bits (bit n-1 for notification n).
    pub pending: u64,
    /// The SID of the last poster of each bit (0: none).
    pub senders: [u64; BITS as usize],
    /// Posted to this process when the process it names ends (`task.NotifyExit`).
    pub on_exit: Option<(ProcessId, u32)>,
    /// The process that created it (`task.Create`), for `task.Parent`.
    pub creator: Option<ProcessId>,
}

impl Default for ProcessNotify {
    fn default() -> Self {
        ProcessNotify {
            pending: 0,
            senders: [0; BITS as usize],
            on_exit: None,
            creator: None,
        }
    }
}

/// Set when a bit may be pending for a thread that accepts it, so that the return to user
/// mode looks ([`crate::trap_redirect::deliver_notification`]); cleared by that look when
/// nothing is. Keeps the common return path to one atomic load.
static WORK: AtomicBool = AtomicBool::new(false);

/// Whether any process may have an accepted bit pending.
pub fn work() -> bool {
    WORK.load(Ordering::Relaxed)
}

/// Marks that a process may have an accepted bit pending (a thread changed its mask).
pub fn mark_work() {
    WORK.store(true, Ordering::Relaxed);
}

/// Clears [`WORK`] if no process has a pending bit one of its threads accepts.
pub fn recheck_work(tasks: &Tasks) {
    let any = tasks.processes.values().any(|p| {
        p.notify.pending != 0
            && !p.ended
            && p.threads.iter().any(|t| {
                tasks
                    .threads
                    .get(t)
                    .is_some_and(|t| t.notify_mask & p.notify.pending != 0)
            })
    });
    WORK.store(any, Ordering::Relaxed);
}

/// The bit mask of notification `bit`, if it is one (1..=64).
pub fn mask_of(bit: u32) -> Option<u64> {
    (1..=BITS).contains(&bit).then(|| 1u64 << (bit - 1))
}

/// Posts notification `bit` (1..=64) from `sender` to `target`. `false` if the target has
/// ended (or is gone).
pub fn post(tasks: &mut Tasks, target: ProcessId, bit: u32, sender: ProcessId) -> bool {
    let Some(mask) = mask_of(bit) else {
        return false;
    };
    // Disjoint borrows: the process is read while its threads change (no copy of its list).
    let Tasks {
        processes, threads, ..
    } = tasks;
    let Some(p) = processes.get_mut(&target) else {
        return false;
    };
    if p.ended {
        return false;
    }
    p.notify.pending |= mask;
    if let Some(slot) = p.notify.senders.get_mut((bit - 1) as usize) {
        *slot = sender.sid().0;
    }
    let pending = p.notify.pending;
    mark_work();
    // A thread running program code takes it at its next return to user mode.
    let running = p.threads.iter().any(|t| {
        threads.get(t).is_some_and(|t| {
            t.notify_mask & pending != 0
                && t.resumed
                && matches!(t.state, State::Ready | State::Running)
        })
    });
    if running {
        return true;
    }
    // Otherwise one waiting thread is woken to take it.
    for sid in &p.threads {
        let Some(t) = threads.get_mut(sid) else {
            continue;
        };
        if t.notify_mask & pending != 0
            && !t.interrupted
            && matches!(
                t.state,
                State::Sleeping(_) | State::Futex(_) | State::Receiving(_)
            )
        {
            t.interrupted = true;
            t.state = State::Ready;
            sched::forget(*sid);
            sched::make_ready(*sid, t.priority);
            break;
        }
    }
    true
}

/// Whether the wait the current thread `me` of `process` woke from (or is about to begin)
/// must end with `Interrupted`: a notification ended it, or a bit it accepts is pending.
/// Clears the thread's mark.
pub fn take_interrupt(tasks: &mut Tasks, me: crate::sid::ThreadId) -> bool {
    let Some(t) = tasks.threads.get_mut(&me) else {
        return false;
    };
    let marked = core::mem::take(&mut t.interrupted);
    let mask = t.notify_mask;
    let process = t.process;
    marked
        || tasks
            .processes
            .get(&process)
            .is_some_and(|p| p.notify.pending & mask != 0)
}

/// `process` has ended: the process watching it (`task.NotifyExit`) is told, and its own
/// pending bits go.
pub fn process_ended(tasks: &mut Tasks, process: ProcessId) {
    let Some(p) = tasks.processes.get_mut(&process) else {
        return;
    };
    p.notify.pending = 0;
    if let Some((to, bit)) = p.notify.on_exit.take() {
        post(tasks, to, bit, process);
    }
}
