//! The system call entry on AArch64: `svc` from user mode.
//!
//! `svc` arrives as a synchronous exception from EL0 through the common trap path
//! ([`super::trap`]), which saves the registers in a [`TrapFrame`] on the thread's kernel
//! stack (`SP_EL1`) and hands the frame here when the syndrome says "supervisor call". The
//! results go back in the frame and out through the common return (`eret`), which restores
//! every register: a system call that replaced them all (a foreign system call entering the
//! trap entry, a resumed frame: [`crate::trap_redirect`]) needs nothing else.
//! [`read_user_frame`] and [`write_user_frame`] copy between the saved registers (with the
//! thread pointer `TPIDR_EL0`, live in its register while the thread runs and kept in
//! [`super::fpu::ExtendedState`] while it does not) and an [`ostrog_abi::trap::TrapFrame`].

use aarch64_cpu::registers::{Readable, Writeable, TPIDR_EL0};

use super::trap::TrapFrame;

/// Exception class of `svc` from AArch64 state.
pub const EC_SVC64: u64 = 0x15;

/// A system call: number in `x8`, arguments in `x0`-`x5`, results in `x0` and `x1`.
pub fn syscall_dispatch(frame: &mut TrapFrame) {
    let args = crate::syscall::Args {
        number: frame.x[8] as usize,
        a: [
            frame.x[0] as usize,
            frame.x[1] as usize,
            frame.x[2] as usize,
            frame.x[3] as usize,
            frame.x[4] as usize,
            frame.x[5] as usize,
        ],
    };
    if let Some((result, second)) = crate::syscall::dispatch(&args, frame) {
        frame.x[0] = result as u64;
        frame.x[1] = second as u64;
    }
}

/// The user registers saved in `frame` (a system call's; `pc` is the instruction after the
/// `svc`) and the running thread's `TPIDR_EL0`, as a trap frame (`kind` and `info` 0).
pub fn read_user_frame(frame: &TrapFrame) -> ostrog_abi::trap::TrapFrame {
    ostrog_abi::trap::TrapFrame {
        x: frame.x,
        sp: frame.sp_el0,
        pc: frame.elr,
        pstate: frame.spsr,
        tpidr_el0: TPIDR_EL0.get(),
        kind: 0,
        info: 0,
    }
}

/// Replaces the user registers saved in `frame` (a system call's) and the running thread's
/// `TPIDR_EL0` with `user`'s, checked by
/// [`ostrog_abi::trap::aarch64::TrapFrame::sanitized`] (user addresses; PSTATE only NZCV, so
/// the return is to EL0t with interrupts unmasked).
pub fn write_user_frame(frame: &mut TrapFrame, user: &ostrog_abi::trap::TrapFrame) {
    frame.x = user.x;
    frame.sp_el0 = user.sp;
    frame.elr = user.pc;
    frame.spsr = user.pstate & ostrog_abi::trap::aarch64::USER_PSTATE;
    TPIDR_EL0.set(user.tpidr_el0);
}
