//! `console`: the kernel's debug console, output and input ([`crate::console_input`]).

use alloc::vec::Vec;

use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_console::{
    ConsoleServer, PollError, PollRequest, PollResponse, ReadError, ReadRequest, ReadResponse,
    WriteError, WriteRequest, WriteResponse,
};
use crate::task::TASKS;
use crate::{console_input, sched, time};

/// Most bytes one `Read` gives (`ReadMax` in `Console.idl`).
const READ_MAX: usize = 1024;

/// `timeout_ns` that waits as long as it takes.
const FOREVER: u64 = u64::MAX;

/// The instant a wait of `ns` from now ends at ([`time::now_ns`]).
fn deadline(ns: u64) -> u64 {
    time::deadline_after_ns(ns)
}

impl Caller {
    /// Waits until `ready` (run under the task lock, after polling the UART) gives a
    /// value, or the time-out: `WouldBlock` for 0, `TimedOut` when it passes. The next
    /// waiter is woken if input is left behind.
    fn wait_for_input<T>(
        &self,
        timeout_ns: u64,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Result<T, Status> {
        let until = (timeout_ns != FOREVER).then(|| deadline(timeout_ns));
        loop {
            {
                let mut tasks = TASKS.lock();
                if let Some(value) = ready() {
                    console_input::pass_on(&mut tasks);
                    return Ok(value);
                }
                if timeout_ns == 0 {
                    return Err(Status::WouldBlock);
                }
                if until.is_some_and(|at| time::now_ns() >= at) {
                    return Err(Status::TimedOut);
                }
                if !console_input::begin_wait(&mut tasks, self.thread) {
                    return Err(Status::NoSuchThread);
                }
            }
            let woke = sched::block_prepared(until);
            console_input::end_wait();
            woke?;
        }
    }
}

impl ConsoleServer for Caller {
    fn write(&mut self, request: WriteRequest) -> Result<WriteResponse, WriteError> {
        let written = u32::try_from(request.text.len()).map_err(|_| WriteError {
            status: code(Status::InvalidArgument),
        })?;
        let text = alloc::string::String::from_utf8_lossy(&request.text);
        // A system call runs with interrupts disabled; this one holds no lock, so the
        // timer and device interrupts may be taken between the chunks of a long text
        // (see `crate::console`).
        crate::arch::enable_interrupts();
        crate::console::print(format_args!("{text}"));
        crate::arch::disable_interrupts();
        Ok(WriteResponse { written })
    }

    fn read(&mut self, request: ReadRequest) -> Result<ReadResponse, ReadError> {
        (|| {
            let size = usize::try_from(request.size).map_err(|_| Status::InvalidArgument)?;
            if size == 0 || size > READ_MAX {
                return Err(Status::InvalidArgument);
            }
            // The answer's buffer is charged to the caller (`serve`).
            let mut data = Vec::new();
            data.try_reserve_exact(size).map_err(|_| Status::NoMemory)?;
            data.resize(size, 0);
            let n = self.wait_for_input(request.timeout_ns, || {
                Some(console_input::take(&mut data)).filter(|&n| n > 0)
            })?;
            data.truncate(n);
            Ok(ReadResponse { data })
        })()
        .map_err(|s| ReadError { status: code(s) })
    }

    fn poll(&mut self, request: PollRequest) -> Result<PollResponse, PollError> {
        let available = self
            .wait_for_input(request.timeout_ns, || {
                Some(console_input::available()).filter(|&n| n > 0)
            })
            .or_else(|s| match (s, request.timeout_ns) {
                // Not waiting: "none" is an answer, not an error.
                (Status::WouldBlock, 0) => Ok(0),
                (s, _) => Err(s),
            })
            .map_err(|s| PollError { status: code(s) })?;
        Ok(PollResponse {
            available: u32::try_from(available).unwrap_or(u32::MAX),
            dropped: console_input::dropped(),
        })
    }
}
