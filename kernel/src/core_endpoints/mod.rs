//! The core endpoints: the kernel's own services, reached by `Call` on handle 0.
//!
//! To the security module the kernel is a process of class `kl.core.Core` whose endpoints
//! are described in `sysroot/kl/core/*.idl` (task, thread, channel, handle, vmm, time,
//! console, audit, io, romfs, futex, entropy, pipe, in `Core.edl` order). The server side is generated from those files
//! by `ostrog-idl` (see `build.rs`), so requests to the kernel are decoded by the same
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
mod entropy;
mod futex;
mod handle;
pub mod io;
pub mod pipe;
mod romfs;
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
    kl_core_audit, kl_core_channel, kl_core_console, kl_core_entropy, kl_core_futex,
    kl_core_handle, kl_core_io, kl_core_pipe, kl_core_romfs, kl_core_task, kl_core_thread,
    kl_core_time, kl_core_vmm,
};
use crate::object::Object;
use crate::sched;
use crate::sid::{ProcessId, ThreadId};
use crate::task::{State, TASKS};

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
    /// What the answer hands over, held until the answer's verdict.
    handover: Handover,
}

/// What a core service's answer hands its caller: a new handle, a new mapping, a new
/// thread, a consumed record. It is held until the response is judged and delivered
/// ([`Handover::keep`]); a response the policy denies, or one the caller cannot take, undoes
/// it ([`Handover::undo`]), so that what a withheld answer reports never comes into being.
/// What a granted request does without handing anything over (text written, a handle
/// closed, time slept) is the request's effect and decided by the request's verdict.
#[derive(Default)]
pub enum Handover {
    #[default]
    Nothing,
    /// A handle made for the answer (`handle.Duplicate`, `task.Create`, `io.ClaimIrq`,
    /// `romfs.Read`).
    Handle(u32),
    /// Two handles made for the answer (`pipe.Create`: the read end and the write end).
    Handles(u32, u32),
    /// An allocation turned into a shared region named by a new handle (`vmm.Share`).
    Shared { handle: u32, start: usize },
    /// Pages mapped for the answer (`vmm.Allocate`, `vmm.AllocateAt`, `vmm.Map`,
    /// `io.MapMmio`).
    Mapped { start: usize },
    /// A thread made for the answer: it becomes ready only when the answer is delivered.
    Thread(ThreadId),
    /// An exit status the answer carries (`thread.Join`): consumed only when delivered.
    Joined(ThreadId),
    /// Audit records the answer carries: taken from the log only when delivered.
    Audit(crate::security::AuditRead),
}

/// Serves one granted request: the encoded answer (response or error response) and what it
/// hands over, to be kept or undone by the caller of this function.
pub fn serve(
    thread: ThreadId,
    process: ProcessId,
    request: &mut [u8],
) -> (Result<Vec<u8>, Status>, Handover) {
    let mut caller = Caller {
        thread,
        process,
        handover: Handover::Nothing,
    };
    // Frames the kernel allocates for the request are the caller's ([`crate::mm::frame`]).
    let account = TASKS
        .lock()
        .processes
        .get(&process)
        .map_or(crate::mm::frame::KERNEL, |p| p.frames.id());
    let _charging = crate::mm::frame::charge_call(account);
    let answer = kl_core_core::dispatch(&mut caller, request).map_err(|_| Status::InvalidArgument);
    (answer, caller.handover)
}

impl Handover {
    /// The answer was delivered: what it reports becomes final.
    pub fn keep(self) {
        match self {
            Handover::Thread(sid) => {
                let mut tasks = TASKS.lock();
                if let Some(t) = tasks.threads.get_mut(&sid) {
                    t.state = State::Ready;
                    sched::make_ready(sid, t.priority);
                }
            }
            Handover::Joined(sid) => {
                let mut tasks = TASKS.lock();
                if let Some(t) = tasks.threads.get_mut(&sid) {
                    t.joined = true;
                }
                tasks.reap_pending = true;
            }
            Handover::Audit(read) => crate::security::commit_audit(&read),
            Handover::Nothing
            | Handover::Handle(_)
            | Handover::Handles(..)
            | Handover::Shared { .. }
            | Handover::Mapped { .. } => {}
        }
    }

    /// The answer was withheld from `process`: undo what it would have handed over.
    pub fn undo(self, process: ProcessId) {
        match self {
            Handover::Handle(number) => {
                // A task never started ends with the only handle to it.
                if let Ok(Object::Task(task)) = handle::close_in(process, number) {
                    let mut tasks = TASKS.lock();
                    if tasks.processes.get(&task).is_some_and(|p| !p.started) {
                        tasks.kill_process(task, -1);
                    }
                }
            }
            Handover::Handles(a, b) => {
                let _ = handle::close_in(process, a);
                let _ = handle::close_in(process, b);
            }
            Handover::Shared { handle, start } => vmm::unshare(process, handle, start),
            Handover::Mapped { start } => {
                let _ = vmm::unmap(&mut TASKS.lock(), process, start, None);
            }
            Handover::Thread(sid) => TASKS.lock().discard_unstarted_thread(sid),
            // Not marked joined, not taken from the log: a later call finds them again.
            Handover::Joined(_) | Handover::Audit(_) | Handover::Nothing => {}
        }
    }
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
    fn romfs(&mut self) -> &mut dyn kl_core_romfs::RomfsServer {
        self
    }
    fn futex(&mut self) -> &mut dyn kl_core_futex::FutexServer {
        self
    }
    fn entropy(&mut self) -> &mut dyn kl_core_entropy::EntropyServer {
        self
    }
    fn pipe(&mut self) -> &mut dyn kl_core_pipe::PipeServer {
        self
    }
}
