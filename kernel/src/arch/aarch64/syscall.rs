//! The system call entry on AArch64: `svc` from user mode.
//!
//! `svc` arrives as a synchronous exception from EL0 through the common trap path
//! ([`super::trap`]), which saves the registers in a [`TrapFrame`] on the thread's kernel
//! stack (`SP_EL1`) and hands the frame here when the syndrome says "supervisor call". The
//! results go back in the frame and out through the common return (`eret`).

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
    let (result, second) = crate::syscall::dispatch(&args);
    frame.x[0] = result as u64;
    frame.x[1] = second as u64;
}
