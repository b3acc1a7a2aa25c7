//! Kernel time: nanoseconds from the hardware counter, a periodic tick for time slices, and
//! one-shot deadlines for everything that waits.
//!
//! The clock is the architecture's free-running counter ([`arch::cycles`]: the TSC,
//! calibrated against the PIT at boot, on x86_64; the virtual counter CNTVCT, whose rate
//! CNTFRQ states, on AArch64) converted to nanoseconds since the timer started. Every
//! deadline in the kernel (sleeps, `Call`/`Recv`/futex/pipe/console/`WaitIrq` time-outs) is
//! an instant of this clock.
//!
//! There is one hardware timer and it is always one-shot: it is armed for whichever comes
//! first, the next scheduler tick (every `1/TICK_HZ` s, for time slices and polling the
//! console) or the earliest deadline of a waiting thread. A thread that blocks with a
//! deadline earlier than the one armed re-arms it ([`deadline_added`]). So a sleeper wakes
//! at its deadline plus the interrupt's latency, not at the next tick. A thread has at most
//! one deadline (the scheduler's sleeper list holds one entry per thread), so nothing here
//! grows with the number of sleeps.
//!
//! Nothing may wake early: the hardware timer runs on a clock of its own (the APIC bus on
//! x86_64), so an interrupt that comes before the deadline by the counter finds nothing due
//! and arms the timer again for what is left.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::{arch, TICK_HZ};

static TICKS: AtomicU64 = AtomicU64::new(0);
/// Counter value at which the clock reads 0.
static ORIGIN: AtomicU64 = AtomicU64::new(0);
/// Counter increments per second (0 until the timer starts: the clock then reads 0).
static COUNTER_HZ: AtomicU64 = AtomicU64::new(0);
/// When the next scheduler tick is due (ns).
static NEXT_TICK: AtomicU64 = AtomicU64::new(u64::MAX);
/// The instant the hardware timer is armed for (ns); `u64::MAX`: not armed.
static ARMED: AtomicU64 = AtomicU64::new(u64::MAX);

/// Interval between two scheduler ticks.
pub const TICK_NS: u64 = 1_000_000_000 / TICK_HZ as u64;

/// Starts the clock and the timer: the architecture's timer is set up and calibrated, then
/// armed for the first tick.
pub fn start() {
    let hz = arch::start_timer();
    ORIGIN.store(arch::cycles(), Ordering::Relaxed);
    COUNTER_HZ.store(hz, Ordering::Relaxed);
    NEXT_TICK.store(TICK_NS, Ordering::Relaxed);
    arm(now_ns());
}

/// The counter's rate in Hz (0 before [`start`]).
pub fn counter_hz() -> u64 {
    COUNTER_HZ.load(Ordering::Relaxed)
}

/// Nanoseconds since the timer started.
pub fn now_ns() -> u64 {
    let hz = COUNTER_HZ.load(Ordering::Relaxed);
    if hz == 0 {
        return 0;
    }
    let elapsed = arch::cycles().saturating_sub(ORIGIN.load(Ordering::Relaxed));
    let ns = u128::from(elapsed) * 1_000_000_000 / u128::from(hz);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// The instant `ns` nanoseconds from now (saturating: a huge wait never ends).
pub fn deadline_after_ns(ns: u64) -> u64 {
    now_ns().saturating_add(ns)
}

/// The instant `ms` milliseconds from now.
pub fn deadline_after_ms(ms: u64) -> u64 {
    deadline_after_ns(ms.saturating_mul(1_000_000))
}

/// Ticks since the timer started.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// A thread now waits until `at`: arms the timer for it if it comes before what is armed.
/// Interrupts are disabled (kernel code), so this cannot race the interrupt handler.
pub fn deadline_added(at: u64) {
    if COUNTER_HZ.load(Ordering::Relaxed) != 0 && at < ARMED.load(Ordering::Relaxed) {
        arm(now_ns());
    }
}

/// Called by the architecture's timer interrupt handler (interrupts disabled): the tick if
/// one is due, the sleepers whose deadline has passed, then the timer armed again.
pub fn on_interrupt() {
    ARMED.store(u64::MAX, Ordering::Relaxed);
    let now = now_ns();
    let next_tick = NEXT_TICK.load(Ordering::Relaxed);
    if now >= next_tick {
        // One tick however late: a host that stalled the machine for a while does not get
        // a burst of slices used up at once.
        let mut next = next_tick.saturating_add(TICK_NS);
        if next <= now {
            next = now.saturating_add(TICK_NS);
        }
        NEXT_TICK.store(next, Ordering::Relaxed);
        let ticks = TICKS.fetch_add(1, Ordering::Relaxed) + 1;
        crate::sched::on_tick(ticks);
        crate::console_input::on_tick();
    }
    crate::sched::wake_due(now);
    arm(now);
}

/// How long after "now" an overdue deadline is retried (its wake-up found a lock busy).
const RETRY_NS: u64 = 20_000;

/// Arms the hardware timer for the next tick or the earliest deadline, whichever is first.
fn arm(now: u64) {
    let tick = NEXT_TICK.load(Ordering::Relaxed);
    let mut at = match crate::sched::earliest_deadline() {
        Some(Some(d)) => d.min(tick),
        Some(None) => tick,
        // The scheduler is busy: look again soon.
        None => now.saturating_add(RETRY_NS).min(tick),
    };
    // A deadline already passed (its wake-up found a lock busy): shortly, not at once, so
    // that the interrupted code can finish and release it.
    if at <= now {
        at = now.saturating_add(RETRY_NS);
    }
    ARMED.store(at, Ordering::Relaxed);
    arch::arm_timer(at.saturating_sub(now));
}
