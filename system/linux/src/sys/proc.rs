//! Processes: `vfork`-style `clone` (musl's `posix_spawn`, `vfork()`), `execve` in the
//! `vfork` child (a new Ostrog process: `task.Create` + `task.Start`, the judged `execute`
//! event), `wait4`/`waitid` with Linux wait statuses, `kill` of a child (`task.Kill` for
//! `SIGKILL`, `task.Signal` otherwise), and pipes (`pipe`, `pipe2`: kernel pipe objects,
//! `kl.core.Pipe`) whose descriptors a new process inherits (`task.Give`). See
//! `docs/linux.md`, "Processes".
//!
//! The `vfork` child runs on the parent's native thread, on the parent's memory, with the
//! parent's descriptors and signal actions saved aside: whatever the child changes (it closes
//! descriptors, resets signal actions) is dropped when it ends (`execve` or `_exit`) and the
//! parent's are put back, as with a child's own tables on Linux. The parent's frame is kept by
//! the shell ([`Outcome::Vfork`]) and resumed with the child's pid ([`Outcome::VforkEnd`]).
//!
//! A pipe descriptor holds the kernel handle of its end; descriptors made by `dup` share it
//! (one open file description, as on Linux). The handle is closed when no descriptor names
//! it any more, in the running table or the parent's saved one during a `vfork`.

use alloc::vec::Vec;

use super::{err, ok, Blocking, Kernel, Outcome, SigAction, State, SIGKILL, SIGSTOP};
use crate::errno::*;
use crate::nr::Sys;

/// Most children (running, or ended and not yet waited for) a process may have.
pub const MAX_CHILDREN: usize = 64;
/// Most descriptors (the `RLIMIT_NOFILE` hard limit).
pub const MAX_FDS: usize = 64;
/// Most bytes one kernel `pipe.Read` or `pipe.Write` moves (`IoMax`, Linux's `PIPE_BUF`);
/// larger reads and writes are made of several.
pub const PIPE_IO_MAX: usize = 4096;
/// Bits of the label of a descriptor given to a new process (`task.Give`): the descriptor
/// number is the low byte; these say which end and its status flags.
pub const GIVE_WRITE: u32 = 0x100;
pub const GIVE_NONBLOCK: u32 = 0x200;
/// The label of the creator's `vfs` channel handle given to a new process (no descriptor:
/// the native layer takes it before the descriptors are inherited).
pub const GIVE_VFS: u32 = 0x1_0000;
/// With [`GIVE_VFS`]: files were granted to the new process (it asks for them with kl.Vfs
/// `Inherited`).
pub const GIVE_VFS_FILES: u32 = 0x2_0000;
/// The label bit of an open file a new process inherits: no handle but a kl.Vfs `Grant` of
/// the server's file (the pair's second number) under the tag of the label's other bits.
pub const GIVE_FILE: u32 = 0x8000_0000;
/// Most bytes of `execve`'s arguments, and of its environment: the kernel's `task.Create`
/// limit (`ArgsMax`), NUL separators included.
pub const EXEC_ARGS_MAX: usize = 2048;
/// Longest ROMFS path a process can be created from (`kl.core.Task` `PathMax`).
pub const EXEC_PATH_MAX: usize = 64;

const O_NONBLOCK: u64 = 0o4000;
const F_DUPFD: u64 = 0;
const F_DUPFD_CLOEXEC: u64 = 1030;
const O_CLOEXEC: u64 = 0o2000000;
const WNOHANG: u64 = 1;
const WEXITED: u64 = 4;
const WNOWAIT: u64 = 0x100_0000;
const SIGCHLD: i32 = 17;
const SIGPIPE: u64 = 13;
const CLD_EXITED: i32 = 1;
const CLD_KILLED: i32 = 2;

/// A pipe end (any descriptor), or a duplicate of a console descriptor (`dup`, as a
/// descriptor 3 or above; descriptors 0-2 on the console are `State::open_fds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipeFd {
    /// The kernel handle of the pipe end (meaningless for a console duplicate).
    pub handle: u32,
    /// The write end of the pipe; for the console, an output descriptor (a duplicate of 1 or
    /// 2) rather than input (0).
    pub write: bool,
    /// A duplicate of a console descriptor, not a pipe end.
    pub console: bool,
    pub cloexec: bool,
    pub nonblock: bool,
}

/// A child process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Child {
    pub pid: i32,
    /// Its Linux wait status once it has ended.
    pub status: Option<i32>,
    /// The signal this process ended it with (`kill`): it is reported as killed by it.
    pub killed_by: Option<i32>,
    /// A real process (the shell holds its task handle); `false` for a `vfork` child that
    /// ended without a successful `execve`.
    pub task: bool,
    /// The signals this process sent it (`kill`, delivered by its personality): if it then
    /// ends with status 128 + one of them, a signal's default action ended it, and it is
    /// reported as killed by that signal.
    pub sent: u64,
}

/// The parent's tables while a `vfork` child runs on its thread.
#[derive(Clone, Debug)]
pub struct Vfork {
    /// The thread that called `vfork` (its child makes the calls now).
    pub tid: i32,
    open_fds: u8,
    cloexec_fds: u8,
    fds: Vec<Option<PipeFd>>,
    actions: Vec<SigAction>,
    sigmask: u64,
    pending: u64,
}

/// A `fork` under way: what the copy's thread needs ([`State::forked_child`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forking {
    /// The thread that called `fork` (the copy's only thread).
    tid: i32,
    flags: u64,
    /// The copy's stack pointer (0: the caller's).
    stack: u64,
    child_tid: u64,
}

/// The process part of the personality's state.
#[derive(Clone, Debug, Default)]
pub struct Procs {
    /// Pipe descriptors and console duplicates, indexed by descriptor (0-2 only when they
    /// are pipe ends).
    pub fds: Vec<Option<PipeFd>>,
    pub children: Vec<Child>,
    pub vfork: Option<Vfork>,
    /// The process that replaced this one (`execve` outside a `vfork` child).
    pub replaced_by: Option<i32>,
    /// Pids for `vfork` children that never became a process.
    next_pseudo_pid: i32,
    /// Set while `fork` copies the process (so the copy finds it).
    forking: Option<Forking>,
}

/// The Linux wait status of a process that ended with the kernel's exit `code`: a code the
/// program chose (0..=255, `exit_group`) is an exit; a negative code (the kernel ended it: a
/// fault, a denied start) is reported as `SIGKILL`.
pub fn wait_status(code: i64) -> i32 {
    if code >= 0 {
        ((code & 0xff) as i32) << 8
    } else {
        SIGKILL as i32
    }
}

impl State {
    /// The calls of this module; `None` when the call is not one (the caller handles it).
    pub(super) fn proc_call<K: Kernel>(
        &mut self,
        k: &mut K,
        sys: Sys,
        nr: u64,
        me: usize,
        a: [u64; 6],
    ) -> Option<Outcome> {
        let fd = a[0] as u32 as u64;
        let in_vfork_child = self
            .procs
            .vfork
            .as_ref()
            .is_some_and(|v| v.tid == self.threads[me].tid);
        let pipe_end = self.pipe_fd(fd).filter(|f| !f.console);
        Some(match sys {
            Sys::Pipe => self.sys_pipe2(k, a[0], 0),
            Sys::Pipe2 => self.sys_pipe2(k, a[0], a[1]),
            Sys::Dup => self.sys_dup(k, fd, None, 0, false),
            Sys::Dup2 => {
                let new = a[1] as u32 as u64;
                match new == fd {
                    // dup2 of a descriptor onto itself: it, if it is open.
                    true if self.fd_open(fd) => ok(fd as i64),
                    true => err(EBADF),
                    false => self.sys_dup(k, fd, Some(new), 0, false),
                }
            }
            Sys::Dup3 => {
                let new = a[1] as u32 as u64;
                if a[2] & !O_CLOEXEC != 0 || new == fd {
                    return Some(err(EINVAL));
                }
                self.sys_dup(k, fd, Some(new), 0, a[2] & O_CLOEXEC != 0)
            }
            Sys::Fcntl if matches!(a[1] as u32 as u64, F_DUPFD | F_DUPFD_CLOEXEC) => {
                let cloexec = a[1] as u32 as u64 == F_DUPFD_CLOEXEC;
                self.sys_dup(k, fd, None, a[2] as u32 as u64, cloexec)
            }
            Sys::Read if self.pipe_fd(fd).is_some_and(|f| f.console) => match self.pipe_fd(fd) {
                Some(f) if !f.write => self.console_read(k, a[1], a[2], f.nonblock),
                _ => err(EBADF),
            },
            Sys::Read if fd >= 3 || pipe_end.is_some() => self.pipe_read(fd, a[1], a[2]),
            Sys::Readv if pipe_end.is_some() => self.pipe_readv(k, fd, a[1], a[2]),
            Sys::Write if fd >= 3 || pipe_end.is_some() => self.pipe_write(k, fd, a[1], a[2]),
            Sys::Writev if pipe_end.is_some() => self.pipe_writev(k, fd, a[1], a[2]),
            Sys::Close if fd >= 3 || pipe_end.is_some() => match self.pipe_fd(fd) {
                Some(_) => {
                    let old = self.procs.fds[fd as usize].take();
                    self.release(k, old);
                    ok(0)
                }
                None => err(EBADF),
            },
            Sys::Fcntl if fd >= 3 || pipe_end.is_some() => {
                self.pipe_fcntl(fd, a[1] as u32 as u64, a[2])
            }
            Sys::Lseek if pipe_end.is_some() => err(ESPIPE),
            Sys::Ioctl if pipe_end.is_some() => self.pipe_ioctl(k, fd, a[1] as u32 as u64, a[2]),
            Sys::Clone if a[0] & 0x4000 != 0 => self.sys_vfork(k, nr, me, a[0], a[1]),
            Sys::Vfork => self.sys_vfork(k, nr, me, 0x4000 | 0x100, 0),
            Sys::Fork => self.sys_fork(k, nr, me, u64::from(SIGCHLD as u32), [0; 3]),
            Sys::Clone if a[0] & 0x100 == 0 => {
                // x86_64: (flags, stack, parent_tid, child_tid, tls); AArch64: (flags,
                // stack, parent_tid, tls, child_tid).
                let child_tid = match self.arch {
                    crate::Arch::X86_64 => a[3],
                    crate::Arch::Aarch64 => a[4],
                };
                self.sys_fork(k, nr, me, a[0], [a[1], a[2], child_tid])
            }
            Sys::Execve if in_vfork_child => self.sys_execve(k, a[0], a[1], a[2], false),
            Sys::Execve if self.threads.len() > 1 => {
                self.report(k, nr, "replacing a process with several threads: ENOSYS");
                err(ENOSYS)
            }
            Sys::Execve => self.sys_execve(k, a[0], a[1], a[2], true),
            Sys::Exit | Sys::ExitGroup if in_vfork_child => {
                // The child ends without having become a program: a child that has ended.
                let pid = self.pseudo_pid();
                self.procs.children.push(Child {
                    pid,
                    status: Some(wait_status(i64::from(a[0] as i32 & 0xff))),
                    killed_by: None,
                    task: false,
                    sent: 0,
                });
                self.end_vfork(k);
                Outcome::VforkEnd(i64::from(pid))
            }
            Sys::Wait4 => self.sys_wait4(k, a[0] as i32, a[1], a[2], a[3]),
            Sys::Waitid => self.sys_waitid(k, a[0] as u32, a[1] as i32, a[2], a[3], a[4]),
            Sys::Kill if self.child_index(a[0] as i32).is_some() => {
                self.kill_child(k, a[0] as i32, a[1] as u32 as u64)
            }
            _ => return None,
        })
    }

    /// Whether `fd` (3 or above) is a duplicate of console output.
    pub(super) fn pipe_fd_console_out(&self, fd: u64) -> bool {
        self.pipe_fd(fd).is_some_and(|f| f.console && f.write)
    }

    /// Whether `fd` is open (console, pipe, file or socket).
    pub(super) fn fd_open(&self, fd: u64) -> bool {
        self.is_open(fd)
            || self.pipe_fd(fd).is_some()
            || self.files.is_open(fd)
            || self.sockets.is_open(fd)
            || self.sockets.epolls.contains_key(&fd)
    }

    /// Where `dup`, `dup2`/`dup3` and `F_DUPFD` of any kind of descriptor put the new one,
    /// below `limit`: `new` itself (EBADF at or past the limit), or the lowest number not
    /// open from `min` (EINVAL when `min` is past the limit, EMFILE when all are open).
    pub(super) fn dup_target(&self, new: Option<u64>, min: u64, limit: u64) -> Result<u64, i64> {
        match new {
            Some(n) if n >= limit => Err(EBADF),
            Some(n) => Ok(n),
            None if min >= limit => Err(EINVAL),
            None => (min..limit).find(|&n| !self.fd_open(n)).ok_or(EMFILE),
        }
    }

    /// The pipe end `fd` is (any descriptor), or the console duplicate (3 and above).
    pub(super) fn pipe_fd(&self, fd: u64) -> Option<PipeFd> {
        self.procs.fds.get(fd as usize).copied().flatten()
    }

    /// The descriptors a new process inherits (`execve`): every pipe end without
    /// close-on-exec, as `(label, handle)` for `task.Give` (the label is the descriptor and
    /// [`GIVE_WRITE`], [`GIVE_NONBLOCK`]). Console descriptors are not given: the new
    /// process has the console as 0-2 where no pipe is given.
    fn inherited(&self) -> Vec<(u32, u32)> {
        (0..self.procs.fds.len())
            .filter_map(|fd| {
                let f = self.procs.fds[fd].filter(|f| !f.console && !f.cloexec)?;
                let mut label = fd as u32;
                if f.write {
                    label |= GIVE_WRITE;
                }
                if f.nonblock {
                    label |= GIVE_NONBLOCK;
                }
                Some((label, f.handle))
            })
            .collect()
    }

    /// Takes the descriptors given to this process by its creator (`task.Given`): each
    /// `(label, handle)` becomes the pipe descriptor the label names.
    pub fn inherit(&mut self, given: &[(u32, u32)]) {
        for &(label, handle) in given {
            let fd = (label & 0xff) as usize;
            if fd >= MAX_FDS {
                continue;
            }
            while self.procs.fds.len() <= fd {
                self.procs.fds.push(None);
            }
            self.procs.fds[fd] = Some(PipeFd {
                handle,
                write: label & GIVE_WRITE != 0,
                console: false,
                cloexec: false,
                nonblock: label & GIVE_NONBLOCK != 0,
            });
            if fd < 3 {
                self.open_fds &= !(1 << fd);
                self.cloexec_fds &= !(1 << fd);
            }
        }
    }

    /// Whether a descriptor (the running table, or the parent's saved one during a `vfork`)
    /// holds the pipe handle `handle`.
    fn handle_in_use(&self, handle: u32) -> bool {
        let is = |f: &Option<PipeFd>| f.is_some_and(|f| !f.console && f.handle == handle);
        self.procs.fds.iter().any(is)
            || self
                .procs
                .vfork
                .as_ref()
                .is_some_and(|v| v.fds.iter().any(is))
    }

    /// A descriptor was taken out of the table: its pipe handle is closed if no other
    /// descriptor holds it.
    pub(super) fn release<K: Kernel>(&mut self, k: &mut K, old: Option<PipeFd>) {
        if let Some(f) = old.filter(|f| !f.console) {
            if !self.handle_in_use(f.handle) {
                k.close_handle(f.handle);
            }
        }
        while self.procs.fds.last().is_some_and(|f| f.is_none()) {
            self.procs.fds.pop();
        }
    }

    /// A standard descriptor on the console closes (`close`, `dup2` onto it).
    pub(super) fn close_std(&mut self, fd: u64) {
        if fd < 3 {
            self.open_fds &= !(1 << fd);
            self.cloexec_fds &= !(1 << fd);
        }
    }

    /// Puts `f` at descriptor `fd` (taking out what was there, and the console there).
    fn place<K: Kernel>(&mut self, k: &mut K, fd: usize, f: Option<PipeFd>) {
        while self.procs.fds.len() <= fd {
            self.procs.fds.push(None);
        }
        let old = core::mem::replace(&mut self.procs.fds[fd], f);
        if fd < 3 && f.is_some() {
            self.open_fds &= !(1 << fd);
            self.cloexec_fds &= !(1 << fd);
        }
        self.release(k, old);
    }

    /// `dup` (`new` `None`: the lowest free descriptor at `min` or above, as `fcntl`'s
    /// `F_DUPFD`) and `dup2`/`dup3` (`new`, closed first if open; never equal to `old`
    /// here). The new descriptor refers to the same console or pipe end (the same kernel
    /// handle): the pipe's end stays open while any descriptor holds it.
    fn sys_dup<K: Kernel>(
        &mut self,
        k: &mut K,
        old: u64,
        new: Option<u64>,
        min: u64,
        cloexec: bool,
    ) -> Outcome {
        let src = if self.is_open(old) {
            PipeFd {
                handle: 0,
                write: old != 0,
                console: true,
                cloexec,
                nonblock: false,
            }
        } else if let Some(f) = self.pipe_fd(old) {
            PipeFd { cloexec, ..f }
        } else {
            return err(EBADF);
        };
        let max = self.limits[super::RLIMIT_NOFILE].0.min(MAX_FDS as u64);
        let target = match self.dup_target(new, min, max) {
            Ok(n) => n,
            Err(e) => return err(e),
        };
        // A file there closes.
        if let Err(e) = self.close_file_fd(k, target) {
            return err(e);
        }
        if target < 3 && src.console {
            // The console again (0-2 keep their direction).
            self.place(k, target as usize, None);
            self.open_fds |= 1 << target;
            match cloexec {
                true => self.cloexec_fds |= 1 << target,
                false => self.cloexec_fds &= !(1 << target),
            }
        } else {
            self.place(k, target as usize, Some(src));
        }
        ok(target as i64)
    }

    /// The lowest descriptor not open, below the limit.
    fn free_fd(&self, besides: Option<u64>) -> Option<u64> {
        let max = self.limits[super::RLIMIT_NOFILE].0.min(MAX_FDS as u64);
        (0..max).find(|&n| !self.fd_open(n) && Some(n) != besides)
    }

    fn sys_pipe2<K: Kernel>(&mut self, k: &mut K, at: u64, flags: u64) -> Outcome {
        if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
            return err(EINVAL);
        }
        if !self.space.accessible(at, 8, true) {
            return err(EFAULT);
        }
        let Some(r) = self.free_fd(None) else {
            return err(EMFILE);
        };
        let Some(w) = self.free_fd(Some(r)) else {
            return err(EMFILE);
        };
        let (rh, wh) = match k.pipe_create() {
            Ok(h) => h,
            Err(e) => return err(e),
        };
        let end = |handle, write| PipeFd {
            handle,
            write,
            console: false,
            cloexec: flags & O_CLOEXEC != 0,
            nonblock: flags & O_NONBLOCK != 0,
        };
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&(r as i32).to_le_bytes());
        out[4..].copy_from_slice(&(w as i32).to_le_bytes());
        if let Err(e) = self.write(k, at, &out) {
            k.close_handle(rh);
            k.close_handle(wh);
            return err(e);
        }
        self.place(k, r as usize, Some(end(rh, false)));
        self.place(k, w as usize, Some(end(wh, true)));
        ok(0)
    }

    /// `read` of a pipe's read end: done by the shell without the lock
    /// ([`Blocking::PipeRead`]).
    fn pipe_read(&mut self, fd: u64, buf: u64, len: u64) -> Outcome {
        let Some(f) = self.pipe_fd(fd).filter(|f| !f.write && !f.console) else {
            return err(EBADF);
        };
        let len = len.min(0x7fff_f000);
        if len == 0 {
            return ok(0);
        }
        if !self.space.accessible(buf, len, true) {
            return err(EFAULT);
        }
        Outcome::Block(Blocking::PipeRead {
            handle: f.handle,
            buf,
            len,
            nonblock: f.nonblock,
        })
    }

    /// `readv` of a pipe: fills its first non-empty buffer (a short read, which readers of
    /// a pipe expect anyway).
    fn pipe_readv<K: Kernel>(&mut self, k: &mut K, fd: u64, iov: u64, count: u64) -> Outcome {
        if count > 1024 {
            return err(EINVAL);
        }
        for i in 0..count {
            let (base, len) = match (
                self.read_u64(k, iov.wrapping_add(i * 16)),
                self.read_u64(k, iov.wrapping_add(i * 16 + 8)),
            ) {
                (Ok(b), Ok(l)) => (b, l),
                (Err(e), _) | (_, Err(e)) => return err(e),
            };
            if len != 0 {
                return self.pipe_read(fd, base, len);
            }
        }
        match self.pipe_fd(fd).filter(|f| !f.write) {
            Some(_) => ok(0),
            None => err(EBADF),
        }
    }

    /// `write` of a pipe's write end (or a console duplicate): the pipe's done by the shell
    /// without the lock ([`Blocking::PipeWrite`]).
    fn pipe_write<K: Kernel>(&mut self, k: &mut K, fd: u64, buf: u64, len: u64) -> Outcome {
        let Some(f) = self.pipe_fd(fd).filter(|f| f.write) else {
            return err(EBADF);
        };
        if f.console {
            return self.console_write(k, buf, len);
        }
        let len = len.min(0x7fff_f000);
        if len == 0 {
            return ok(0);
        }
        if !self.space.accessible(buf, len, false) {
            return err(EFAULT);
        }
        Outcome::Block(Blocking::PipeWrite {
            handle: f.handle,
            iov: buf,
            count: len,
            vectored: false,
            nonblock: f.nonblock,
        })
    }

    /// `writev` of a pipe's write end: every buffer checked here, written by the shell.
    fn pipe_writev<K: Kernel>(&mut self, k: &mut K, fd: u64, iov: u64, count: u64) -> Outcome {
        let Some(f) = self.pipe_fd(fd).filter(|f| f.write && !f.console) else {
            return err(EBADF);
        };
        if count > 1024 {
            return err(EINVAL);
        }
        for i in 0..count {
            let (base, len) = match (
                self.read_u64(k, iov.wrapping_add(i * 16)),
                self.read_u64(k, iov.wrapping_add(i * 16 + 8)),
            ) {
                (Ok(b), Ok(l)) => (b, l),
                (Err(e), _) | (_, Err(e)) => return err(e),
            };
            if len > 0x7fff_f000 {
                return err(EINVAL);
            }
            if len != 0 && !self.space.accessible(base, len, false) {
                return err(EFAULT);
            }
        }
        Outcome::Block(Blocking::PipeWrite {
            handle: f.handle,
            iov,
            count,
            vectored: true,
            nonblock: f.nonblock,
        })
    }

    /// A write by the thread at `sp` found no reader (`EPIPE`): `SIGPIPE` to it, unless
    /// ignored (its default action ends the process, as on Linux).
    pub fn broken_pipe(&mut self, sp: u64) {
        let me = self.current(sp);
        let i = (SIGPIPE - 1) as usize;
        if self.actions[i].handler == super::SIG_IGN {
            return;
        }
        self.infos[i] = crate::signal::SigInfo {
            signo: SIGPIPE as i32,
            code: crate::signal::SI_USER,
            pid: self.pid,
            addr: 0,
            status: 0,
        };
        self.threads[me].pending |= 1 << (SIGPIPE - 1);
    }

    /// `ioctl` of a pipe: `FIONBIO` (what Rust's `set_nonblocking` uses), `FIOCLEX`,
    /// `FIONCLEX`; anything else is not for a pipe (`ENOTTY`).
    fn pipe_ioctl<K: Kernel>(&mut self, k: &mut K, fd: u64, req: u64, arg: u64) -> Outcome {
        const FIONBIO: u64 = 0x5421;
        const FIONCLEX: u64 = 0x5450;
        const FIOCLEX: u64 = 0x5451;
        let Some(f) = self.pipe_fd(fd) else {
            return err(EBADF);
        };
        let new = match req {
            FIONBIO => {
                let mut v = [0u8; 4];
                if let Err(e) = self.read(k, arg, &mut v) {
                    return err(e);
                }
                PipeFd {
                    nonblock: u32::from_le_bytes(v) != 0,
                    ..f
                }
            }
            FIOCLEX => PipeFd { cloexec: true, ..f },
            FIONCLEX => PipeFd {
                cloexec: false,
                ..f
            },
            _ => return err(ENOTTY),
        };
        self.procs.fds[fd as usize] = Some(new);
        ok(0)
    }

    fn pipe_fcntl(&mut self, fd: u64, cmd: u64, arg: u64) -> Outcome {
        const F_GETFD: u64 = 1;
        const F_SETFD: u64 = 2;
        const F_GETFL: u64 = 3;
        const F_SETFL: u64 = 4;
        let Some(f) = self.pipe_fd(fd) else {
            return err(EBADF);
        };
        let slot = &mut self.procs.fds[fd as usize];
        match cmd {
            F_GETFD => ok(i64::from(f.cloexec)),
            F_SETFD => {
                *slot = Some(PipeFd {
                    cloexec: arg & 1 != 0,
                    ..f
                });
                ok(0)
            }
            F_GETFL => ok(i64::from(f.write) | if f.nonblock { O_NONBLOCK as i64 } else { 0 }),
            F_SETFL => {
                *slot = Some(PipeFd {
                    nonblock: arg & O_NONBLOCK != 0,
                    ..f
                });
                ok(0)
            }
            _ => err(EINVAL),
        }
    }

    fn pseudo_pid(&mut self) -> i32 {
        // Above every SID the kernel hands out in practice, and distinct from the children.
        if self.procs.next_pseudo_pid < 0x40_0000 {
            self.procs.next_pseudo_pid = 0x40_0000;
        }
        loop {
            let pid = self.procs.next_pseudo_pid;
            self.procs.next_pseudo_pid = if pid >= i32::MAX - 1 {
                0x40_0000
            } else {
                pid + 1
            };
            if self.child_index(pid).is_none() {
                return pid;
            }
        }
    }

    fn child_index(&self, pid: i32) -> Option<usize> {
        self.procs.children.iter().position(|c| c.pid == pid)
    }

    /// `clone(CLONE_VM | CLONE_VFORK, stack)` and `vfork()`: the child runs on this thread,
    /// on `stack` (0: the caller's), until `execve` or `_exit`.
    fn sys_vfork<K: Kernel>(
        &mut self,
        k: &mut K,
        nr: u64,
        me: usize,
        flags: u64,
        stack: u64,
    ) -> Outcome {
        const CLONE_VM: u64 = 0x100;
        const CLONE_THREAD: u64 = 0x1_0000;
        if flags & CLONE_VM == 0 || flags & CLONE_THREAD != 0 {
            self.report(k, nr, "with CLONE_VFORK but not a vfork: EINVAL");
            return err(EINVAL);
        }
        if self.procs.vfork.is_some() {
            // One vfork child at a time (another thread's child is running).
            return err(EAGAIN);
        }
        if self.procs.children.len() >= MAX_CHILDREN {
            return err(EAGAIN);
        }
        self.procs.vfork = Some(Vfork {
            tid: self.threads[me].tid,
            open_fds: self.open_fds,
            cloexec_fds: self.cloexec_fds,
            fds: self.procs.fds.clone(),
            actions: self.actions.clone(),
            sigmask: self.threads[me].sigmask,
            pending: self.pending,
        });
        self.files.vfork();
        Outcome::Vfork { sp: stack }
    }

    /// `fork()` and `clone` without `CLONE_VM`: a copy of the process ([`Kernel::fork`]) as
    /// a child, as for `execve`'s children. `[stack, parent_tid, child_tid]` as `clone`
    /// takes them; the flags a fork may have are the exit signal (low byte, `SIGCHLD` for
    /// musl's `fork`) and `CLONE_PARENT_SETTID`, `CLONE_CHILD_SETTID`,
    /// `CLONE_CHILD_CLEARTID` (glibc's `fork`).
    fn sys_fork<K: Kernel>(
        &mut self,
        k: &mut K,
        nr: u64,
        me: usize,
        flags: u64,
        [stack, parent_tid, child_tid]: [u64; 3],
    ) -> Outcome {
        const CSIGNAL: u64 = 0xff;
        const CLONE_PARENT_SETTID: u64 = 0x10_0000;
        const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
        const CLONE_CHILD_SETTID: u64 = 0x100_0000;
        const FORK: u64 = CSIGNAL | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID;
        if flags & !FORK != 0 {
            self.report(k, nr, "of a process with flags beyond a fork's: ENOSYS");
            return err(ENOSYS);
        }
        if flags & CSIGNAL > 64 {
            return err(EINVAL);
        }
        // A copy of a process while a `vfork` child borrows it would be the child's.
        if self.procs.vfork.is_some() || self.procs.children.len() >= MAX_CHILDREN {
            return err(EAGAIN);
        }
        if flags & CLONE_PARENT_SETTID != 0 && !self.space.accessible(parent_tid, 4, true) {
            return err(EFAULT);
        }
        self.procs.forking = Some(Forking {
            tid: self.threads[me].tid,
            flags,
            stack,
            child_tid,
        });
        // Its files: the copy shares them (and their positions) through kl.Vfs grants.
        let result = k.fork(&self.files.granted(false));
        self.procs.forking = None;
        let pid = match result {
            Ok(pid) => pid,
            Err(e) => return err(e),
        };
        self.procs.children.push(Child {
            pid,
            status: None,
            killed_by: None,
            task: true,
            sent: 0,
        });
        if flags & CLONE_PARENT_SETTID != 0 {
            k.write_user(parent_tid, &pid.to_le_bytes());
        }
        ok(i64::from(pid))
    }

    /// In the copy `fork` made, before its thread resumes (with result 0): the forking
    /// thread is the only one, with tid = the new `pid`; the process's pid is `pid`, its
    /// parent's the old one; no children, no pending signals (as on Linux). The stack
    /// pointer to resume with (0: the frame's).
    pub fn forked_child<K: Kernel>(&mut self, k: &mut K, pid: i32) -> u64 {
        const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
        const CLONE_CHILD_SETTID: u64 = 0x100_0000;
        let Some(f) = self.procs.forking.take() else {
            return 0;
        };
        // The parent's sockets are numbered for the parent only.
        self.forget_sockets();
        let pid = pid.clamp(1, i32::MAX / 2);
        let me = self
            .threads
            .iter()
            .position(|t| t.tid == f.tid)
            .unwrap_or(0);
        let mut thread = self.threads.swap_remove(me);
        self.threads.clear();
        thread.tid = pid;
        thread.native = None;
        thread.unmap_on_exit = None;
        thread.pending = 0;
        thread.robust_list = (0, 0);
        // The copy's thread accepts no notification until it says so again.
        thread.told = None;
        thread.clear_child_tid = match f.flags & CLONE_CHILD_CLEARTID {
            0 => 0,
            _ => f.child_tid,
        };
        self.threads.push(thread);
        self.pid = pid;
        self.next_tid = pid + 1;
        self.pending = 0;
        self.zombies.clear();
        self.procs.children.clear();
        self.procs.vfork = None;
        self.procs.replaced_by = None;
        // The parent's files, granted to this copy before it started.
        let records = match self.files.granted(false).is_empty() {
            true => Vec::new(),
            false => match k.vfs(super::file::VfsRequest::Inherited) {
                Ok(super::file::VfsReply::Data(d)) => d,
                _ => Vec::new(),
            },
        };
        self.files.forked_with(&records);
        if f.flags & CLONE_CHILD_SETTID != 0 && self.space.accessible(f.child_tid, 4, true) {
            k.write_user(f.child_tid, &pid.to_le_bytes());
        }
        f.stack
    }

    /// The `vfork` child is gone: the parent's tables come back.
    fn end_vfork<K: Kernel>(&mut self, k: &mut K) {
        let Some(v) = self.procs.vfork.take() else {
            return;
        };
        self.open_fds = v.open_fds;
        self.cloexec_fds = v.cloexec_fds;
        let child = core::mem::replace(&mut self.procs.fds, v.fds);
        self.actions = v.actions;
        self.pending = v.pending;
        if let Some(t) = self.threads.iter_mut().find(|t| t.tid == v.tid) {
            t.sigmask = v.sigmask;
        }
        // Pipes the child made and did not hand on: their handles are closed.
        let mut closed: Vec<u32> = Vec::new();
        for f in child.into_iter().flatten().filter(|f| !f.console) {
            if !self.handle_in_use(f.handle) && !closed.contains(&f.handle) {
                k.close_handle(f.handle);
                closed.push(f.handle);
            }
        }
        // Files the child opened and left open are closed with it.
        for file in self.files.end_vfork() {
            let _ = k.vfs(super::file::VfsRequest::Close { file });
        }
        k.notify();
    }

    /// A NUL-terminated string of the program, at most `max` bytes before the NUL.
    pub(super) fn read_cstr<K: Kernel>(
        &self,
        k: &mut K,
        at: u64,
        max: usize,
    ) -> Result<Vec<u8>, i64> {
        let mut out = Vec::new();
        loop {
            let mut b = [0u8];
            self.read(k, at.wrapping_add(out.len() as u64), &mut b)?;
            if b[0] == 0 {
                return Ok(out);
            }
            if out.len() >= max {
                return Err(E2BIG);
            }
            out.push(b[0]);
        }
    }

    /// The strings of a NULL-terminated array of pointers, NUL-separated, at most
    /// [`EXEC_ARGS_MAX`] bytes in all; `skip` first entries left out.
    fn read_strings<K: Kernel>(
        &self,
        k: &mut K,
        at: u64,
        skip: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), i64> {
        if at == 0 {
            return Ok(());
        }
        for i in 0.. {
            let p = self.read_u64(k, at.wrapping_add(i * 8))?;
            if p == 0 {
                return Ok(());
            }
            let s = self.read_cstr(k, p, EXEC_ARGS_MAX)?;
            if (i as usize) < skip {
                continue;
            }
            if out.len() + s.len() + 1 > EXEC_ARGS_MAX {
                return Err(E2BIG);
            }
            out.extend_from_slice(&s);
            out.push(0);
        }
        Ok(())
    }

    /// `execve`: the program `path` becomes a new process (the personality with
    /// `[path, argv[1..]]` and `envp`), started as the caller's class. In a `vfork` child the
    /// child then ends; otherwise (`replace`) this process waits for the new one and ends
    /// with its status ([`Outcome::Replaced`]).
    fn sys_execve<K: Kernel>(
        &mut self,
        k: &mut K,
        path: u64,
        argv: u64,
        envp: u64,
        replace: bool,
    ) -> Outcome {
        let raw = match self.read_cstr(k, path, 4096) {
            Ok(p) => p,
            Err(E2BIG) => return err(ENAMETOOLONG),
            Err(e) => return err(e),
        };
        // The ROMFS file it names if the ROMFS has it (`/rom/NAME` and `/proc/self/exe`
        // always name one), else the file of the VFS at that path.
        let special = raw == b"/proc/self/exe" || raw.starts_with(b"/rom/");
        let file = match self.exec_file(&raw) {
            Some(rom) if special || k.romfs_has(&rom) => rom,
            _ if !special => super::file::canonical(&self.files.cwd, &raw),
            _ => return err(ENOENT),
        };
        let rom = file.as_slice();
        if rom.len() > EXEC_PATH_MAX {
            return err(ENAMETOOLONG);
        }
        // Its pipe descriptors and files without close-on-exec follow it at the same
        // numbers (files: granted by kl.Vfs `Grant` under [`GIVE_FILE`] labels).
        let mut give = self.inherited();
        give.extend(
            self.files
                .granted(true)
                .into_iter()
                .map(|(file, tag)| (GIVE_FILE | tag, file)),
        );
        // An empty first string: the working directory and the path follow, then the
        // whole `argv` (its `argv[0]` too, which a multi-call program such as busybox
        // chooses its applet by). See [`exec_args`].
        let mut args = Vec::from([0]);
        args.extend_from_slice(&self.files.cwd);
        args.push(0);
        args.extend_from_slice(rom);
        args.push(0);
        let mut env = Vec::new();
        if let Err(e) = self
            .read_strings(k, argv, 0, &mut args)
            .and_then(|()| self.read_strings(k, envp, 0, &mut env))
        {
            return err(e);
        }
        if args.len() > EXEC_ARGS_MAX {
            return err(E2BIG);
        }
        if replace && self.procs.children.len() >= MAX_CHILDREN {
            return err(EAGAIN);
        }
        match k.exec(rom, &args, &env, &give) {
            Ok(pid) => {
                self.procs.children.push(Child {
                    pid,
                    status: None,
                    killed_by: None,
                    task: true,
                    sent: 0,
                });
                if replace {
                    self.procs.replaced_by = Some(pid);
                    // This program never runs again: its pipe ends are the new one's now.
                    let mut closed: Vec<u32> = Vec::new();
                    for f in core::mem::take(&mut self.procs.fds).into_iter().flatten() {
                        if !f.console && !closed.contains(&f.handle) {
                            k.close_handle(f.handle);
                            closed.push(f.handle);
                        }
                    }
                    // Its files too (the new program shares them through its grants).
                    for (file, _) in self.files.granted(false) {
                        if !closed.contains(&file) {
                            let _ = k.vfs(super::file::VfsRequest::Close { file });
                            closed.push(file);
                        }
                    }
                    // Nor its memory: a forked copy waiting for its replacement (a shell's
                    // child running an applet) gives back what it copied.
                    self.free_replaced(k);
                    return Outcome::Replaced;
                }
                self.end_vfork(k);
                Outcome::VforkEnd(i64::from(pid))
            }
            Err(e) => err(e),
        }
    }

    /// Frees the memory of a program an `execve` replaced (it never runs again): every
    /// mapping but the stack this runs on (a forked copy's thread runs on the program's
    /// stack), found by the address of a local.
    #[inline(never)]
    fn free_replaced<K: Kernel>(&mut self, k: &mut K) {
        let here = 0u8;
        let here = core::ptr::addr_of!(here) as u64;
        self.space.unmap_all_but(here, k);
    }

    /// The ROMFS file an `execve` path names: `/proc/self/exe` is this program's own
    /// executable (busybox runs its applets so), `/rom/NAME` the ROMFS file `NAME` (where
    /// the VFS server shows it), any other path as [`romfs_path`] says.
    fn exec_file(&self, path: &[u8]) -> Option<Vec<u8>> {
        if path == b"/proc/self/exe" {
            return romfs_path(&self.exe).map(<[u8]>::to_vec);
        }
        let rom = path.strip_prefix(b"/rom/").unwrap_or(path);
        romfs_path(rom).map(<[u8]>::to_vec)
    }

    /// A child process ended with the kernel's exit `code` (the shell's watcher).
    pub fn child_ended(&mut self, pid: i32, code: i64) {
        if let Some(c) = self.procs.children.iter_mut().find(|c| c.pid == pid) {
            let by_signal = (129..=192)
                .contains(&code)
                .then(|| code - 128)
                .filter(|&sig| c.sent & (1 << (sig - 1)) != 0);
            c.status = Some(match (c.killed_by, by_signal) {
                (Some(sig), _) => sig,
                (None, Some(sig)) => sig as i32,
                (None, None) => wait_status(code),
            });
        }
    }

    /// Child `pid`'s Linux wait status, if it has ended and the shell knows it.
    pub fn child_status(&self, pid: i32) -> Option<i32> {
        self.procs
            .children
            .iter()
            .find(|c| c.pid == pid)
            .and_then(|c| c.status)
    }

    /// Once the process that replaced this one has ended: the exit status this one ends
    /// with (its exit code, or 128 + the signal that ended it, as a shell reports it).
    pub fn replacement_ended(&self) -> Option<i32> {
        let pid = self.procs.replaced_by?;
        let c = self.procs.children.iter().find(|c| c.pid == pid)?;
        let status = c.status?;
        Some(match status & 0x7f {
            0 => (status >> 8) & 0xff,
            sig => 128 + sig,
        })
    }

    /// The children `pid` selects (wait4's convention); `Err(ECHILD)` if none.
    fn selected(&self, pid: i32) -> Result<Vec<usize>, i64> {
        let all = pid == -1 || pid == 0 || pid == -self.pid;
        let found: Vec<usize> = (0..self.procs.children.len())
            .filter(|&i| all || self.procs.children[i].pid == pid)
            .collect();
        match found.is_empty() {
            true => Err(ECHILD),
            false => Ok(found),
        }
    }

    /// Takes child `i`'s record once its status was reported.
    fn reap_child<K: Kernel>(&mut self, k: &mut K, i: usize) {
        let c = self.procs.children.remove(i);
        if c.task {
            k.release_child(c.pid);
        }
    }

    fn sys_wait4<K: Kernel>(
        &mut self,
        k: &mut K,
        pid: i32,
        wstatus: u64,
        options: u64,
        rusage: u64,
    ) -> Outcome {
        const KNOWN: u64 = WNOHANG | 2 | 8 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;
        if options & !KNOWN != 0 {
            return err(EINVAL);
        }
        let found = match self.selected(pid) {
            Ok(f) => f,
            Err(e) => return err(e),
        };
        let Some(i) = found
            .into_iter()
            .find(|&i| self.procs.children[i].status.is_some())
        else {
            return match options & WNOHANG {
                0 => Outcome::WaitEvent,
                _ => ok(0),
            };
        };
        let c = self.procs.children[i];
        let status = c.status.unwrap_or(0);
        if wstatus != 0 {
            if let Err(e) = self.write(k, wstatus, &status.to_le_bytes()) {
                return err(e);
            }
        }
        if rusage != 0 {
            if let Err(e) = self.write(k, rusage, &[0u8; 144]) {
                return err(e);
            }
        }
        self.reap_child(k, i);
        ok(i64::from(c.pid))
    }

    fn sys_waitid<K: Kernel>(
        &mut self,
        k: &mut K,
        idtype: u32,
        id: i32,
        info: u64,
        options: u64,
        rusage: u64,
    ) -> Outcome {
        const P_ALL: u32 = 0;
        const P_PID: u32 = 1;
        const P_PGID: u32 = 2;
        if options & WEXITED == 0 || options & !(WNOHANG | WEXITED | 2 | 8 | WNOWAIT) != 0 {
            return err(EINVAL);
        }
        let pid = match idtype {
            P_ALL => -1,
            P_PID if id > 0 => id,
            P_PGID if id == 0 || id == self.pid => -1,
            P_PGID => return err(ECHILD),
            _ => return err(EINVAL),
        };
        let found = match self.selected(pid) {
            Ok(f) => f,
            Err(e) => return err(e),
        };
        let mut si = [0u8; 128];
        let Some(i) = found
            .into_iter()
            .find(|&i| self.procs.children[i].status.is_some())
        else {
            if options & WNOHANG == 0 {
                return Outcome::WaitEvent;
            }
            // Nothing ended: si_pid stays 0.
            return self.result(if info != 0 {
                self.write(k, info, &si)
            } else {
                Ok(())
            });
        };
        let c = self.procs.children[i];
        let status = c.status.unwrap_or(0);
        let (code, value) = match status & 0x7f {
            0 => (CLD_EXITED, (status >> 8) & 0xff),
            sig => (CLD_KILLED, sig),
        };
        si[0..4].copy_from_slice(&SIGCHLD.to_le_bytes());
        si[8..12].copy_from_slice(&code.to_le_bytes());
        si[16..20].copy_from_slice(&c.pid.to_le_bytes());
        si[24..28].copy_from_slice(&value.to_le_bytes());
        if info != 0 {
            if let Err(e) = self.write(k, info, &si) {
                return err(e);
            }
        }
        if rusage != 0 {
            if let Err(e) = self.write(k, rusage, &[0u8; 144]) {
                return err(e);
            }
        }
        if options & WNOWAIT == 0 {
            self.reap_child(k, i);
        }
        ok(0)
    }

    /// `kill` of a child: its process ends (`task.Kill`), and `wait` reports it killed by
    /// `sig`. A child that has already ended is a zombie: nothing happens.
    pub(super) fn kill_child<K: Kernel>(&mut self, k: &mut K, pid: i32, sig: u64) -> Outcome {
        if sig > 64 {
            return err(EINVAL);
        }
        let Some(i) = self.child_index(pid) else {
            return err(ESRCH);
        };
        let c = self.procs.children[i];
        if sig == 0 || c.status.is_some() || !c.task {
            return ok(0);
        }
        // Any other signal but SIGKILL goes to the child's personality (`task.Signal`),
        // which runs its handler or its default action; a stop cannot be.
        if sig == SIGSTOP {
            return err(EPERM);
        }
        if sig != SIGKILL {
            return match k.signal_process(pid, sig) {
                Ok(()) => {
                    self.procs.children[i].sent |= 1 << (sig - 1);
                    ok(0)
                }
                Err(e) => err(e),
            };
        }
        self.procs.children[i].killed_by = Some(sig as i32);
        match k.kill_child(pid, 128 + sig as i32) {
            Ok(()) => ok(0),
            Err(e) => {
                self.procs.children[i].killed_by = None;
                err(e)
            }
        }
    }
}

/// What a new process of the personality is to run, from its arguments (`task.Args`):
/// `(working directory, path, argv)`. From a Linux program's `execve`: an empty string,
/// the working directory, the path, then the whole `argv`; from Einit: the path, which is
/// also `argv[0]`, then the arguments (the working directory `/`). `None` without a path.
pub fn exec_args<'a>(args: &[&'a [u8]]) -> Option<ExecArgs<'a>> {
    match args {
        [b"", cwd, path, argv @ ..] if !path.is_empty() => Some(ExecArgs {
            cwd,
            path,
            argv: argv.to_vec(),
        }),
        [b"", ..] | [] => None,
        [path, ..] => Some(ExecArgs {
            cwd: b"/",
            path,
            argv: args.to_vec(),
        }),
    }
}

/// What a new process of the personality is to run ([`exec_args`]).
#[derive(Debug, PartialEq, Eq)]
pub struct ExecArgs<'a> {
    pub cwd: &'a [u8],
    pub path: &'a [u8],
    pub argv: Vec<&'a [u8]>,
}

impl State {
    /// A program started by `execve` works in its creator's working directory (a
    /// canonical absolute path, as the personality keeps it; anything else leaves `/`).
    pub fn inherit_cwd(&mut self, cwd: &[u8]) {
        let canonical = cwd == b"/"
            || (cwd.starts_with(b"/")
                && cwd[1..]
                    .split(|&b| b == b'/')
                    .all(|c| !c.is_empty() && c != b"." && c != b".." && !c.contains(&0)));
        if canonical {
            self.files.cwd = cwd.to_vec();
        }
    }
}

/// The ROMFS path of a Linux path: the working directory is `/`, so `/x`, `./x` and `x`
/// are the file `x`; `..` is refused (`None`), as is an empty path.
pub fn romfs_path(path: &[u8]) -> Option<&[u8]> {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix(b"/") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix(b"./") {
            p = rest;
        } else {
            break;
        }
    }
    let bad =
        p.is_empty() || p.split(|&b| b == b'/').any(|c| c == b".." || c == b".") || p.contains(&0);
    (!bad).then_some(p)
}
