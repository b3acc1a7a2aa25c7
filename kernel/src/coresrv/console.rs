//! `console`: the kernel's debug console.

use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_console::{ConsoleServer, WriteError, WriteRequest, WriteResponse};

impl ConsoleServer for Caller {
    fn write(&mut self, request: WriteRequest) -> Result<WriteResponse, WriteError> {
        let written = u32::try_from(request.text.len()).map_err(|_| WriteError {
            status: code(Status::InvalidArgument),
        })?;
        crate::console::print(format_args!(
            "{}",
            alloc::string::String::from_utf8_lossy(&request.text)
        ));
        Ok(WriteResponse { written })
    }
}
