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
    #[cfg(feature = "probes")]
    start_probe_counter();
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

/// Starts the PMU's cycle counter for [`crate::probe`]: the virtual counter ticks once per
/// 16 instructions under QEMU's `-icount shift=0`, too coarse for a stage of a few dozen;
/// QEMU's cycle counter runs at 1 GHz of virtual time, one count per instruction there.
#[cfg(feature = "probes")]
fn start_probe_counter() {
    // SAFETY: PMCR_EL0.E enables the PMU's counters, PMCNTENSET_EL0.C the cycle counter;
    // neither changes memory or what programs may access (PMUSERENR_EL0 stays 0).
    unsafe {
        core::arch::asm!(
            "msr pmcr_el0, {e}",
            "msr pmcntenset_el0, {c}",
            "isb",
            e = in(reg) 1u64,
            c = in(reg) 1u64 << 31,
        )
    };
}

/// The counter of [`crate::probe`]: the PMU's cycle counter (see `start_probe_counter`).
#[inline(always)]
pub fn probe_counter() -> u64 {
    let value: u64;
    // SAFETY: reading PMCCNTR_EL0 at EL1 has no side effect.
    unsafe { core::arch::asm!("mrs {0}, pmccntr_el0", out(reg) value) };
    value
}
