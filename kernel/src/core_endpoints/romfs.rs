//! `romfs`: files of the ROMFS for programs that read them as data (the Linux personality
//! loads a Linux executable this way).
//!
//! `Read` copies the file into fresh frames that become a shared region named by a new
//! handle of the caller, with the rights to map it readable and to pass it on but never to
//! map it writable: the caller maps it with `vmm.Map`. The region is freed like any other,
//! when no process maps it and no handle names it. The file's size is bounded by the image;
//! the copy is refused with `NoMemory` when the frames run out, and a process can hold only
//! as many regions as its handle table has entries.

use ostrog_abi::handle::{RIGHT_DUPLICATE, RIGHT_MAP_READ, RIGHT_TRANSFER};
use ostrog_abi::Status;

use super::vmm::Region;
use super::{code, Caller, Handover};
use crate::arch;
use crate::boot::PhysAddr;
use crate::idl::kl_core_romfs::{ReadError, ReadRequest, ReadResponse, RomfsServer};
use crate::idl::spec_rt::Handle;
use crate::mm::{frame, PAGE_SIZE};
use crate::object::Object;
use crate::sid::RegionId;
use crate::task::TASKS;

/// Frames holding a copy of `data` (at least one; the rest of the last page zero).
fn copy_to_frames(data: &[u8]) -> Result<alloc::vec::Vec<PhysAddr>, Status> {
    let count = data.len().div_ceil(PAGE_SIZE).max(1);
    let mut frames = alloc::vec::Vec::new();
    frames
        .try_reserve_exact(count)
        .map_err(|_| Status::NoMemory)?;
    for i in 0..count {
        let Some(f) = frame::alloc() else {
            frames.into_iter().for_each(frame::free);
            return Err(Status::NoMemory);
        };
        let chunk = data.chunks(PAGE_SIZE).nth(i).unwrap_or_default();
        // SAFETY: the frame was just allocated (zeroed) and is the kernel's alone; it is
        // reached through the direct map, and the chunk is at most a page.
        unsafe {
            core::ptr::copy_nonoverlapping(chunk.as_ptr(), arch::phys_to_virt(f), chunk.len())
        };
        frames.push(f);
    }
    Ok(frames)
}

impl RomfsServer for Caller {
    fn read(&mut self, r: ReadRequest) -> Result<ReadResponse, ReadError> {
        (|| {
            let data = crate::romfs::find(&r.path).ok_or(Status::NotFound)?;
            let frames = copy_to_frames(data)?;
            let mut tasks = TASKS.lock();
            let p = match tasks.processes.get_mut(&self.process) {
                Some(p) => p,
                None => {
                    frames.into_iter().for_each(frame::free);
                    return Err(Status::NoSuchThread);
                }
            };
            let sid = RegionId::new();
            let rights = RIGHT_TRANSFER | RIGHT_DUPLICATE | RIGHT_MAP_READ;
            let number = match p.handles.insert(Object::Region(sid), rights, None) {
                Ok(n) => n,
                Err(e) => {
                    frames.into_iter().for_each(frame::free);
                    return Err(e);
                }
            };
            tasks.regions.insert(
                sid,
                Region {
                    sid,
                    frames,
                    mappings: 0,
                },
            );
            // Withheld, the handle is closed and the region, named by nothing, freed.
            self.handover = Handover::Handle(number);
            Ok(ReadResponse {
                region: Handle {
                    handle: number,
                    rights_and_mode: rights,
                },
                size: data.len() as u64,
            })
        })()
        .map_err(|s| ReadError { status: code(s) })
    }
}
