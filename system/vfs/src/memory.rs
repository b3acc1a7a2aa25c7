//! VfsRamFs's store: file data in chunks of this server's memory from `vmm.Allocate`.

use ostrog_rt::sys as rt;
use vfs::errno::EIO;
use vfs::fs::{Backend, Host, CHUNK, R};

use crate::rom::Rom;

/// File data in chunks of this server's memory (VfsRamFs); a chunk's id is its address.
#[derive(Default)]
pub struct Ram {
    pub rom: Rom,
}

impl Ram {
    fn chunk(&mut self, id: usize) -> &mut [u8] {
        // SAFETY: `id` is the address of a private writable allocation of CHUNK bytes this
        // server made (`alloc_chunk`) and has not freed; the file system uses each chunk
        // for one file only, and this borrow ends before any other chunk access.
        unsafe { core::slice::from_raw_parts_mut(id as *mut u8, CHUNK) }
    }
}

impl Host for Ram {
    fn rom_open(&mut self, name: &str) -> R<(usize, u64)> {
        self.rom.rom_open(name)
    }
    fn rom_bytes(&mut self, id: usize) -> &[u8] {
        self.rom.rom_bytes(id)
    }
    fn rom_close(&mut self, id: usize) {
        self.rom.rom_close(id)
    }
    fn now_ns(&mut self) -> u64 {
        self.rom.now_ns()
    }
    fn alive(&mut self, sid: u64) -> bool {
        self.rom.alive(sid)
    }
}

impl Backend for Ram {
    fn alloc_chunk(&mut self) -> Option<usize> {
        rt::vmm()
            .allocate(CHUNK as u64, 1)
            .ok()
            .map(|r| r.addr as usize)
    }

    fn free_chunk(&mut self, id: usize) {
        let _ = rt::vmm().free(id as u64, CHUNK as u64);
    }

    fn read_chunk(&mut self, id: usize, offset: usize, buf: &mut [u8]) -> R<()> {
        let bytes = self.chunk(id).get(offset..offset + buf.len()).ok_or(EIO)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }

    fn write_chunk(&mut self, id: usize, offset: usize, data: &[u8]) -> R<usize> {
        let bytes = self
            .chunk(id)
            .get_mut(offset..offset + data.len())
            .ok_or(EIO)?;
        bytes.copy_from_slice(data);
        Ok(id)
    }
}
