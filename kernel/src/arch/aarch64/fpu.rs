//! The user-visible registers a thread owns beyond its [`super::trap::TrapFrame`]: the
//! FP/SIMD registers `q0`-`q31`, `FPCR`, `FPSR`, and the thread pointer `TPIDR_EL0`.
//!
//! [`init`] lets EL0 and EL1 use FP/SIMD without traps (`CPACR_EL1.FPEN`) and leaves SVE and
//! SME trapped (`ZEN`, `SMEN` zero): their instructions are undefined-instruction faults that
//! kill the process, so their larger registers never hold state to save. `TPIDRRO_EL0` is
//! read-only at EL0 and never written, so it holds nothing of a thread's.
//!
//! Every thread has an [`ExtendedState`]; the scheduler saves the outgoing thread's and
//! restores the incoming thread's on every switch (eagerly: 520 bytes each way cost less than
//! trapping the first FP instruction after a switch, and lazy switching leaks state through
//! speculation). The kernel is built for `aarch64-unknown-none-softfloat` (checked below at
//! compile time), so no kernel code touches these registers between a trap and the switch.

use core::arch::asm;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Writeable, CPACR_EL1};

#[cfg(target_feature = "neon")]
compile_error!("the kernel must not use FP/SIMD registers: they hold the interrupted thread's");

/// A thread's FP/SIMD registers and thread pointer, while it does not run. The default, for
/// a new thread, is every register zero (FPCR 0: round to nearest, no flush to zero,
/// exceptions untrapped), so nothing of another thread's is visible.
#[repr(C, align(16))]
#[derive(Default)]
pub struct ExtendedState {
    q: [u128; 32],
    fpcr: u64,
    fpsr: u64,
    tpidr_el0: u64,
}

impl ExtendedState {
    /// Saves the running thread's registers here.
    pub fn save(&mut self) {
        // SAFETY: FP/SIMD is enabled at EL1 (`init`); the stores stay inside `self.q`
        // (512 bytes, 16-byte aligned).
        unsafe {
            asm!(
                ".arch_extension fp",
                ".arch_extension simd",
                "stp q0, q1, [{q}, #0]",
                "stp q2, q3, [{q}, #32]",
                "stp q4, q5, [{q}, #64]",
                "stp q6, q7, [{q}, #96]",
                "stp q8, q9, [{q}, #128]",
                "stp q10, q11, [{q}, #160]",
                "stp q12, q13, [{q}, #192]",
                "stp q14, q15, [{q}, #224]",
                "stp q16, q17, [{q}, #256]",
                "stp q18, q19, [{q}, #288]",
                "stp q20, q21, [{q}, #320]",
                "stp q22, q23, [{q}, #352]",
                "stp q24, q25, [{q}, #384]",
                "stp q26, q27, [{q}, #416]",
                "stp q28, q29, [{q}, #448]",
                "stp q30, q31, [{q}, #480]",
                "mrs {fpcr}, fpcr",
                "mrs {fpsr}, fpsr",
                "mrs {tpidr}, tpidr_el0",
                q = in(reg) self.q.as_mut_ptr(),
                fpcr = out(reg) self.fpcr,
                fpsr = out(reg) self.fpsr,
                tpidr = out(reg) self.tpidr_el0,
                options(nostack, preserves_flags),
            )
        };
    }

    /// Loads the registers of the thread about to run.
    pub fn restore(&self) {
        // SAFETY: as in `save`; FPCR and FPSR values come from `default` or from the CPU.
        unsafe {
            asm!(
                ".arch_extension fp",
                ".arch_extension simd",
                "ldp q0, q1, [{q}, #0]",
                "ldp q2, q3, [{q}, #32]",
                "ldp q4, q5, [{q}, #64]",
                "ldp q6, q7, [{q}, #96]",
                "ldp q8, q9, [{q}, #128]",
                "ldp q10, q11, [{q}, #160]",
                "ldp q12, q13, [{q}, #192]",
                "ldp q14, q15, [{q}, #224]",
                "ldp q16, q17, [{q}, #256]",
                "ldp q18, q19, [{q}, #288]",
                "ldp q20, q21, [{q}, #320]",
                "ldp q22, q23, [{q}, #352]",
                "ldp q24, q25, [{q}, #384]",
                "ldp q26, q27, [{q}, #416]",
                "ldp q28, q29, [{q}, #448]",
                "ldp q30, q31, [{q}, #480]",
                "msr fpcr, {fpcr}",
                "msr fpsr, {fpsr}",
                "msr tpidr_el0, {tpidr}",
                q = in(reg) self.q.as_ptr(),
                fpcr = in(reg) self.fpcr,
                fpsr = in(reg) self.fpsr,
                tpidr = in(reg) self.tpidr_el0,
                options(nostack, preserves_flags, readonly),
            )
        };
    }
}

/// Lets EL0 and EL1 use FP/SIMD without traps (SVE and SME stay trapped) and prints what
/// threads get.
pub fn init(_cmdline: &crate::cmdline::CommandLine) {
    CPACR_EL1.write(CPACR_EL1::FPEN::TrapNothing);
    // The new CPACR_EL1 applies after a context synchronization event.
    barrier::isb(barrier::SY);
    println!("fpu: q0-q31 FPCR FPSR TPIDR_EL0 saved per thread");
}
