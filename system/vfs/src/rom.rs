//! What both servers' file systems get from Ostrog besides storage: the ROMFS (each file
//! mapped while open), the clock, and whether a client's process still exists.

use alloc::vec::Vec;

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid as core_riid;
use ostrog_rt::idl::kl_core_time::TimeProxy;
use ostrog_rt::idl::spec_rt::Handle as RtHandle;
use ostrog_rt::sys as rt;
use vfs::errno::*;
use vfs::fs::{Host, R};

/// ROMFS files open at one time (each a mapping and a handle of this server).
const MAX_ROM_OPEN: usize = 64;

struct RomFile {
    region: RtHandle,
    addr: u64,
    mapped: u64,
    size: u64,
}

/// The ROMFS and the clock.
#[derive(Default)]
pub struct Rom {
    roms: Vec<Option<RomFile>>,
}

impl Host for Rom {
    fn rom_open(&mut self, name: &str) -> R<(usize, u64)> {
        let slot = match self.roms.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.roms.len() < MAX_ROM_OPEN => {
                self.roms.push(None);
                self.roms.len() - 1
            }
            None => return Err(ENFILE),
        };
        let (region, size) = rt::romfs_read(name).map_err(|s| match s {
            Status::NotFound => ENOENT,
            Status::AccessDenied => EACCES,
            _ => ENOMEM,
        })?;
        let mapped = match rt::vmm().map(region, 0) {
            Ok(m) => m,
            Err(_) => {
                let _ = rt::handles().close(region);
                return Err(ENOMEM);
            }
        };
        self.roms[slot] = Some(RomFile {
            region,
            addr: mapped.addr,
            mapped: mapped.size,
            size: size as u64,
        });
        Ok((slot, size as u64))
    }

    fn rom_bytes(&mut self, id: usize) -> &[u8] {
        match self.roms.get(id).and_then(Option::as_ref) {
            // SAFETY: the kernel mapped `mapped` readable bytes at `addr` for this server
            // (`vmm.Map` of the file's region); they stay mapped until `rom_close`, and
            // `size` is at most `mapped`.
            Some(f) => unsafe {
                core::slice::from_raw_parts(f.addr as *const u8, f.size.min(f.mapped) as usize)
            },
            None => &[],
        }
    }

    fn rom_close(&mut self, id: usize) {
        if let Some(f) = self.roms.get_mut(id).and_then(Option::take) {
            let _ = rt::vmm().free(f.addr, f.mapped);
            let _ = rt::handles().close(f.region);
        }
    }

    /// The kernel's `task.Alive` (granted to the VFS servers by their sysroot policy); a
    /// failure (denied, say) counts as alive: nothing is reclaimed on a guess.
    fn alive(&mut self, sid: u64) -> bool {
        rt::tasks().alive(sid).map_or(true, |r| r.live != 0)
    }

    fn now_ns(&mut self) -> u64 {
        TimeProxy {
            transport: rt::CoreTransport,
            riid: core_riid::TIME,
        }
        .now()
        .map_or(0, |r| r.ns)
    }
}
