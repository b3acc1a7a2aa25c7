//! Switching between threads, and the first entry of a thread into user mode (AArch64).
//!
//! As on x86_64, switching threads is switching kernel stacks: [`switch_context`] pushes the
//! callee-saved registers (`x19`-`x30`) and the FP/SIMD registers on the old stack, stores the
//! stack pointer, loads the new one and pops the same set. The kernel is built for a soft-float
//! target and never touches the FP/SIMD registers itself, so they still hold the user's values
//! here and saving them on a switch is all the FP context management there is.
//!
//! The kernel stack of a thread running in user mode is `SP_EL1`: the trap entry uses it
//! directly, and the return to user mode leaves it at the top of the thread's stack. There is
//! no per-CPU "current kernel stack" to update, hence [`set_kernel_stack`] does nothing.

use core::arch::global_asm;

use super::trap::TrapFrame;

/// Bytes `switch_context` keeps on a stack: 12 general registers, FPCR and FPSR, then the 32
/// 128-bit FP/SIMD registers.
const SWITCH_FRAME: usize = 96 + 512 + 16;

global_asm!(
    r#"
    // The kernel target is soft-float; this code alone touches the FP/SIMD registers.
    .arch_extension fp
    .arch_extension simd
    .text
    .global ostrog_switch_context
ostrog_switch_context:
    sub     sp, sp, #{frame}
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    add     x9, sp, #112
    stp     q0, q1, [x9, #0]
    stp     q2, q3, [x9, #32]
    stp     q4, q5, [x9, #64]
    stp     q6, q7, [x9, #96]
    stp     q8, q9, [x9, #128]
    stp     q10, q11, [x9, #160]
    stp     q12, q13, [x9, #192]
    stp     q14, q15, [x9, #224]
    stp     q16, q17, [x9, #256]
    stp     q18, q19, [x9, #288]
    stp     q20, q21, [x9, #320]
    stp     q22, q23, [x9, #352]
    stp     q24, q25, [x9, #384]
    stp     q26, q27, [x9, #416]
    stp     q28, q29, [x9, #448]
    stp     q30, q31, [x9, #480]
    mrs     x10, fpcr
    mrs     x11, fpsr
    stp     x10, x11, [sp, #96]
    mov     x9, sp
    str     x9, [x0]

    mov     sp, x1
    add     x9, sp, #112
    ldp     q0, q1, [x9, #0]
    ldp     q2, q3, [x9, #32]
    ldp     q4, q5, [x9, #64]
    ldp     q6, q7, [x9, #96]
    ldp     q8, q9, [x9, #128]
    ldp     q10, q11, [x9, #160]
    ldp     q12, q13, [x9, #192]
    ldp     q14, q15, [x9, #224]
    ldp     q16, q17, [x9, #256]
    ldp     q18, q19, [x9, #288]
    ldp     q20, q21, [x9, #320]
    ldp     q22, q23, [x9, #352]
    ldp     q24, q25, [x9, #384]
    ldp     q26, q27, [x9, #416]
    ldp     q28, q29, [x9, #448]
    ldp     q30, q31, [x9, #480]
    ldp     x10, x11, [sp, #96]
    msr     fpcr, x10
    msr     fpsr, x11
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    add     sp, sp, #{frame}
    ret
"#,
    frame = const SWITCH_FRAME,
);

unsafe extern "C" {
    fn ostrog_switch_context(save_sp: *mut usize, load_sp: usize);
    fn trap_return();
}

/// Saves the current kernel context into `*save_sp` and resumes the one saved in `load_sp`.
///
/// # Safety
/// `save_sp` must be valid for writes, and `load_sp` must be a stack pointer saved by this
/// function (or prepared by [`prepare_user_thread`]) on a kernel stack that is still
/// allocated. Interrupts must be masked.
pub unsafe fn switch_context(save_sp: *mut usize, load_sp: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { ostrog_switch_context(save_sp, load_sp) }
}

/// Nothing to do on AArch64 (see the module documentation).
pub fn set_kernel_stack(_top: usize) {}

/// Prepares the kernel stack `[.., kstack_top)` of a new thread that will enter user mode
/// (EL0, interrupts unmasked) at `entry` with stack pointer `user_sp` and `arg` in `x0`.
/// Returns the saved stack pointer to give to [`switch_context`].
pub fn prepare_user_thread(kstack_top: usize, entry: usize, user_sp: usize, arg: usize) -> usize {
    let mut frame = TrapFrame {
        x: [0; 31],
        sp_el0: user_sp as u64,
        elr: entry as u64,
        spsr: 0, // EL0t, DAIF clear
    };
    frame.x[0] = arg as u64;
    let frame_at = (kstack_top - core::mem::size_of::<TrapFrame>()) & !0xf;
    let switch_at = frame_at - SWITCH_FRAME;
    // SAFETY: the caller gives us a fresh kernel stack; both writes land inside it, below its
    // top, and are 16-byte aligned.
    unsafe {
        core::ptr::write(frame_at as *mut TrapFrame, frame);
        core::ptr::write_bytes(switch_at as *mut u8, 0, SWITCH_FRAME);
        // x19..x30 occupy slots 0..11; x30 is where switch_context returns to.
        (switch_at as *mut usize)
            .add(11)
            .write(trap_return as *const () as usize);
    }
    switch_at
}
