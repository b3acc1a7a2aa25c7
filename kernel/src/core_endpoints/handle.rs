//! `handle`: the caller's own handles: find by channel name, close, duplicate, SID.

use ostrog_abi::handle::RIGHT_DUPLICATE;
use ostrog_abi::Status;

use super::{code, Caller, Handover};
use crate::idl::kl_core_handle::{
    CloseError, CloseRequest, CloseResponse, DuplicateError, DuplicateRequest, DuplicateResponse,
    HandleServer, LookupError, LookupRequest, LookupResponse, SidError, SidRequest, SidResponse,
};
use crate::idl::spec_rt::Handle;
use crate::object::Object;
use crate::sid::ProcessId;
use crate::task::TASKS;

impl Caller {
    /// Runs `f` on the caller's handle table.
    pub fn with_handles<R>(
        &self,
        f: impl FnOnce(&mut crate::object::HandleTable) -> Result<R, Status>,
    ) -> Result<R, Status> {
        let mut tasks = TASKS.lock();
        let p = tasks
            .processes
            .get_mut(&self.process)
            .ok_or(Status::NoSuchThread)?;
        f(&mut p.handles)
    }
}

/// Closes handle `number` of `process`, and frees what only it held: a region no one maps,
/// a claimed interrupt line, a run-time channel. The object it named.
pub fn close_in(process: ProcessId, number: u32) -> Result<Object, Status> {
    let object = {
        let mut tasks = TASKS.lock();
        let closed = tasks
            .processes
            .get_mut(&process)
            .ok_or(Status::NoSuchThread)?
            .handles
            .remove(number)?;
        match closed.object {
            Object::Region(_) => super::vmm::free_unused_regions(&mut tasks),
            Object::Pipe { pipe, .. } => super::pipe::end_closed(&mut tasks, pipe),
            Object::Channel(c) => crate::ipc::free_unnamed_channel(&mut tasks, c),
            // A created or forked process never started goes with the last handle to it.
            Object::Task(t) => tasks.end_unstarted_orphans(&[t]),
            _ => {}
        }
        closed.object
    };
    // The only handle to a claimed line: closing it releases the line (and wakes a thread
    // still waiting on it, which takes the task lock).
    if let Object::Irq(sid) = object {
        let _ = crate::irq::release(process, sid);
    }
    Ok(object)
}

impl HandleServer for Caller {
    fn lookup(&mut self, request: LookupRequest) -> Result<LookupResponse, LookupError> {
        self.with_handles(|table| {
            let number = table.lookup(&request.name).ok_or(Status::NotFound)?;
            let rights = table.get(number)?.rights;
            Ok(LookupResponse {
                h: Handle {
                    handle: number,
                    rights_and_mode: rights,
                },
            })
        })
        .map_err(|s| LookupError { status: code(s) })
    }

    fn close(&mut self, request: CloseRequest) -> Result<CloseResponse, CloseError> {
        close_in(self.process, request.h.handle)
            .map(|_| CloseResponse {})
            .map_err(|s| CloseError { status: code(s) })
    }

    fn duplicate(
        &mut self,
        request: DuplicateRequest,
    ) -> Result<DuplicateResponse, DuplicateError> {
        self.with_handles(|table| {
            let entry = table.get_with(request.h.handle, RIGHT_DUPLICATE)?.clone();
            // Rights only ever shrink.
            let rights = entry.rights & request.rights;
            let number = table.insert(entry.object, rights, None)?;
            Ok((number, rights))
        })
        .map(|(number, rights)| {
            self.handover = Handover::Handle(number);
            DuplicateResponse {
                copy: Handle {
                    handle: number,
                    rights_and_mode: rights,
                },
            }
        })
        .map_err(|s| DuplicateError { status: code(s) })
    }

    fn sid(&mut self, request: SidRequest) -> Result<SidResponse, SidError> {
        self.with_handles(|table| {
            let entry = table.get(request.h.handle)?;
            Ok(SidResponse {
                sid: entry.object.sid().0,
            })
        })
        .map_err(|s| SidError { status: code(s) })
    }
}
