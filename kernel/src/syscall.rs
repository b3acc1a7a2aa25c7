//! The system call dispatcher: one arch-independent function behind every entry.
//!
//! The architecture's entry code unpacks the registers into [`Args`] and calls [`dispatch`],
//! which returns `(result, second)`: a negative result is an [`ostrog_abi::Status`]. There
//! are three system calls, all IPC ([`crate::ipc`]); everything else the kernel offers is a
//! core endpoint reached through `Call`. Nothing a process passes can make the kernel panic.

use ostrog_abi::{syscall as nr, Status};

use crate::{ipc, sched};

/// A system call as the process made it.
pub struct Args {
    pub number: usize,
    pub a: [usize; 6],
}

pub fn dispatch(args: &Args) -> (isize, usize) {
    let Some(me) = sched::current() else {
        return (Status::NoSuchThread as isize, 0);
    };
    let [a0, a1, a2, a3, a4, a5] = args.a;
    // Handle numbers are 32-bit; a larger value names nothing.
    let handle = u32::try_from(a0).unwrap_or(u32::MAX - 1);
    let result = match args.number {
        nr::CALL => ipc::call(me, handle, (a1, a2), (a3, a4), a5).map(|n| (n, 0)),
        nr::RECV => ipc::recv(me, handle, a1, a2, a3),
        nr::REPLY => ipc::reply(me, handle, a1, a2).map(|n| (n, 0)),
        _ => Err(Status::NoSuchSyscall),
    };
    match result {
        Ok((value, second)) => (value as isize, second),
        Err(status) => (status as isize, 0),
    }
}
