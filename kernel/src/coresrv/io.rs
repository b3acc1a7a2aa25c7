//! `io`: device access for drivers.
//!
//! `MapMmio` maps device registers into the caller, uncached and never executable. The range
//! must lie outside everything the boot memory map describes (RAM, reserved and firmware
//! ranges) and outside the devices the kernel drives itself (console, interrupt
//! controllers), so a driver can never reach memory or the kernel's own hardware this way.
//! Which process may map which device is the policy's business (`request ... endpoint=io,
//! method=MapMmio { assert (message.phys == ...) }`). Mapped registers are never a message
//! buffer: `usercopy` refuses device pages.
//!
//! `ClaimIrq` makes an interrupt line the caller's ([`crate::irq`]): a handle to the IRQ
//! object, which names it in `WaitIrq` (block until the line fired; the line is masked from
//! a firing until the next wait) and `ReleaseIrq`. Only the claiming process may wait for
//! the line; the handle cannot be transferred or duplicated. Which process may claim which
//! line is again the policy's business (`method=ClaimIrq { assert (message.line == ...) }`).
//!
//! x86 I/O ports (`ClaimPorts`) need the per-process I/O bitmaps of the driver work; until
//! then they answer [`Status::NotSupported`] after the policy has judged the request.

use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_io::{
    ClaimIrqError, ClaimIrqRequest, ClaimIrqResponse, ClaimPortsError, ClaimPortsRequest,
    ClaimPortsResponse, IoServer, MapMmioError, MapMmioRequest, MapMmioResponse, ReleaseIrqError,
    ReleaseIrqRequest, ReleaseIrqResponse, WaitIrqError, WaitIrqRequest, WaitIrqResponse,
};
use crate::idl::spec_rt::Handle;
use crate::mm::PAGE_SIZE;
use crate::object::Object;
use crate::sid::Sid;
use crate::task::TASKS;

/// Largest register window one `MapMmio` maps.
pub const MAX_MMIO: u64 = 16 * 1024 * 1024;

impl Caller {
    /// The IRQ object a handle of the caller names.
    fn irq(&self, handle: u32) -> Result<Sid, Status> {
        let tasks = TASKS.lock();
        let p = tasks
            .processes
            .get(&self.process)
            .ok_or(Status::NoSuchThread)?;
        match p.handles.get(handle)?.object {
            Object::Irq(sid) => Ok(sid),
            _ => Err(Status::BadHandle),
        }
    }
}

/// Whether `[start, end)` may be mapped as device registers by a process.
fn mappable(start: u64, end: u64) -> bool {
    !crate::mm::overlaps_memory(start, end)
        && !crate::arch::kernel_devices().any(|(s, e)| start < e && s < end)
}

impl IoServer for Caller {
    fn map_mmio(&mut self, r: MapMmioRequest) -> Result<MapMmioResponse, MapMmioError> {
        (|| {
            let page = PAGE_SIZE as u64;
            if r.size == 0 || r.size > MAX_MMIO {
                return Err(Status::InvalidArgument);
            }
            let start = r.phys & !(page - 1);
            let end = r
                .phys
                .checked_add(r.size)
                .and_then(|e| e.checked_next_multiple_of(page))
                .ok_or(Status::InvalidArgument)?;
            // Physical addresses above 2^48 exist on neither architecture's page tables.
            if end > 1 << 48 || !mappable(start, end) {
                return Err(Status::AccessDenied);
            }
            let count =
                usize::try_from((end - start) / page).map_err(|_| Status::InvalidArgument)?;
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            let addr = super::vmm::map_device(p, start, count, true)?;
            Ok(MapMmioResponse {
                addr: addr as u64 + (r.phys - start),
            })
        })()
        .map_err(|s| MapMmioError { status: code(s) })
    }

    fn claim_irq(&mut self, r: ClaimIrqRequest) -> Result<ClaimIrqResponse, ClaimIrqError> {
        (|| {
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            let sid = crate::irq::claim(r.line, self.process)?;
            // Neither transferable nor duplicable: the line stays with its owner.
            let rights = 0;
            match p.handles.insert(Object::Irq(sid), rights, None) {
                Ok(number) => Ok(ClaimIrqResponse {
                    irq: Handle {
                        handle: number,
                        rights_and_mode: rights,
                    },
                }),
                Err(e) => {
                    drop(tasks);
                    let _ = crate::irq::release(self.process, sid);
                    Err(e)
                }
            }
        })()
        .map_err(|s| ClaimIrqError { status: code(s) })
    }

    fn wait_irq(&mut self, r: WaitIrqRequest) -> Result<WaitIrqResponse, WaitIrqError> {
        (|| {
            let sid = self.irq(r.irq.handle)?;
            crate::irq::wait(self.thread, self.process, sid, r.timeoutms)?;
            Ok(WaitIrqResponse {})
        })()
        .map_err(|s| WaitIrqError { status: code(s) })
    }

    fn release_irq(&mut self, r: ReleaseIrqRequest) -> Result<ReleaseIrqResponse, ReleaseIrqError> {
        (|| {
            let sid = self.irq(r.irq.handle)?;
            crate::irq::release(self.process, sid)?;
            let mut tasks = TASKS.lock();
            if let Some(p) = tasks.processes.get_mut(&self.process) {
                let _ = p.handles.remove(r.irq.handle);
            }
            Ok(ReleaseIrqResponse {})
        })()
        .map_err(|s| ReleaseIrqError { status: code(s) })
    }

    fn claim_ports(
        &mut self,
        _r: ClaimPortsRequest,
    ) -> Result<ClaimPortsResponse, ClaimPortsError> {
        Err(ClaimPortsError {
            status: code(Status::NotSupported),
        })
    }
}
