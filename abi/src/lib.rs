//! What the Ostrog kernel and the programs running on it share: system call numbers, the
//! register convention, status codes, and the layout of a program's address space.
//!
//! This crate is `no_std` and has no dependencies. Besides numbers both sides must agree on,
//! it holds the one bounds-checked reader and writer of a message ([`wire`]), so that the
//! kernel, the security module and the generated transport code read the same layout.
//!
//! ## System calls
//!
//! Ostrog has three system calls, `Call`, `Recv` and `Reply` (synchronous IPC), and nothing
//! else. Kernel services (processes, threads, memory, time, the console, the audit log) are
//! *core endpoints*, reached by `Call` on [`handle::CORE`] with messages of the interfaces in
//! `sysroot/kl/core`.
//!
//! Register convention:
//!
//! | | number | arguments | results |
//! |---|---|---|---|
//! | x86_64 (`syscall`) | `rax` | `rdi rsi rdx r10 r8 r9` | `rax` (status or value), `rdx` |
//! | AArch64 (`svc #0`) | `x8` | `x0 .. x5` | `x0` (status or value), `x1` |
//!
//! A negative result is a [`Status`]; zero or positive is success (and may carry a value).
//!
//! The numbers ([`syscall`]) lie outside every Linux range; any other number is a *foreign*
//! system call, delivered to the process's trap entry if it has one ([`trap`]).

#![no_std]
pub mod message;
pub mod trap;
pub mod wire;

/// System call numbers: `0x4f53_0000` ("OS") plus 0, 1, 2, outside every Linux number range.
pub mod syscall {
    /// The first native number; the others follow.
    pub const BASE: usize = 0x4f53_0000;
    /// Send a request and wait for the response (IPC):
    /// `(handle, request, request_len, response, response_capacity, timeout_ms)` -> response
    /// length. `handle` is a channel handle or [`crate::handle::CORE`] for the kernel.
    pub const CALL: usize = BASE;
    /// Wait for a request (IPC): `(handle, buffer, capacity, timeout_ms)` -> `(length,
    /// endpoint handle)`. `handle` is a listening endpoint or [`crate::handle::ANY`]. When the
    /// buffer is too small the request stays queued and the second result is its length.
    pub const RECV: usize = BASE + 1;
    /// Answer the request this thread received last: `(handle, response, response_len)`.
    /// With [`crate::handle::RESUME`], continue with the registers of a
    /// [`crate::trap::TrapFrame`] instead.
    pub const REPLY: usize = BASE + 2;
}

/// Error statuses returned by system calls (as negative numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(isize)]
pub enum Status {
    /// An argument is out of range or inconsistent.
    InvalidArgument = -1,
    /// A pointer argument does not point to memory the caller may access.
    BadAddress = -2,
    /// No system call has this number.
    NoSuchSyscall = -3,
    /// The kernel is out of memory for this request.
    NoMemory = -4,
    /// No such thread (or not one the caller may name).
    NoSuchThread = -5,
    /// The security policy denied the operation.
    AccessDenied = -6,
    /// The handle does not name an object of the caller's.
    BadHandle = -7,
    /// The operation would wait forever (e.g. a thread joining itself).
    Deadlock = -8,
    /// The time-out passed before the operation could complete.
    TimedOut = -9,
    /// The other side of the channel has ended (or the request was cancelled).
    Disconnected = -10,
    /// The buffer cannot hold the message (the second result says how much is needed).
    BufferTooSmall = -11,
    /// The operation needs something this kernel or machine does not have.
    NotSupported = -12,
    /// The name is already taken, or the object is in a state that forbids the operation.
    Busy = -13,
    /// No object with that name exists.
    NotFound = -14,
    /// The priority asked for is above the caller's priority ceiling.
    AboveCeiling = -15,
    /// The value was not the one expected, so the operation did not wait (`futex.Wait`).
    WouldBlock = -16,
    /// A wait ended early because a notification the thread accepts was posted to its
    /// process (`task.Signal`, `task.NotifyExit`; see [`trap::NOTIFY`]).
    Interrupted = -17,
}

impl Status {
    pub const ALL: [Status; 17] = [
        Status::InvalidArgument,
        Status::BadAddress,
        Status::NoSuchSyscall,
        Status::NoMemory,
        Status::NoSuchThread,
        Status::AccessDenied,
        Status::BadHandle,
        Status::Deadlock,
        Status::TimedOut,
        Status::Disconnected,
        Status::BufferTooSmall,
        Status::NotSupported,
        Status::Busy,
        Status::NotFound,
        Status::AboveCeiling,
        Status::WouldBlock,
        Status::Interrupted,
    ];

    /// Decodes a system call result: `Ok(value)` for non-negative results.
    pub fn from_result(raw: isize) -> Result<usize, Status> {
        if raw >= 0 {
            return Ok(raw as usize);
        }
        Err(Status::ALL
            .into_iter()
            .find(|s| *s as isize == raw)
            .unwrap_or(Status::InvalidArgument))
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::InvalidArgument => "invalid argument",
            Status::BadAddress => "bad address",
            Status::NoSuchSyscall => "no such system call",
            Status::NoMemory => "out of memory",
            Status::NoSuchThread => "no such thread",
            Status::AccessDenied => "access denied",
            Status::BadHandle => "bad handle",
            Status::Deadlock => "deadlock",
            Status::TimedOut => "timed out",
            Status::Disconnected => "disconnected",
            Status::BufferTooSmall => "buffer too small",
            Status::NotSupported => "not supported",
            Status::Busy => "busy",
            Status::NotFound => "not found",
            Status::AboveCeiling => "above the priority ceiling",
            Status::WouldBlock => "would block",
            Status::Interrupted => "interrupted",
        }
    }
}

/// Handle numbers with a fixed meaning, and handle rights.
///
/// A handle number names an entry of the calling process's handle table. The low 16 bits
/// are the slot index, the high 16 bits the slot's generation, so a closed handle number
/// stays invalid when its slot is reused.
pub mod handle {
    /// The kernel's core endpoint (`kl.core.Core`): every process may address it, the policy
    /// decides which requests to it are granted.
    pub const CORE: u32 = 0;
    /// The security module itself: a `Call` here is a `security` event on a message of the
    /// caller's security interface (its EDL `security` declaration). The answer is the
    /// verdict: success with an empty response, or `AccessDenied`. (Slot index 0 is never a
    /// table entry, so no handle number collides with it.)
    pub const SECURITY: u32 = 0xffff_0000;
    /// `Reply(RESUME, frame, size_of::<TrapFrame>())`: the calling thread continues with every
    /// register from the [`crate::trap::TrapFrame`] at `frame` (checked first; a bad frame is
    /// `InvalidArgument` and changes nothing). Slot index 0, like [`SECURITY`].
    pub const RESUME: u32 = 0xfffe_0000;
    /// `Recv` on any listening endpoint of the process.
    pub const ANY: u32 = u32::MAX;

    /// Right to pass the handle on in a message.
    pub const RIGHT_TRANSFER: u32 = 1 << 0;
    /// Right to make a copy with the same or fewer rights.
    pub const RIGHT_DUPLICATE: u32 = 1 << 1;
    /// Right to `Call` through a channel.
    pub const RIGHT_CALL: u32 = 1 << 2;
    /// Right to `Recv`/`Reply` on a listening endpoint.
    pub const RIGHT_RECV: u32 = 1 << 3;
    /// Right to start, wait for or end a process (task handles).
    pub const RIGHT_CONTROL: u32 = 1 << 4;
    /// Right to map a shared memory region readable.
    pub const RIGHT_MAP_READ: u32 = 1 << 5;
    /// Right to map a shared memory region writable.
    pub const RIGHT_MAP_WRITE: u32 = 1 << 6;
    /// Right to read from a pipe's read end (`pipe.Read`).
    pub const RIGHT_READ: u32 = 1 << 7;
    /// Right to write to a pipe's write end (`pipe.Write`).
    pub const RIGHT_WRITE: u32 = 1 << 8;
    /// Right to post notifications to a process (`task.Signal`; task handles). A handle
    /// with only this right (`task.Parent`) cannot start, wait for or end the process.
    pub const RIGHT_SIGNAL: u32 = 1 << 9;
    /// Every right.
    pub const RIGHTS_ALL: u32 = 0xffff;
}

/// Thread priorities, 0 (lowest) to [`priority::MAX`].
///
/// Each process has a *priority ceiling*: none of its threads runs above it (`thread.Create`
/// above it is refused with [`Status::AboveCeiling`]), and the processes it creates
/// (`task.Create`) have lower ceilings than its own. A process's main thread runs at its
/// ceiling.
pub mod priority {
    /// The highest priority.
    pub const MAX: u8 = 31;
    /// The ceiling of a process unless `init.yaml` gives another (`priority:`).
    pub const DEFAULT: u8 = 16;
    /// Einit's ceiling: above every program it starts, so that it creates, connects and
    /// starts them all before any of them runs.
    pub const EINIT: u8 = DEFAULT + 4;
}

/// `timeout_ms` value of `Call` and `Recv` that waits as long as it takes.
pub const TIMEOUT_FOREVER: usize = usize::MAX;

/// The layout of a program's address space (the user half).
pub mod layout {
    /// Nothing is ever mapped below this address, so null-pointer accesses fault.
    pub const USER_MIN: usize = 0x10000;
    /// Exclusive upper end of user addresses (fits 32-bit address spaces too).
    pub const USER_END: usize = 0x8000_0000;
    /// Top of the main thread's stack.
    pub const STACK_TOP: usize = 0x7fff_0000;
    /// Size of the main thread's stack.
    pub const STACK_SIZE: usize = 256 * 1024;
    /// An unmapped guard gap below every stack.
    pub const STACK_GUARD: usize = 64 * 1024;
}

/// Maximum bytes accepted by one `console.Write`.
pub const DEBUG_WRITE_MAX: usize = 4096;

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn status_round_trips_through_raw_results() {
        for status in Status::ALL {
            assert_eq!(Status::from_result(status as isize), Err(status));
        }
        assert_eq!(Status::from_result(7), Ok(7));
        assert_eq!(Status::from_result(-1000), Err(Status::InvalidArgument));
    }
}
