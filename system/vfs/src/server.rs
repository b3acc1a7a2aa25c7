//! The kl.Vfs server both VfsRamFs and VfsSdCardFs run: the generated interface over a
//! [`vfs::fs::Fs`] of any [`Backend`] (memory or a disk); without a file system (a disk
//! that cannot be used) every request is answered EIO.

use vfs::errno::EIO;
use vfs::fs::{Backend, Fs, Stat};

use crate::idl::kl_vfs::*;

pub struct Server<B: Backend> {
    pub fs: Option<Fs<B>>,
    /// The SID of the client whose request is being served (stamped by the kernel).
    pub sid: u64,
}

impl<B: Backend> Server<B> {
    /// The file system, and the client's SID.
    fn fs(&mut self) -> Result<(&mut Fs<B>, u64), i32> {
        let sid = self.sid;
        self.fs.as_mut().map(|fs| (fs, sid)).ok_or(EIO)
    }
}

macro_rules! fail {
    ($t:ident) => {
        |status| $t { status }
    };
}

impl<B: Backend> VfsServer for Server<B> {
    fn open(&mut self, r: OpenRequest) -> Result<OpenResponse, OpenError> {
        self.fs()
            .and_then(|(fs, sid)| fs.open(sid, &r.path, r.flags, r.mode))
            .map(|(file, kind)| OpenResponse { file, kind })
            .map_err(fail!(OpenError))
    }

    fn read(&mut self, r: ReadRequest) -> Result<ReadResponse, ReadError> {
        self.fs()
            .and_then(|(fs, sid)| fs.read(sid, r.file, None, r.size as usize))
            .map(|data| ReadResponse { data })
            .map_err(fail!(ReadError))
    }

    fn write(&mut self, r: WriteRequest) -> Result<WriteResponse, WriteError> {
        self.fs()
            .and_then(|(fs, sid)| fs.write(sid, r.file, None, &r.data))
            .map(|n| WriteResponse { written: n as u32 })
            .map_err(fail!(WriteError))
    }

    fn p_read(&mut self, r: PReadRequest) -> Result<PReadResponse, PReadError> {
        self.fs()
            .and_then(|(fs, sid)| fs.read(sid, r.file, Some(r.offset), r.size as usize))
            .map(|data| PReadResponse { data })
            .map_err(fail!(PReadError))
    }

    fn p_write(&mut self, r: PWriteRequest) -> Result<PWriteResponse, PWriteError> {
        self.fs()
            .and_then(|(fs, sid)| fs.write(sid, r.file, Some(r.offset), &r.data))
            .map(|n| PWriteResponse { written: n as u32 })
            .map_err(fail!(PWriteError))
    }

    fn seek(&mut self, r: SeekRequest) -> Result<SeekResponse, SeekError> {
        self.fs()
            .and_then(|(fs, sid)| fs.seek(sid, r.file, r.offset, r.whence))
            .map(|position| SeekResponse { position })
            .map_err(fail!(SeekError))
    }

    fn stat(&mut self, r: StatRequest) -> Result<StatResponse, StatError> {
        self.fs()
            .and_then(|(fs, _)| fs.stat(&r.path))
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
        self.fs()
            .and_then(|(fs, sid)| fs.fstat(sid, r.file))
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
        self.fs()
            .and_then(|(fs, sid)| fs.readdir(sid, r.file, r.room as usize))
            .map(|entries| ReadDirResponse { entries })
            .map_err(fail!(ReadDirError))
    }

    fn mk_dir(&mut self, r: MkDirRequest) -> Result<MkDirResponse, MkDirError> {
        self.fs()
            .and_then(|(fs, sid)| fs.mkdir(sid, &r.path, r.mode))
            .map(|()| MkDirResponse {})
            .map_err(fail!(MkDirError))
    }

    fn rm_dir(&mut self, r: RmDirRequest) -> Result<RmDirResponse, RmDirError> {
        self.fs()
            .and_then(|(fs, _)| fs.rmdir(&r.path))
            .map(|()| RmDirResponse {})
            .map_err(fail!(RmDirError))
    }

    fn unlink(&mut self, r: UnlinkRequest) -> Result<UnlinkResponse, UnlinkError> {
        self.fs()
            .and_then(|(fs, _)| fs.unlink(&r.path))
            .map(|()| UnlinkResponse {})
            .map_err(fail!(UnlinkError))
    }

    fn rename(&mut self, r: RenameRequest) -> Result<RenameResponse, RenameError> {
        self.fs()
            .and_then(|(fs, _)| fs.rename(&r.from, &r.to))
            .map(|()| RenameResponse {})
            .map_err(fail!(RenameError))
    }

    fn truncate(&mut self, r: TruncateRequest) -> Result<TruncateResponse, TruncateError> {
        self.fs()
            .and_then(|(fs, sid)| fs.truncate(sid, r.file, r.size))
            .map(|()| TruncateResponse {})
            .map_err(fail!(TruncateError))
    }

    fn f_sync(&mut self, r: FSyncRequest) -> Result<FSyncResponse, FSyncError> {
        self.fs()
            .and_then(|(fs, sid)| fs.fsync(sid, r.file))
            .map(|()| FSyncResponse {})
            .map_err(fail!(FSyncError))
    }

    fn close(&mut self, r: CloseRequest) -> Result<CloseResponse, CloseError> {
        self.fs()
            .and_then(|(fs, sid)| fs.close(sid, r.file))
            .map(|()| CloseResponse {})
            .map_err(fail!(CloseError))
    }

    fn grant(&mut self, r: GrantRequest) -> Result<GrantResponse, GrantError> {
        self.fs()
            .and_then(|(fs, sid)| fs.grant(sid, r.file, r.sid, r.tag))
            .map(|()| GrantResponse {})
            .map_err(fail!(GrantError))
    }

    fn withdraw(&mut self, r: WithdrawRequest) -> Result<WithdrawResponse, WithdrawError> {
        self.fs()
            .map(|(fs, sid)| WithdrawResponse {
                count: fs.withdraw(sid, r.sid) as u32,
            })
            .map_err(fail!(WithdrawError))
    }

    fn inherited(&mut self, _: InheritedRequest) -> Result<InheritedResponse, InheritedError> {
        let taken = self
            .fs()
            .and_then(|(fs, sid)| fs.inherited(sid))
            .map_err(fail!(InheritedError))?;
        let mut grants = alloc::vec::Vec::with_capacity(taken.len() * 8);
        for (tag, file) in taken {
            grants.extend_from_slice(&tag.to_le_bytes());
            grants.extend_from_slice(&file.to_le_bytes());
        }
        Ok(InheritedResponse { grants })
    }
}
