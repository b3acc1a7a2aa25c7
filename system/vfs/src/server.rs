//! The native server: the generated kl.Vfs dispatcher over [`vfs::fs::Fs`], with the
//! kernel's memory, ROMFS and clock as its [`Backend`].

use alloc::vec::Vec;

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid as core_riid;
use ostrog_rt::idl::kl_core_time::TimeProxy;
use ostrog_rt::idl::spec_rt::Handle as RtHandle;
use ostrog_rt::println;
use ostrog_rt::sys as rt;
use vfs::errno::*;
use vfs::fs::{Backend, Fs, Stat, CHUNK};

// Generated from sysroot/kl: this program uses only part of it.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_vfs::*;

ostrog_rt::main!(main);

/// ROMFS files open at one time (each a mapping and a handle of this server).
const MAX_ROM_OPEN: usize = 64;

struct RomFile {
    region: RtHandle,
    addr: u64,
    mapped: u64,
    size: u64,
}

struct Native {
    roms: Vec<Option<RomFile>>,
}

impl Backend for Native {
    fn alloc_chunk(&mut self) -> Option<usize> {
        rt::vmm()
            .allocate(CHUNK as u64, 1)
            .ok()
            .map(|r| r.addr as usize)
    }

    fn free_chunk(&mut self, id: usize) {
        let _ = rt::vmm().free(id as u64, CHUNK as u64);
    }

    fn chunk(&mut self, id: usize) -> &mut [u8] {
        // SAFETY: `id` is the address of a private writable allocation of CHUNK bytes this
        // server made (`alloc_chunk`) and has not freed; the file system uses each chunk
        // for one file only, and this borrow ends before any other chunk access.
        unsafe { core::slice::from_raw_parts_mut(id as *mut u8, CHUNK) }
    }

    fn rom_open(&mut self, name: &str) -> Result<(usize, u64), i32> {
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

    fn now_ns(&mut self) -> u64 {
        TimeProxy {
            transport: rt::CoreTransport,
            riid: core_riid::TIME,
        }
        .now()
        .map_or(0, |r| r.ns)
    }
}

struct Server {
    fs: Fs<Native>,
    /// The SID of the client whose request is being served (stamped by the kernel).
    sid: u64,
}

macro_rules! fail {
    ($t:ident) => {
        |status| $t { status }
    };
}

impl VfsServer for Server {
    fn open(&mut self, r: OpenRequest) -> Result<OpenResponse, OpenError> {
        self.fs
            .open(self.sid, &r.path, r.flags, r.mode)
            .map(|(file, kind)| OpenResponse { file, kind })
            .map_err(fail!(OpenError))
    }

    fn read(&mut self, r: ReadRequest) -> Result<ReadResponse, ReadError> {
        self.fs
            .read(self.sid, r.file, None, r.size as usize)
            .map(|data| ReadResponse { data })
            .map_err(fail!(ReadError))
    }

    fn write(&mut self, r: WriteRequest) -> Result<WriteResponse, WriteError> {
        self.fs
            .write(self.sid, r.file, None, &r.data)
            .map(|n| WriteResponse { written: n as u32 })
            .map_err(fail!(WriteError))
    }

    fn p_read(&mut self, r: PReadRequest) -> Result<PReadResponse, PReadError> {
        self.fs
            .read(self.sid, r.file, Some(r.offset), r.size as usize)
            .map(|data| PReadResponse { data })
            .map_err(fail!(PReadError))
    }

    fn p_write(&mut self, r: PWriteRequest) -> Result<PWriteResponse, PWriteError> {
        self.fs
            .write(self.sid, r.file, Some(r.offset), &r.data)
            .map(|n| PWriteResponse { written: n as u32 })
            .map_err(fail!(PWriteError))
    }

    fn seek(&mut self, r: SeekRequest) -> Result<SeekResponse, SeekError> {
        self.fs
            .seek(self.sid, r.file, r.offset, r.whence)
            .map(|position| SeekResponse { position })
            .map_err(fail!(SeekError))
    }

    fn stat(&mut self, r: StatRequest) -> Result<StatResponse, StatError> {
        self.fs
            .stat(&r.path)
            .map(|s: Stat| StatResponse {
                kind: s.mode,
                size: s.size,
                ino: s.ino,
                nlink: s.nlink,
                mtime_ns: s.mtime_ns,
            })
            .map_err(fail!(StatError))
    }

    fn f_stat(&mut self, r: FStatRequest) -> Result<FStatResponse, FStatError> {
        self.fs
            .fstat(self.sid, r.file)
            .map(|s: Stat| FStatResponse {
                kind: s.mode,
                size: s.size,
                ino: s.ino,
                nlink: s.nlink,
                mtime_ns: s.mtime_ns,
            })
            .map_err(fail!(FStatError))
    }

    fn read_dir(&mut self, r: ReadDirRequest) -> Result<ReadDirResponse, ReadDirError> {
        self.fs
            .readdir(self.sid, r.file, r.room as usize)
            .map(|entries| ReadDirResponse { entries })
            .map_err(fail!(ReadDirError))
    }

    fn mk_dir(&mut self, r: MkDirRequest) -> Result<MkDirResponse, MkDirError> {
        self.fs
            .mkdir(self.sid, &r.path, r.mode)
            .map(|()| MkDirResponse {})
            .map_err(fail!(MkDirError))
    }

    fn rm_dir(&mut self, r: RmDirRequest) -> Result<RmDirResponse, RmDirError> {
        self.fs
            .rmdir(&r.path)
            .map(|()| RmDirResponse {})
            .map_err(fail!(RmDirError))
    }

    fn unlink(&mut self, r: UnlinkRequest) -> Result<UnlinkResponse, UnlinkError> {
        self.fs
            .unlink(&r.path)
            .map(|()| UnlinkResponse {})
            .map_err(fail!(UnlinkError))
    }

    fn rename(&mut self, r: RenameRequest) -> Result<RenameResponse, RenameError> {
        self.fs
            .rename(&r.from, &r.to)
            .map(|()| RenameResponse {})
            .map_err(fail!(RenameError))
    }

    fn truncate(&mut self, r: TruncateRequest) -> Result<TruncateResponse, TruncateError> {
        self.fs
            .truncate(self.sid, r.file, r.size)
            .map(|()| TruncateResponse {})
            .map_err(fail!(TruncateError))
    }

    fn f_sync(&mut self, r: FSyncRequest) -> Result<FSyncResponse, FSyncError> {
        self.fs
            .fsync(self.sid, r.file)
            .map(|()| FSyncResponse {})
            .map_err(fail!(FSyncError))
    }

    fn close(&mut self, r: CloseRequest) -> Result<CloseResponse, CloseError> {
        self.fs
            .close(self.sid, r.file)
            .map(|()| CloseResponse {})
            .map_err(fail!(CloseError))
    }

    fn grant(&mut self, r: GrantRequest) -> Result<GrantResponse, GrantError> {
        self.fs
            .grant(self.sid, r.file, r.sid, r.tag)
            .map(|()| GrantResponse {})
            .map_err(fail!(GrantError))
    }

    fn withdraw(&mut self, r: WithdrawRequest) -> Result<WithdrawResponse, WithdrawError> {
        Ok(WithdrawResponse {
            count: self.fs.withdraw(self.sid, r.sid) as u32,
        })
    }

    fn inherited(&mut self, _: InheritedRequest) -> Result<InheritedResponse, InheritedError> {
        let taken = self.fs.inherited(self.sid).map_err(fail!(InheritedError))?;
        let mut grants = Vec::with_capacity(taken.len() * 8);
        for (tag, file) in taken {
            grants.extend_from_slice(&tag.to_le_bytes());
            grants.extend_from_slice(&file.to_le_bytes());
        }
        Ok(InheritedResponse { grants })
    }
}

impl idl::kl_vfs_ram_fs::VfsRamFsEndpoints for Server {
    fn vfs(&mut self) -> &mut dyn VfsServer {
        self
    }
}

fn main() -> i32 {
    let mut server = Server {
        fs: Fs::new(Native { roms: Vec::new() }),
        sid: 0,
    };
    // `/data`, where a solution's policy gives each class a folder of its own (docs/files.md).
    if let Err(e) = server.fs.mkdir(0, "/data", 0o755) {
        println!("VfsRamFs: cannot make /data: errno {e}");
        return 1;
    }
    ostrog_rt::server::serve("VfsRamFs", |header, request| {
        server.sid = header.src_sid;
        idl::kl_vfs_ram_fs::dispatch(&mut server, request)
    })
}
