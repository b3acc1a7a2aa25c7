//! The kernel's timer on AArch64: the EL1 virtual timer of the generic timer, armed for one
//! instant at a time (CNTV_CVAL_EL0) through the GIC, and its counter (CNTVCT_EL0, at the
//! rate CNTFRQ_EL0 states) as the clock.

use core::sync::atomic::{AtomicU32, Ordering};

use aarch64_cpu::registers::{
    Readable, Writeable, CNTFRQ_EL0, CNTVCT_EL0, CNTV_CTL_EL0, CNTV_CVAL_EL0,
};

use super::intc;

pub const TIMER_NAME: &str = "generic timer (virtual) via GICv2";

/// The virtual timer's PPI number (from the device tree; 11 on every known board).
static PPI: AtomicU32 = AtomicU32::new(11);

pub fn set_ppi(ppi: u32) {
    PPI.store(ppi, Ordering::Relaxed);
}

/// The interrupt id (INTID) of the virtual timer: PPIs start at 16.
pub fn intid() -> u32 {
    16 + PPI.load(Ordering::Relaxed)
}

/// Enables the timer's interrupt, with nothing armed yet. Returns the counter's rate in Hz.
pub fn start_timer() -> u64 {
    intc::enable(intid());
    // Programs may read the virtual counter (CNTKCTL_EL1.EL0VCTEN) to time themselves; the
    // timer registers stay kernel-only.
    // SAFETY: CNTKCTL_EL1 only controls EL0 access to the counter and timer registers.
    unsafe { core::arch::asm!("msr cntkctl_el1, {0}", "isb", in(reg) 1u64 << 1) };
    CNTV_CVAL_EL0.set(u64::MAX);
    CNTV_CTL_EL0.set(1); // enabled, not masked
                         // A firmware that left CNTFRQ unset: assume QEMU's 62.5 MHz rather than divide by 0.
    match CNTFRQ_EL0.get() {
        0 => 62_500_000,
        hz => hz,
    }
}

/// Fires the timer interrupt once, `ns` nanoseconds from now (rounded up to a count).
pub fn arm_timer(ns: u64) {
    let counts = (u128::from(ns) * u128::from(CNTFRQ_EL0.get())).div_ceil(1_000_000_000);
    let counts = u64::try_from(counts).unwrap_or(u64::MAX).max(1);
    // The interrupt is level-sensitive: a compare value in the future lowers it.
    CNTV_CVAL_EL0.set(CNTVCT_EL0.get().saturating_add(counts));
}

/// The virtual counter of the generic timer (a fixed-frequency count, not CPU cycles).
pub fn cycles() -> u64 {
    CNTVCT_EL0.get()
}
