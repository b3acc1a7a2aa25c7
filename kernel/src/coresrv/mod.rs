//! The core endpoints: the kernel's own services, reached by `Call` on handle 0.
//!
//! To the security module the kernel is a process of class `kl.core.Core` whose endpoints
//! are described in `sysroot/kl/core/*.idl` (task, thread, channel, handle, vmm, time,
//! console, audit, io, in `Core.edl` order). The server side is generated from those files
//! by `ostrog-spec` (see `build.rs`), so requests to the kernel are decoded by the same
//! validating code as requests to any server, and a policy written for `kl.core.Core`
//! applies unchanged. Each endpoint is one module implementing its generated server trait
//! for [`Caller`]: the thread and process on whose behalf the kernel acts.
//!
//! A request arrives here only after the security module granted it (see [`crate::ipc`]).
//! Every method answers with its response or with an error response carrying the
//! [`Status`] as `status`; methods that end the caller (`task.Exit`, `thread.Exit`) never
//! answer.

mod audit;
mod channel;
mod console;
mod handle;
pub mod io;
mod task;
mod thread;
mod time;
pub mod vmm;

use alloc::vec::Vec;

use ostrog_abi::Status;
use ostrog_ksm::ClassId;
use spin::Once;

use crate::idl::kl_core_core::{self, CoreEndpoints};
use crate::idl::{
    kl_core_audit, kl_core_channel, kl_core_console, kl_core_handle, kl_core_io, kl_core_task,
    kl_core_thread, kl_core_time, kl_core_vmm,
};
use crate::sid::{ProcessId, ThreadId};

pub use task::{start_kernel_and_einit, StartError};

static CLASS: Once<ClassId> = Once::new();

/// The class number of `kl.core.Core` (denied everything if the policy does not know it).
pub fn class() -> ClassId {
    *CLASS.call_once(|| {
        crate::security::class_id(crate::security::CORE_CLASS_NAME).unwrap_or(ClassId::MAX)
    })
}

/// On whose behalf the kernel serves a request.
pub struct Caller {
    pub thread: ThreadId,
    pub process: ProcessId,
}

/// Serves one granted request; the encoded answer (response or error response).
pub fn serve(thread: ThreadId, process: ProcessId, request: &mut [u8]) -> Result<Vec<u8>, Status> {
    let mut caller = Caller { thread, process };
    kl_core_core::dispatch(&mut caller, request).map_err(|_| Status::InvalidArgument)
}

/// The error-parameter value for a status.
fn code(status: Status) -> i32 {
    status as i32
}

impl CoreEndpoints for Caller {
    fn task(&mut self) -> &mut dyn kl_core_task::TaskServer {
        self
    }
    fn thread(&mut self) -> &mut dyn kl_core_thread::ThreadServer {
        self
    }
    fn channel(&mut self) -> &mut dyn kl_core_channel::ChannelServer {
        self
    }
    fn handle(&mut self) -> &mut dyn kl_core_handle::HandleServer {
        self
    }
    fn vmm(&mut self) -> &mut dyn kl_core_vmm::VmmServer {
        self
    }
    fn time(&mut self) -> &mut dyn kl_core_time::TimeServer {
        self
    }
    fn console(&mut self) -> &mut dyn kl_core_console::ConsoleServer {
        self
    }
    fn audit(&mut self) -> &mut dyn kl_core_audit::AuditServer {
        self
    }
    fn io(&mut self) -> &mut dyn kl_core_io::IoServer {
        self
    }
}
