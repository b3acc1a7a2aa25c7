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
//! Interrupt delivery to processes (`ClaimIrq`) and x86 I/O ports (`ClaimPorts`) need the
//! IRQ objects and per-process I/O bitmaps of the driver work; until then those answer
//! [`Status::NotSupported`] after the policy has judged the request like any other.

use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_io::{
    ClaimIrqError, ClaimIrqRequest, ClaimIrqResponse, ClaimPortsError, ClaimPortsRequest,
    ClaimPortsResponse, IoServer, MapMmioError, MapMmioRequest, MapMmioResponse,
};
use crate::mm::PAGE_SIZE;
use crate::task::TASKS;

/// Largest register window one `MapMmio` maps.
pub const MAX_MMIO: u64 = 16 * 1024 * 1024;

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

    fn claim_irq(&mut self, _r: ClaimIrqRequest) -> Result<ClaimIrqResponse, ClaimIrqError> {
        Err(ClaimIrqError {
            status: code(Status::NotSupported),
        })
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
