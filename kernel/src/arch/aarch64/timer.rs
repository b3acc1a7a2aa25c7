//! The kernel's tick on AArch64: the EL1 virtual timer of the generic timer, a periodic
//! interrupt through the GIC, and its counter.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aarch64_cpu::registers::{
    Readable, Writeable, CNTFRQ_EL0, CNTVCT_EL0, CNTV_CTL_EL0, CNTV_TVAL_EL0,
};

use super::intc;

pub const TIMER_NAME: &str = "generic timer (virtual) via GICv2";

/// The virtual timer's PPI number (from the device tree; 11 on every known board).
static PPI: AtomicU32 = AtomicU32::new(11);
/// Counter ticks per kernel tick.
static INTERVAL: AtomicU64 = AtomicU64::new(0);

pub fn set_ppi(ppi: u32) {
    PPI.store(ppi, Ordering::Relaxed);
}

/// The interrupt id (INTID) of the virtual timer: PPIs start at 16.
pub fn intid() -> u32 {
    16 + PPI.load(Ordering::Relaxed)
}

/// Starts the periodic timer at `hz` interrupts per second.
pub fn start_timer(hz: u32) {
    intc::enable(intid());
    // Programs may read the virtual counter (CNTKCTL_EL1.EL0VCTEN) to time themselves; the
    // timer registers stay kernel-only.
    // SAFETY: CNTKCTL_EL1 only controls EL0 access to the counter and timer registers.
    unsafe { core::arch::asm!("msr cntkctl_el1, {0}", "isb", in(reg) 1u64 << 1) };
    let interval = CNTFRQ_EL0.get() / u64::from(hz.max(1));
    INTERVAL.store(interval, Ordering::Relaxed);
    CNTV_TVAL_EL0.set(interval);
    CNTV_CTL_EL0.set(1); // enabled, not masked
}

/// Called on the timer interrupt: arm the next tick.
pub fn on_interrupt() {
    CNTV_TVAL_EL0.set(INTERVAL.load(Ordering::Relaxed));
}

/// The virtual counter of the generic timer (a fixed-frequency count, not CPU cycles).
pub fn cycles() -> u64 {
    CNTVCT_EL0.get()
}
