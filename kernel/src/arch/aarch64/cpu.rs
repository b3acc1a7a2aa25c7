//! The processor itself on AArch64: the IRQ mask, waiting for an interrupt, and the
//! instructions the self tests use to fault on purpose.
//!
//! Exception levels, the vector base and the system registers are set by the entry code
//! ([`super::boot`], [`super::trap`]); AArch64 has no descriptor tables to load.

use aarch64_cpu::registers::{Readable, DAIF};

/// The architecture's name, for the banner.
pub const NAME: &str = "aarch64";

pub fn enable_interrupts() {
    // SAFETY: unmasks IRQs; the vector table is installed before the first call.
    unsafe { core::arch::asm!("msr daifclr, #2", options(nomem, nostack)) };
}

/// Masks IRQs; returns whether they were unmasked.
pub fn disable_interrupts() -> bool {
    let were = !DAIF.is_set(DAIF::I);
    // SAFETY: masking interrupts has no other effect.
    unsafe { core::arch::asm!("msr daifset, #2", options(nomem, nostack)) };
    were
}

/// Waits for an interrupt and takes it; called with IRQs masked (the idle loop), returns
/// with them unmasked.
///
/// The wait comes first, still masked: WFI ends when an interrupt is pending whether or not
/// it is masked. Unmasking first would let an interrupt that arrives between the unmask and
/// the WFI be taken there (making a thread ready), and the WFI would then sleep until the
/// next interrupt, a timer tick later.
pub fn wait_for_interrupt() {
    // SAFETY: waits, then unmasks IRQs so the pending interrupt is taken (the ISB makes the
    // unmask take effect before returning); the vector table is installed.
    unsafe { core::arch::asm!("wfi", "msr daifclr, #2", "isb", options(nomem, nostack)) };
}

pub fn breakpoint() {
    // SAFETY: brk raises a breakpoint exception and nothing else; used only by self tests.
    unsafe { core::arch::asm!("brk #0") };
}

/// Executes an instruction that does not exist (`udf`).
pub fn illegal_instruction() {
    // SAFETY: udf raises an undefined-instruction exception; used only by self tests.
    unsafe { core::arch::asm!("udf #0") };
}

/// Switches to the stack ending at `top` and calls `f` there (the kernel-stack guard self
/// test); never returns.
pub fn run_on_stack(top: usize, f: extern "C" fn() -> !) -> ! {
    // SAFETY: the caller gives a mapped kernel stack; `f` never returns, so nothing of the
    // abandoned stack is used again.
    unsafe {
        core::arch::asm!(
            "mov sp, {top}",
            "blr {f}",
            top = in(reg) top,
            f = in(reg) f,
            options(noreturn)
        )
    }
}

/// 64 bits from the CPU's random-number generator (`RNDR`, FEAT_RNG: ID_AA64ISAR0_EL1.RNDR),
/// if it has one and it delivers within a few tries (it reports a transient failure with
/// the Z flag).
pub fn hardware_random() -> Option<u64> {
    let isar0: u64;
    // SAFETY: reading an ID register has no side effects and is allowed at EL1.
    unsafe {
        core::arch::asm!("mrs {}, id_aa64isar0_el1", out(reg) isar0, options(nomem, nostack))
    };
    if (isar0 >> 60) & 0xf == 0 {
        return None;
    }
    for _ in 0..10 {
        let value: u64;
        let failed: u64;
        // SAFETY: the CPU has FEAT_RNG (checked above); RNDR (s3_3_c2_c4_0) only writes the
        // register and the flags.
        unsafe {
            core::arch::asm!(
                "mrs {value}, s3_3_c2_c4_0",
                "cset {failed}, eq",
                value = out(reg) value,
                failed = out(reg) failed,
                options(nomem, nostack),
            );
        }
        if failed == 0 {
            return Some(value);
        }
    }
    None
}
