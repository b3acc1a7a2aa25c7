//! `vmm`: memory for the calling process.
//!
//! `Allocate` maps fresh zeroed pages in the allocation window of the address space
//! ([`WINDOW`]), first fit, with an unmapped guard page on each side, so that a thread stack
//! or buffer allocated this way faults on overflow instead of running into its neighbour.
//! Only what `Allocate` mapped can be freed or re-protected, so a
//! process cannot unmap its own code or stack by accident or make its code writable. W^X
//! holds for every page: writable and executable together is refused.

use core::ops::Range;

use ostrog_abi::Status;

use super::{code, Caller};
use crate::boot::PhysAddr;
use crate::idl::kl_core_vmm::{
    AllocateError, AllocateRequest, AllocateResponse, FreeError, FreeRequest, FreeResponse,
    ProtectError, ProtectRequest, ProtectResponse, VmmServer,
};
use crate::mm::{frame, Access, PAGE_SIZE};
use crate::task::TASKS;

/// Where `Allocate` places memory.
pub const WINDOW: Range<usize> = 0x4000_0000..0x7000_0000;
/// Largest single allocation.
pub const MAX_ALLOCATION: usize = 64 * 1024 * 1024;

const WRITE: u32 = 1;
const EXECUTE: u32 = 2;

fn access(flags: u32) -> Result<Access, Status> {
    if flags & !(WRITE | EXECUTE) != 0 || flags == WRITE | EXECUTE {
        return Err(Status::InvalidArgument);
    }
    Ok(Access {
        write: flags & WRITE != 0,
        execute: flags & EXECUTE != 0,
    })
}

/// A page-aligned range of whole pages inside the window: (start, pages).
fn pages(addr: u64, size: u64) -> Result<(usize, usize), Status> {
    let addr = usize::try_from(addr).map_err(|_| Status::InvalidArgument)?;
    let size = usize::try_from(size).map_err(|_| Status::InvalidArgument)?;
    if size == 0 || size > MAX_ALLOCATION || !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Status::InvalidArgument);
    }
    let count = size.div_ceil(PAGE_SIZE);
    let end = addr
        .checked_add(count * PAGE_SIZE)
        .ok_or(Status::InvalidArgument)?;
    if addr < WINDOW.start || end > WINDOW.end {
        return Err(Status::InvalidArgument);
    }
    Ok((addr, count))
}

impl VmmServer for Caller {
    fn allocate(&mut self, r: AllocateRequest) -> Result<AllocateResponse, AllocateError> {
        (|| {
            let rights = access(r.flags)?;
            let size = usize::try_from(r.size).map_err(|_| Status::InvalidArgument)?;
            if size == 0 || size > MAX_ALLOCATION {
                return Err(Status::InvalidArgument);
            }
            let count = size.div_ceil(PAGE_SIZE);
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            // First fit: the lowest run of `count` unmapped pages with an unmapped guard page
            // on each side.
            let mut run_start = WINDOW.start;
            let mut run = 0;
            let mut va = WINDOW.start;
            while run < count + 2 && va < WINDOW.end {
                if p.space.translate(va).is_some() {
                    run = 0;
                    run_start = va + PAGE_SIZE;
                } else {
                    run += 1;
                }
                va += PAGE_SIZE;
            }
            if run < count + 2 {
                return Err(Status::NoMemory);
            }
            let start = run_start + PAGE_SIZE;
            for i in 0..count {
                let page = start + i * PAGE_SIZE;
                let mapped = frame::alloc().ok_or(Status::NoMemory).and_then(|f| {
                    match p.space.map(page, f, rights) {
                        Ok(()) => Ok(()),
                        Err(_) => {
                            frame::free(PhysAddr(f.0));
                            Err(Status::NoMemory)
                        }
                    }
                });
                if let Err(e) = mapped {
                    // Undo the pages mapped so far: all or nothing.
                    for j in 0..i {
                        if let Ok(f) = p.space.unmap(start + j * PAGE_SIZE) {
                            frame::free(f);
                        }
                    }
                    return Err(e);
                }
            }
            p.allocations.push((start, count));
            Ok(AllocateResponse { addr: start as u64 })
        })()
        .map_err(|s| AllocateError { status: code(s) })
    }

    fn free(&mut self, r: FreeRequest) -> Result<FreeResponse, FreeError> {
        (|| {
            let (start, count) = pages(r.addr, r.size)?;
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            let index = p
                .allocations
                .iter()
                .position(|&a| a == (start, count))
                .ok_or(Status::InvalidArgument)?;
            p.allocations.swap_remove(index);
            for i in 0..count {
                if let Ok(f) = p.space.unmap(start + i * PAGE_SIZE) {
                    frame::free(f);
                }
            }
            Ok(FreeResponse {})
        })()
        .map_err(|s| FreeError { status: code(s) })
    }

    fn protect(&mut self, r: ProtectRequest) -> Result<ProtectResponse, ProtectError> {
        (|| {
            let rights = access(r.flags)?;
            let (start, count) = pages(r.addr, r.size)?;
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            let inside = p
                .allocations
                .iter()
                .any(|&(a, n)| start >= a && start + count * PAGE_SIZE <= a + n * PAGE_SIZE);
            if !inside {
                return Err(Status::InvalidArgument);
            }
            for i in 0..count {
                p.space
                    .protect(start + i * PAGE_SIZE, rights)
                    .map_err(|_| Status::InvalidArgument)?;
            }
            Ok(ProtectResponse {})
        })()
        .map_err(|s| ProtectError { status: code(s) })
    }
}
