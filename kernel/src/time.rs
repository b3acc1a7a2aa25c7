//! Kernel time: a monotonic tick count advanced by the architecture's periodic timer.

use core::sync::atomic::{AtomicU64, Ordering};

static TICKS: AtomicU64 = AtomicU64::new(0);

/// Called by the architecture's timer interrupt handler, once per tick.
pub fn on_tick() {
    let now = TICKS.fetch_add(1, Ordering::Relaxed) + 1;
    crate::sched::on_tick(now);
    crate::console_input::on_tick();
}

/// Ticks since the timer started.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}
