//! What the Ostrog kernel and the programs running on it share: system call numbers, the
//! register convention, status codes, and the layout of a program's address space.
//!
//! This crate is `no_std`, has no dependencies, and contains no code that runs: only numbers
//! both sides must agree on.
//!
//! ## System calls
//!
//! Ostrog has three system calls, `Call`, `Recv` and `Reply` (synchronous IPC). Kernel
//! services are *core endpoints* reached through `Call`. Until the IPC path exists, a few
//! services (debug console, exit, yield, threads) have their own numbers on the same entry
//! path; they move behind `Call` to the core endpoints without changing the entry code.
//!
//! Register convention:
//!
//! | | number | arguments | results |
//! |---|---|---|---|
//! | x86_64 (`syscall`) | `rax` | `rdi rsi rdx r10 r8 r9` | `rax` (status or value), `rdx` |
//! | AArch64 (`svc #0`) | `x8` | `x0 .. x5` | `x0` (status or value), `x1` |
//!
//! A negative result is a [`Status`]; zero or positive is success (and may carry a value).

#![no_std]
pub mod message;

/// System call numbers.
pub mod syscall {
    /// Send a request and wait for the response (IPC).
    pub const CALL: usize = 0;
    /// Wait for a request (IPC).
    pub const RECV: usize = 1;
    /// Answer a request (IPC).
    pub const REPLY: usize = 2;

    /// Write bytes to the kernel console: `(ptr, len)`.
    pub const DEBUG_WRITE: usize = 16;
    /// End the calling process: `(status)`. Does not return.
    pub const PROCESS_EXIT: usize = 17;
    /// Give up the rest of the time slice.
    pub const YIELD: usize = 18;
    /// Create and start a thread in the calling process:
    /// `(entry, stack_top, argument, priority)` -> thread id.
    pub const THREAD_CREATE: usize = 19;
    /// End the calling thread: `(status)`. Does not return. The last thread to exit ends
    /// the process.
    pub const THREAD_EXIT: usize = 20;
    /// Wait for a thread of the calling process to end: `(thread id)` -> its exit status.
    pub const THREAD_JOIN: usize = 21;
    /// Does nothing and returns 0: the cost of entering and leaving the kernel.
    pub const NULL: usize = 22;
    /// Sleep for at least `(milliseconds)`.
    pub const SLEEP: usize = 23;
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
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::InvalidArgument,
        Status::BadAddress,
        Status::NoSuchSyscall,
        Status::NoMemory,
        Status::NoSuchThread,
        Status::AccessDenied,
        Status::BadHandle,
        Status::Deadlock,
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
        }
    }
}

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

/// Maximum bytes accepted by one `DEBUG_WRITE`.
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
