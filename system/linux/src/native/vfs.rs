//! The file calls' requests to the VFS server (`kl.Vfs`, docs/files.md) through the
//! channel `vfs` that init.yaml gives the program, found on first use (`handle.Lookup`).

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use linux::errno::*;
use linux::netconf::{self, Overlay, Source};
use linux::sys::file::{FileStat, VfsReply, VfsRequest};
use ostrog_abi::Status;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::sys as rt;

// Generated from sysroot/kl (the personality uses kl.Vfs and kl.Net).
#[allow(dead_code, unused_imports, clippy::all)]
pub(super) mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_vfs::VfsProxy;
use idl::kl_vfs_ram_fs::riid;

/// The channel's handle: `UNKNOWN` before the first lookup, `NONE` when there is none.
static CHANNEL: AtomicU32 = AtomicU32::new(UNKNOWN);
const UNKNOWN: u32 = u32::MAX;
const NONE: u32 = u32::MAX - 1;

/// This process's `vfs` channel handle, if it has one (found on first use).
pub fn channel() -> Option<u32> {
    let mut handle = CHANNEL.load(Ordering::Acquire);
    if handle == UNKNOWN {
        handle = rt::Channel::lookup("vfs").map_or(NONE, |c| c.handle);
        CHANNEL.store(handle, Ordering::Release);
    }
    (handle != NONE).then_some(handle)
}

/// Uses `handle`, given by this process's creator (`task.Give`, label `GIVE_VFS`), as its
/// `vfs` channel: a process started by `execve` has no channel of its own in init.yaml.
pub fn adopt(handle: u32) {
    CHANNEL.store(handle, Ordering::Release);
}

fn proxy() -> Result<VfsProxy<rt::Channel>, i64> {
    match channel() {
        // No file system: every path is missing.
        None => Err(ENOENT),
        Some(handle) => Ok(VfsProxy {
            transport: rt::Channel { handle },
            riid: riid::VFS,
        }),
    }
}

/// The errno of a failed request: the server's, or the kernel's refusal (a request the
/// policy denied is `EACCES`).
fn errno<E>(e: CallError<E>, status: impl Fn(&E) -> i32) -> i64 {
    match e {
        CallError::Remote(e) => i64::from(status(&e)),
        CallError::Transport(t) => match Status::from_result(t.0 as isize) {
            Err(Status::AccessDenied) => EACCES,
            Err(Status::NoMemory) => ENOMEM,
            _ => EIO,
        },
        CallError::Encode(_) => ENAMETOOLONG,
        CallError::Decode(_) => EIO,
    }
}

fn text(path: &[u8]) -> Result<String, i64> {
    core::str::from_utf8(path)
        .map(String::from)
        .map_err(|_| EINVAL)
}

macro_rules! stat {
    ($r:expr) => {
        VfsReply::Stat(FileStat {
            mode: $r.kind,
            size: $r.size,
            ino: $r.ino,
            nlink: $r.nlink,
            mtime_ns: $r.mtime_ns,
        })
    };
}

/// The network configuration files served from memory (`linux::netconf`), open in this
/// process.
static NETCONF: spin::Mutex<Option<Overlay>> = spin::Mutex::new(None);

/// Where served files' text comes from: the solution's ROMFS file (`etc/hosts`,
/// `etc/resolv.conf`), else the defaults.
struct Texts;

impl Source for Texts {
    fn text(&mut self, path: &[u8]) -> Result<Vec<u8>, i64> {
        let rom = path.strip_prefix(b"/").unwrap_or(path);
        match romfs_bytes(rom) {
            Err(ENOENT) => {}
            other => return other,
        }
        Ok(match path {
            netconf::HOSTS => netconf::DEFAULT_HOSTS.to_vec(),
            _ => netconf::resolv_conf(super::net::config()),
        })
    }
}

/// The bytes of the ROMFS file `name`: `ENOENT` when there is none, `EACCES` when the
/// policy refuses it, `EFBIG` above `netconf::FILE_MAX`.
fn romfs_bytes(name: &[u8]) -> Result<Vec<u8>, i64> {
    let name = core::str::from_utf8(name).map_err(|_| ENOENT)?;
    let (region, size) = rt::romfs_read(name).map_err(|s| match s {
        Status::NotFound => ENOENT,
        Status::AccessDenied => EACCES,
        _ => EIO,
    })?;
    let bytes = if size > netconf::FILE_MAX {
        Err(EFBIG)
    } else {
        rt::vmm().map(region, 0).map_err(|_| ENOMEM).map(|m| {
            // SAFETY: the kernel mapped `m.size` readable bytes at `m.addr` (`vmm.Map`
            // of the file's region, at least `size` long); they are copied before the
            // mapping is freed just below.
            let copy = unsafe { core::slice::from_raw_parts(m.addr as *const u8, size) }.to_vec();
            let _ = rt::vmm().free(m.addr, m.size);
            copy
        })
    };
    let _ = rt::handles().close(region);
    bytes
}

/// One request: the network configuration files when the VFS has none
/// (`linux::netconf`), everything else the VFS server's.
pub fn request(r: VfsRequest<'_>) -> Result<VfsReply, i64> {
    let mut guard = NETCONF.lock();
    let overlay = guard.get_or_insert_with(Overlay::default);
    overlay.request(r, &mut server_request, &mut Texts)
}

/// One request to the VFS server.
fn server_request(r: VfsRequest<'_>) -> Result<VfsReply, i64> {
    let mut p = proxy()?;
    Ok(match r {
        VfsRequest::Open { path, flags, mode } => {
            let r = p
                .open(text(path)?, flags, mode)
                .map_err(|e| errno(e, |e| e.status))?;
            VfsReply::Opened {
                file: r.file,
                mode: r.kind,
            }
        }
        VfsRequest::Read { file, size } => {
            VfsReply::Data(p.read(file, size).map_err(|e| errno(e, |e| e.status))?.data)
        }
        VfsRequest::Write { file, data } => VfsReply::Count(u64::from(
            p.write(file, data.into())
                .map_err(|e| errno(e, |e| e.status))?
                .written,
        )),
        VfsRequest::PRead { file, offset, size } => VfsReply::Data(
            p.p_read(file, offset, size)
                .map_err(|e| errno(e, |e| e.status))?
                .data,
        ),
        VfsRequest::PWrite { file, offset, data } => VfsReply::Count(u64::from(
            p.p_write(file, offset, data.into())
                .map_err(|e| errno(e, |e| e.status))?
                .written,
        )),
        VfsRequest::Seek {
            file,
            offset,
            whence,
        } => VfsReply::Count(
            p.seek(file, offset, whence)
                .map_err(|e| errno(e, |e| e.status))?
                .position,
        ),
        VfsRequest::Stat { path } => {
            let r = p.stat(text(path)?).map_err(|e| errno(e, |e| e.status))?;
            stat!(r)
        }
        VfsRequest::FStat { file } => {
            let r = p.f_stat(file).map_err(|e| errno(e, |e| e.status))?;
            stat!(r)
        }
        VfsRequest::ReadDir { file, room } => VfsReply::Data(
            p.read_dir(file, room)
                .map_err(|e| errno(e, |e| e.status))?
                .entries,
        ),
        VfsRequest::MkDir { path, mode } => {
            p.mk_dir(text(path)?, mode)
                .map_err(|e| errno(e, |e| e.status))?;
            VfsReply::Done
        }
        VfsRequest::RmDir { path } => {
            p.rm_dir(text(path)?).map_err(|e| errno(e, |e| e.status))?;
            VfsReply::Done
        }
        VfsRequest::Unlink { path } => {
            p.unlink(text(path)?).map_err(|e| errno(e, |e| e.status))?;
            VfsReply::Done
        }
        VfsRequest::Rename { from, to } => {
            p.rename(text(from)?, text(to)?)
                .map_err(|e| errno(e, |e| e.status))?;
            VfsReply::Done
        }
        VfsRequest::Truncate { file, size } => {
            p.truncate(file, size).map_err(|e| errno(e, |e| e.status))?;
            VfsReply::Done
        }
        VfsRequest::FSync { file } => {
            p.f_sync(file).map_err(|e| errno(e, |e| e.status))?;
            VfsReply::Done
        }
        VfsRequest::Close { file } => {
            p.close(file).map_err(|e| errno(e, |e| e.status))?;
            VfsReply::Done
        }
        VfsRequest::Grant { file, sid, tag } => {
            p.grant(file, sid, tag)
                .map_err(|e| errno(e, |e| e.status))?;
            VfsReply::Done
        }
        VfsRequest::Withdraw { sid } => VfsReply::Count(u64::from(
            p.withdraw(sid).map_err(|e| errno(e, |e| e.status))?.count,
        )),
        VfsRequest::Inherited => {
            VfsReply::Data(p.inherited().map_err(|e| errno(e, |e| e.status))?.grants)
        }
    })
}

/// Most bytes of a Linux program run from a file of the VFS (outside the ROMFS).
pub const PROGRAM_MAX: u64 = 32 << 20;

/// The regular file `path` of the VFS, read whole into fresh private memory of this process
/// (kept: the loaded program's bookkeeping reserves it, as it does a ROMFS mapping), as
/// `(address, size)`: how a Linux program outside the ROMFS is run. As Linux's `execve`:
/// EACCES for a file no one may execute or that is no regular file, ENOEXEC for an empty
/// one; ENOMEM for one over [`PROGRAM_MAX`] or beyond this process's memory.
pub fn read_program(path: &[u8]) -> Result<(usize, usize), i64> {
    let VfsReply::Opened { file, mode } = request(VfsRequest::Open {
        path,
        flags: 1,
        mode: 0,
    })?
    else {
        return Err(EIO);
    };
    let read = read_open_program(file, mode);
    let _ = request(VfsRequest::Close { file });
    read
}

/// Whether the VFS file `path` is a program [`read_program`] would read (`execve` checks
/// before it creates the process that reads it).
pub fn check_program(path: &[u8]) -> Result<(), i64> {
    let VfsReply::Stat(stat) = request(VfsRequest::Stat { path })? else {
        return Err(EIO);
    };
    runnable(&stat)
}

fn runnable(stat: &FileStat) -> Result<(), i64> {
    if stat.mode & 0o170000 != 0o100000 || stat.mode & 0o111 == 0 {
        return Err(EACCES);
    }
    if stat.size == 0 {
        return Err(ENOEXEC);
    }
    if stat.size > PROGRAM_MAX {
        return Err(ENOMEM);
    }
    Ok(())
}

fn read_open_program(file: u32, mode: u32) -> Result<(usize, usize), i64> {
    if mode & 0o170000 != 0o100000 {
        return Err(EACCES);
    }
    let VfsReply::Stat(stat) = request(VfsRequest::FStat { file })? else {
        return Err(EIO);
    };
    runnable(&stat)?;
    let size = stat.size as usize;
    let addr = rt::vmm().allocate(stat.size, 1).map_err(|_| ENOMEM)?.addr as usize;
    let fill = || -> Result<(), i64> {
        let mut at = 0;
        while at < size {
            let chunk = (size - at).min(16384) as u32;
            let VfsReply::Data(data) = request(VfsRequest::PRead {
                file,
                offset: at as u64,
                size: chunk,
            })?
            else {
                return Err(EIO);
            };
            // A file that shrank while it was read is no program to run.
            if data.is_empty() || data.len() > size - at {
                return Err(EIO);
            }
            // SAFETY: [addr, addr + size) was just allocated read-write for this process
            // and nothing else uses it yet; `at + data.len() <= size`.
            unsafe {
                core::ptr::copy_nonoverlapping(data.as_ptr(), (addr + at) as *mut u8, data.len())
            };
            at += data.len();
        }
        Ok(())
    };
    match fill() {
        Ok(()) => Ok((addr, size)),
        Err(e) => {
            let _ = rt::free(addr, size);
            Err(e)
        }
    }
}
