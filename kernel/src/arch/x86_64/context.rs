//! Switching between threads, and the first entry of a thread into user mode.
//!
//! Every thread has its own kernel stack. A thread that stops running is always inside the
//! kernel (a system call, an interrupt, or the idle loop), so switching threads is switching
//! kernel stacks: [`switch_context`] saves the callee-saved registers on the old stack, stores
//! the stack pointer, loads the new one and restores its registers. Everything else a thread
//! owns (its user registers) is already in the [`TrapFrame`] at the top of its kernel stack.
//!
//! A new user thread's stack is prepared to look as if it had been switched away from just
//! before returning to user mode: a `TrapFrame` with the entry point and user stack, below it
//! the registers `switch_context` pops, and a return address pointing at `trap_return`.

use core::arch::global_asm;

use super::trap::TrapFrame;
use super::{cpu, syscall};

global_asm!(
    r#"
    .text
.global ostrog_switch_context
ostrog_switch_context:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
"#
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
/// allocated. Interrupts must be disabled.
pub unsafe fn switch_context(save_sp: *mut usize, load_sp: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { ostrog_switch_context(save_sp, load_sp) }
}

/// Sets the kernel stack used on the next entry from user mode (system call and interrupts).
pub fn set_kernel_stack(top: usize) {
    syscall::set_entry_stack(top);
    cpu::set_interrupt_stack(top);
}

const RFLAGS_IF: u64 = 1 << 9;
/// Bit 1 of RFLAGS is reserved and always set.
const RFLAGS_RESERVED: u64 = 1 << 1;

/// Prepares the kernel stack `[.., kstack_top)` of a new thread that will enter user mode at
/// `entry` with stack pointer `user_sp` and `arg` in the first argument register. Returns the
/// saved stack pointer to give to [`switch_context`].
pub fn prepare_user_thread(kstack_top: usize, entry: usize, user_sp: usize, arg: usize) -> usize {
    let sel = cpu::selectors();
    let frame = TrapFrame {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        r11: 0,
        r10: 0,
        r9: 0,
        r8: 0,
        rbp: 0,
        rdi: arg as u64,
        rsi: 0,
        rdx: 0,
        rcx: 0,
        rbx: 0,
        rax: 0,
        vector: 0,
        error_code: 0,
        rip: entry as u64,
        cs: u64::from(sel.user_code.0),
        rflags: RFLAGS_IF | RFLAGS_RESERVED,
        rsp: user_sp as u64,
        ss: u64::from(sel.user_data.0),
    };
    let frame_at = (kstack_top - core::mem::size_of::<TrapFrame>()) & !0xf;
    // Six callee-saved registers and the return address sit below the frame.
    let switch_at = frame_at - 7 * 8;
    // SAFETY: the caller gives us a fresh kernel stack; both writes land inside it, below
    // its top, and are suitably aligned.
    unsafe {
        core::ptr::write(frame_at as *mut TrapFrame, frame);
        let slots = switch_at as *mut usize;
        for i in 0..6 {
            slots.add(i).write(0);
        }
        slots.add(6).write(trap_return as *const () as usize);
    }
    switch_at
}
