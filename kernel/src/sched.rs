//! The scheduler: fixed priorities, round robin among equals, time slices driven by the
//! timer.
//!
//! The highest-priority ready thread runs. Threads of equal priority take turns: a thread
//! that uses up its slice ([`SLICE_TICKS`] timer ticks) goes to the back of its queue. A
//! thread that becomes ready with a higher priority than the running one preempts it on the
//! next return to user mode. When nothing is ready, the CPU runs the *idle context*: the boot
//! stack, in [`run`], which sleeps until the next interrupt.
//!
//! Per-CPU state is this one [`Scheduler`]; SMP will make it an array indexed by CPU.
//!
//! Switching is always done by [`schedule`], which picks the next thread, points the CPU at
//! its kernel stack and address space, and switches kernel contexts. The locks are released
//! before the switch; interrupts are disabled throughout (the kernel is not preemptible).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ostrog_abi::Status;
use spin::Mutex;

use crate::arch;
use crate::sid::ThreadId;
use crate::task::{State, PRIORITIES, TASKS};

/// Length of a time slice in timer ticks.
pub const SLICE_TICKS: u32 = 2;

/// The ready queues, one per priority, and which of them hold threads.
struct ReadyQueues {
    queues: [VecDeque<ThreadId>; PRIORITIES],
    /// Bit `p` set while queue `p` may hold a thread: the scheduler finds the highest
    /// without looking at the empty ones.
    occupied: u32,
}

const _: () = assert!(PRIORITIES <= 32, "one bit of `occupied` per priority");

impl ReadyQueues {
    fn push(&mut self, priority: u8, sid: ThreadId) {
        if let Some(queue) = self.queues.get_mut(usize::from(priority)) {
            queue.push_back(sid);
            self.occupied |= 1 << priority;
        }
    }

    /// The first thread of the highest non-empty queue, taken off it.
    fn pop_highest(&mut self) -> Option<ThreadId> {
        while self.occupied != 0 {
            let priority = 31 - self.occupied.leading_zeros();
            let queue = self.queues.get_mut(priority as usize)?;
            let sid = queue.pop_front();
            if queue.is_empty() {
                self.occupied &= !(1 << priority);
            }
            if sid.is_some() {
                return sid;
            }
        }
        None
    }

    fn remove(&mut self, sid: ThreadId) {
        for (priority, queue) in self.queues.iter_mut().enumerate() {
            queue.retain(|&t| t != sid);
            if queue.is_empty() {
                self.occupied &= !(1 << priority);
            }
        }
    }
}

struct Scheduler {
    ready: ReadyQueues,
    current: Option<ThreadId>,
    current_priority: u8,
    /// Saved stack pointer of the idle context while a thread runs.
    idle_sp: usize,
    slice_left: u32,
    /// Waiting threads with a deadline, and that deadline ([`crate::time::now_ns`]); one
    /// entry per thread at most.
    sleepers: Vec<(u64, ThreadId)>,
}

static SCHED: Mutex<Scheduler> = Mutex::new(Scheduler {
    ready: ReadyQueues {
        queues: [const { VecDeque::new() }; PRIORITIES],
        occupied: 0,
    },
    current: None,
    current_priority: 0,
    idle_sp: 0,
    slice_left: SLICE_TICKS,
    sleepers: Vec::new(),
});

static NEED_RESCHED: AtomicBool = AtomicBool::new(false);

/// The SID of the thread running now (0: the idle context), a copy of
/// `Scheduler::current` kept by [`schedule`] so that every system call can find its
/// thread without taking the scheduler's lock.
static CURRENT: AtomicU64 = AtomicU64::new(0);

/// The thread running now (None: the idle context).
pub fn current() -> Option<ThreadId> {
    match CURRENT.load(Ordering::Relaxed) {
        0 => None,
        raw => Some(ThreadId::named(raw)),
    }
}

/// Queues a ready thread.
pub fn make_ready(sid: ThreadId, priority: u8) {
    let mut s = SCHED.lock();
    s.ready.push(priority, sid);
    if s.current.is_some() && priority > s.current_priority {
        NEED_RESCHED.store(true, Ordering::Relaxed);
    }
}

/// Queues a thread made ready in interrupt context: `false` (nothing done) if the scheduler
/// is busy, to be tried again at the next tick.
pub fn try_make_ready(sid: ThreadId, priority: u8) -> bool {
    let Some(mut s) = SCHED.try_lock() else {
        return false;
    };
    s.ready.push(priority, sid);
    if s.current.is_some() && priority > s.current_priority {
        NEED_RESCHED.store(true, Ordering::Relaxed);
    }
    true
}

/// Removes a thread from the ready queues and the sleepers.
pub fn forget(sid: ThreadId) {
    let mut s = SCHED.lock();
    s.ready.remove(sid);
    s.sleepers.retain(|&(_, t)| t != sid);
}

/// Puts the current thread to sleep until `wake_at` ([`crate::time::now_ns`]); `Err` if it was ended meanwhile.
pub fn sleep_current(wake_at: u64) -> Result<(), Status> {
    let Some(sid) = current() else {
        return Err(Status::NoSuchThread);
    };
    if let Some(t) = TASKS.lock().threads.get_mut(&sid) {
        // Ended before it got here (a new thread ended before its first system call, say):
        // nothing would wake it again.
        if t.dying.is_some() {
            return Err(Status::Disconnected);
        }
        t.state = State::Sleeping(wake_at);
    }
    {
        let mut s = SCHED.lock();
        s.sleepers.retain(|&(_, t)| t != sid);
        s.sleepers.push((wake_at, sid));
    }
    crate::time::deadline_added(wake_at);
    schedule(false);
    TASKS.lock().check_alive(sid)
}

/// Blocks the current thread in `state` until another thread makes it ready or, with a
/// `deadline`, until that instant ([`crate::time::now_ns`]). The caller re-checks why it woke; `Err(Disconnected)` if the
/// thread was ended meanwhile (it must return to user mode, where it dies).
pub fn block_current(state: State, deadline: Option<u64>) -> Result<(), Status> {
    let sid = block(state, deadline)?;
    TASKS.lock().check_alive(sid)
}

/// [`block_current`] for a caller that looks at its thread again when it wakes (the message
/// path, which re-checks everything under the task lock): `Err` only if the thread was
/// ended before it blocked; the thread.
pub fn block(state: State, deadline: Option<u64>) -> Result<ThreadId, Status> {
    let Some(sid) = current() else {
        return Err(Status::NoSuchThread);
    };
    if let Some(t) = TASKS.lock().threads.get_mut(&sid) {
        if t.dying.is_some() {
            return Err(Status::Disconnected);
        }
        t.state = state;
    }
    {
        // A time-out of an earlier wait must not end this one.
        let mut s = SCHED.lock();
        s.sleepers.retain(|&(_, t)| t != sid);
        if let Some(at) = deadline {
            s.sleepers.push((at, sid));
        }
    }
    if let Some(at) = deadline {
        crate::time::deadline_added(at);
    }
    schedule(false);
    Ok(sid)
}

/// Blocks the current thread, whose waiting state the caller set under the task lock
/// (so that a wake-up between that and this call is not lost: the thread is then already
/// ready and runs again at once), until it is made ready or, with a `deadline`, until that
/// instant. `Err(Disconnected)` if the thread was ended meanwhile.
pub fn block_prepared(deadline: Option<u64>) -> Result<(), Status> {
    let Some(sid) = current() else {
        return Err(Status::NoSuchThread);
    };
    {
        let mut tasks = TASKS.lock();
        if let Some(t) = tasks.threads.get_mut(&sid).filter(|t| t.dying.is_some()) {
            t.state = State::Running;
            return Err(Status::Disconnected);
        }
    }
    {
        let mut s = SCHED.lock();
        s.sleepers.retain(|&(_, t)| t != sid);
        if let Some(at) = deadline {
            s.sleepers.push((at, sid));
        }
    }
    if let Some(at) = deadline {
        crate::time::deadline_added(at);
    }
    schedule(false);
    // Woken early: its time-out must not end a later wait.
    SCHED.lock().sleepers.retain(|&(_, t)| t != sid);
    TASKS.lock().check_alive(sid)
}

/// Timer tick: account the time slice. Runs in interrupt context.
pub fn on_tick(_ticks: u64) {
    let Some(mut s) = SCHED.try_lock() else {
        return;
    };
    if s.current.is_some() {
        s.slice_left = s.slice_left.saturating_sub(1);
        if s.slice_left == 0 {
            NEED_RESCHED.store(true, Ordering::Relaxed);
        }
    }
}

/// The earliest deadline of a waiting thread (`Some(None)`: none waits with one; `None`: the
/// scheduler is busy, ask again later). Runs in interrupt context too.
pub fn earliest_deadline() -> Option<Option<u64>> {
    let s = SCHED.try_lock()?;
    Some(s.sleepers.iter().map(|&(at, _)| at).min())
}

/// Makes ready every waiting thread whose deadline is `now` or earlier. Runs in interrupt
/// context: a busy lock leaves them for the next timer interrupt.
pub fn wake_due(now: u64) {
    let Some(mut s) = SCHED.try_lock() else {
        return;
    };
    if !s.sleepers.iter().any(|&(at, _)| at <= now) {
        return;
    }
    let Some(mut tasks) = TASKS.try_lock() else {
        return;
    };
    // In place (no allocation in interrupt context): each due entry is taken out and its
    // thread made ready.
    let mut i = 0;
    while let Some(&(at, sid)) = s.sleepers.get(i) {
        if at > now {
            i += 1;
            continue;
        }
        s.sleepers.swap_remove(i);
        if let Some(t) = tasks.threads.get_mut(&sid) {
            if matches!(
                t.state,
                State::Sleeping(_)
                    | State::Calling
                    | State::Receiving(_)
                    | State::Futex(_)
                    | State::PipePoll
                    | State::ConsoleRead(_)
            ) {
                t.state = State::Ready;
                s.ready.push(t.priority, sid);
                if s.current.is_some() && t.priority > s.current_priority {
                    NEED_RESCHED.store(true, Ordering::Relaxed);
                }
            }
        }
    }
}

/// On the way back to user mode: a dying thread exits here, and the CPU switches if the
/// slice is used up or a higher-priority thread became ready.
pub fn preempt_if_needed() {
    exit_if_dying();
    if NEED_RESCHED.load(Ordering::Relaxed) {
        schedule(true);
        // Ended while it was preempted.
        exit_if_dying();
    }
}

/// Exits the current thread if it was ended ([`crate::task::Tasks::exit_thread`]); does not
/// return then. Called only where the thread's kernel stack holds nothing but its trap
/// frame, so that nothing the kernel allocated for it is left behind.
pub fn exit_if_dying() {
    // The common case, checked without the task lock: no thread anywhere is dying.
    if !crate::task::any_dying() {
        return;
    }
    let Some(me) = current() else { return };
    {
        let mut tasks = TASKS.lock();
        let Some(status) = tasks.threads.get(&me).and_then(|t| t.dying) else {
            return;
        };
        tasks.finish_exit(me, status);
    }
    schedule(false);
}

/// Gives up the rest of the current slice.
pub fn yield_now() {
    schedule(true);
}

/// Picks the next thread and switches to it. `requeue` puts the current thread (if still
/// running) at the back of its ready queue first.
fn schedule(requeue: bool) {
    let mut tasks = TASKS.lock();
    let mut s = SCHED.lock();
    let prev = s.current;
    if let Some(p) = prev {
        if let Some(t) = tasks.threads.get_mut(&p) {
            if t.state == State::Running {
                if requeue {
                    t.state = State::Ready;
                    s.ready.push(t.priority, p);
                } else {
                    // Still running and not requeued: keep running it.
                    return;
                }
            }
        }
    }
    tasks.reap(prev);
    NEED_RESCHED.store(false, Ordering::Relaxed);
    s.slice_left = SLICE_TICKS;

    let mut next = None;
    while let Some(sid) = s.ready.pop_highest() {
        if tasks
            .threads
            .get(&sid)
            .is_some_and(|t| t.state == State::Ready)
        {
            next = Some(sid);
            break;
        }
    }

    if prev == next {
        // Nothing else to run, or the same thread again.
        if let Some(t) = next.and_then(|n| tasks.threads.get_mut(&n)) {
            t.state = State::Running;
        }
        return;
    }
    // Each thread is looked up once. The registers still hold `prev`'s user FP/SIMD state
    // (the kernel never uses them): saved here, `next`'s restored below.
    let save: *mut usize = match prev.and_then(|p| tasks.threads.get_mut(&p)) {
        Some(t) => {
            t.extended.save();
            &mut t.saved_sp
        }
        None => &mut s.idle_sp,
    };
    let load = match next {
        Some(n) => {
            let Some(t) = tasks.threads.get_mut(&n) else {
                return;
            };
            t.extended.restore();
            t.state = State::Running;
            s.current_priority = t.priority;
            arch::set_kernel_stack(t.kstack_top());
            let (process, sp) = (t.process, t.saved_sp);
            match tasks.processes.get(&process) {
                Some(p) => {
                    p.space.activate();
                    arch::set_io_ports(tasks.io_ports.get(&process).map_or(&[], |r| r));
                }
                None => arch::activate_kernel_space(),
            }
            sp
        }
        None => {
            arch::activate_kernel_space();
            s.idle_sp
        }
    };
    s.current = next;
    CURRENT.store(next.map_or(0, |t| t.sid().0), Ordering::Relaxed);
    drop(s);
    drop(tasks);
    // SAFETY: `save` points into the previous thread's record (boxed, kept until reaped,
    // which cannot happen before this switch) or the idle slot; `load` was saved by a switch
    // or prepared for a new thread, on a kernel stack that is still allocated. Interrupts
    // are disabled.
    unsafe { arch::switch_context(save, load) };
}

/// The idle context: runs threads until no process is left, then returns.
pub fn run() {
    loop {
        arch::disable_interrupts();
        schedule(false);
        if TASKS.lock().live_processes() == 0 {
            TASKS.lock().reap(None);
            return;
        }
        arch::wait_for_interrupt();
    }
}
