//! Files: the Linux file calls (`open`, `read`, `stat`, `getdents64`, `mkdir`, `rename`, ...)
//! as requests to the VFS server (`kl.Vfs`, docs/files.md) through [`Kernel::vfs`]. The
//! personality keeps the descriptors (a table of its own, apart from the standard
//! descriptors and pipes of [`super::proc`]) and the working directory, and turns every path
//! into the canonical absolute path the server (and the policy) sees: `.`, `..` and repeated
//! slashes resolved against the working directory or the `dirfd`, as Linux would (there are
//! no symbolic links). See `docs/linux.md`, "Files".

use alloc::vec;
use alloc::vec::Vec;

use super::{err, ok, Kernel, MapOk, Outcome, State, RLIMIT_NOFILE};
use crate::errno::*;
use crate::nr::Sys;
use crate::Arch;

/// Longest path a call may name (Linux's `PATH_MAX`, NUL included) and longest canonical
/// path sent to the server (`PathMax` of kl.Vfs).
pub const PATH_MAX: usize = 4096;
pub const VFS_PATH_MAX: usize = 1024;
/// Most bytes one request moves (`DataMax` of kl.Vfs).
pub const DATA_MAX: usize = 16 * 1024;
/// Most bytes one `read` or `write` moves (in requests of [`DATA_MAX`]); more is a short
/// count, which callers loop on.
pub const IO_MAX: usize = 256 * 1024;

/// Open flags of kl.Vfs.
pub mod vfs_flags {
    pub const READ: u32 = 1;
    pub const WRITE: u32 = 2;
    pub const CREATE: u32 = 4;
    pub const EXCLUSIVE: u32 = 8;
    pub const TRUNCATE: u32 = 16;
    pub const APPEND: u32 = 32;
    pub const DIRECTORY: u32 = 64;
}

/// A request to the VFS server (one method of kl.Vfs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VfsRequest<'a> {
    Open {
        path: &'a [u8],
        flags: u32,
        mode: u32,
    },
    Read {
        file: u32,
        size: u32,
    },
    Write {
        file: u32,
        data: &'a [u8],
    },
    PRead {
        file: u32,
        offset: u64,
        size: u32,
    },
    PWrite {
        file: u32,
        offset: u64,
        data: &'a [u8],
    },
    Seek {
        file: u32,
        offset: i64,
        whence: u32,
    },
    Stat {
        path: &'a [u8],
    },
    FStat {
        file: u32,
    },
    ReadDir {
        file: u32,
        room: u32,
    },
    MkDir {
        path: &'a [u8],
        mode: u32,
    },
    RmDir {
        path: &'a [u8],
    },
    Unlink {
        path: &'a [u8],
    },
    Rename {
        from: &'a [u8],
        to: &'a [u8],
    },
    Truncate {
        file: u32,
        size: u64,
    },
    FSync {
        file: u32,
    },
    Close {
        file: u32,
    },
    /// Shares `file` with the process `sid` (which takes it with `Inherited`) under `tag`.
    Grant {
        file: u32,
        sid: u64,
        tag: u32,
    },
    /// Takes back the grants to `sid` not yet taken.
    Withdraw {
        sid: u64,
    },
    /// Takes the files granted to this process: `Data` of (tag, file) records.
    Inherited,
}

/// What a file is (`Stat`, `FStat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStat {
    pub mode: u32,
    pub size: u64,
    pub ino: u64,
    pub nlink: u32,
    pub mtime_ns: u64,
}

/// The server's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VfsReply {
    Opened { file: u32, mode: u32 },
    Data(Vec<u8>),
    Count(u64),
    Stat(FileStat),
    Done,
}

/// An open file or directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileFd {
    /// The server's number for it.
    pub file: u32,
    pub dir: bool,
    /// Its canonical path when opened (the base of `*at` calls, `fchdir`).
    pub path: Vec<u8>,
    /// `O_ACCMODE`, `O_APPEND`, `O_NONBLOCK` as opened (`F_GETFL`).
    pub status: u64,
    pub cloexec: bool,
}

/// The descriptor table of files and the working directory.
#[derive(Clone, Debug)]
pub struct Files {
    /// Indexed by descriptor.
    fds: Vec<Option<FileFd>>,
    pub cwd: Vec<u8>,
    /// The file-mode creation mask (`umask`).
    pub umask: u32,
    /// The parent's table while a `vfork` child runs.
    saved: Option<(Vec<Option<FileFd>>, Vec<u8>)>,
}

impl Default for Files {
    fn default() -> Self {
        Files {
            fds: Vec::new(),
            cwd: b"/".to_vec(),
            umask: UMASK,
            saved: None,
        }
    }
}

impl Files {
    pub fn get(&self, fd: u64) -> Option<&FileFd> {
        self.fds.get(fd as usize).and_then(Option::as_ref)
    }

    pub fn is_open(&self, fd: u64) -> bool {
        self.get(fd).is_some()
    }

    /// A `vfork` child starts: the parent's table is kept aside.
    pub fn vfork(&mut self) {
        self.saved = Some((self.fds.clone(), self.cwd.clone()));
    }

    /// The `vfork` child has gone: the parent's table back. Files the child opened are
    /// returned for closing; files it closed were only dropped from its view.
    pub fn end_vfork(&mut self) -> Vec<u32> {
        let Some((fds, cwd)) = self.saved.take() else {
            return Vec::new();
        };
        let kept: Vec<u32> = fds.iter().flatten().map(|f| f.file).collect();
        let opened = self
            .fds
            .iter()
            .flatten()
            .map(|f| f.file)
            .filter(|f| !kept.contains(f))
            .collect();
        self.fds = fds;
        self.cwd = cwd;
        opened
    }

    /// Puts `f` at descriptor `fd` (free: the caller closed what was there).
    pub fn place(&mut self, fd: u64, f: FileFd) {
        let i = fd as usize;
        while self.fds.len() <= i {
            self.fds.push(None);
        }
        self.fds[i] = Some(f);
    }

    /// The files a new process or a `fork` copy inherits (all but close-on-exec ones for
    /// `execve`, all for `fork`): `(server file, tag)` for kl.Vfs `Grant`, the tag telling
    /// the receiver the descriptor and how it was opened ([`grant_tag`]).
    pub fn granted(&self, exec: bool) -> Vec<(u32, u32)> {
        self.fds
            .iter()
            .enumerate()
            .filter_map(|(fd, f)| Some((fd, f.as_ref()?)))
            .filter(|(_, f)| !(exec && f.cloexec))
            .map(|(fd, f)| (f.file, grant_tag(fd as u64, f)))
            .collect()
    }

    /// A process started by `execve` takes the files its creator granted it (kl.Vfs
    /// `Inherited` records: tag u32 LE, file u32 LE): each at the descriptor its tag
    /// names. Their paths are not known here (`*at` calls relative to an inherited
    /// directory fail with `ENOENT`, `fchdir` to it leaves `/`). The descriptors it takes,
    /// for the standard ones to leave the console.
    pub fn inherit(&mut self, records: &[u8]) -> Vec<u64> {
        let mut taken = Vec::new();
        for r in records.chunks_exact(8) {
            let tag = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            let file = u32::from_le_bytes([r[4], r[5], r[6], r[7]]);
            let fd = u64::from(tag & TAG_FD);
            let mut status = u64::from(tag >> TAG_ACCMODE_SHIFT) & O_ACCMODE;
            if tag & TAG_APPEND != 0 {
                status |= O_APPEND;
            }
            if tag & TAG_NONBLOCK != 0 {
                status |= O_NONBLOCK;
            }
            self.place(
                fd,
                FileFd {
                    file,
                    dir: tag & TAG_DIR != 0,
                    path: Vec::new(),
                    status,
                    cloexec: false,
                },
            );
            taken.push(fd);
        }
        taken
    }

    /// In a `fork` copy: the parent's files, granted to this process, get this process's
    /// server numbers (`Inherited` records as for [`Files::inherit`]); descriptors whose
    /// file was not granted are closed.
    pub fn forked_with(&mut self, records: &[u8]) {
        let mut fds: Vec<Option<FileFd>> = Vec::new();
        for r in records.chunks_exact(8) {
            let tag = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            let file = u32::from_le_bytes([r[4], r[5], r[6], r[7]]);
            let fd = (tag & TAG_FD) as usize;
            if let Some(f) = self.get(fd as u64) {
                while fds.len() <= fd {
                    fds.push(None);
                }
                fds[fd] = Some(FileFd { file, ..f.clone() });
            }
        }
        self.fds = fds;
        self.saved = None;
    }

    fn in_vfork(&self) -> bool {
        self.saved.is_some()
    }

    /// The process ends: every server file it names (its table's and, if a `vfork` child
    /// is running, the parent's kept aside), each once, taken out of the table.
    pub fn take_all(&mut self) -> Vec<u32> {
        let mut all: Vec<u32> = Vec::new();
        let saved = self.saved.take().map(|(fds, _)| fds).unwrap_or_default();
        for f in core::mem::take(&mut self.fds)
            .into_iter()
            .chain(saved)
            .flatten()
        {
            if !all.contains(&f.file) {
                all.push(f.file);
            }
        }
        all
    }
}

/// The tag of a granted file (kl.Vfs `Grant`): the descriptor in the low bits, then its
/// access mode, `O_APPEND`, `O_NONBLOCK` and whether it is a directory.
const TAG_FD: u32 = 0xfff;
const TAG_ACCMODE_SHIFT: u32 = 12;
const TAG_APPEND: u32 = 1 << 14;
const TAG_NONBLOCK: u32 = 1 << 15;
const TAG_DIR: u32 = 1 << 16;

/// The tag under which descriptor `fd`'s file `f` is granted.
pub fn grant_tag(fd: u64, f: &FileFd) -> u32 {
    let mut tag = (fd as u32 & TAG_FD) | ((f.status & O_ACCMODE) as u32) << TAG_ACCMODE_SHIFT;
    if f.status & O_APPEND != 0 {
        tag |= TAG_APPEND;
    }
    if f.status & O_NONBLOCK != 0 {
        tag |= TAG_NONBLOCK;
    }
    if f.dir {
        tag |= TAG_DIR;
    }
    tag
}

const AT_FDCWD: i64 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_EMPTY_PATH: u64 = 0x1000;
const AT_EACCESS: u64 = 0x200;
const O_ACCMODE: u64 = 3;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_TRUNC: u64 = 0o1000;
const O_APPEND: u64 = 0o2000;
const O_NONBLOCK: u64 = 0o4000;
const O_CLOEXEC: u64 = 0o2000000;
const O_PATH: u64 = 0o10000000;
const F_DUPFD: u64 = 0;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const F_DUPFD_CLOEXEC: u64 = 1030;
const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFCHR: u32 = 0o020000;
const S_IFIFO: u32 = 0o010000;
/// The file-mode creation mask a process starts with (`umask` changes it; a `fork` copy
/// keeps it, a program started by `execve` starts with this again).
pub const UMASK: u32 = 0o022;

fn o_directory(arch: Arch) -> u64 {
    match arch {
        Arch::X86_64 => 0o200000,
        Arch::Aarch64 => 0o40000,
    }
}

/// `path` made canonical: absolute, no empty, `.` or `..` parts, no trailing slash.
pub fn canonical(base: &[u8], path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let whole: Vec<&[u8]> = if path.first() == Some(&b'/') {
        path.split(|&b| b == b'/').collect()
    } else {
        base.split(|&b| b == b'/')
            .chain(path.split(|&b| b == b'/'))
            .collect()
    };
    for p in whole {
        match p {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = Vec::new();
    for p in parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// Linux `struct stat` of `arch` (144 bytes on x86_64, 128 on AArch64).
pub fn stat_bytes(arch: Arch, s: &FileStat) -> Vec<u8> {
    let sec = (s.mtime_ns / 1_000_000_000) as i64;
    let nsec = s.mtime_ns % 1_000_000_000;
    let blocks = s.size.div_ceil(512);
    let put = |b: &mut Vec<u8>, at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    match arch {
        Arch::X86_64 => {
            let mut b = vec![0u8; 144];
            put(&mut b, 0, &1u64.to_le_bytes());
            put(&mut b, 8, &s.ino.to_le_bytes());
            put(&mut b, 16, &u64::from(s.nlink).to_le_bytes());
            put(&mut b, 24, &s.mode.to_le_bytes());
            put(&mut b, 48, &s.size.to_le_bytes());
            put(&mut b, 56, &4096u64.to_le_bytes());
            put(&mut b, 64, &blocks.to_le_bytes());
            for at in [72, 88, 104] {
                put(&mut b, at, &sec.to_le_bytes());
                put(&mut b, at + 8, &nsec.to_le_bytes());
            }
            b
        }
        Arch::Aarch64 => {
            let mut b = vec![0u8; 128];
            put(&mut b, 0, &1u64.to_le_bytes());
            put(&mut b, 8, &s.ino.to_le_bytes());
            put(&mut b, 16, &s.mode.to_le_bytes());
            put(&mut b, 20, &s.nlink.to_le_bytes());
            put(&mut b, 48, &s.size.to_le_bytes());
            put(&mut b, 56, &4096u32.to_le_bytes());
            put(&mut b, 64, &blocks.to_le_bytes());
            for at in [72, 88, 104] {
                put(&mut b, at, &sec.to_le_bytes());
                put(&mut b, at + 8, &nsec.to_le_bytes());
            }
            b
        }
    }
}

/// Linux `struct statx` (256 bytes, the same on both architectures).
pub fn statx_bytes(s: &FileStat) -> Vec<u8> {
    let mut b = vec![0u8; 256];
    let put = |b: &mut Vec<u8>, at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    // STATX_BASIC_STATS
    put(&mut b, 0, &0x7ffu32.to_le_bytes());
    put(&mut b, 4, &4096u32.to_le_bytes());
    put(&mut b, 16, &s.nlink.to_le_bytes());
    put(&mut b, 28, &(s.mode as u16).to_le_bytes());
    put(&mut b, 32, &s.ino.to_le_bytes());
    put(&mut b, 40, &s.size.to_le_bytes());
    put(&mut b, 48, &s.size.div_ceil(512).to_le_bytes());
    let sec = (s.mtime_ns / 1_000_000_000) as i64;
    let nsec = (s.mtime_ns % 1_000_000_000) as u32;
    // atime, ctime, mtime (btime is not in the mask).
    for at in [64, 96, 112] {
        put(&mut b, at, &sec.to_le_bytes());
        put(&mut b, at + 8, &nsec.to_le_bytes());
    }
    // stx_dev_major/minor: 0:1, as st_dev 1.
    put(&mut b, 140, &1u32.to_le_bytes());
    b
}

/// The server's packed directory records as Linux `dirent64` records; `next` numbers them
/// (`d_off`).
pub fn dirents(records: &[u8], mut next: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 10 <= records.len() {
        let mut ino = [0u8; 8];
        ino.copy_from_slice(&records[at..at + 8]);
        let ty = records[at + 8];
        let len = records[at + 9] as usize;
        let Some(name) = records.get(at + 10..at + 10 + len) else {
            break;
        };
        at += 10 + len;
        next += 1;
        let reclen = (19 + len + 1).div_ceil(8) * 8;
        let start = out.len();
        out.resize(start + reclen, 0);
        out[start..start + 8].copy_from_slice(&ino);
        out[start + 8..start + 16].copy_from_slice(&next.to_le_bytes());
        out[start + 16..start + 18].copy_from_slice(&(reclen as u16).to_le_bytes());
        out[start + 18] = ty;
        out[start + 19..start + 19 + len].copy_from_slice(name);
    }
    out
}

pub(super) fn stat_of(r: Result<VfsReply, i64>) -> Result<FileStat, i64> {
    match r? {
        VfsReply::Stat(s) => Ok(s),
        _ => Err(EINVAL),
    }
}

impl State {
    /// Handles `sys` if it is a file call or names a file descriptor; `None` otherwise.
    pub(super) fn file_call<K: Kernel>(
        &mut self,
        k: &mut K,
        sys: Sys,
        a: [u64; 6],
    ) -> Option<Outcome> {
        let fd = a[0] as u32 as u64;
        let dirfd = a[0] as i32 as i64;
        let file = self.files.get(fd).cloned();
        let outcome = match (sys, file) {
            (Sys::Open, _) => self.sys_open(k, AT_FDCWD, a[0], a[1], a[2] as u32),
            (Sys::Openat, _) => self.sys_open(k, dirfd, a[1], a[2], a[3] as u32),
            (Sys::Creat, _) => self.sys_open(k, AT_FDCWD, a[0], O_CREAT | O_TRUNC | 1, a[1] as u32),
            (Sys::Stat | Sys::Lstat, _) => self.sys_stat(k, AT_FDCWD, a[0], a[1], 0, false),
            (Sys::Newfstatat, _) => self.sys_stat(k, dirfd, a[1], a[2], a[3], false),
            (Sys::Statx, _) => self.sys_stat(k, dirfd, a[1], a[4], a[2], true),
            (Sys::Fstat, _) => self.sys_stat(k, dirfd, 0, a[1], AT_EMPTY_PATH, false),
            (Sys::Mkdir, _) => self.sys_mkdir(k, AT_FDCWD, a[0], a[1] as u32),
            (Sys::Mkdirat, _) => self.sys_mkdir(k, dirfd, a[1], a[2] as u32),
            (Sys::Rmdir, _) => self.sys_unlink(k, AT_FDCWD, a[0], AT_REMOVEDIR),
            (Sys::Unlink, _) => self.sys_unlink(k, AT_FDCWD, a[0], 0),
            (Sys::Unlinkat, _) => self.sys_unlink(k, dirfd, a[1], a[2]),
            (Sys::Rename, _) => self.sys_rename(k, AT_FDCWD, a[0], AT_FDCWD, a[1], 0),
            (Sys::Renameat, _) => self.sys_rename(k, dirfd, a[1], a[2] as i32 as i64, a[3], 0),
            (Sys::Renameat2, _) => self.sys_rename(k, dirfd, a[1], a[2] as i32 as i64, a[3], a[4]),
            (Sys::Truncate, _) => self.sys_truncate_path(k, a[0], a[1] as i64),
            (Sys::Chdir, _) => self.sys_chdir(k, AT_FDCWD, a[0]),
            (Sys::Access, _) => self.sys_access(k, AT_FDCWD, a[0], a[1], 0),
            (Sys::Faccessat, _) => self.sys_access(k, dirfd, a[1], a[2], 0),
            (Sys::Faccessat2, _) => self.sys_access(k, dirfd, a[1], a[2], a[3]),
            (Sys::Getcwd, _) => {
                let mut cwd = self.files.cwd.clone();
                cwd.push(0);
                if (a[1] as usize) < cwd.len() {
                    return Some(err(ERANGE));
                }
                self.result(self.write(k, a[0], &cwd))
                    .map_ok(cwd.len() as i64)
            }
            (Sys::Fchdir, Some(f)) if f.dir => {
                self.files.cwd = f.path;
                ok(0)
            }
            (Sys::Fchdir, Some(_)) => err(ENOTDIR),
            (Sys::Read, Some(f)) => self.file_read(k, &f, a[1], a[2], None),
            (Sys::Pread64, Some(f)) => match a[3] as i64 {
                o if o < 0 => err(EINVAL),
                o => self.file_read(k, &f, a[1], a[2], Some(o as u64)),
            },
            (Sys::Write, Some(f)) => self.file_write(k, &f, a[1], a[2], None),
            (Sys::Pwrite64, Some(f)) => match a[3] as i64 {
                o if o < 0 => err(EINVAL),
                o => self.file_write(k, &f, a[1], a[2], Some(o as u64)),
            },
            (Sys::Readv | Sys::Writev, Some(f)) => self.file_iov(k, &f, sys, a[1], a[2]),
            (Sys::Close, Some(_)) => match self.close_file_fd(k, fd) {
                Ok(()) => ok(0),
                Err(e) => err(e),
            },
            (Sys::Lseek, Some(f)) => match k.vfs(VfsRequest::Seek {
                file: f.file,
                offset: a[1] as i64,
                whence: a[2] as u32,
            }) {
                Ok(VfsReply::Count(p)) => ok(p as i64),
                Ok(_) => err(EINVAL),
                Err(e) => err(e),
            },
            (Sys::Getdents64, Some(f)) => self.file_getdents(k, &f, a[1], a[2]),
            (Sys::Getdents64, None) if self.fd_any(fd) => err(ENOTDIR),
            (Sys::Ftruncate, Some(f)) => match a[1] as i64 {
                n if n < 0 => err(EINVAL),
                n => self.vfs_done(
                    k,
                    VfsRequest::Truncate {
                        file: f.file,
                        size: n as u64,
                    },
                ),
            },
            (Sys::Fsync | Sys::Fdatasync, Some(f)) => {
                self.vfs_done(k, VfsRequest::FSync { file: f.file })
            }
            (Sys::Fsync | Sys::Fdatasync, None) if self.fd_any(fd) => err(EINVAL),
            (Sys::Ioctl, Some(_)) => err(ENOTTY),
            (Sys::Dup, Some(f)) => self.file_dup(k, f, None, 0, false),
            (Sys::Dup2, Some(_)) if a[1] as u32 as u64 == fd => ok(fd as i64),
            (Sys::Dup2, Some(f)) => self.file_dup(k, f, Some(a[1] as u32 as u64), 0, false),
            (Sys::Dup3, Some(_)) if a[2] & !O_CLOEXEC != 0 || a[1] as u32 as u64 == fd => {
                err(EINVAL)
            }
            (Sys::Dup3, Some(f)) => {
                let cloexec = a[2] & O_CLOEXEC != 0;
                self.file_dup(k, f, Some(a[1] as u32 as u64), 0, cloexec)
            }
            (Sys::Fcntl, Some(f)) if matches!(a[1] as u32 as u64, F_DUPFD | F_DUPFD_CLOEXEC) => {
                let cloexec = a[1] as u32 as u64 == F_DUPFD_CLOEXEC;
                self.file_dup(k, f, None, a[2] as u32 as u64, cloexec)
            }
            (Sys::Fcntl, Some(f)) => self.file_fcntl(fd, f, a[1] as u32 as u64, a[2]),
            (
                Sys::Pread64
                | Sys::Pwrite64
                | Sys::Ftruncate
                | Sys::Fsync
                | Sys::Fdatasync
                | Sys::Getdents64
                | Sys::Fchdir,
                None,
            ) => match self.fd_any(fd) {
                true if matches!(sys, Sys::Pread64 | Sys::Pwrite64) => err(ESPIPE),
                true => err(EINVAL),
                false => err(EBADF),
            },
            _ => return None,
        };
        Some(outcome)
    }

    /// Whether `fd` is open as anything (standard, pipe or file).
    fn fd_any(&self, fd: u64) -> bool {
        self.fd_open(fd)
    }

    /// Closes `fd` if it is a file (`close`, `dup2` onto it). The server's file is closed
    /// with the last descriptor naming it (`dup` copies share it, and its position, as
    /// Linux descriptors share an open file description); in a `vfork` child only the
    /// child's view of the parent's files closes.
    pub(super) fn close_file_fd<K: Kernel>(&mut self, k: &mut K, fd: u64) -> Result<(), i64> {
        let Some(f) = self.files.fds.get_mut(fd as usize).and_then(Option::take) else {
            return Ok(());
        };
        let shared = self.files.fds.iter().flatten().any(|g| g.file == f.file);
        if shared || self.files.in_vfork() {
            return Ok(());
        }
        k.vfs(VfsRequest::Close { file: f.file }).map(|_| ())
    }

    /// The process ends (`exit_group`, the last thread's `exit`, a signal's default action,
    /// a fault nothing handles): every server file it holds is closed, so that the server's
    /// table for it empties and counts no more against its bounds (docs/files.md, "When a
    /// client ends"). How many were closed.
    pub fn close_all_files<K: Kernel>(&mut self, k: &mut K) -> usize {
        let files = self.files.take_all();
        for &file in &files {
            let _ = k.vfs(VfsRequest::Close { file });
        }
        files.len()
    }

    /// Takes the files granted to this process by its creator (`execve`; kl.Vfs
    /// `Inherited` records): standard descriptors among them leave the console.
    pub fn inherit_files(&mut self, records: &[u8]) {
        for fd in self.files.inherit(records) {
            self.close_std(fd);
        }
    }

    /// Closes whatever `fd` is (a file, a pipe end, the console or a duplicate of it), as
    /// `dup2` onto an open number does; nothing if it is not open.
    pub(super) fn close_any<K: Kernel>(&mut self, k: &mut K, fd: u64) -> Result<(), i64> {
        if self.sockets.is_open(fd) {
            self.close_socket_fd(k, fd);
            return Ok(());
        }
        if self.sockets.epolls.remove(&fd).is_some() {
            return Ok(());
        }
        if self.files.is_open(fd) {
            return self.close_file_fd(k, fd);
        }
        if self.pipe_fd(fd).is_some() {
            let old = self.procs.fds[fd as usize].take();
            self.release(k, old);
        }
        self.close_std(fd);
        Ok(())
    }

    /// `dup`, `dup2`, `dup3`, `F_DUPFD(_CLOEXEC)` of a file: a descriptor naming the same
    /// server file (the same position), at the lowest free number from `min` or at `new`
    /// (whatever is open there, of any kind, is closed first).
    fn file_dup<K: Kernel>(
        &mut self,
        k: &mut K,
        f: FileFd,
        new: Option<u64>,
        min: u64,
        cloexec: bool,
    ) -> Outcome {
        let limit = self.limits[RLIMIT_NOFILE].0.min(1024);
        let target = match self.dup_target(new, min, limit) {
            Ok(n) => n,
            Err(e) => return err(e),
        };
        if let Err(e) = self.close_any(k, target) {
            return err(e);
        }
        self.files.place(target, FileFd { cloexec, ..f });
        ok(target as i64)
    }

    fn vfs_done<K: Kernel>(&mut self, k: &mut K, r: VfsRequest<'_>) -> Outcome {
        match k.vfs(r) {
            Ok(_) => ok(0),
            Err(e) => err(e),
        }
    }

    /// The canonical path of `at` relative to `dirfd`; `empty_ok` lets an empty path name
    /// the directory itself (`AT_EMPTY_PATH`).
    pub(super) fn path_at<K: Kernel>(
        &self,
        k: &mut K,
        dirfd: i64,
        at: u64,
    ) -> Result<Vec<u8>, i64> {
        let raw = match self.read_cstr(k, at, PATH_MAX - 1) {
            Ok(p) => p,
            Err(E2BIG) => return Err(ENAMETOOLONG),
            Err(e) => return Err(e),
        };
        if raw.is_empty() {
            return Err(ENOENT);
        }
        let base = if raw[0] == b'/' || dirfd == AT_FDCWD {
            self.files.cwd.clone()
        } else {
            match self.files.get(dirfd as u32 as u64) {
                Some(f) if f.dir => f.path.clone(),
                Some(_) => return Err(ENOTDIR),
                None if self.fd_open(dirfd as u32 as u64) => return Err(ENOTDIR),
                None => return Err(EBADF),
            }
        };
        let path = canonical(&base, &raw);
        if path.len() > VFS_PATH_MAX {
            return Err(ENAMETOOLONG);
        }
        Ok(path)
    }

    /// A free descriptor for a file: the lowest not in use (0-2 too, once closed).
    fn free_file_fd(&self) -> Result<u64, i64> {
        let limit = self.limits[RLIMIT_NOFILE].0.min(1024);
        (0..limit).find(|&n| !self.fd_any(n)).ok_or(EMFILE)
    }

    fn sys_open<K: Kernel>(
        &mut self,
        k: &mut K,
        dirfd: i64,
        at: u64,
        flags: u64,
        mode: u32,
    ) -> Outcome {
        let path = match self.path_at(k, dirfd, at) {
            Ok(p) => p,
            Err(e) => return err(e),
        };
        let fd = match self.free_file_fd() {
            Ok(fd) => fd,
            Err(e) => return err(e),
        };
        use vfs_flags as v;
        let mut f = match flags & O_ACCMODE {
            0 => v::READ,
            1 => v::WRITE,
            2 => v::READ | v::WRITE,
            _ => return err(EINVAL),
        };
        if flags & O_PATH != 0 {
            f = v::READ;
        }
        if flags & O_CREAT != 0 {
            f |= v::CREATE;
            if flags & O_EXCL != 0 {
                f |= v::EXCLUSIVE;
            }
        }
        if flags & O_TRUNC != 0 && f & v::WRITE != 0 {
            f |= v::TRUNCATE;
        }
        if flags & O_APPEND != 0 {
            f |= v::APPEND;
        }
        if flags & o_directory(self.arch) != 0 {
            f |= v::DIRECTORY;
        }
        let reply = k.vfs(VfsRequest::Open {
            path: &path,
            flags: f,
            mode: mode & 0o7777 & !self.files.umask,
        });
        let (file, kind) = match reply {
            Ok(VfsReply::Opened { file, mode }) => (file, mode),
            Ok(_) => return err(EINVAL),
            Err(e) => return err(e),
        };
        self.files.place(
            fd,
            FileFd {
                file,
                dir: kind & S_IFMT == S_IFDIR,
                path,
                status: flags & (O_ACCMODE | O_APPEND | O_NONBLOCK),
                cloexec: flags & O_CLOEXEC != 0,
            },
        );
        ok(fd as i64)
    }

    fn file_read<K: Kernel>(
        &mut self,
        k: &mut K,
        f: &FileFd,
        buf: u64,
        len: u64,
        at: Option<u64>,
    ) -> Outcome {
        let len = (len as usize).min(IO_MAX);
        if len > 0 && !self.space.accessible(buf, len as u64, true) {
            return err(EFAULT);
        }
        let mut done = 0usize;
        while done < len {
            let size = (len - done).min(DATA_MAX) as u32;
            let r = match at {
                None => k.vfs(VfsRequest::Read { file: f.file, size }),
                Some(o) => k.vfs(VfsRequest::PRead {
                    file: f.file,
                    offset: o + done as u64,
                    size,
                }),
            };
            let data = match r {
                Ok(VfsReply::Data(d)) => d,
                Ok(_) => return err(EINVAL),
                Err(e) if done == 0 => return err(e),
                Err(_) => break,
            };
            let n = data.len().min(len - done);
            if let Err(e) = self.write(k, buf + done as u64, &data[..n]) {
                return err(e);
            }
            done += n;
            if n < size as usize {
                break;
            }
        }
        ok(done as i64)
    }

    fn file_write<K: Kernel>(
        &mut self,
        k: &mut K,
        f: &FileFd,
        buf: u64,
        len: u64,
        at: Option<u64>,
    ) -> Outcome {
        let len = (len as usize).min(IO_MAX);
        if len > 0 && !self.space.accessible(buf, len as u64, false) {
            return err(EFAULT);
        }
        let mut done = 0usize;
        let mut piece = vec![0u8; len.min(DATA_MAX)];
        if len == 0 {
            // A zero-length write still checks the descriptor.
            return match k.vfs(VfsRequest::Write {
                file: f.file,
                data: &[],
            }) {
                Ok(_) => ok(0),
                Err(e) => err(e),
            };
        }
        while done < len {
            let n = (len - done).min(DATA_MAX);
            if let Err(e) = self.read(k, buf + done as u64, &mut piece[..n]) {
                return err(e);
            }
            let r = match at {
                None => k.vfs(VfsRequest::Write {
                    file: f.file,
                    data: &piece[..n],
                }),
                Some(o) => k.vfs(VfsRequest::PWrite {
                    file: f.file,
                    offset: o + done as u64,
                    data: &piece[..n],
                }),
            };
            let wrote = match r {
                Ok(VfsReply::Count(c)) => c as usize,
                Ok(_) => return err(EINVAL),
                Err(e) if done == 0 => return err(e),
                Err(_) => break,
            };
            done += wrote.min(n);
            if wrote < n {
                break;
            }
        }
        ok(done as i64)
    }

    fn file_iov<K: Kernel>(
        &mut self,
        k: &mut K,
        f: &FileFd,
        sys: Sys,
        iov: u64,
        count: u64,
    ) -> Outcome {
        if count > 1024 {
            return err(EINVAL);
        }
        let mut total = 0i64;
        for i in 0..count {
            let mut v = [0u8; 16];
            if let Err(e) = self.read(k, iov + i * 16, &mut v) {
                return err(e);
            }
            let base = u64::from_le_bytes(v[..8].try_into().unwrap_or_default());
            let len = u64::from_le_bytes(v[8..].try_into().unwrap_or_default());
            if len == 0 {
                continue;
            }
            let r = match sys {
                Sys::Readv => self.file_read(k, f, base, len, None),
                _ => self.file_write(k, f, base, len, None),
            };
            match r {
                Outcome::Return(n) if n < 0 && total == 0 => return ok(n),
                Outcome::Return(n) if n < 0 => break,
                Outcome::Return(n) => {
                    total += n;
                    if (n as u64) < len {
                        break;
                    }
                }
                other => return other,
            }
        }
        ok(total)
    }

    fn file_getdents<K: Kernel>(&mut self, k: &mut K, f: &FileFd, buf: u64, len: u64) -> Outcome {
        if !f.dir {
            return err(ENOTDIR);
        }
        let room = (len as usize).min(DATA_MAX);
        if !self.space.accessible(buf, room as u64, true) {
            return err(EFAULT);
        }
        let before = match k.vfs(VfsRequest::Seek {
            file: f.file,
            offset: 0,
            whence: 1,
        }) {
            Ok(VfsReply::Count(p)) => p,
            _ => 0,
        };
        let records = match k.vfs(VfsRequest::ReadDir {
            file: f.file,
            room: room as u32,
        }) {
            Ok(VfsReply::Data(d)) => d,
            Ok(_) => return err(EINVAL),
            Err(e) => return err(e),
        };
        let out = dirents(&records, before);
        if out.len() > room {
            return err(EINVAL);
        }
        self.result(self.write(k, buf, &out))
            .map_ok(out.len() as i64)
    }

    fn file_fcntl(&mut self, fd: u64, f: FileFd, cmd: u64, arg: u64) -> Outcome {
        match cmd {
            F_GETFD => ok(i64::from(f.cloexec)),
            F_SETFD => {
                if let Some(Some(e)) = self.files.fds.get_mut(fd as usize) {
                    e.cloexec = arg & 1 != 0;
                }
                ok(0)
            }
            F_GETFL => ok(f.status as i64),
            F_SETFL => {
                // Only O_NONBLOCK may change (O_APPEND stays as opened).
                if let Some(Some(e)) = self.files.fds.get_mut(fd as usize) {
                    e.status = (e.status & !O_NONBLOCK) | (arg & O_NONBLOCK);
                }
                ok(0)
            }
            _ => err(EINVAL),
        }
    }

    /// `stat`, `lstat`, `fstat`, `newfstatat`, `statx` (`x`).
    fn sys_stat<K: Kernel>(
        &mut self,
        k: &mut K,
        dirfd: i64,
        at: u64,
        out: u64,
        flags: u64,
        x: bool,
    ) -> Outcome {
        let _ = AT_SYMLINK_NOFOLLOW;
        let empty = flags & AT_EMPTY_PATH != 0
            && (at == 0 || matches!(self.read_cstr(k, at, 0), Ok(p) if p.is_empty()));
        let st = if empty {
            let fd = dirfd as u32 as u64;
            if dirfd == AT_FDCWD {
                let cwd = self.files.cwd.clone();
                stat_of(k.vfs(VfsRequest::Stat { path: &cwd }))
            } else if let Some(f) = self.files.get(fd).cloned() {
                stat_of(k.vfs(VfsRequest::FStat { file: f.file }))
            } else if self.is_open(fd) || self.pipe_fd_console_out(fd) {
                // The console: a character device.
                Ok(FileStat {
                    mode: S_IFCHR | 0o620,
                    nlink: 1,
                    ..FileStat::default()
                })
            } else if self.fd_open(fd) {
                Ok(FileStat {
                    mode: S_IFIFO | 0o600,
                    nlink: 1,
                    ..FileStat::default()
                })
            } else {
                Err(EBADF)
            }
        } else {
            match self.path_at(k, dirfd, at) {
                Ok(path) => stat_of(k.vfs(VfsRequest::Stat { path: &path })),
                Err(e) => Err(e),
            }
        };
        let st = match st {
            Ok(s) => s,
            Err(e) => return err(e),
        };
        let bytes = match x {
            true => statx_bytes(&st),
            false => stat_bytes(self.arch, &st),
        };
        self.result(self.write(k, out, &bytes))
    }

    fn sys_mkdir<K: Kernel>(&mut self, k: &mut K, dirfd: i64, at: u64, mode: u32) -> Outcome {
        match self.path_at(k, dirfd, at) {
            Ok(path) => self.vfs_done(
                k,
                VfsRequest::MkDir {
                    path: &path,
                    mode: mode & 0o7777 & !self.files.umask,
                },
            ),
            Err(e) => err(e),
        }
    }

    fn sys_unlink<K: Kernel>(&mut self, k: &mut K, dirfd: i64, at: u64, flags: u64) -> Outcome {
        if flags & !AT_REMOVEDIR != 0 {
            return err(EINVAL);
        }
        let path = match self.path_at(k, dirfd, at) {
            Ok(p) => p,
            Err(e) => return err(e),
        };
        match flags & AT_REMOVEDIR != 0 {
            true => self.vfs_done(k, VfsRequest::RmDir { path: &path }),
            false => self.vfs_done(k, VfsRequest::Unlink { path: &path }),
        }
    }

    fn sys_rename<K: Kernel>(
        &mut self,
        k: &mut K,
        from_dir: i64,
        from: u64,
        to_dir: i64,
        to: u64,
        flags: u64,
    ) -> Outcome {
        if flags != 0 {
            return err(EINVAL);
        }
        let (from, to) = match (self.path_at(k, from_dir, from), self.path_at(k, to_dir, to)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return err(e),
        };
        self.vfs_done(
            k,
            VfsRequest::Rename {
                from: &from,
                to: &to,
            },
        )
    }

    fn sys_truncate_path<K: Kernel>(&mut self, k: &mut K, at: u64, size: i64) -> Outcome {
        if size < 0 {
            return err(EINVAL);
        }
        let path = match self.path_at(k, AT_FDCWD, at) {
            Ok(p) => p,
            Err(e) => return err(e),
        };
        let file = match k.vfs(VfsRequest::Open {
            path: &path,
            flags: vfs_flags::WRITE,
            mode: 0,
        }) {
            Ok(VfsReply::Opened { file, .. }) => file,
            Ok(_) => return err(EINVAL),
            Err(e) => return err(e),
        };
        let r = self.vfs_done(
            k,
            VfsRequest::Truncate {
                file,
                size: size as u64,
            },
        );
        let _ = k.vfs(VfsRequest::Close { file });
        r
    }

    fn sys_chdir<K: Kernel>(&mut self, k: &mut K, dirfd: i64, at: u64) -> Outcome {
        let path = match self.path_at(k, dirfd, at) {
            Ok(p) => p,
            Err(e) => return err(e),
        };
        match stat_of(k.vfs(VfsRequest::Stat { path: &path })) {
            Ok(s) if s.mode & S_IFMT == S_IFDIR => {
                self.files.cwd = path;
                ok(0)
            }
            Ok(_) => err(ENOTDIR),
            Err(e) => err(e),
        }
    }

    /// `access`, `faccessat`, `faccessat2`: the program runs as root, so reading and writing
    /// are allowed wherever the file system allows them; executing needs an `x` bit.
    fn sys_access<K: Kernel>(
        &mut self,
        k: &mut K,
        dirfd: i64,
        at: u64,
        mode: u64,
        flags: u64,
    ) -> Outcome {
        if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return err(EINVAL);
        }
        let path = match self.path_at(k, dirfd, at) {
            Ok(p) => p,
            Err(e) => return err(e),
        };
        let st = match stat_of(k.vfs(VfsRequest::Stat { path: &path })) {
            Ok(s) => s,
            Err(e) => return err(e),
        };
        let rom = path == b"/rom" || path.starts_with(b"/rom/");
        if mode & 2 != 0 && rom {
            return err(EROFS);
        }
        if mode & 1 != 0 && st.mode & S_IFMT != S_IFDIR && st.mode & 0o111 == 0 {
            return err(EACCES);
        }
        ok(0)
    }

    /// `readlink` of a path other than `/proc/self/exe`: there are no symbolic links, so
    /// an existing file is `EINVAL`, as Linux answers for a file that is not a link.
    pub(super) fn readlink_file<K: Kernel>(&mut self, k: &mut K, dirfd: i64, at: u64) -> Outcome {
        let path = match self.path_at(k, dirfd, at) {
            Ok(p) => p,
            Err(e) => return err(e),
        };
        match stat_of(k.vfs(VfsRequest::Stat { path: &path })) {
            Ok(_) => err(EINVAL),
            Err(e) => err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_canonical() {
        assert_eq!(canonical(b"/", b"a/b"), b"/a/b");
        assert_eq!(canonical(b"/x/y", b"../z/./w//"), b"/x/z/w");
        assert_eq!(canonical(b"/x", b"/../../etc"), b"/etc");
        assert_eq!(canonical(b"/data/a", b"../../rom/f"), b"/rom/f");
        assert_eq!(canonical(b"/", b".."), b"/");
        assert_eq!(canonical(b"/a", b"."), b"/a");
    }

    #[test]
    fn directory_records_become_dirent64() {
        let mut rec = Vec::new();
        rec.extend_from_slice(&7u64.to_le_bytes());
        rec.push(8);
        rec.push(3);
        rec.extend_from_slice(b"abc");
        let d = dirents(&rec, 4);
        assert_eq!(d.len(), 24);
        assert_eq!(&d[0..8], &7u64.to_le_bytes());
        assert_eq!(&d[8..16], &5u64.to_le_bytes());
        assert_eq!(u16::from_le_bytes([d[16], d[17]]), 24);
        assert_eq!(d[18], 8);
        assert_eq!(&d[19..23], b"abc\0");
    }

    #[test]
    fn stat_layouts() {
        let s = FileStat {
            mode: 0o100644,
            size: 1000,
            ino: 9,
            nlink: 1,
            mtime_ns: 3_000_000_005,
        };
        let x = stat_bytes(Arch::X86_64, &s);
        assert_eq!(x.len(), 144);
        assert_eq!(u32::from_le_bytes(x[24..28].try_into().unwrap()), 0o100644);
        assert_eq!(u64::from_le_bytes(x[48..56].try_into().unwrap()), 1000);
        assert_eq!(u64::from_le_bytes(x[88..96].try_into().unwrap()), 3);
        let a = stat_bytes(Arch::Aarch64, &s);
        assert_eq!(a.len(), 128);
        assert_eq!(u32::from_le_bytes(a[16..20].try_into().unwrap()), 0o100644);
        assert_eq!(u64::from_le_bytes(a[64..72].try_into().unwrap()), 2);
        let sx = statx_bytes(&s);
        assert_eq!(u16::from_le_bytes([sx[28], sx[29]]), 0o100644);
        assert_eq!(u64::from_le_bytes(sx[40..48].try_into().unwrap()), 1000);
    }
}
