//! The system call dispatcher: one arch-independent function behind every entry.
//!
//! The architecture's entry code unpacks the registers into [`Args`] and calls [`dispatch`]
//! with the saved user registers, which returns `Some((result, second))` (a negative result
//! is an [`ostrog_abi::Status`]), or `None` when it replaced the user registers altogether.
//! There are three system calls, all IPC ([`crate::ipc`]); everything else the kernel offers
//! is a core endpoint reached through `Call`. Any other number is a *foreign* system call,
//! and `Reply` on [`ostrog_abi::handle::RESUME`] resumes a register frame: both are
//! [`crate::trap_redirect`]'s. Nothing a process passes can make the kernel panic.
//!
//! The registers are decoded once, here, into one named struct per system call
//! ([`CallArgs`], [`RecvArgs`], [`ReplyArgs`]): handle numbers become `u32` (a larger value
//! names nothing), and every user buffer becomes a [`UserSlice`], an unchecked allegation
//! that only [`crate::usercopy`] can turn into bytes.

use ostrog_abi::{handle, syscall as nr, Status};

use crate::arch::UserRegisters;
use crate::probe::{self, Stage};
use crate::usercopy::UserSlice;
use crate::{ipc, sched, trap_redirect};

/// A system call as the process made it.
pub struct Args {
    pub number: usize,
    pub a: [usize; 6],
}

/// `Call(handle, request, request_len, response, response_capacity, timeout_ms)`.
pub struct CallArgs {
    pub handle: u32,
    pub request: UserSlice,
    pub response: UserSlice,
    pub timeout_ms: usize,
}

/// `Recv(handle, buffer, capacity, timeout_ms)`.
pub struct RecvArgs {
    pub handle: u32,
    pub buffer: UserSlice,
    pub timeout_ms: usize,
}

/// `Reply(handle, response, len)`.
pub struct ReplyArgs {
    pub handle: u32,
    pub response: UserSlice,
}

/// A system call decoded from its registers.
enum Syscall {
    Call(CallArgs),
    Recv(RecvArgs),
    Reply(ReplyArgs),
    /// `Reply(RESUME, frame, len)`: continue with the registers of the frame.
    Resume(UserSlice),
    /// Any other number.
    Foreign,
}

impl Syscall {
    fn decode(args: &Args) -> Result<Syscall, Status> {
        let [a0, a1, a2, a3, a4, a5] = args.a;
        // Handle numbers are 32-bit; a larger value names nothing.
        let handle = u32::try_from(a0).unwrap_or(u32::MAX - 1);
        match args.number {
            nr::CALL => Ok(Syscall::Call(CallArgs {
                handle,
                request: UserSlice::new(a1, a2),
                response: UserSlice::new(a3, a4),
                timeout_ms: a5,
            })),
            nr::RECV => Ok(Syscall::Recv(RecvArgs {
                handle,
                buffer: UserSlice::new(a1, a2),
                timeout_ms: a3,
            })),
            nr::REPLY if a0 == handle::RESUME as usize => {
                Ok(Syscall::Resume(UserSlice::new(a1, a2)))
            }
            nr::REPLY => Ok(Syscall::Reply(ReplyArgs {
                handle,
                response: UserSlice::new(a1, a2),
            })),
            _ => Ok(Syscall::Foreign),
        }
    }
}

/// Runs the system call in `args`, made by the current thread whose saved user registers are
/// `regs`. `Some((result, second))` is for the architecture to put in the result registers;
/// `None` means `regs` were replaced (a foreign system call delivered to the trap entry, a
/// frame resumed) and go back to user mode as they are.
pub fn dispatch(args: &Args, regs: &mut UserRegisters) -> Option<(isize, usize)> {
    probe::mark(Stage::UserAndTrap);
    let Some(me) = sched::current() else {
        return Some((Status::NoSuchThread as isize, 0));
    };
    let decoded = Syscall::decode(args);
    probe::mark(Stage::Entry);
    let result = decoded.and_then(|syscall| match syscall {
        Syscall::Call(call) => ipc::call(me, call).map(|n| Some((n, 0))),
        Syscall::Recv(recv) => ipc::recv(me, recv).map(Some),
        Syscall::Reply(reply) => ipc::reply(me, reply).map(|n| Some((n, 0))),
        Syscall::Resume(frame) => trap_redirect::resume(me, frame, regs).map(|()| None),
        Syscall::Foreign => trap_redirect::deliver(me, regs).map(|()| None),
    });
    let registers = match result {
        Ok(Some((value, second))) => Some((value as isize, second)),
        Ok(None) => None,
        Err(status) => Some((status as isize, 0)),
    };
    probe::mark(Stage::Exit);
    registers
}
