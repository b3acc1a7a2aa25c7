//! `vmm`: memory for the calling process.
//!
//! `Allocate` maps fresh zeroed pages in the allocation window of the address space
//! ([`WINDOW`]), first fit, with an unmapped guard page on each side, so that a thread stack
//! or buffer allocated this way faults on overflow instead of running into its neighbour.
//! Memory can be shared: `Share` turns an allocation into a *region* (a kernel object with a
//! SID, named by a handle that can travel in messages), and `Map` maps a region another
//! process shared into the caller. A region's frames belong to the region, not to any
//! address space: they are freed when no process maps it and no handle names it.
//!
//! `AllocateAt` maps fresh pages at an address the caller chooses, anywhere in the user
//! range that holds nothing yet (what a Linux `mmap` with `MAP_FIXED` or an ELF loader
//! needs): not over the program, the main stack or its guard gap, or any other allocation.
//!
//! Only private memory (what `Allocate` and `AllocateAt` mapped) can be freed or
//! re-protected, by any page range of it (several allocations, or part of one: a partial
//! `Free` splits allocations), so a process cannot unmap its own code or stack by accident or
//! make its code writable. A whole shared or device mapping can be freed too. Every request
//! is checked completely before anything changes. W^X holds for every page: writable and
//! executable together is refused. Flag `NONE` makes pages inaccessible while they keep
//! their frames and contents (guard pages; `PROT_NONE`).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Range;

use ostrog_abi::handle::{RIGHT_DUPLICATE, RIGHT_MAP_READ, RIGHT_MAP_WRITE, RIGHT_TRANSFER};
use ostrog_abi::layout;
use ostrog_abi::Status;

use super::{code, Caller, Handover};
use crate::arch::AddressSpace;
use crate::boot::PhysAddr;
use crate::idl::kl_core_vmm::{
    AllocateAtError, AllocateAtRequest, AllocateAtResponse, AllocateError, AllocateRequest,
    AllocateResponse, FreeError, FreeRequest, FreeResponse, MapError, MapRequest, MapResponse,
    ProtectError, ProtectRequest, ProtectResponse, ShareError, ShareRequest, ShareResponse,
    VmmServer,
};
use crate::idl::spec_rt::Handle;
use crate::mm::{frame, Access, PAGE_SIZE};
use crate::object::Object;
use crate::sid::{ProcessId, RegionId};
use crate::task::{Process, Tasks, TASKS};

/// Where `Allocate` places memory.
pub const WINDOW: Range<usize> = 0x4000_0000..0x7000_0000;
/// Largest single allocation.
pub const MAX_ALLOCATION: usize = 64 * 1024 * 1024;
/// Mapped ranges one process may hold (each costs kernel memory to track).
pub const MAX_ALLOCATIONS: usize = 1024;

const WRITE: u32 = 1;
const EXECUTE: u32 = 2;
/// No access at all (alone): a guard page that keeps its frame.
const NONE: u32 = 4;

/// A range of the allocation window in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    pub start: usize,
    pub pages: usize,
    /// Whose pages they are.
    pub backing: Backing,
}

impl Allocation {
    /// The first address after it.
    pub fn end(&self) -> usize {
        self.start + self.pages * PAGE_SIZE
    }
}

/// Who owns the pages of an [`Allocation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// The process's own frames (`Allocate`): freed with the allocation.
    Private,
    /// A shared region's frames (`Share`, `Map`): they stay with the region.
    Region(RegionId),
    /// Device registers (`io.MapMmio`): not RAM, never freed.
    Device,
    /// The process's own physically contiguous frames (`io.AllocDma`): freed with the
    /// allocation, only as a whole.
    Dma,
}

impl Backing {
    /// Whether the frames belong to the allocation (freed when it is unmapped).
    fn owns_frames(self) -> bool {
        matches!(self, Backing::Private | Backing::Dma)
    }
}

/// A shared memory region.
pub struct Region {
    pub sid: RegionId,
    pub frames: Vec<PhysAddr>,
    /// Address spaces it is mapped in.
    pub mappings: usize,
}

/// Unmaps every page of a process that is going away and is not its own (region and device
/// mappings), so that dropping its address space frees only its own frames.
pub fn unmap_regions(p: &mut Process, regions: &mut BTreeMap<RegionId, Region>) {
    for a in core::mem::take(&mut p.allocations) {
        if a.backing.owns_frames() {
            p.allocations.push(a);
            continue;
        }
        for i in 0..a.pages {
            let _ = p.space.unmap(a.start + i * PAGE_SIZE);
        }
        if let Backing::Region(sid) = a.backing {
            if let Some(r) = regions.get_mut(&sid) {
                r.mappings = r.mappings.saturating_sub(1);
            }
        }
    }
}

/// Maps `frames` at consecutive pages from `start`: all or nothing. On failure the pages
/// mapped so far are unmapped again and their frames left to the caller.
fn map_all(
    space: &mut AddressSpace,
    start: usize,
    frames: impl Iterator<Item = PhysAddr>,
    access: Access,
) -> Result<(), Status> {
    for (i, f) in frames.enumerate() {
        if space.map(start + i * PAGE_SIZE, f, access).is_err() {
            for j in 0..i {
                let _ = space.unmap(start + j * PAGE_SIZE);
            }
            return Err(Status::NoMemory);
        }
    }
    Ok(())
}

/// Maps `count` pages of device registers from `phys` into a process (uncached, never
/// executable); their address.
pub fn map_device(p: &mut Process, phys: u64, count: usize, write: bool) -> Result<usize, Status> {
    let start = find_free(p, count)?;
    let access = Access {
        write,
        execute: false,
        device: true,
        none: false,
    };
    let registers = (0..count).map(|i| PhysAddr(phys + (i * PAGE_SIZE) as u64));
    map_all(&mut p.space, start, registers, access)?;
    p.allocations.push(Allocation {
        start,
        pages: count,
        backing: Backing::Device,
    });
    Ok(start)
}

/// Maps `count` fresh zeroed, physically contiguous frames into a process (writable, never
/// executable) for a device to reach by DMA; their address and the first frame.
pub fn map_dma(p: &mut Process, count: usize) -> Result<(usize, PhysAddr), Status> {
    let start = find_free(p, count)?;
    p.allocations.try_reserve(1).map_err(|_| Status::NoMemory)?;
    let first = frame::alloc_contiguous(count, 1).ok_or(Status::NoMemory)?;
    let frames = (0..count).map(|i| PhysAddr(first.0 + (i * PAGE_SIZE) as u64));
    let access = Access {
        write: true,
        execute: false,
        device: false,
        none: false,
    };
    if let Err(e) = map_all(&mut p.space, start, frames.clone(), access) {
        frames.for_each(frame::free);
        return Err(e);
    }
    p.allocations.push(Allocation {
        start,
        pages: count,
        backing: Backing::Dma,
    });
    Ok((start, first))
}

/// Frees the regions no process maps and no handle names.
pub fn free_unused_regions(tasks: &mut Tasks) {
    let named: Vec<RegionId> = tasks
        .processes
        .values()
        .flat_map(|p| p.handles.entries())
        .filter_map(|e| match e.object {
            Object::Region(sid) => Some(sid),
            _ => None,
        })
        .collect();
    let unused: Vec<RegionId> = tasks
        .regions
        .values()
        .filter(|r| r.mappings == 0 && !named.contains(&r.sid))
        .map(|r| r.sid)
        .collect();
    for sid in unused {
        if let Some(r) = tasks.regions.remove(&sid) {
            for f in r.frames {
                frame::free(f);
            }
        }
    }
}

/// Unmaps the allocation of `process` starting at `start` (of `count` pages, if given):
/// private frames are freed, a region loses a mapping (and is freed if no one maps or
/// names it), device pages are just unmapped.
pub fn unmap(
    tasks: &mut Tasks,
    process: ProcessId,
    start: usize,
    count: Option<usize>,
) -> Result<(), Status> {
    let p = tasks
        .processes
        .get_mut(&process)
        .ok_or(Status::NoSuchThread)?;
    let index = p
        .allocations
        .iter()
        .position(|a| a.start == start && count.is_none_or(|c| c == a.pages))
        .ok_or(Status::InvalidArgument)?;
    let a = p.allocations.swap_remove(index);
    for i in 0..a.pages {
        if let Ok(f) = p.space.unmap(start + i * PAGE_SIZE) {
            // A region's frames stay with the region; device pages are not RAM.
            if a.backing.owns_frames() {
                frame::free(f);
            }
        }
    }
    if let Backing::Region(sid) = a.backing {
        if let Some(r) = tasks.regions.get_mut(&sid) {
            r.mappings = r.mappings.saturating_sub(1);
        }
        free_unused_regions(tasks);
    }
    Ok(())
}

/// Undoes a `Share` whose answer was withheld: the handle is closed and the allocation at
/// `start` owns its frames again, as before.
pub fn unshare(process: ProcessId, handle: u32, start: usize) {
    let mut tasks = TASKS.lock();
    let Tasks {
        processes, regions, ..
    } = &mut *tasks;
    let Some(p) = processes.get_mut(&process) else {
        return;
    };
    let Ok(entry) = p.handles.remove(handle) else {
        return;
    };
    let Object::Region(sid) = entry.object else {
        return;
    };
    if let Some(a) = p.allocations.iter_mut().find(|a| a.start == start) {
        if a.backing == Backing::Region(sid) {
            a.backing = Backing::Private;
            // Its frames are the allocation's again: the region must not free them.
            regions.remove(&sid);
        }
    }
}

/// The allocations of `p` as sorted `(start, end)` ranges (they never overlap).
fn sorted_ranges(p: &Process) -> Result<Vec<(usize, usize)>, Status> {
    let mut ranges = Vec::new();
    ranges
        .try_reserve_exact(p.allocations.len())
        .map_err(|_| Status::NoMemory)?;
    ranges.extend(p.allocations.iter().map(|a| (a.start, a.end())));
    ranges.sort_unstable();
    Ok(ranges)
}

/// The lowest run of `count` free pages in the window (neither mapped nor allocated, so not
/// an inaccessible guard page either) with a free guard page on each side; its first page.
fn find_free(p: &Process, count: usize) -> Result<usize, Status> {
    if p.allocations.len() >= MAX_ALLOCATIONS {
        return Err(Status::NoMemory);
    }
    let ranges = sorted_ranges(p)?;
    let mut next = 0;
    let space = &p.space;
    let mut run_start = WINDOW.start;
    let mut run = 0;
    let mut va = WINDOW.start;
    while run < count + 2 && va < WINDOW.end {
        while ranges.get(next).is_some_and(|&(_, end)| end <= va) {
            next += 1;
        }
        let allocated = ranges.get(next).is_some_and(|&(start, _)| start <= va);
        if allocated || space.translate(va).is_some() {
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
    Ok(run_start + PAGE_SIZE)
}

/// Whether `[start, end)` lies entirely in private allocations of `p` (one or several).
fn private_covers(p: &Process, start: usize, end: usize) -> Result<bool, Status> {
    let mut pieces = Vec::new();
    for a in &p.allocations {
        if a.start < end && a.end() > start {
            if a.backing != Backing::Private {
                return Ok(false);
            }
            pieces.try_reserve(1).map_err(|_| Status::NoMemory)?;
            pieces.push((a.start, a.end()));
        }
    }
    pieces.sort_unstable();
    let mut reached = start;
    for (s, e) in pieces {
        if s > reached {
            return Ok(false);
        }
        reached = reached.max(e);
    }
    Ok(reached >= end)
}

/// Frees the private pages `[start, end)` of `p` (checked by [`private_covers`]), splitting
/// the allocations it cuts. Refused with `NoMemory`, changing nothing, if the pieces left
/// would exceed [`MAX_ALLOCATIONS`].
fn free_private(p: &mut Process, start: usize, end: usize) -> Result<(), Status> {
    let (mut cut, mut pieces) = (0, 0);
    for a in p
        .allocations
        .iter()
        .filter(|a| a.start < end && a.end() > start)
    {
        cut += 1;
        pieces += usize::from(a.start < start) + usize::from(a.end() > end);
    }
    let total = p.allocations.len() - cut + pieces;
    if total > MAX_ALLOCATIONS {
        return Err(Status::NoMemory);
    }
    p.allocations
        .try_reserve(pieces)
        .map_err(|_| Status::NoMemory)?;
    let mut kept = Vec::new();
    kept.try_reserve_exact(pieces)
        .map_err(|_| Status::NoMemory)?;
    p.allocations.retain(|a| {
        if a.start < end && a.end() > start {
            if a.start < start {
                kept.push(Allocation {
                    start: a.start,
                    pages: (start - a.start) / PAGE_SIZE,
                    backing: a.backing,
                });
            }
            if a.end() > end {
                kept.push(Allocation {
                    start: end,
                    pages: (a.end() - end) / PAGE_SIZE,
                    backing: a.backing,
                });
            }
            false
        } else {
            true
        }
    });
    p.allocations.extend(kept);
    for va in (start..end).step_by(PAGE_SIZE) {
        if let Ok(f) = p.space.unmap(va) {
            frame::free(f);
        }
    }
    Ok(())
}

fn access(flags: u32) -> Result<Access, Status> {
    if flags & !(WRITE | EXECUTE | NONE) != 0
        || flags == WRITE | EXECUTE
        || (flags & NONE != 0 && flags != NONE)
    {
        return Err(Status::InvalidArgument);
    }
    Ok(Access {
        write: flags & WRITE != 0,
        execute: flags & EXECUTE != 0,
        device: false,
        none: flags == NONE,
    })
}

/// A page-aligned range of whole pages inside `within`, at most `max` bytes (rounded up):
/// (start, pages).
fn pages_in(
    addr: u64,
    size: u64,
    within: Range<usize>,
    max: usize,
) -> Result<(usize, usize), Status> {
    let addr = usize::try_from(addr).map_err(|_| Status::InvalidArgument)?;
    let size = usize::try_from(size).map_err(|_| Status::InvalidArgument)?;
    if size == 0 || size > max || !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Status::InvalidArgument);
    }
    let count = size.div_ceil(PAGE_SIZE);
    let end = count
        .checked_mul(PAGE_SIZE)
        .and_then(|bytes| addr.checked_add(bytes))
        .ok_or(Status::InvalidArgument)?;
    if addr < within.start || end > within.end {
        return Err(Status::InvalidArgument);
    }
    Ok((addr, count))
}

/// A page-aligned range of whole user pages (any length): (start, pages).
fn user_pages(addr: u64, size: u64) -> Result<(usize, usize), Status> {
    pages_in(addr, size, layout::USER_MIN..layout::USER_END, usize::MAX)
}

/// The main thread's stack and the unmapped guard gap below it: never `AllocateAt`.
const MAIN_STACK: Range<usize> =
    layout::STACK_TOP - layout::STACK_SIZE - layout::STACK_GUARD..layout::STACK_TOP;

/// `count` fresh zeroed frames, or none.
fn fresh_frames(count: usize) -> Result<Vec<PhysAddr>, Status> {
    let mut frames = Vec::new();
    frames
        .try_reserve_exact(count)
        .map_err(|_| Status::NoMemory)?;
    for _ in 0..count {
        match frame::alloc() {
            Some(f) => frames.push(f),
            None => {
                frames.into_iter().for_each(frame::free);
                return Err(Status::NoMemory);
            }
        }
    }
    Ok(frames)
}

/// Maps fresh frames at `start` (`count` pages, checked free) and records the private
/// allocation.
fn allocate_private(
    p: &mut Process,
    start: usize,
    count: usize,
    rights: Access,
) -> Result<(), Status> {
    p.allocations.try_reserve(1).map_err(|_| Status::NoMemory)?;
    let frames = fresh_frames(count)?;
    if let Err(e) = map_all(&mut p.space, start, frames.iter().copied(), rights) {
        frames.into_iter().for_each(frame::free);
        return Err(e);
    }
    p.allocations.push(Allocation {
        start,
        pages: count,
        backing: Backing::Private,
    });
    Ok(())
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
            let start = find_free(p, count)?;
            allocate_private(p, start, count, rights)?;
            self.handover = Handover::Mapped { start };
            Ok(AllocateResponse { addr: start as u64 })
        })()
        .map_err(|s| AllocateError { status: code(s) })
    }

    fn allocate_at(&mut self, r: AllocateAtRequest) -> Result<AllocateAtResponse, AllocateAtError> {
        (|| {
            let rights = access(r.flags)?;
            let (start, count) = pages_in(
                r.addr,
                r.size,
                layout::USER_MIN..layout::USER_END,
                MAX_ALLOCATION,
            )?;
            let end = start + count * PAGE_SIZE;
            if start < MAIN_STACK.end && end > MAIN_STACK.start {
                return Err(Status::Busy);
            }
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            // Any allocation (also an inaccessible one, which `translate` does not see), then
            // anything mapped otherwise (the program image).
            if p.allocations
                .iter()
                .any(|a| a.start < end && a.end() > start)
                || (start..end)
                    .step_by(PAGE_SIZE)
                    .any(|va| p.space.translate(va).is_some())
            {
                return Err(Status::Busy);
            }
            if p.allocations.len() >= MAX_ALLOCATIONS {
                return Err(Status::NoMemory);
            }
            allocate_private(p, start, count, rights)?;
            self.handover = Handover::Mapped { start };
            Ok(AllocateAtResponse {
                start: start as u64,
            })
        })()
        .map_err(|s| AllocateAtError { status: code(s) })
    }

    fn free(&mut self, r: FreeRequest) -> Result<FreeResponse, FreeError> {
        (|| {
            let (start, count) = user_pages(r.addr, r.size)?;
            let end = start + count * PAGE_SIZE;
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            // A whole allocation or mapping of any kind, as it was made.
            if p.allocations
                .iter()
                .any(|a| (a.start, a.pages) == (start, count))
            {
                return unmap(&mut tasks, self.process, start, Some(count));
            }
            // Otherwise private pages only, all of them allocated.
            if !private_covers(p, start, end)? {
                return Err(Status::InvalidArgument);
            }
            free_private(p, start, end)
        })()
        .map(|()| FreeResponse {})
        .map_err(|s| FreeError { status: code(s) })
    }

    fn protect(&mut self, r: ProtectRequest) -> Result<ProtectResponse, ProtectError> {
        (|| {
            let rights = access(r.flags)?;
            let (start, count) = user_pages(r.addr, r.size)?;
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            // Only private memory: a region's rights are fixed when it is mapped.
            if !private_covers(p, start, start + count * PAGE_SIZE)? {
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

    fn share(&mut self, r: ShareRequest) -> Result<ShareResponse, ShareError> {
        (|| {
            let (start, count) = user_pages(r.addr, r.size)?;
            let mut tasks = TASKS.lock();
            let Tasks {
                processes, regions, ..
            } = &mut *tasks;
            let p = processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            let a = p
                .allocations
                .iter_mut()
                .find(|a| (a.start, a.pages) == (start, count))
                .ok_or(Status::InvalidArgument)?;
            if a.backing != Backing::Private {
                return Err(Status::Busy);
            }
            let mut frames = Vec::new();
            for i in 0..count {
                let (pa, access) = p
                    .space
                    .translate(start + i * PAGE_SIZE)
                    .ok_or(Status::InvalidArgument)?;
                if access.execute {
                    // Code is not shared.
                    return Err(Status::InvalidArgument);
                }
                frames.push(pa);
            }
            let sid = RegionId::new();
            let rights = RIGHT_TRANSFER | RIGHT_DUPLICATE | RIGHT_MAP_READ | RIGHT_MAP_WRITE;
            let number = p.handles.insert(Object::Region(sid), rights, None)?;
            a.backing = Backing::Region(sid);
            regions.insert(
                sid,
                Region {
                    sid,
                    frames,
                    mappings: 1,
                },
            );
            self.handover = Handover::Shared {
                handle: number,
                start,
            };
            Ok(ShareResponse {
                region: Handle {
                    handle: number,
                    rights_and_mode: rights,
                },
            })
        })()
        .map_err(|s| ShareError { status: code(s) })
    }

    fn map(&mut self, r: MapRequest) -> Result<MapResponse, MapError> {
        (|| {
            if r.flags & !WRITE != 0 {
                return Err(Status::InvalidArgument);
            }
            let rights = Access {
                write: r.flags & WRITE != 0,
                execute: false,
                device: false,
                none: false,
            };
            let mut tasks = TASKS.lock();
            let Tasks {
                processes, regions, ..
            } = &mut *tasks;
            let p = processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            // Mapping needs the read right, and the write right to map writable: a region
            // passed on with fewer rights can only be mapped read-only, or not at all.
            let needed = if rights.write {
                RIGHT_MAP_READ | RIGHT_MAP_WRITE
            } else {
                RIGHT_MAP_READ
            };
            let sid = match p.handles.get_with(r.region.handle, needed)?.object {
                Object::Region(sid) => sid,
                _ => return Err(Status::BadHandle),
            };
            let region = regions.get_mut(&sid).ok_or(Status::NotFound)?;
            let count = region.frames.len();
            let start = find_free(p, count)?;
            map_all(&mut p.space, start, region.frames.iter().copied(), rights)?;
            region.mappings += 1;
            p.allocations.push(Allocation {
                start,
                pages: count,
                backing: Backing::Region(sid),
            });
            self.handover = Handover::Mapped { start };
            Ok(MapResponse {
                addr: start as u64,
                size: (count * PAGE_SIZE) as u64,
            })
        })()
        .map_err(|s| MapError { status: code(s) })
    }
}
