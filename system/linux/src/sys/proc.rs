//! Processes: `vfork`-style `clone` (musl's `posix_spawn`, `vfork()`), `execve` in the
//! `vfork` child (a new Ostrog process: `task.Create` + `task.Start`, the judged `execute`
//! event), `wait4`/`waitid` with Linux wait statuses, `kill` of a child (`task.Kill`), and
//! pipes inside one process (`pipe`, `pipe2`; what `posix_spawn` uses to report a failed
//! `execve`). See `docs/linux.md`, "Processes".
//!
//! The `vfork` child runs on the parent's native thread, on the parent's memory, with the
//! parent's descriptors and signal actions saved aside: whatever the child changes (it closes
//! descriptors, resets signal actions) is dropped when it ends (`execve` or `_exit`) and the
//! parent's are put back, as with a child's own tables on Linux. The parent's frame is kept by
//! the shell ([`Outcome::Vfork`]) and resumed with the child's pid ([`Outcome::VforkEnd`]).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::{err, ok, Kernel, Outcome, SigAction, State, SIGKILL};
use crate::errno::*;
use crate::nr::Sys;

/// Most children (running, or ended and not yet waited for) a process may have.
pub const MAX_CHILDREN: usize = 64;
/// Most pipe descriptors (both ends count) a process may hold.
pub const MAX_PIPE_FDS: usize = 61;
/// Bytes a pipe holds (Linux's default pipe size).
pub const PIPE_CAPACITY: usize = 64 * 1024;
/// Bytes all the pipes of a process hold together: their buffers come from the
/// personality's fixed heap, which a program must not exhaust.
pub const PIPE_BUDGET: usize = 128 * 1024;
/// Most bytes one `read` or `write` of a pipe moves (it copies through the heap); fewer is
/// a short count, which callers loop on.
pub const PIPE_CHUNK: usize = 16 * 1024;
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
const CLD_EXITED: i32 = 1;
const CLD_KILLED: i32 = 2;

/// One end of a pipe, or a duplicate of a console descriptor (`dup`), as a descriptor 3 or
/// above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipeFd {
    /// The pipe (meaningless for a console duplicate).
    pub pipe: usize,
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
}

/// The parent's tables while a `vfork` child runs on its thread.
#[derive(Clone, Debug)]
pub struct Vfork {
    /// The thread that called `vfork` (its child makes the calls now).
    pub tid: i32,
    open_fds: u8,
    fds: Vec<Option<PipeFd>>,
    actions: Vec<SigAction>,
    sigmask: u64,
    pending: u64,
}

/// The process part of the personality's state.
#[derive(Clone, Debug, Default)]
pub struct Procs {
    /// Descriptors 3.. (index + 3).
    pub fds: Vec<Option<PipeFd>>,
    pipes: Vec<Option<VecDeque<u8>>>,
    pub children: Vec<Child>,
    pub vfork: Option<Vfork>,
    /// The process that replaced this one (`execve` outside a `vfork` child).
    pub replaced_by: Option<i32>,
    /// Pids for `vfork` children that never became a process.
    next_pseudo_pid: i32,
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
        Some(match sys {
            Sys::Pipe => self.sys_pipe2(k, a[0], 0),
            Sys::Pipe2 => self.sys_pipe2(k, a[0], a[1]),
            Sys::Dup => self.sys_dup(k, nr, fd, None, 0, false),
            Sys::Dup2 => {
                let new = a[1] as u32 as u64;
                match new == fd {
                    // dup2 of a descriptor onto itself: it, if it is open.
                    true if self.fd_open(fd) => ok(fd as i64),
                    true => err(EBADF),
                    false => self.sys_dup(k, nr, fd, Some(new), 0, false),
                }
            }
            Sys::Dup3 => {
                let new = a[1] as u32 as u64;
                if a[2] & !O_CLOEXEC != 0 || new == fd {
                    return Some(err(EINVAL));
                }
                self.sys_dup(k, nr, fd, Some(new), 0, a[2] & O_CLOEXEC != 0)
            }
            Sys::Fcntl if matches!(a[1] as u32 as u64, F_DUPFD | F_DUPFD_CLOEXEC) => {
                let cloexec = a[1] as u32 as u64 == F_DUPFD_CLOEXEC;
                self.sys_dup(k, nr, fd, None, a[2] as u32 as u64, cloexec)
            }
            Sys::Read if self.pipe_fd(fd).is_some_and(|f| f.console) => {
                match self.pipe_fd(fd).is_some_and(|f| f.write) {
                    false => ok(0), // console input: end of file
                    true => err(EBADF),
                }
            }
            Sys::Read if fd >= 3 => self.pipe_read(k, fd, a[1], a[2]),
            Sys::Write if fd >= 3 => self.pipe_write(k, fd, a[1], a[2]),
            Sys::Close if fd >= 3 => match self.pipe_fd(fd) {
                Some(_) => {
                    self.procs.fds[fd as usize - 3] = None;
                    self.drop_unused_pipes();
                    k.notify();
                    ok(0)
                }
                None => err(EBADF),
            },
            Sys::Fcntl if fd >= 3 => self.pipe_fcntl(fd, a[1] as u32 as u64, a[2]),
            Sys::Clone if a[0] & 0x4000 != 0 => self.sys_vfork(k, nr, me, a[0], a[1]),
            Sys::Vfork => self.sys_vfork(k, nr, me, 0x4000 | 0x100, 0),
            Sys::Fork => {
                self.report(k, nr, "(a copy of the process) is not supported: ENOSYS");
                err(ENOSYS)
            }
            Sys::Clone if a[0] & 0x100 == 0 => {
                self.report(k, nr, "of a process without CLONE_VM (fork): ENOSYS");
                err(ENOSYS)
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

    /// Whether `fd` is open (console, pipe or file).
    pub(super) fn fd_open(&self, fd: u64) -> bool {
        self.is_open(fd) || self.pipe_fd(fd).is_some() || self.files.is_open(fd)
    }

    /// `dup` (`new` `None`: the lowest free descriptor at `min` or above, as `fcntl`'s
    /// `F_DUPFD`) and `dup2`/`dup3` (`new`, closed first if open; never equal to `old`
    /// here). The new descriptor refers to the same console or pipe end; a pipe's ends count
    /// every descriptor, so the reader sees end of file only when all write ends are
    /// closed. A pipe as descriptor 0-2 is not supported (`ENOSYS`, reported).
    fn sys_dup<K: Kernel>(
        &mut self,
        k: &mut K,
        nr: u64,
        old: u64,
        new: Option<u64>,
        min: u64,
        cloexec: bool,
    ) -> Outcome {
        let src = if self.is_open(old) {
            PipeFd {
                pipe: 0,
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
        let max = self.limits[super::RLIMIT_NOFILE]
            .0
            .min(3 + MAX_PIPE_FDS as u64);
        let target = match new {
            Some(n) if n >= max => return err(EBADF),
            Some(n) => n,
            None if min >= max => return err(EINVAL),
            None => match (min..max).find(|&n| !self.fd_open(n)) {
                Some(n) => n,
                None => return err(EMFILE),
            },
        };
        if target < 3 {
            if !src.console {
                self.report(k, nr, "of a pipe onto descriptors 0-2: ENOSYS");
                return err(ENOSYS);
            }
            self.open_fds |= 1 << target;
            match cloexec {
                true => self.cloexec_fds |= 1 << target,
                false => self.cloexec_fds &= !(1 << target),
            }
        } else {
            // A file that `dup2` closes.
            if let Err(e) = self.close_file_fd(k, target) {
                return err(e);
            }
            let i = target as usize - 3;
            while self.procs.fds.len() <= i {
                self.procs.fds.push(None);
            }
            self.procs.fds[i] = Some(src);
            // A pipe end that `dup2` closed.
            self.drop_unused_pipes();
            k.notify();
        }
        ok(target as i64)
    }

    fn pipe_fd(&self, fd: u64) -> Option<PipeFd> {
        self.procs
            .fds
            .get((fd as usize).checked_sub(3)?)
            .copied()
            .flatten()
    }

    /// Whether any descriptor (the running tables, and the parent's saved ones during a
    /// `vfork`) is the `write` end of `pipe`.
    fn end_open(&self, pipe: usize, write: bool) -> bool {
        let is = |f: &Option<PipeFd>| {
            f.is_some_and(|f| !f.console && f.pipe == pipe && f.write == write)
        };
        self.procs.fds.iter().any(is)
            || self
                .procs
                .vfork
                .as_ref()
                .is_some_and(|v| v.fds.iter().any(is))
    }

    fn drop_unused_pipes(&mut self) {
        for pipe in 0..self.procs.pipes.len() {
            if self.procs.pipes[pipe].is_some()
                && !self.end_open(pipe, false)
                && !self.end_open(pipe, true)
            {
                self.procs.pipes[pipe] = None;
            }
        }
        while self.procs.fds.last().is_some_and(|f| f.is_none()) {
            self.procs.fds.pop();
        }
    }

    /// The lowest free descriptor at 3 or above (not a file's either).
    fn free_fd(&mut self) -> Option<usize> {
        let (fds, files) = (&self.procs.fds, &self.files);
        let i = (0..MAX_PIPE_FDS)
            .find(|&i| fds.get(i).is_none_or(|f| f.is_none()) && !files.is_open(i as u64 + 3))?;
        while self.procs.fds.len() <= i {
            self.procs.fds.push(None);
        }
        Some(i)
    }

    fn sys_pipe2<K: Kernel>(&mut self, k: &mut K, at: u64, flags: u64) -> Outcome {
        if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
            return err(EINVAL);
        }
        if !self.space.accessible(at, 8, true) {
            return err(EFAULT);
        }
        let pipe = match self.procs.pipes.iter().position(|p| p.is_none()) {
            Some(i) => i,
            None => {
                self.procs.pipes.push(None);
                self.procs.pipes.len() - 1
            }
        };
        let end = |write| PipeFd {
            pipe,
            write,
            console: false,
            cloexec: flags & O_CLOEXEC != 0,
            nonblock: flags & O_NONBLOCK != 0,
        };
        let Some(r) = self.free_fd() else {
            self.drop_unused_pipes();
            return err(EMFILE);
        };
        self.procs.fds[r] = Some(end(false));
        let Some(w) = self.free_fd() else {
            self.procs.fds[r] = None;
            self.drop_unused_pipes();
            return err(EMFILE);
        };
        self.procs.fds[w] = Some(end(true));
        self.procs.pipes[pipe] = Some(VecDeque::new());
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&(r as i32 + 3).to_le_bytes());
        out[4..].copy_from_slice(&(w as i32 + 3).to_le_bytes());
        match self.write(k, at, &out) {
            Ok(()) => ok(0),
            Err(e) => {
                self.procs.fds[r] = None;
                self.procs.fds[w] = None;
                self.drop_unused_pipes();
                err(e)
            }
        }
    }

    fn pipe_read<K: Kernel>(&mut self, k: &mut K, fd: u64, buf: u64, len: u64) -> Outcome {
        let Some(f) = self.pipe_fd(fd).filter(|f| !f.write) else {
            return err(EBADF);
        };
        let len = len.min(PIPE_CHUNK as u64) as usize;
        if len == 0 {
            return ok(0);
        }
        if !self.space.accessible(buf, len as u64, true) {
            return err(EFAULT);
        }
        let writers = self.end_open(f.pipe, true);
        let Some(Some(data)) = self.procs.pipes.get_mut(f.pipe) else {
            return err(EBADF);
        };
        if data.is_empty() {
            return match (writers, f.nonblock) {
                (false, _) => ok(0),
                (true, true) => err(EAGAIN),
                (true, false) => Outcome::WaitEvent,
            };
        }
        let n = len.min(data.len());
        let bytes: Vec<u8> = data.drain(..n).collect();
        // Memory held follows what the pipe holds (the budget counts contents).
        if data.capacity() > 2 * data.len() + 4096 {
            data.shrink_to(data.len());
        }
        k.write_user(buf, &bytes);
        k.notify();
        ok(n as i64)
    }

    fn pipe_write<K: Kernel>(&mut self, k: &mut K, fd: u64, buf: u64, len: u64) -> Outcome {
        let Some(f) = self.pipe_fd(fd).filter(|f| f.write) else {
            return err(EBADF);
        };
        if f.console {
            return self.console_write(k, buf, len);
        }
        if len == 0 {
            return ok(0);
        }
        if !self.end_open(f.pipe, false) {
            // No reader: EPIPE (SIGPIPE is not raised: signals are not delivered).
            return err(EPIPE);
        }
        let Some(Some(data)) = self.procs.pipes.get(f.pipe) else {
            return err(EBADF);
        };
        let held: usize = self.procs.pipes.iter().flatten().map(|p| p.len()).sum();
        let room = (PIPE_CAPACITY - data.len())
            .min(PIPE_BUDGET.saturating_sub(held))
            .min(PIPE_CHUNK);
        if room == 0 {
            return match f.nonblock {
                true => err(EAGAIN),
                false => Outcome::WaitEvent,
            };
        }
        let n = (len.min(room as u64)) as usize;
        if !self.space.accessible(buf, n as u64, false) {
            return err(EFAULT);
        }
        let mut bytes = alloc::vec![0u8; n];
        k.read_user(buf, &mut bytes);
        if let Some(Some(data)) = self.procs.pipes.get_mut(f.pipe) {
            if data.try_reserve_exact(n).is_err() {
                return err(ENOMEM);
            }
            data.extend(bytes);
        }
        k.notify();
        ok(n as i64)
    }

    fn pipe_fcntl(&mut self, fd: u64, cmd: u64, arg: u64) -> Outcome {
        const F_GETFD: u64 = 1;
        const F_SETFD: u64 = 2;
        const F_GETFL: u64 = 3;
        const F_SETFL: u64 = 4;
        let Some(f) = self.pipe_fd(fd) else {
            return err(EBADF);
        };
        let slot = &mut self.procs.fds[fd as usize - 3];
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
            fds: self.procs.fds.clone(),
            actions: self.actions.clone(),
            sigmask: self.threads[me].sigmask,
            pending: self.pending,
        });
        self.files.vfork();
        Outcome::Vfork { sp: stack }
    }

    /// The `vfork` child is gone: the parent's tables come back.
    fn end_vfork<K: Kernel>(&mut self, k: &mut K) {
        let Some(v) = self.procs.vfork.take() else {
            return;
        };
        self.open_fds = v.open_fds;
        self.procs.fds = v.fds;
        self.actions = v.actions;
        self.pending = v.pending;
        if let Some(t) = self.threads.iter_mut().find(|t| t.tid == v.tid) {
            t.sigmask = v.sigmask;
        }
        self.drop_unused_pipes();
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
        let Some(rom) = romfs_path(&raw) else {
            return err(ENOENT);
        };
        if rom.len() > EXEC_PATH_MAX {
            return err(ENAMETOOLONG);
        }
        // The new process gets the console as fds 0-2: a pipe cannot follow it there yet.
        if self.procs.fds.iter().flatten().any(|f| !f.cloexec)
            || self.files.any_inherited()
            || self.open_fds != 0b111
        {
            self.report(
                k,
                crate::nr::number(self.arch, Sys::Execve).unwrap_or(0),
                "with descriptors other than the console: not supported (ENOSYS)",
            );
            return err(ENOSYS);
        }
        let mut args = Vec::new();
        args.extend_from_slice(rom);
        args.push(0);
        let mut env = Vec::new();
        if let Err(e) = self
            .read_strings(k, argv, 1, &mut args)
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
        match k.exec(rom, &args, &env) {
            Ok(pid) => {
                self.procs.children.push(Child {
                    pid,
                    status: None,
                    killed_by: None,
                    task: true,
                });
                if replace {
                    self.procs.replaced_by = Some(pid);
                    return Outcome::Replaced;
                }
                self.end_vfork(k);
                Outcome::VforkEnd(i64::from(pid))
            }
            Err(e) => err(e),
        }
    }

    /// A child process ended with the kernel's exit `code` (the shell's watcher).
    pub fn child_ended(&mut self, pid: i32, code: i64) {
        if let Some(c) = self.procs.children.iter_mut().find(|c| c.pid == pid) {
            c.status = Some(match c.killed_by {
                Some(sig) => sig,
                None => wait_status(code),
            });
        }
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
    fn kill_child<K: Kernel>(&mut self, k: &mut K, pid: i32, sig: u64) -> Outcome {
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
        // Signals whose default action is not to end the process, and stop signals, cannot
        // be delivered to another process (no signal delivery yet).
        if matches!(sig, 17..=23 | 28) {
            return err(EPERM);
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
