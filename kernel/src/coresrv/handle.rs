//! `handle`: the caller's own handles: find by channel name, close, duplicate, SID.

use ostrog_abi::handle::RIGHT_DUPLICATE;
use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_handle::{
    CloseError, CloseRequest, CloseResponse, DuplicateError, DuplicateRequest, DuplicateResponse,
    HandleServer, LookupError, LookupRequest, LookupResponse, SidError, SidRequest, SidResponse,
};
use crate::idl::spec_rt::Handle;
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
        let closed = self
            .with_handles(|table| table.remove(request.h.handle))
            .map_err(|s| CloseError { status: code(s) })?;
        match closed.object {
            crate::object::Object::Region(_) => {
                crate::coresrv::vmm::free_unused_regions(&mut TASKS.lock());
            }
            // The only handle to a claimed line: closing it releases the line.
            crate::object::Object::Irq(sid) => {
                let _ = crate::irq::release(self.process, sid);
            }
            _ => {}
        }
        Ok(CloseResponse {})
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
            Ok(DuplicateResponse {
                copy: Handle {
                    handle: number,
                    rights_and_mode: rights,
                },
            })
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
