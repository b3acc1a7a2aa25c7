//! A disk in memory that serves kl.drivers.Block as a block driver does: whole 512-byte
//! sectors, at most DataMax bytes a request, EINVAL for anything out of range. Writes land
//! at once, so Flush has nothing to wait for.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use ostrog_rt::sys as rt;

// Generated from spec/ and the SDK tree: each program uses only part of it.
#[allow(dead_code, unused_imports, clippy::all)]
pub mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_drivers_block::*;

/// Sectors of each disk (4 MiB).
pub const SECTORS: u64 = 8192;
const SECTOR: usize = 512;

/// Fresh zeroed memory for a disk of [`SECTORS`] sectors.
pub fn memory() -> Option<&'static mut [u8]> {
    let len = SECTORS as usize * SECTOR;
    let addr = rt::vmm().allocate(len as u64, 1).ok()?.addr;
    // SAFETY: the kernel just mapped `len` bytes of private, writable, zeroed memory at
    // `addr` for this process; nothing else refers to them and they are never freed.
    Some(unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) })
}

/// The disk.
pub struct RamBlock {
    pub disk: &'static mut [u8],
}

impl RamBlock {
    /// The bytes of `count` sectors from `sector`, if they are on the disk and fit a request.
    fn range(&self, sector: u64, bytes: usize) -> Option<core::ops::Range<usize>> {
        if bytes > DATA_MAX as usize || !bytes.is_multiple_of(SECTOR) {
            return None;
        }
        let start = usize::try_from(sector).ok()?.checked_mul(SECTOR)?;
        let end = start.checked_add(bytes)?;
        (end <= self.disk.len()).then_some(start..end)
    }
}

impl BlockServer for RamBlock {
    fn info(&mut self, _r: InfoRequest) -> Result<InfoResponse, InfoError> {
        Ok(InfoResponse {
            sectors: (self.disk.len() / SECTOR) as u64,
            readonly: 0,
        })
    }

    fn read(&mut self, r: ReadRequest) -> Result<ReadResponse, ReadError> {
        let bytes = (r.count as usize).saturating_mul(SECTOR);
        let range = self
            .range(r.sector, bytes)
            .ok_or(ReadError { status: INVALID })?;
        Ok(ReadResponse {
            data: Vec::from(&self.disk[range]),
        })
    }

    fn write(&mut self, r: WriteRequest) -> Result<WriteResponse, WriteError> {
        let range = self
            .range(r.sector, r.data.len())
            .ok_or(WriteError { status: INVALID })?;
        self.disk[range].copy_from_slice(&r.data);
        Ok(WriteResponse {})
    }

    fn flush(&mut self, _r: FlushRequest) -> Result<FlushResponse, FlushError> {
        Ok(FlushResponse {})
    }
}
