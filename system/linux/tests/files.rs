//! The file calls against a fake kernel whose VFS server is the real RAM file system
//! (`vfs::fs`, the library of system/vfs) for one client: paths made canonical, descriptors,
//! errnos, `getdents64` records, `stat` layouts, and a kernel without a VFS channel.

use std::collections::BTreeMap;

use linux::elf::Rights;
use linux::errno::*;
use linux::mm::{Kind, Memory, Space};
use linux::nr::{number, Sys};
use linux::sys::file::{FileStat, VfsReply, VfsRequest};
use linux::sys::{Call, Kernel, Outcome, State};
use linux::{Arch, PERSONALITY_BASE};
use vfs::fs::{Backend, Fs, CHUNK};

const PAGE: u64 = 4096;
const SID: u64 = 77;

#[derive(Default)]
struct Host {
    chunks: BTreeMap<usize, Vec<u8>>,
    next: usize,
}

impl Backend for Host {
    fn alloc_chunk(&mut self) -> Option<usize> {
        self.next += 1;
        self.chunks.insert(self.next, vec![0; CHUNK]);
        Some(self.next)
    }
    fn free_chunk(&mut self, id: usize) {
        self.chunks.remove(&id);
    }
    fn read_chunk(&mut self, id: usize, offset: usize, buf: &mut [u8]) -> Result<(), i32> {
        buf.copy_from_slice(&self.chunks[&id][offset..offset + buf.len()]);
        Ok(())
    }
    fn write_chunk(&mut self, id: usize, offset: usize, data: &[u8]) -> Result<usize, i32> {
        self.chunks.get_mut(&id).unwrap()[offset..offset + data.len()].copy_from_slice(data);
        Ok(id)
    }
}

impl vfs::fs::Host for Host {
    fn rom_open(&mut self, _: &str) -> Result<(usize, u64), i32> {
        Err(2)
    }
    fn rom_bytes(&mut self, _: usize) -> &[u8] {
        &[]
    }
    fn rom_close(&mut self, _: usize) {}
    fn now_ns(&mut self) -> u64 {
        5_000_000_123
    }
}

struct Fake {
    pages: BTreeMap<u64, Vec<u8>>,
    fs: Option<Fs<Host>>,
    /// Paths the requests named, as the server (and the policy) saw them.
    paths: Vec<String>,
    /// What the last `execve` gave the new process: (label, handle or server file).
    given: Vec<(u32, u32)>,
}

impl Memory for Fake {
    fn allocate_at(&mut self, addr: u64, len: u64, _: Rights) -> Result<(), i64> {
        for p in (addr..addr + len).step_by(PAGE as usize) {
            self.pages.insert(p, vec![0; PAGE as usize]);
        }
        Ok(())
    }
    fn allocate(&mut self, _: u64, _: Rights) -> Result<u64, i64> {
        Err(ENOMEM)
    }
    fn free(&mut self, _: u64, _: u64) -> Result<(), i64> {
        Ok(())
    }
    fn protect(&mut self, _: u64, _: u64, _: Rights) -> Result<(), i64> {
        Ok(())
    }
}

fn text(p: &[u8]) -> String {
    String::from_utf8(p.to_vec()).unwrap()
}

impl Kernel for Fake {
    fn console_write(&mut self, _: u64, len: usize) -> Result<usize, i64> {
        Ok(len)
    }
    // Pipes are only numbered here (the test checks that their descriptors and files' do
    // not collide).
    fn pipe_create(&mut self) -> Result<(u32, u32), i64> {
        Ok((0x1_0001, 0x1_0002))
    }
    // No console input: nothing is ever typed.
    fn console_read(&mut self, _: &mut [u8]) -> Result<usize, i64> {
        Err(linux::errno::EAGAIN)
    }
    fn console_ready(&mut self) -> Result<bool, i64> {
        Ok(false)
    }
    fn console_wait(&mut self, _: Option<u64>) -> Result<bool, i64> {
        Ok(false)
    }
    fn console_write_bytes(&mut self, b: &[u8]) -> Result<usize, i64> {
        Ok(b.len())
    }
    fn read_user(&mut self, addr: u64, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr + i as u64;
            *b = self.pages[&(a & !(PAGE - 1))][(a % PAGE) as usize];
        }
    }
    fn write_user(&mut self, addr: u64, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            let a = addr + i as u64;
            self.pages.get_mut(&(a & !(PAGE - 1))).unwrap()[(a % PAGE) as usize] = *b;
        }
    }
    fn now_ns(&mut self) -> u64 {
        0
    }
    fn sleep_ns(&mut self, _: u64) {}
    fn yield_now(&mut self) {}
    fn futex_wait(&mut self, _: u64, _: u32, _: Option<u64>) -> Result<(), i64> {
        Err(EAGAIN)
    }
    fn futex_wake(&mut self, _: u64, _: u32) -> Result<u64, i64> {
        Ok(0)
    }
    fn spawn(&mut self, _: u64, _: Option<u64>) -> Result<u64, i64> {
        Err(EAGAIN)
    }
    fn join(&mut self, _: u64) {}
    fn log(&mut self, _: &str) {}
    fn audit(&mut self, _: &str) -> bool {
        true
    }
    fn random(&mut self, _: &mut [u8]) -> Result<(), i64> {
        Ok(())
    }
    // `execve`: what it would give the new process.
    fn exec(&mut self, _: &[u8], _: &[u8], _: &[u8], give: &[(u32, u32)]) -> Result<i32, i64> {
        self.given = give.to_vec();
        Ok(77)
    }
    fn vfs(&mut self, r: VfsRequest<'_>) -> Result<VfsReply, i64> {
        let Some(fs) = self.fs.as_mut() else {
            return Err(ENOENT);
        };
        let stat = |s: vfs::fs::Stat| {
            VfsReply::Stat(FileStat {
                mode: s.mode,
                size: s.size,
                ino: s.ino,
                nlink: s.nlink,
                mtime_ns: s.mtime_ns,
            })
        };
        let e = |e: i32| i64::from(e);
        let done = |r: Result<(), i32>| r.map(|()| VfsReply::Done).map_err(e);
        match r {
            VfsRequest::Open { path, flags, mode } => {
                self.paths.push(text(path));
                fs.open(SID, &text(path), flags, mode)
                    .map(|(file, mode)| VfsReply::Opened { file, mode })
                    .map_err(e)
            }
            VfsRequest::Read { file, size } => fs
                .read(SID, file, None, size as usize)
                .map(VfsReply::Data)
                .map_err(e),
            VfsRequest::Write { file, data } => fs
                .write(SID, file, None, data)
                .map(|n| VfsReply::Count(n as u64))
                .map_err(e),
            VfsRequest::PRead { file, offset, size } => fs
                .read(SID, file, Some(offset), size as usize)
                .map(VfsReply::Data)
                .map_err(e),
            VfsRequest::PWrite { file, offset, data } => fs
                .write(SID, file, Some(offset), data)
                .map(|n| VfsReply::Count(n as u64))
                .map_err(e),
            VfsRequest::Seek {
                file,
                offset,
                whence,
            } => fs
                .seek(SID, file, offset, whence)
                .map(VfsReply::Count)
                .map_err(e),
            VfsRequest::Stat { path } => {
                self.paths.push(text(path));
                fs.stat(&text(path)).map(stat).map_err(e)
            }
            VfsRequest::FStat { file } => fs.fstat(SID, file).map(stat).map_err(e),
            VfsRequest::ReadDir { file, room } => fs
                .readdir(SID, file, room as usize)
                .map(VfsReply::Data)
                .map_err(e),
            VfsRequest::MkDir { path, mode } => {
                self.paths.push(text(path));
                done(fs.mkdir(SID, &text(path), mode))
            }
            VfsRequest::RmDir { path } => done(fs.rmdir(&text(path))),
            VfsRequest::Unlink { path } => done(fs.unlink(&text(path))),
            VfsRequest::Rename { from, to } => done(fs.rename(&text(from), &text(to))),
            VfsRequest::Truncate { file, size } => done(fs.truncate(SID, file, size)),
            VfsRequest::FSync { file } => done(fs.fsync(SID, file)),
            VfsRequest::Close { file } => done(fs.close(SID, file)),
            VfsRequest::Grant { file, sid, tag } => done(fs.grant(SID, file, sid, tag)),
            VfsRequest::Withdraw { sid } => Ok(VfsReply::Count(fs.withdraw(SID, sid) as u64)),
            VfsRequest::Inherited => fs
                .inherited(SID)
                .map(|t| {
                    let mut d = Vec::new();
                    for (tag, file) in t {
                        d.extend_from_slice(&tag.to_le_bytes());
                        d.extend_from_slice(&file.to_le_bytes());
                    }
                    VfsReply::Data(d)
                })
                .map_err(e),
        }
    }
}

const STACK_TOP: u64 = 0x3000_0000;
const STACK: u64 = STACK_TOP - 0x10000;
/// Scratch memory: strings at `STR`, buffers at `BUF`.
const STR: u64 = STACK;
const BUF: u64 = STACK + 0x4000;

fn setup(arch: Arch, with_vfs: bool) -> (State, Fake) {
    let mut fake = Fake {
        pages: BTreeMap::new(),
        fs: with_vfs.then(|| Fs::new(Host::default())),
        paths: Vec::new(),
        given: Vec::new(),
    };
    let mut space = Space::new();
    space.reserve(0, 0x10000);
    space.reserve(PERSONALITY_BASE, u64::MAX);
    fake.allocate_at(STACK, STACK_TOP - STACK, Rights::RW)
        .unwrap();
    space.record(STACK, STACK_TOP, Rights::RW, Kind::Stack);
    (State::new(arch, space, 42, STACK_TOP, b"/bin/test"), fake)
}

fn call_outcome(st: &mut State, k: &mut Fake, sys: Sys, args: &[u64]) -> Outcome {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    let nr = number(st.arch, sys).expect("no such call on this arch");
    st.dispatch(
        k,
        &mut Call {
            nr,
            args: a,
            tls: 0,
            sp: STACK_TOP - 0x1000,
        },
    )
}

fn call(st: &mut State, k: &mut Fake, sys: Sys, args: &[u64]) -> i64 {
    match call_outcome(st, k, sys, args) {
        Outcome::Return(v) => v,
        other => panic!("expected a result, got {other:?}"),
    }
}

/// Puts a NUL-terminated string at `STR + slot * 512`; its address.
fn s(k: &mut Fake, slot: u64, text: &str) -> u64 {
    let at = STR + slot * 512;
    let mut b = text.as_bytes().to_vec();
    b.push(0);
    k.write_user(at, &b);
    at
}

const AT_FDCWD: u64 = -100i64 as u64;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_RDWR: u64 = 2;
const O_WRONLY: u64 = 1;
const O_APPEND: u64 = 0o2000;
const O_TRUNC: u64 = 0o1000;

#[test]
fn files_open_write_read_seek_and_close() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let (mut st, mut k) = setup(arch, true);
        let p = s(&mut k, 0, "/note.txt");
        let fd = call(
            &mut st,
            &mut k,
            Sys::Openat,
            &[AT_FDCWD, p, O_CREAT | O_RDWR, 0o644],
        );
        assert_eq!(fd, 3, "the lowest free descriptor");
        k.write_user(BUF, b"hello, world");
        assert_eq!(call(&mut st, &mut k, Sys::Write, &[3, BUF, 12]), 12);
        assert_eq!(call(&mut st, &mut k, Sys::Lseek, &[3, 7, 0]), 7);
        assert_eq!(call(&mut st, &mut k, Sys::Read, &[3, BUF + 100, 100]), 5);
        let mut got = [0u8; 5];
        k.read_user(BUF + 100, &mut got);
        assert_eq!(&got, b"world");
        assert_eq!(
            call(&mut st, &mut k, Sys::Pread64, &[3, BUF + 200, 5, 0]),
            5
        );
        assert_eq!(
            call(&mut st, &mut k, Sys::Pread64, &[3, BUF, 5, -1i64 as u64]),
            -EINVAL
        );
        assert_eq!(call(&mut st, &mut k, Sys::Read, &[3, 0x10, 5]), -EFAULT);
        assert_eq!(call(&mut st, &mut k, Sys::Ftruncate, &[3, 5]), 0);
        assert_eq!(call(&mut st, &mut k, Sys::Lseek, &[3, 0, 2]), 5);
        assert_eq!(call(&mut st, &mut k, Sys::Fsync, &[3]), 0);
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[3]), 0);
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[3]), -EBADF);
        assert_eq!(call(&mut st, &mut k, Sys::Read, &[3, BUF, 1]), -EBADF);
        // O_EXCL, O_APPEND, O_TRUNC.
        let again = call(
            &mut st,
            &mut k,
            Sys::Openat,
            &[AT_FDCWD, p, O_CREAT | O_EXCL | O_RDWR, 0],
        );
        assert_eq!(again, -EEXIST);
        let fd = call(
            &mut st,
            &mut k,
            Sys::Openat,
            &[AT_FDCWD, p, O_WRONLY | O_APPEND, 0],
        ) as u64;
        assert_eq!(call(&mut st, &mut k, Sys::Write, &[fd, BUF, 2]), 2);
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[fd]), 0);
        let fd = call(
            &mut st,
            &mut k,
            Sys::Openat,
            &[AT_FDCWD, p, O_RDWR | O_TRUNC, 0],
        ) as u64;
        assert_eq!(call(&mut st, &mut k, Sys::Read, &[fd, BUF, 100]), 0);
        // Pipes' descriptors and files' do not collide.
        assert_eq!(call(&mut st, &mut k, Sys::Pipe2, &[BUF + 300, 0]), 0);
        let mut ends = [0u8; 8];
        k.read_user(BUF + 300, &mut ends);
        let r = i32::from_le_bytes(ends[..4].try_into().unwrap()) as u64;
        assert_ne!(r, fd);
        let next = call(&mut st, &mut k, Sys::Openat, &[AT_FDCWD, p, 0, 0]);
        assert_eq!(next, 6, "3 the file, 4 and 5 the pipe");
    }
}

#[test]
fn paths_are_made_canonical_against_the_working_directory() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    for (i, d) in ["/data", "/data/a", "/data/a/b"].iter().enumerate() {
        let p = s(&mut k, i as u64, d);
        assert_eq!(
            call(&mut st, &mut k, Sys::Mkdirat, &[AT_FDCWD, p, 0o777]),
            0
        );
    }
    let p = s(&mut k, 0, "data/a//b/./../b");
    assert_eq!(call(&mut st, &mut k, Sys::Chdir, &[p]), 0);
    assert_eq!(call(&mut st, &mut k, Sys::Getcwd, &[BUF, 100]), 10);
    let mut cwd = [0u8; 10];
    k.read_user(BUF, &mut cwd);
    assert_eq!(&cwd, b"/data/a/b\0");
    assert_eq!(call(&mut st, &mut k, Sys::Getcwd, &[BUF, 5]), -ERANGE);
    let p = s(&mut k, 0, "../../../../x");
    let fd = call(
        &mut st,
        &mut k,
        Sys::Openat,
        &[AT_FDCWD, p, O_CREAT | O_RDWR, 0o600],
    );
    assert!(fd >= 3);
    assert_eq!(k.paths.last().unwrap(), "/x", "`..` stops at the root");
    // A dirfd as the base.
    let p = s(&mut k, 1, "/data");
    let dir = call(&mut st, &mut k, Sys::Openat, &[AT_FDCWD, p, 0o200000, 0]) as u64;
    let p = s(&mut k, 2, "a/new");
    assert!(
        call(
            &mut st,
            &mut k,
            Sys::Openat,
            &[dir, p, O_CREAT | O_WRONLY, 0]
        ) >= 3
    );
    assert_eq!(k.paths.last().unwrap(), "/data/a/new");
    // A file as dirfd, an unknown dirfd, empty and missing paths.
    assert_eq!(
        call(&mut st, &mut k, Sys::Openat, &[fd as u64, p, 0, 0]),
        -ENOTDIR
    );
    assert_eq!(call(&mut st, &mut k, Sys::Openat, &[55, p, 0, 0]), -EBADF);
    let empty = s(&mut k, 3, "");
    assert_eq!(
        call(&mut st, &mut k, Sys::Openat, &[AT_FDCWD, empty, 0, 0]),
        -ENOENT
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Openat, &[AT_FDCWD, 0x10, 0, 0]),
        -EFAULT
    );
    // Longer than PATH_MAX: ENAMETOOLONG before any request.
    let huge: String = "/y".repeat(2100);
    k.write_user(BUF, huge.as_bytes());
    k.write_user(BUF + huge.len() as u64, &[0]);
    assert_eq!(
        call(&mut st, &mut k, Sys::Openat, &[AT_FDCWD, BUF, 0, 0]),
        -ENAMETOOLONG
    );
}

#[test]
fn stat_getdents_unlink_rename_and_errors() {
    let (mut st, mut k) = setup(Arch::Aarch64, true);
    let d = s(&mut k, 0, "/d");
    assert_eq!(
        call(&mut st, &mut k, Sys::Mkdirat, &[AT_FDCWD, d, 0o777]),
        0
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Mkdirat, &[AT_FDCWD, d, 0o777]),
        -EEXIST
    );
    let f = s(&mut k, 1, "/d/f");
    let fd = call(
        &mut st,
        &mut k,
        Sys::Openat,
        &[AT_FDCWD, f, O_CREAT | O_WRONLY, 0o666],
    ) as u64;
    k.write_user(BUF, &[9; 1000]);
    assert_eq!(call(&mut st, &mut k, Sys::Write, &[fd, BUF, 1000]), 1000);
    // newfstatat: the AArch64 layout, mode with the umask applied.
    assert_eq!(
        call(&mut st, &mut k, Sys::Newfstatat, &[AT_FDCWD, f, BUF, 0]),
        0
    );
    let mut b = [0u8; 128];
    k.read_user(BUF, &mut b);
    assert_eq!(u32::from_le_bytes(b[16..20].try_into().unwrap()), 0o100644);
    assert_eq!(u64::from_le_bytes(b[48..56].try_into().unwrap()), 1000);
    assert_eq!(i64::from_le_bytes(b[88..96].try_into().unwrap()), 5);
    // fstat of the file and of the console.
    assert_eq!(call(&mut st, &mut k, Sys::Fstat, &[fd, BUF]), 0);
    k.read_user(BUF, &mut b);
    assert_eq!(u64::from_le_bytes(b[48..56].try_into().unwrap()), 1000);
    assert_eq!(call(&mut st, &mut k, Sys::Fstat, &[1, BUF]), 0);
    k.read_user(BUF, &mut b);
    assert_eq!(
        u32::from_le_bytes(b[16..20].try_into().unwrap()) & 0o170000,
        0o020000
    );
    assert_eq!(call(&mut st, &mut k, Sys::Fstat, &[40, BUF]), -EBADF);
    // statx.
    assert_eq!(
        call(&mut st, &mut k, Sys::Statx, &[AT_FDCWD, d, 0, 0x7ff, BUF]),
        0
    );
    k.read_user(BUF, &mut b);
    assert_eq!(
        u16::from_le_bytes([b[28], b[29]]) as u32 & 0o170000,
        0o040000
    );
    // getdents64 of /d.
    let dir = call(&mut st, &mut k, Sys::Openat, &[AT_FDCWD, d, 0o40000, 0]) as u64;
    let n = call(&mut st, &mut k, Sys::Getdents64, &[dir, BUF, 4096]);
    assert!(n > 0);
    let mut raw = vec![0u8; n as usize];
    k.read_user(BUF, &mut raw);
    let mut names = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let reclen = u16::from_le_bytes([raw[at + 16], raw[at + 17]]) as usize;
        let name: Vec<u8> = raw[at + 19..at + reclen]
            .iter()
            .copied()
            .take_while(|&c| c != 0)
            .collect();
        names.push((text(&name), raw[at + 18]));
        at += reclen;
    }
    assert_eq!(names, [(".".into(), 4), ("..".into(), 4), ("f".into(), 8)]);
    assert_eq!(call(&mut st, &mut k, Sys::Getdents64, &[dir, BUF, 4096]), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Getdents64, &[fd, BUF, 4096]),
        -ENOTDIR
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Getdents64, &[1, BUF, 4096]),
        -ENOTDIR
    );
    assert_eq!(call(&mut st, &mut k, Sys::Read, &[dir, BUF, 10]), -EISDIR);
    // unlinkat, renameat, rmdir.
    assert_eq!(
        call(&mut st, &mut k, Sys::Unlinkat, &[AT_FDCWD, d, 0]),
        -EISDIR
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Unlinkat, &[AT_FDCWD, d, 0x200]),
        -ENOTEMPTY
    );
    let g = s(&mut k, 2, "/g");
    assert_eq!(
        call(&mut st, &mut k, Sys::Renameat, &[AT_FDCWD, f, AT_FDCWD, g]),
        0
    );
    assert_eq!(
        call(
            &mut st,
            &mut k,
            Sys::Renameat2,
            &[AT_FDCWD, g, AT_FDCWD, f, 1]
        ),
        -EINVAL
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Unlinkat, &[AT_FDCWD, d, 0x200]),
        0
    );
    assert_eq!(call(&mut st, &mut k, Sys::Faccessat, &[AT_FDCWD, g, 6]), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Faccessat, &[AT_FDCWD, g, 1]),
        -EACCES
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Faccessat, &[AT_FDCWD, f, 0]),
        -ENOENT
    );
    // readlinkat of a file that is not a link.
    assert_eq!(
        call(&mut st, &mut k, Sys::Readlinkat, &[AT_FDCWD, g, BUF, 100]),
        -EINVAL
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Readlinkat, &[AT_FDCWD, f, BUF, 100]),
        -ENOENT
    );
    // An unlinked open file stays readable.
    assert_eq!(call(&mut st, &mut k, Sys::Unlinkat, &[AT_FDCWD, g, 0]), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Pread64, &[fd, BUF, 10, 0]),
        -EBADF,
        "write-only"
    );
    assert_eq!(call(&mut st, &mut k, Sys::Close, &[fd]), 0);
}

#[test]
fn without_a_vfs_channel_paths_are_missing() {
    let (mut st, mut k) = setup(Arch::X86_64, false);
    let p = s(&mut k, 0, "/etc/passwd");
    assert_eq!(call(&mut st, &mut k, Sys::Open, &[p, 0, 0]), -ENOENT);
    assert_eq!(call(&mut st, &mut k, Sys::Stat, &[p, BUF]), -ENOENT);
    assert_eq!(call(&mut st, &mut k, Sys::Mkdir, &[p, 0]), -ENOENT);
    assert_eq!(call(&mut st, &mut k, Sys::Getcwd, &[BUF, 100]), 2);
    assert_eq!(
        call(&mut st, &mut k, Sys::Pread64, &[1, BUF, 1, 0]),
        -ESPIPE
    );
    assert_eq!(call(&mut st, &mut k, Sys::Ftruncate, &[9, 0]), -EBADF);
}

#[test]
fn descriptors_are_bounded_by_rlimit_nofile() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let p = s(&mut k, 0, "/f");
    assert!(
        call(
            &mut st,
            &mut k,
            Sys::Openat,
            &[AT_FDCWD, p, O_CREAT | O_RDWR, 0]
        ) >= 0
    );
    let mut n = 1;
    loop {
        match call(&mut st, &mut k, Sys::Openat, &[AT_FDCWD, p, 0, 0]) {
            r if r >= 0 => n += 1,
            r => {
                assert_eq!(r, -EMFILE);
                break;
            }
        }
    }
    assert_eq!(n, 61, "descriptors 3..64");
}

#[test]
fn duplicates_of_a_file_share_its_position_and_close_last() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let p = s(&mut k, 0, "/f");
    let fd = call(
        &mut st,
        &mut k,
        Sys::Openat,
        &[AT_FDCWD, p, O_CREAT | O_RDWR, 0],
    ) as u64;
    let copy = call(&mut st, &mut k, Sys::Dup, &[fd]) as u64;
    assert_eq!(copy, fd + 1);
    k.write_user(BUF, b"abcdef");
    assert_eq!(call(&mut st, &mut k, Sys::Write, &[fd, BUF, 3]), 3);
    assert_eq!(call(&mut st, &mut k, Sys::Write, &[copy, BUF + 3, 3]), 3);
    assert_eq!(
        call(&mut st, &mut k, Sys::Lseek, &[fd, 0, 1]),
        6,
        "one position"
    );
    assert_eq!(call(&mut st, &mut k, Sys::Close, &[fd]), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Pread64, &[copy, BUF + 100, 6, 0]),
        6
    );
    // dup2 onto another file closes it; onto itself is a no-op; dup3 flags.
    let q = s(&mut k, 1, "/g");
    let other = call(
        &mut st,
        &mut k,
        Sys::Openat,
        &[AT_FDCWD, q, O_CREAT | O_RDWR, 0],
    ) as u64;
    assert_eq!(
        call(&mut st, &mut k, Sys::Dup2, &[copy, other]),
        other as i64
    );
    assert_eq!(
        call(&mut st, &mut k, Sys::Pread64, &[other, BUF + 100, 6, 0]),
        6
    );
    assert_eq!(call(&mut st, &mut k, Sys::Dup2, &[copy, copy]), copy as i64);
    assert_eq!(call(&mut st, &mut k, Sys::Dup3, &[copy, copy, 0]), -EINVAL);
    assert_eq!(call(&mut st, &mut k, Sys::Dup3, &[copy, 20, 0o2000000]), 20);
    assert_eq!(call(&mut st, &mut k, Sys::Fcntl, &[20, 1]), 1, "FD_CLOEXEC");
    assert_eq!(call(&mut st, &mut k, Sys::Fcntl, &[copy, 1030, 30]), 30);
    assert_eq!(call(&mut st, &mut k, Sys::Dup2, &[copy, 64]), -EBADF);
    // Onto the console: 1 is the file now (its position shared), and 0 closed then the
    // lowest free number for open.
    assert_eq!(call(&mut st, &mut k, Sys::Dup2, &[copy, 1]), 1);
    k.write_user(BUF, b"XY");
    assert_eq!(call(&mut st, &mut k, Sys::Write, &[1, BUF, 2]), 2);
    assert_eq!(call(&mut st, &mut k, Sys::Lseek, &[copy, 0, 1]), 8);
    assert_eq!(call(&mut st, &mut k, Sys::Close, &[0]), 0);
    assert_eq!(call(&mut st, &mut k, Sys::Read, &[0, BUF, 1]), -EBADF);
    let again = call(&mut st, &mut k, Sys::Openat, &[AT_FDCWD, p, 0, 0]);
    assert_eq!(again, 0, "the lowest free number");
    assert_eq!(call(&mut st, &mut k, Sys::Read, &[0, BUF + 200, 8]), 8);
    // poll: a file is ready for reading and writing; the console's 2 for writing.
    let mut polled = Vec::new();
    for (fd, events) in [(0i32, 1u16), (1, 5), (2, 4)] {
        polled.extend_from_slice(&fd.to_le_bytes());
        polled.extend_from_slice(&events.to_le_bytes());
        polled.extend_from_slice(&0u16.to_le_bytes());
    }
    k.write_user(BUF + 300, &polled);
    assert_eq!(call(&mut st, &mut k, Sys::Poll, &[BUF + 300, 3, 0]), 3);
    let mut revents = [0u8; 2];
    k.read_user(BUF + 300 + 8 + 6, &mut revents);
    assert_eq!(u16::from_le_bytes(revents), 5);
    for f in [copy, other, 20, 30, 0, 1] {
        assert_eq!(call(&mut st, &mut k, Sys::Close, &[f]), 0);
    }
    assert_eq!(
        k.fs.as_ref().unwrap().open_count(SID),
        0,
        "the last close closed it"
    );
}

#[test]
fn a_process_that_ends_closes_every_file_it_holds() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let mut fds = Vec::new();
    for (i, name) in ["/a", "/b", "/c"].iter().enumerate() {
        let p = s(&mut k, i as u64, name);
        let fd = call(
            &mut st,
            &mut k,
            Sys::Openat,
            &[AT_FDCWD, p, O_CREAT | O_RDWR, 0],
        );
        assert!(fd >= 3, "{name}: {fd}");
        fds.push(fd as u64);
    }
    // Duplicates (one onto a standard descriptor) name the same server files.
    assert!(call(&mut st, &mut k, Sys::Dup, &[fds[0]]) > 0);
    assert_eq!(call(&mut st, &mut k, Sys::Dup2, &[fds[1], 1]), 1);
    assert_eq!(k.fs.as_ref().unwrap().open_count(SID), 3);
    // exit_group ends the process; the shell then closes what it holds, each file once.
    assert!(matches!(
        call_outcome(&mut st, &mut k, Sys::ExitGroup, &[0]),
        Outcome::ExitProcess(0)
    ));
    assert_eq!(st.close_all_files(&mut k), 3);
    assert_eq!(
        k.fs.as_ref().unwrap().open_count(SID),
        0,
        "nothing stays open at the server"
    );
    assert_eq!(st.close_all_files(&mut k), 0, "nothing twice");
}

#[test]
fn owners_other_than_root_are_refused_and_modes_follow_the_umask() {
    let (mut st, mut k) = setup(Arch::X86_64, true);
    assert_eq!(call(&mut st, &mut k, Sys::Umask, &[0o077]), 0o022);
    let p = s(&mut k, 0, "/f");
    let fd = call(
        &mut st,
        &mut k,
        Sys::Openat,
        &[AT_FDCWD, p, O_CREAT | O_RDWR, 0o666],
    ) as u64;
    assert_eq!(
        k.fs.as_mut().unwrap().stat("/f").unwrap().mode & 0o777,
        0o600
    );
    let minus_one = u32::MAX as u64;
    assert_eq!(call(&mut st, &mut k, Sys::Fchown, &[fd, 0, 0]), 0);
    assert_eq!(
        call(&mut st, &mut k, Sys::Fchown, &[fd, minus_one, minus_one]),
        0
    );
    assert_eq!(call(&mut st, &mut k, Sys::Fchown, &[fd, 1000, 0]), -EPERM);
    assert_eq!(call(&mut st, &mut k, Sys::Chown, &[p, 0, 1000]), -EPERM);
    assert_eq!(call(&mut st, &mut k, Sys::Fchown, &[40, 0, 0]), -EBADF);
    let rom = s(&mut k, 1, "/rom");
    assert_eq!(call(&mut st, &mut k, Sys::Chmod, &[rom, 0o755]), -EROFS);
    assert_eq!(call(&mut st, &mut k, Sys::Chmod, &[p, 0o755]), 0);
}

#[test]
fn execve_grants_the_files_without_close_on_exec_at_their_numbers() {
    use linux::sys::proc::GIVE_FILE;
    let (mut st, mut k) = setup(Arch::X86_64, true);
    let p = s(&mut k, 0, "/f");
    let plain = call(
        &mut st,
        &mut k,
        Sys::Openat,
        &[AT_FDCWD, p, O_CREAT | O_WRONLY | O_APPEND, 0o644],
    ) as u64;
    let closing = call(&mut st, &mut k, Sys::Openat, &[AT_FDCWD, p, 0o2000000, 0]);
    assert_eq!((plain, closing), (3, 4));
    assert_eq!(call(&mut st, &mut k, Sys::Dup2, &[plain, 1]), 1);
    let prog = s(&mut k, 1, "/prog");
    // Replacing the process (outside a vfork child): the new one gets the files.
    let nr = number(st.arch, Sys::Execve).unwrap();
    let outcome = st.dispatch(
        &mut k,
        &mut Call {
            nr,
            args: [prog, 0, 0, 0, 0, 0],
            tls: 0,
            sp: STACK_TOP - 0x1000,
        },
    );
    assert!(matches!(outcome, Outcome::Replaced), "{outcome:?}");
    let files: Vec<(u32, u32)> = k
        .given
        .iter()
        .filter(|g| g.0 & GIVE_FILE != 0)
        .map(|&(label, file)| (label & !GIVE_FILE, file))
        .collect();
    // Descriptor in the low 12 bits, O_WRONLY (1) at bit 12, O_APPEND at bit 14: 1 and 3,
    // one server file; not the close-on-exec 4.
    let tag = |fd: u32| fd | 1 << 12 | 1 << 14;
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[0].0, tag(1));
    assert_eq!(files[1].0, tag(3));
    assert_eq!(files[0].1, files[1].1);
    // The replaced process closed its own numbers (the new one holds the grants).
    assert_eq!(k.fs.as_ref().unwrap().open_count(SID), 0);
}
