//! `console`: the kernel's debug console.

use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_console::{ConsoleServer, WriteError, WriteRequest, WriteResponse};

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
}
