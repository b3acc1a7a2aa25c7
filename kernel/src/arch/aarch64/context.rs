//! Switching between threads, and the first entry of a thread into user mode (AArch64).
//!
//! As on x86_64, switching threads is switching kernel stacks: [`switch_context`] pushes the
//! callee-saved registers (`x19`-`x30`) on the old stack, stores the stack pointer, loads the
//! new one and pops the same set. The FP/SIMD registers and `TPIDR_EL0` are the scheduler's
//! business ([`super::fpu`]).
//!
//! The kernel stack of a thread running in user mode is `SP_EL1`: the trap entry uses it
//! directly, and the return to user mode leaves it at the top of the thread's stack. There is
//! no per-CPU "current kernel stack" to update, hence [`set_kernel_stack`] does nothing.

use core::arch::global_asm;

use super::trap::TrapFrame;

/// Bytes `switch_context` keeps on a stack: 12 general registers.
const SWITCH_FRAME: usize = 96;

global_asm!(
    r#"
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
    mov     x9, sp
    str     x9, [x0]

    mov     sp, x1
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
