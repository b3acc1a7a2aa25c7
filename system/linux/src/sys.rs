//! The Linux system calls: decoding, and handlers over a [`Kernel`] (the native shell's
//! core-endpoint requests, or a fake in the tests).
//!
//! [`State::dispatch`] runs under the personality's lock and never blocks: a call that waits
//! (`futex` wait, `nanosleep`, a `poll` with a time-out) comes back as [`Outcome::Block`],
//! which the shell finishes with [`block`] after releasing the lock, so one thread waiting
//! never stops the others from making calls.

use alloc::vec;
use alloc::vec::Vec;

use crate::elf::Rights;
use crate::errno::*;
use crate::mm::{Memory, Space};
use crate::nr::{self, Sys};
use crate::signal::{self as sig, Delivery, SigInfo, SignalRegs};
use crate::Arch;

mod attr;
pub mod console;
pub mod epoll;
pub mod file;
pub mod proc;
mod select;
pub mod service;
pub mod socket;

/// What the personality needs from the kernel besides memory. Errors are Linux errnos.
pub trait Kernel: Memory {
    /// Writes program bytes (`addr..addr+len`, already checked readable) to the console.
    fn console_write(&mut self, addr: u64, len: usize) -> Result<usize, i64>;
    /// Writes the personality's own bytes to the console in one piece (a gathered
    /// `writev`, so that no other program's output lands inside it).
    fn console_write_bytes(&mut self, bytes: &[u8]) -> Result<usize, i64>;
    /// `console.Read` without waiting: up to `buf.len()` bytes of console input (at most
    /// [`console::CONSOLE_READ_MAX`]), ending after an end-of-file byte (0x04) if one is
    /// buffered; `Err(EAGAIN)` when nothing is, `Err(EACCES)` when the policy denies it.
    fn console_read(&mut self, buf: &mut [u8]) -> Result<usize, i64>;
    /// `console.Poll` without waiting: whether console input is buffered.
    fn console_ready(&mut self) -> Result<bool, i64>;
    /// Waits until console input is buffered (`Ok(true)`) or `timeout_ns` passes
    /// (`Ok(false)`; `None`: as long as it takes).
    fn console_wait(&mut self, timeout_ns: Option<u64>) -> Result<bool, i64>;
    /// Copies program memory (already checked readable) into `buf`.
    fn read_user(&mut self, addr: u64, buf: &mut [u8]);
    /// Copies `data` into program memory (already checked writable).
    fn write_user(&mut self, addr: u64, data: &[u8]);
    /// Nanoseconds since boot.
    fn now_ns(&mut self) -> u64;
    /// Whether the program has a log server (a channel `log` to logrr.Server,
    /// docs/services.md "Logging"): then descriptor 2 goes to it, a record per line.
    fn log_available(&mut self) -> bool {
        false
    }
    /// Sends one line of standard error (without its newline) to the log server; its
    /// refusal (`EACCES` when the policy denies it) is the writer's error.
    fn log_line(&mut self, _line: &[u8]) -> Result<(), i64> {
        Err(EBADF)
    }
    /// Nanoseconds since 1970-01-01 UTC (`CLOCK_REALTIME`): the wall-clock service's when
    /// the program is connected to one (docs/services.md), else time since boot; the
    /// service's refusal (e.g. `EACCES` when the policy denies it) is the caller's error.
    fn realtime_ns(&mut self) -> Result<u64, i64> {
        Ok(self.now_ns())
    }
    /// Sleeps at least `ns` nanoseconds.
    fn sleep_ns(&mut self, ns: u64);
    /// Sleeps at least `ns` nanoseconds unless a signal from another process ends the
    /// sleep (`Err(EINTR)`).
    fn sleep_interruptible(&mut self, ns: u64) -> Result<(), i64> {
        self.sleep_ns(ns);
        Ok(())
    }
    fn yield_now(&mut self);
    /// Sleeps while the 32-bit word at `addr` holds `expected`, until woken or `timeout_ns`
    /// passes. `Err(EAGAIN)` if the word differs, `Err(ETIMEDOUT)` on time-out.
    fn futex_wait(&mut self, addr: u64, expected: u32, timeout_ns: Option<u64>) -> Result<(), i64>;
    /// Wakes up to `count` waiters on `addr`; how many woke.
    fn futex_wake(&mut self, addr: u64, count: u32) -> Result<u64, i64>;
    /// Starts a thread that resumes a copy of the calling thread's frame with result 0, stack
    /// pointer `sp` and, if given, the TLS register `tls`.
    /// Its kernel thread id.
    fn spawn(&mut self, sp: u64, tls: Option<u64>) -> Result<u64, i64>;
    /// Waits until kernel thread `native` of this process has ended.
    fn join(&mut self, native: u64);
    /// Prints a line of the personality (unsupported calls and the like).
    fn log(&mut self, line: &str);
    /// Adds `text` to the kernel's audit log (`audit.Note`, at most 128 bytes), which stamps
    /// it with the program's class and SID; false if the kernel did not take it (the policy
    /// denied the request).
    fn audit(&mut self, text: &str) -> bool;
    /// Fills `buf` with random bytes: from kl.EntropyEntity when the program has a channel
    /// `entropy` to it (docs/services.md), else from the kernel's generator.
    fn random(&mut self, buf: &mut [u8]) -> Result<(), i64>;
    /// Creates and starts a process running the Linux program at `path` (a ROMFS name, or an
    /// absolute path of a VFS file) through the
    /// personality, with `args` (`path`, then `argv[1..]`) and `env` NUL-separated, as the
    /// caller's class (`task.Create` + `task.Start`: the judged `execute` event), with a copy
    /// of each handle of `give` labelled as given (`task.Give`, before the start); a pair
    /// whose label has [`proc::GIVE_FILE`] is a server file granted to it (kl.Vfs `Grant`,
    /// the label's other bits the tag) instead; its pid.
    /// When it ends, the shell calls [`State::child_ended`].
    /// Whether the ROMFS has the file `name` (where `execve` looks first; a path it lacks
    /// names a file of the VFS).
    fn romfs_has(&mut self, _name: &[u8]) -> bool {
        true
    }
    fn exec(
        &mut self,
        _path: &[u8],
        _args: &[u8],
        _env: &[u8],
        _give: &[(u32, u32)],
    ) -> Result<i32, i64> {
        Err(crate::errno::ENOSYS)
    }
    /// `pipe.Create`: the handles of a new pipe's read end and write end.
    fn pipe_create(&mut self) -> Result<(u32, u32), i64> {
        Err(crate::errno::ENOSYS)
    }
    /// `pipe.Read`: up to `buf.len()` bytes (at most [`proc::PIPE_IO_MAX`]) into `buf`; 0 at
    /// end of file; waits for data unless `nonblock` (`EAGAIN`).
    fn pipe_read(&mut self, _handle: u32, _buf: &mut [u8], _nonblock: bool) -> Result<usize, i64> {
        Err(crate::errno::ENOSYS)
    }
    /// `pipe.Write`: all of `data` (at most [`proc::PIPE_IO_MAX`] bytes); waits for room
    /// unless `nonblock` (`EAGAIN`); `EPIPE` if no read end is open.
    fn pipe_write(&mut self, _handle: u32, _data: &[u8], _nonblock: bool) -> Result<usize, i64> {
        Err(crate::errno::ENOSYS)
    }
    /// `pipe.Poll`: a readiness byte per handle into `ready` (1 data, 2 room, 4 the other
    /// side closed, 8 not a pipe), waiting up to `timeout_ns` (`None`: no limit) for one.
    fn pipe_poll(
        &mut self,
        _handles: &[u32],
        _timeout_ns: Option<u64>,
        _ready: &mut [u8],
    ) -> Result<(), i64> {
        Err(crate::errno::ENOSYS)
    }
    /// `handle.Close` of a pipe end no descriptor holds any more.
    fn close_handle(&mut self, _handle: u32) {}
    /// Creates and starts a copy of this process (`task.Fork` + `task.Start`, the judged
    /// `execute` event) whose thread resumes the calling frame with result 0 after
    /// [`State::forked_child`]; the copy's pid. `files` (server file, tag) are granted to
    /// the copy (kl.Vfs `Grant`) before it starts. When it ends, the shell calls
    /// [`State::child_ended`].
    fn fork(&mut self, _files: &[(u32, u32)]) -> Result<i32, i64> {
        Err(crate::errno::ENOSYS)
    }
    /// Ends child `pid` (`task.Kill`) with the exit `code`.
    fn kill_child(&mut self, _pid: i32, _code: i32) -> Result<(), i64> {
        Err(crate::errno::ENOSYS)
    }
    /// Child `pid`'s status was collected: what the shell holds for it goes.
    fn release_child(&mut self, _pid: i32) {}
    /// Something a [`Outcome::WaitEvent`] may wait for happened (a pipe's data or ends, a
    /// child's end): the waiting threads try their call again.
    fn notify(&mut self) {}
    /// `task.MemoryUsage`: the bytes of memory charged to this process and its limit
    /// (`sysinfo`); `None` if the kernel does not say.
    fn memory_usage(&mut self) -> Option<(u64, u64)> {
        None
    }
    /// `task.Count`: how many processes are alive (`sysinfo`); `None` if unknown.
    /// A request to the VFS server (`kl.Vfs`, docs/files.md); `Err(errno)`: `ENOENT` when
    /// the process has no channel `vfs`, `EACCES` when the policy denies the request.
    fn vfs(&mut self, _request: file::VfsRequest<'_>) -> Result<file::VfsReply, i64> {
        Err(ENOENT)
    }
    fn process_count(&mut self) -> Option<u64> {
        None
    }
    /// A request to the network server (`kl.VfsNet`, docs/net.md); `Err(errno)`:
    /// `EAFNOSUPPORT` when the process has no channel `net`, `EACCES` when the policy
    /// denies the request, the server's errno otherwise (`EAGAIN`, `EINPROGRESS`, ...).
    /// A channel to the service `name` published at the server's endpoint `endpoint`, from
    /// the dynamic connection manager (`kl.core.DCM`): its handle ([`service`]).
    /// `ECONNREFUSED`: the program has no channel to the manager.
    fn dcm_connect(&mut self, _name: &str, _endpoint: &str) -> Result<u32, i64> {
        Err(crate::errno::ECONNREFUSED)
    }
    /// One native call on the channel `handle`: the answer's length in `answer`.
    fn channel_call(
        &mut self,
        _handle: u32,
        _request: &[u8],
        _answer: &mut [u8],
    ) -> Result<usize, i64> {
        Err(crate::errno::ENOTCONN)
    }
    fn net(&mut self, _request: socket::NetRequest<'_>) -> Result<socket::NetReply, i64> {
        Err(EAFNOSUPPORT)
    }
    /// Posts signal `sig` to process `pid` (`task.Signal`), a child or the parent (0: only
    /// checks that it may). `ESRCH` for any other process, `EPERM` if the policy denies it.
    fn signal_process(&mut self, _pid: i32, _sig: u64) -> Result<(), i64> {
        Err(crate::errno::ESRCH)
    }
    /// The pid of the process that created this one (`task.Parent`); 0 if there is none.
    fn parent_pid(&mut self) -> i32 {
        0
    }
}

/// What the shell does before a call ([`State::before_call`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeforeCall {
    Nothing,
    /// `rt_sigreturn`: the shell restores the frame ([`State::sigreturn`]).
    Sigreturn,
    /// Take the signals the kernel holds for the process first (`task.Pending`).
    TakePending,
}

/// What a signal that ended a wait (the kernel's `Interrupted`, turned into `EINTR`) means
/// for the call that waited ([`State::interruption`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interruption {
    /// Nothing for this thread to run (ignored, blocked, or the call checks itself): wait
    /// again.
    Retry,
    /// The call fails with `EINTR`; the signal is delivered on the way back.
    Eintr,
    /// A handler with `SA_RESTART` runs, then the call is made again (the shell points the
    /// frame back at the system-call instruction).
    Restart,
}

/// One Linux system call as the trap delivered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub nr: u64,
    pub args: [u64; 6],
    /// The thread's TLS register (`fs_base` / `tpidr_el0`); `arch_prctl` may change it.
    pub tls: u64,
    /// The stack pointer at the call (identifies the calling thread, see [`State::current`]).
    pub sp: u64,
}

/// What to do after a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Resume the thread with this result (`-errno` on failure).
    Return(i64),
    /// Wait without the lock ([`block`]), then resume with its result.
    Block(Blocking),
    /// End the calling thread (its `clear_child_tid` word was already cleared and woken).
    ExitThread(i32),
    /// End the process with this status.
    ExitProcess(i32),
    /// A `vfork`: the shell keeps the calling frame (the parent's) and resumes the thread as
    /// the child, with result 0 and stack pointer `sp` (0: unchanged).
    Vfork { sp: u64 },
    /// The `vfork` child has gone (`execve` or `_exit`): resume the kept parent frame with
    /// this result (the child's pid).
    VforkEnd(i64),
    /// Wait (without the lock) until the shell is notified ([`Kernel::notify`]) of a change
    /// made after this call, then make the call again.
    WaitEvent,
    /// Wait (without the lock) until console input is buffered, then make the call again;
    /// resume with 0 if `timeout_ns` passes first (a `poll` that times out).
    WaitInput { timeout_ns: Option<u64> },
    /// `execve` replaced the process by a new one: wait (without the lock) until
    /// [`State::replacement_ended`] gives a status, then end the process with it.
    Replaced,
    /// As [`Outcome::WaitEvent`], but make the call again at this time (ns since boot) at
    /// the latest (`rt_sigtimedwait` with a time-out).
    WaitEventUntil(u64),
}

/// A wait finished outside the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocking {
    Futex {
        addr: u64,
        expected: u32,
        timeout_ns: Option<u64>,
    },
    Sleep {
        ns: u64,
    },
    /// A wait nothing can end (`pause`-like: `poll` with no ready descriptor, no time-out).
    Forever,
    /// `read` of a pipe: up to `len` bytes to `buf` (checked writable), waiting for the
    /// first unless `nonblock`.
    PipeRead {
        handle: u32,
        buf: u64,
        len: u64,
        nonblock: bool,
    },
    /// `write` (`count` bytes at `iov`) or `writev` (`vectored`: `count` vectors at `iov`,
    /// each checked readable) of a pipe: all of it, waiting for room unless `nonblock`.
    PipeWrite {
        handle: u32,
        iov: u64,
        count: u64,
        vectored: bool,
        nonblock: bool,
    },
    /// `poll` with pipe descriptors, none ready: the `n` entries at `fds`; `ends[i]` is the
    /// pipe end of entry `i` (handle, write end; handle 0: not a pipe).
    Poll {
        fds: u64,
        n: u64,
        timeout_ns: Option<u64>,
        ends: Vec<(u32, bool)>,
    },
    /// `select`/`pselect6` with pipe descriptors or console input, none ready: the sets
    /// at `sets` of `nfds` descriptors are written when the wait ends (see `select.rs`).
    Select {
        sets: [u64; 3],
        nfds: u64,
        timeout_ns: Option<u64>,
        pipes: Vec<(i32, u16, u32, bool)>,
        console: Vec<i32>,
    },
    /// `sched_yield`: the rest of the time slice to other threads; result 0.
    Yield,
}

/// Most entries of one `poll`.
pub const POLL_MAX: usize = 64;

/// What [`State::poll_look`] found.
pub(crate) struct Look {
    /// Each entry's `revents`.
    revents: Vec<u16>,
    /// Each entry's pipe end (handle, write end; handle 0: not a pipe).
    ends: Vec<(u32, bool)>,
    /// Console input is among the events asked for.
    console_input: bool,
    /// Sockets are among the entries (their readiness is asked of the server: a wait
    /// looks again after a while).
    sockets: bool,
}

/// Finishes a [`Blocking`] wait; the call's result.
pub fn block<K: Kernel>(k: &mut K, b: Blocking) -> i64 {
    match b {
        Blocking::Futex {
            addr,
            expected,
            timeout_ns,
        } => match k.futex_wait(addr, expected, timeout_ns) {
            Ok(()) => 0,
            Err(e) => -e,
        },
        Blocking::Sleep { ns } => match k.sleep_interruptible(ns) {
            Ok(()) => 0,
            Err(e) => -e,
        },
        Blocking::Yield => {
            k.yield_now();
            0
        }
        Blocking::Select {
            sets,
            nfds,
            timeout_ns,
            pipes,
            console,
        } => select::select_block(k, sets, nfds, timeout_ns, &pipes, &console),
        Blocking::Forever => loop {
            if let Err(e) = k.sleep_interruptible(1_000_000_000) {
                return -e;
            }
        },
        Blocking::PipeRead {
            handle,
            buf,
            len,
            nonblock,
        } => pipe_read(k, handle, buf, len, nonblock),
        Blocking::PipeWrite {
            handle,
            iov,
            count,
            vectored,
            nonblock,
        } => {
            let vectors = match vectored {
                false => vec![(iov, count)],
                true => (0..count)
                    .map(|i| {
                        let mut v = [0u8; 16];
                        k.read_user(iov.wrapping_add(i * 16), &mut v);
                        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
                        (word(&v[..8]), word(&v[8..]))
                    })
                    .collect(),
            };
            pipe_write(k, handle, &vectors, nonblock)
        }
        Blocking::Poll {
            fds,
            n,
            timeout_ns,
            ends,
        } => {
            let n = (n as usize).min(POLL_MAX).min(ends.len());
            let handles: Vec<u32> = ends[..n].iter().map(|e| e.0).filter(|&h| h != 0).collect();
            let mut ready = vec![0u8; handles.len()];
            if let Err(e) = k.pipe_poll(&handles, timeout_ns, &mut ready) {
                return -e;
            }
            let mut count = 0;
            let mut next = ready.iter();
            for (i, &(handle, write)) in ends[..n].iter().enumerate() {
                let at = fds.wrapping_add(i as u64 * 8);
                let mut p = [0u8; 8];
                k.read_user(at, &mut p);
                let revents = match handle {
                    0 => 0,
                    _ => {
                        let events = u16::from_le_bytes([p[4], p[5]]);
                        pipe_revents(write, events, next.next().copied().unwrap_or(8))
                    }
                };
                if revents != 0 {
                    count += 1;
                }
                k.write_user(at.wrapping_add(6), &revents.to_le_bytes());
            }
            count
        }
    }
}

/// `poll`'s `revents` of a pipe end from its `pipe.Poll` readiness byte.
fn pipe_revents(write: bool, events: u16, ready: u8) -> u16 {
    const POLLIN: u16 = 1;
    const POLLOUT: u16 = 4;
    const POLLERR: u16 = 8;
    const POLLHUP: u16 = 0x10;
    const POLLNVAL: u16 = 0x20;
    if ready & 8 != 0 {
        return POLLNVAL;
    }
    match write {
        false => {
            (if ready & 1 != 0 { events & POLLIN } else { 0 })
                | if ready & 4 != 0 { POLLHUP } else { 0 }
        }
        true => {
            (if ready & 2 != 0 { events & POLLOUT } else { 0 })
                | if ready & 4 != 0 { POLLERR } else { 0 }
        }
    }
}

/// Reads up to `len` bytes of a pipe to `buf`: waits for the first bytes (unless
/// `nonblock`), then takes what is there without waiting.
fn pipe_read<K: Kernel>(k: &mut K, handle: u32, buf: u64, len: u64, nonblock: bool) -> i64 {
    let mut chunk = vec![0u8; (len as usize).min(proc::PIPE_IO_MAX)];
    let mut done = 0u64;
    while done < len {
        let want = ((len - done) as usize).min(chunk.len());
        match k.pipe_read(handle, &mut chunk[..want], nonblock || done > 0) {
            Ok(0) => break,
            Ok(n) => {
                k.write_user(buf.wrapping_add(done), &chunk[..n]);
                done += n as u64;
            }
            Err(e) if done == 0 => return -e,
            Err(_) => break,
        }
    }
    done as i64
}

/// Writes the `vectors` to a pipe, all of them (waiting for room unless `nonblock`); what
/// was written, or the error if nothing was.
fn pipe_write<K: Kernel>(k: &mut K, handle: u32, vectors: &[(u64, u64)], nonblock: bool) -> i64 {
    let mut chunk = Vec::new();
    let mut done = 0u64;
    for &(base, len) in vectors {
        let mut at = 0u64;
        while at < len {
            let n = ((len - at) as usize).min(proc::PIPE_IO_MAX);
            chunk.resize(n, 0);
            k.read_user(base.wrapping_add(at), &mut chunk);
            match k.pipe_write(handle, &chunk, nonblock) {
                Ok(w) => {
                    at += w as u64;
                    done += w as u64;
                }
                Err(e) if done == 0 => return -e,
                Err(_) => return done as i64,
            }
        }
    }
    done as i64
}

/// A signal action (`struct k_sigaction` of both architectures: handler, flags, restorer,
/// mask).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// The largest `writev` gathered into one console write (Linux's `PIPE_BUF`).
const GATHER_MAX: u64 = 4096;

const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;
pub(crate) const SIGKILL: u64 = 9;
pub(crate) const SIGSTOP: u64 = 19;
const NSIG: u64 = 64;

/// `getrandom` flags.
pub const GRND_NONBLOCK: u64 = 1;
pub const GRND_RANDOM: u64 = 2;
pub const GRND_INSECURE: u64 = 4;
/// Most bytes one `getrandom` gives (a short count beyond; callers loop).
pub const GETRANDOM_MAX: u64 = 64 * 1024;

/// What signal delivery needs from the shell.
#[derive(Clone, Copy, Debug)]
pub struct SignalEnv {
    /// The personality's `rt_sigreturn` code: the handler's return address when it has no
    /// `sa_restorer`.
    pub trampoline: u64,
    /// A signal frame on the stack the personality runs on goes below this (the
    /// personality's own stack use below the trap frame, which it still needs while it
    /// writes the frame).
    pub floor: u64,
    /// Saves the thread's FP/SIMD registers (into a frame being built); `None`: no FP state
    /// in frames.
    pub save_fp: Option<fn(&mut sig::FpState)>,
}

/// One thread of the program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    pub tid: i32,
    /// Top of its stack: the thread owning a call is the one with the lowest top at or above
    /// the call's stack pointer.
    pub stack_top: u64,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub sigmask: u64,
    /// `(ss_sp, ss_flags, ss_size)`.
    pub altstack: (u64, u32, u64),
    /// Signals sent to this thread (`tkill`, `tgkill`) not delivered yet.
    pub pending: u64,
    /// Top of the thread's fault stack (0: none yet), where the kernel delivers a fault
    /// whose frame cannot go below the stack pointer ([`State::new_fault_stack`]).
    pub fault_stack: u64,
    /// The kernel's id of the thread (`None` for the main thread).
    pub native: Option<u64>,
    /// A range the thread unmapped while running on it (musl's detached threads free their
    /// own stack just before `exit`): unmapped once the thread has ended.
    pub unmap_on_exit: Option<(u64, u64)>,
    /// Its name (`prctl(PR_SET_NAME)`, Linux's `comm`): at most 15 bytes and a NUL.
    pub name: [u8; 16],
    /// The mask to restore after `rt_sigsuspend` (which waits with another one): the mask
    /// saved in the frame of the handler that ends it.
    pub suspend_saved: Option<u64>,
    /// When its `rt_sigtimedwait` times out (ns since boot), while it waits.
    pub wait_until: Option<u64>,
    /// The signals its `rt_sigtimedwait` waits for (blocked, but taken), while it waits.
    pub waiting_for: u64,
    /// The notification bits the kernel was last told it accepts ([`State::accept_change`]).
    pub told: Option<u64>,
}

/// Most distinct unsupported calls reported in the audit log (a program cannot flood it).
const MAX_REPORTED: usize = 64;

/// Longest text of an `audit.Note` (`NoteMax` of `kl.core.Audit`).
pub const AUDIT_NOTE_MAX: usize = 128;

/// Resources of `getrlimit`/`prlimit64`.
const RLIMIT_COUNT: usize = 16;
const RLIMIT_STACK: usize = 3;
pub(crate) const RLIMIT_NOFILE: usize = 7;
const RLIM_INFINITY: u64 = u64::MAX;
/// Size of each thread's fault stack ([`State::fault_stack`]).
pub const FAULT_STACK_SIZE: u64 = 64 * 1024;
/// Size of the Linux main stack the shell maps (`RLIMIT_STACK`).
pub const MAIN_STACK_SIZE: u64 = 8 * 1024 * 1024;

/// The personality's state of one Linux process.
pub struct State {
    pub arch: Arch,
    pub space: Space,
    pub threads: Vec<Thread>,
    next_tid: i32,
    pid: i32,
    /// The parent's pid in a process made by `fork` (0: none known, as for a program Einit
    /// or `execve` started).
    actions: Vec<SigAction>,
    /// Signals sent to the process (`kill`) not delivered yet.
    pending: u64,
    /// What each pending signal's handler is told (the last sender's).
    infos: Vec<SigInfo>,
    limits: [(u64, u64); RLIMIT_COUNT],
    /// Standard descriptors still open (bit per fd 0..2).
    open_fds: u8,
    /// The standard fds with `FD_CLOEXEC` set (`fcntl`), a bit per fd.
    cloexec_fds: u8,
    /// The executable's path (`/proc/self/exe`).
    exe: Vec<u8>,
    /// Ended threads whose stacks are still to be unmapped: (kernel thread id, range).
    zombies: Vec<(u64, (u64, u64))>,
    /// Unsupported calls already reported (number and reason), at most [`MAX_REPORTED`].
    reported: Vec<(u64, &'static str)>,
    /// Pipes, children, the `vfork` child ([`proc`]).
    pub procs: proc::Procs,
    /// Open files and the working directory ([`file`]).
    pub files: file::Files,
    /// Sockets ([`socket`]).
    pub sockets: socket::Sockets,
    /// `prctl(PR_SET_DUMPABLE)` (bookkeeping: there are no core dumps).
    dumpable: bool,
    /// Descriptor 0's flags and end of file ([`console`]).
    console_in: console::ConsoleIn,
    /// Standard error's line not yet sent to the log server (at most [`LOG_LINE_MAX`]).
    stderr_line: Vec<u8>,
}

/// Most bytes of one standard-error record sent to the log server (`RecordMax` of
/// logrr.Log): a longer line is sent in pieces.
pub const LOG_LINE_MAX: usize = 1024;

/// `SCHED_OTHER`, the only scheduling policy of a Linux program on Ostrog.
const SCHED_OTHER: u64 = 0;

/// A thread's first name (Linux's `comm`): the last part of the executable's path, at most
/// 15 bytes.
fn comm(exe: &[u8]) -> [u8; 16] {
    let base = exe.rsplit(|&b| b == b'/').next().unwrap_or(exe);
    let mut name = [0u8; 16];
    let n = base.len().min(15);
    name[..n].copy_from_slice(&base[..n]);
    name
}

fn ok(v: i64) -> Outcome {
    Outcome::Return(v)
}

fn err(e: i64) -> Outcome {
    Outcome::Return(-e)
}

impl State {
    /// The state of a process `pid` whose main thread's stack ends at `stack_top`.
    pub fn new(arch: Arch, space: Space, pid: i32, stack_top: u64, exe: &[u8]) -> State {
        let mut limits = [(RLIM_INFINITY, RLIM_INFINITY); RLIMIT_COUNT];
        limits[RLIMIT_STACK] = (MAIN_STACK_SIZE, MAIN_STACK_SIZE);
        limits[RLIMIT_NOFILE] = (64, 64);
        let pid = pid.clamp(1, i32::MAX / 2);
        State {
            arch,
            space,
            threads: vec![Thread {
                tid: pid,
                stack_top,
                clear_child_tid: 0,
                robust_list: (0, 0),
                sigmask: 0,
                altstack: (0, SS_DISABLE, 0),
                pending: 0,
                fault_stack: 0,
                native: None,
                unmap_on_exit: None,
                name: comm(exe),
                suspend_saved: None,
                wait_until: None,
                waiting_for: 0,
                told: None,
            }],
            next_tid: pid + 1,
            pid,
            actions: vec![SigAction::default(); NSIG as usize],
            pending: 0,
            infos: vec![SigInfo::default(); NSIG as usize],
            limits,
            open_fds: 0b111,
            cloexec_fds: 0,
            exe: exe.to_vec(),
            reported: Vec::new(),
            zombies: Vec::new(),
            procs: proc::Procs::default(),
            files: file::Files::default(),
            sockets: socket::Sockets::default(),
            dumpable: true,
            console_in: console::ConsoleIn::default(),
            stderr_line: Vec::new(),
        }
    }

    /// Index of the thread making a call with stack pointer `sp`: the one whose alternate
    /// signal stack holds `sp`, else the one with the lowest stack top at or above it.
    pub fn current(&self, sp: u64) -> usize {
        if let Some(i) = self.threads.iter().position(|t| {
            let (base, flags, size) = t.altstack;
            flags & SS_DISABLE == 0 && sp > base && sp - base <= size
        }) {
            return i;
        }
        self.threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.stack_top >= sp)
            .min_by_key(|(_, t)| t.stack_top)
            .map_or(0, |(i, _)| i)
    }

    fn read<K: Kernel>(&self, k: &mut K, addr: u64, buf: &mut [u8]) -> Result<(), i64> {
        if buf.is_empty() {
            return Ok(());
        }
        if !self.space.accessible(addr, buf.len() as u64, false) {
            return Err(EFAULT);
        }
        k.read_user(addr, buf);
        Ok(())
    }

    fn write<K: Kernel>(&self, k: &mut K, addr: u64, data: &[u8]) -> Result<(), i64> {
        if data.is_empty() {
            return Ok(());
        }
        if !self.space.accessible(addr, data.len() as u64, true) {
            return Err(EFAULT);
        }
        k.write_user(addr, data);
        Ok(())
    }

    fn read_u64<K: Kernel>(&self, k: &mut K, addr: u64) -> Result<u64, i64> {
        let mut b = [0u8; 8];
        self.read(k, addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// `getrandom(buf, len, flags)`: random bytes from [`Kernel::random`] (the entropy
    /// service's when the program has a channel to one, else the kernel's),
    /// [`GETRANDOM_MAX`] at most per call (a short count, as Linux gives for large
    /// requests); neither generator blocks once keyed, so `GRND_NONBLOCK` and `GRND_RANDOM`
    /// change nothing.
    fn getrandom<K: Kernel>(&self, k: &mut K, buf: u64, len: u64, flags: u64) -> Result<u64, i64> {
        if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
            || flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE
        {
            return Err(EINVAL);
        }
        let len = len.min(GETRANDOM_MAX);
        let mut done = 0;
        let mut piece = [0u8; 256];
        while done < len {
            let n = (len - done).min(piece.len() as u64) as usize;
            let chunk = &mut piece[..n];
            let got = k
                .random(chunk)
                .and_then(|()| self.write(k, buf.wrapping_add(done), chunk));
            match got {
                Ok(()) => done += n as u64,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn write_u64s<K: Kernel>(&self, k: &mut K, addr: u64, words: &[u64]) -> Result<(), i64> {
        let mut b = [0u8; 64];
        let n = words.len().min(8);
        for (i, w) in words.iter().take(n).enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        self.write(k, addr, &b[..n * 8])
    }

    /// A `timespec` in nanoseconds (`EINVAL` when malformed).
    fn timespec<K: Kernel>(&self, k: &mut K, addr: u64) -> Result<u64, i64> {
        let sec = self.read_u64(k, addr)? as i64;
        let nsec = self.read_u64(k, addr.wrapping_add(8))? as i64;
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(EINVAL);
        }
        Ok((sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nsec as u64))
    }

    /// A `timeval` (`select`) in nanoseconds (`EINVAL` when negative; microseconds beyond a
    /// second count, as Linux normalizes them).
    fn timeval<K: Kernel>(&self, k: &mut K, addr: u64) -> Result<u64, i64> {
        let sec = self.read_u64(k, addr)? as i64;
        let usec = self.read_u64(k, addr.wrapping_add(8))? as i64;
        if sec < 0 || usec < 0 {
            return Err(EINVAL);
        }
        Ok((sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add((usec as u64).saturating_mul(1000)))
    }

    /// Audits an unsupported call once per call number (`audit.Note`: the kernel adds the
    /// program's class and SID); on the console if the audit log refuses it.
    fn report<K: Kernel>(&mut self, k: &mut K, nr: u64, what: &'static str) {
        if self.reported.iter().any(|&(n, _)| n == nr) || self.reported.len() > MAX_REPORTED {
            return;
        }
        self.reported.push((nr, what));
        if self.reported.len() > MAX_REPORTED {
            let line = "linux: further unsupported calls are not reported";
            if !k.audit(line) {
                k.log(line);
            }
            return;
        }
        let mut line = LineBuf::new();
        line.push(b"linux: system call ");
        line.push_num(nr);
        if let Some(name) = nr::name(self.arch, nr) {
            line.push(b" (");
            line.push(name.as_bytes());
            line.push(b")");
        }
        line.push(b" ");
        line.push(what.as_bytes());
        line.push(b" in ");
        line.push(&self.exe);
        line.truncate(AUDIT_NOTE_MAX);
        if !k.audit(line.as_str()) {
            let mut console = LineBuf::new();
            console.push(line.as_str().as_bytes());
            console.push(b" (pid ");
            console.push_num(self.pid as u64);
            console.push(b")");
            k.log(console.as_str());
        }
    }

    /// Handles one call.
    pub fn dispatch<K: Kernel>(&mut self, k: &mut K, call: &mut Call) -> Outcome {
        let a = call.args;
        let Some(sys) = nr::decode(self.arch, call.nr) else {
            self.report(k, call.nr, "is not supported: ENOSYS");
            return err(ENOSYS);
        };
        self.reap(k);
        let me = self.current(call.sp);
        // File descriptors (and other `int` arguments) are 32-bit: the upper half of the
        // register is not part of the value.
        let fd = a[0] as u32 as u64;
        if let Some(outcome) = self.attr_call(k, sys, a) {
            return outcome;
        }
        if let Some(outcome) = self.socket_call(k, sys, a) {
            if outcome == Outcome::Return(-EPIPE) && self.socket_sigpipe(sys, a) {
                self.broken_pipe(call.sp);
            }
            return outcome;
        }
        if let Some(outcome) = self.file_call(k, sys, a) {
            return outcome;
        }
        if let Some(outcome) = self.proc_call(k, sys, call.nr, me, a) {
            return outcome;
        }
        match sys {
            // Answered by `socket_call` above.
            crate::nr::socket_fd_calls!() => err(ENOTSOCK),
            Sys::Socket
            | Sys::Socketpair
            | Sys::EpollCreate
            | Sys::EpollCreate1
            | Sys::EpollCtl
            | Sys::EpollWait
            | Sys::EpollPwait => err(ENOTSOCK),
            Sys::Write => self.sys_write(k, fd, a[1], a[2]),
            Sys::Writev => self.sys_writev(k, fd, a[1], a[2]),
            Sys::Read if self.is_open(0) && fd == 0 => {
                self.console_read(k, a[1], a[2], self.console_in.nonblock)
            }
            Sys::Readv if self.is_open(0) && fd == 0 => {
                self.console_readv(k, a[1], a[2], self.console_in.nonblock)
            }
            Sys::Read | Sys::Readv => err(EBADF),
            Sys::Close => {
                if self.is_open(fd) {
                    self.open_fds &= !(1 << fd);
                    self.cloexec_fds &= !(1 << fd);
                    ok(0)
                } else {
                    err(EBADF)
                }
            }
            Sys::Lseek => self.std_fd(fd, -ESPIPE),
            Sys::Ioctl => self.sys_ioctl(k, fd, a[1] as u32 as u64, a[2]),
            Sys::Fcntl => self.sys_fcntl(fd, a[1] as u32 as u64, a[2]),
            Sys::Poll => {
                let timeout = a[2] as i32 as i64;
                let ns = (timeout >= 0).then(|| timeout as u64 * 1_000_000);
                self.sys_poll(k, a[0], a[1], ns)
            }
            Sys::Select => {
                let ns = match a[4] {
                    0 => None,
                    at => match self.timeval(k, at) {
                        Ok(ns) => Some(ns),
                        Err(e) => return err(e),
                    },
                };
                self.sys_select(k, a[0], [a[1], a[2], a[3]], ns)
            }
            Sys::Pselect6 => {
                let ns = match a[4] {
                    0 => None,
                    at => match self.timespec(k, at) {
                        Ok(ns) => Some(ns),
                        Err(e) => return err(e),
                    },
                };
                self.sys_select(k, a[0], [a[1], a[2], a[3]], ns)
            }
            Sys::Ppoll => {
                let ns = if a[2] == 0 {
                    None
                } else {
                    match self.timespec(k, a[2]) {
                        Ok(ns) => Some(ns),
                        Err(e) => return err(e),
                    }
                };
                self.sys_poll(k, a[0], a[1], ns)
            }
            Sys::Mmap => match self.space.mmap(a, k) {
                // A file mapping of a descriptor that is not open: Linux's EBADF.
                r if r == -ENODEV && !self.is_open(a[4] as u32 as u64) => err(EBADF),
                r => ok(r),
            },
            Sys::Munmap => self.sys_munmap(k, me, call.sp, a[0], a[1]),
            Sys::Mprotect => ok(self.space.mprotect(a[0], a[1], a[2], k)),
            Sys::Madvise => ok(self.space.madvise(a[0], a[1], a[2], k)),
            Sys::Brk => ok(self.space.brk(a[0], k)),
            Sys::RtSigaction => self.sys_sigaction(k, a[0] as u32 as u64, a[1], a[2], a[3]),
            Sys::RtSigprocmask => self.sys_sigprocmask(k, me, a[0], a[1], a[2], a[3]),
            Sys::Sigaltstack => self.sys_sigaltstack(k, me, call.sp, a[0], a[1]),
            // Outside the personality's lock: a thread that yields while holding it would
            // let the others run only to find it held (a loop of `sched_yield` starves them).
            Sys::SchedYield => Outcome::Block(Blocking::Yield),
            Sys::Nanosleep => match self.timespec(k, a[0]) {
                Ok(ns) => Outcome::Block(Blocking::Sleep { ns }),
                Err(e) => err(e),
            },
            Sys::ClockNanosleep => self.sys_clock_nanosleep(k, a[0], a[1], a[2]),
            Sys::ClockGettime => self.sys_clock_gettime(k, a[0], a[1]),
            Sys::ClockGetres => {
                if !matches!(a[0], 0 | 1 | 4..=7) {
                    return err(EINVAL);
                }
                // `time.Now` reads the hardware counter in nanoseconds (as Linux's
                // high-resolution clocks, which report 1 ns).
                match a[1] {
                    0 => ok(0),
                    at => self.result(self.write_u64s(k, at, &[0, 1])),
                }
            }
            Sys::Gettimeofday => {
                let ns = match k.realtime_ns() {
                    Ok(ns) => ns,
                    Err(e) => return err(e),
                };
                match a[0] {
                    0 => ok(0),
                    at => self.result(self.write_u64s(
                        k,
                        at,
                        &[ns / 1_000_000_000, (ns % 1_000_000_000) / 1000],
                    )),
                }
            }
            Sys::Getpid => ok(i64::from(self.pid)),
            Sys::Getppid => ok(i64::from(k.parent_pid())),
            Sys::Gettid => ok(i64::from(self.threads[me].tid)),
            Sys::Getuid | Sys::Geteuid | Sys::Getgid | Sys::Getegid => ok(0),
            // x86_64's `time`: seconds of `CLOCK_REALTIME` (see `clock_gettime`), also
            // stored at the pointer if it is not null.
            Sys::Time => {
                let secs = match k.realtime_ns() {
                    Ok(ns) => ns / 1_000_000_000,
                    Err(e) => return err(e),
                };
                match a[0] {
                    0 => ok(secs as i64),
                    at => self
                        .result(self.write_u64s(k, at, &[secs]))
                        .map_ok(secs as i64),
                }
            }
            Sys::Clone => self.sys_clone(k, call.nr, me, a),
            Sys::Clone3 => err(ENOSYS),
            Sys::Exit => self.exit_thread(k, me, a[0] as i32),
            Sys::ExitGroup => Outcome::ExitProcess(a[0] as i32),
            Sys::Kill => {
                // pid 0: the caller's process group, which is the process itself.
                let pid = a[0] as i32;
                if pid > 0 && pid != self.pid {
                    return self.kill_other(k, pid, a[1] as u32 as u64);
                }
                let to = (pid == self.pid || pid == 0).then_some(None);
                self.sys_kill(k, call.nr, me, to, a[1] as u32 as u64)
            }
            Sys::Tkill => {
                let tid = a[0] as i32;
                let to = self.threads.iter().position(|t| t.tid == tid);
                if to.is_none() && tid > 0 {
                    // The main thread of another process (its tid is its pid).
                    return self.kill_process(k, tid, a[1] as u32 as u64);
                }
                self.sys_kill(k, call.nr, me, to.map(Some), a[1] as u32 as u64)
            }
            Sys::Tgkill => {
                let (tgid, tid) = (a[0] as i32, a[1] as i32);
                if tgid != self.pid && tgid > 0 {
                    // Another process's main thread; its other threads are not known here.
                    if tid != tgid {
                        return err(ESRCH);
                    }
                    return self.kill_process(k, tgid, a[2] as u32 as u64);
                }
                let to = self
                    .threads
                    .iter()
                    .position(|t| t.tid == tid)
                    .filter(|_| tgid == self.pid);
                self.sys_kill(k, call.nr, me, to.map(Some), a[2] as u32 as u64)
            }
            Sys::Uname => self.sys_uname(k, a[0]),
            Sys::Readlink => self.sys_readlink(k, -100, a[0], a[1], a[2]),
            Sys::Readlinkat => self.sys_readlink(k, a[0] as i32 as i64, a[1], a[2], a[3]),
            Sys::Getrlimit => self.sys_prlimit(k, 0, a[0], 0, a[1]),
            Sys::Prlimit64 => self.sys_prlimit(k, a[0], a[1], a[2], a[3]),
            Sys::ArchPrctl => self.sys_arch_prctl(k, call, a[0], a[1]),
            Sys::Futex => self.sys_futex(k, a),
            Sys::SetTidAddress => {
                self.threads[me].clear_child_tid = a[0];
                ok(i64::from(self.threads[me].tid))
            }
            Sys::SetRobustList => {
                if a[1] != 24 {
                    return err(EINVAL);
                }
                self.threads[me].robust_list = (a[0], a[1]);
                ok(0)
            }
            Sys::SchedGetaffinity => {
                // One CPU: mask bit 0, in the 8 bytes of the kernel's cpumask.
                if a[1] < 8 {
                    return err(EINVAL);
                }
                self.result(self.write_u64s(k, a[2], &[1])).map_ok(8)
            }
            Sys::Getrandom => match self.getrandom(k, a[0], a[1], a[2]) {
                Ok(n) => ok(n as i64),
                Err(e) => err(e),
            },
            Sys::RtSigreturn => {
                // The shell handles it with [`State::sigreturn`], which needs the frame.
                self.report(k, call.nr, "without a signal frame: ENOSYS");
                err(ENOSYS)
            }
            // Reached only where `proc_call` leaves them (console fds, no child).
            Sys::Pipe | Sys::Pipe2 | Sys::Fork | Sys::Vfork | Sys::Execve => err(ENOSYS),
            Sys::Wait4 | Sys::Waitid => err(ECHILD),
            Sys::Mremap => self.sys_mremap(k, a),
            // Reached only where `proc_call` leaves them (never).
            Sys::Dup | Sys::Dup2 | Sys::Dup3 => err(EBADF),
            Sys::Sysinfo => self.sys_sysinfo(k, a[0]),
            // Signals arrive only from calls (`kill`, `tkill`, `tgkill` of another thread,
            // which notify waiters): `pause` waits for one that this thread takes, then
            // returns `EINTR`, and the signal is delivered on the way back.
            Sys::Pause => match self.takes(me) {
                0 => Outcome::WaitEvent,
                _ => err(EINTR),
            },
            Sys::Prctl => self.sys_prctl(k, me, a[0] as u32 as u64, a[1]),
            Sys::RtSigpending => {
                if a[1] > 8 {
                    return err(EINVAL);
                }
                let t = &self.threads[me];
                let set = (self.pending | t.pending) & t.sigmask;
                self.result(self.write(k, a[0], &set.to_le_bytes()[..a[1] as usize]))
            }
            Sys::RtSigsuspend => self.sys_sigsuspend(k, me, a[0], a[1]),
            Sys::RtSigtimedwait => self.sys_sigtimedwait(k, me, a[0], a[1], a[2], a[3]),
            Sys::RtSigqueueinfo => self.sys_sigqueueinfo(k, me, a[0] as i32, a[1], a[2]),
            Sys::SchedGetscheduler => match self.sched_target(a[0] as i32) {
                Ok(()) => ok(SCHED_OTHER as i64),
                Err(e) => err(e),
            },
            Sys::SchedGetparam => {
                if let Err(e) = self.sched_target(a[0] as i32) {
                    return err(e);
                }
                if a[1] == 0 {
                    return err(EINVAL);
                }
                self.result(self.write(k, a[1], &0i32.to_le_bytes()))
            }
            Sys::SchedSetscheduler => self.sys_sched_setscheduler(k, a[0] as i32, a[1], a[2]),
            // Handled by `file_call` (the path calls always, the rest for files).
            Sys::Getcwd
            | Sys::Open
            | Sys::Openat
            | Sys::Creat
            | Sys::Stat
            | Sys::Lstat
            | Sys::Newfstatat
            | Sys::Statx
            | Sys::Fstat
            | Sys::Mkdir
            | Sys::Mkdirat
            | Sys::Rmdir
            | Sys::Unlink
            | Sys::Unlinkat
            | Sys::Rename
            | Sys::Renameat
            | Sys::Renameat2
            | Sys::Truncate
            | Sys::Chdir
            | Sys::Access
            | Sys::Faccessat
            | Sys::Faccessat2
            | Sys::Pread64
            | Sys::Pwrite64
            | Sys::Getdents64
            | Sys::Ftruncate
            | Sys::Fsync
            | Sys::Fdatasync
            | Sys::Fchdir => err(EBADF),
            // Handled by `attr_call` (always).
            Sys::Umask
            | Sys::Chmod
            | Sys::Fchmod
            | Sys::Fchmodat
            | Sys::Chown
            | Sys::Fchown
            | Sys::Lchown
            | Sys::Fchownat
            | Sys::Utimensat => err(ENOSYS),
            Sys::Rseq => {
                self.report(k, call.nr, "is not supported: ENOSYS");
                err(ENOSYS)
            }
        }
    }

    /// `sysinfo`: `uptime` is the time since boot (`time.Now`), in seconds; `totalram` is
    /// the process's memory limit and `freeram` what is left of it (`task.MemoryUsage`:
    /// Ostrog charges memory per process, there is no system-wide figure a process may
    /// see); `procs` the live processes (`task.Count`); loads, shared, buffer, swap and high
    /// memory 0; `mem_unit` 1.
    fn sys_sysinfo<K: Kernel>(&mut self, k: &mut K, at: u64) -> Outcome {
        // struct sysinfo (both architectures): 112 bytes.
        let mut b = [0u8; 112];
        let uptime = k.now_ns() / 1_000_000_000;
        let (used, limit) = k.memory_usage().unwrap_or((0, 0));
        let procs = k.process_count().unwrap_or(1).min(u64::from(u16::MAX)) as u16;
        b[0..8].copy_from_slice(&uptime.to_le_bytes());
        b[32..40].copy_from_slice(&limit.to_le_bytes());
        b[40..48].copy_from_slice(&limit.saturating_sub(used).to_le_bytes());
        b[80..82].copy_from_slice(&procs.to_le_bytes());
        b[104..108].copy_from_slice(&1u32.to_le_bytes());
        self.result(self.write(k, at, &b))
    }

    /// `prctl`: the thread's name (`PR_SET_NAME`, `PR_GET_NAME`: 16 bytes with the NUL) and
    /// the dumpable flag (bookkeeping); every other option `EINVAL`.
    fn sys_prctl<K: Kernel>(&mut self, k: &mut K, me: usize, option: u64, arg: u64) -> Outcome {
        const PR_GET_DUMPABLE: u64 = 3;
        const PR_SET_DUMPABLE: u64 = 4;
        const PR_SET_NAME: u64 = 15;
        const PR_GET_NAME: u64 = 16;
        match option {
            PR_SET_NAME => {
                let mut name = [0u8; 16];
                for (i, byte) in name.iter_mut().enumerate().take(15) {
                    let mut c = [0u8];
                    if let Err(e) = self.read(k, arg.wrapping_add(i as u64), &mut c) {
                        return err(e);
                    }
                    if c[0] == 0 {
                        break;
                    }
                    *byte = c[0];
                }
                self.threads[me].name = name;
                ok(0)
            }
            PR_GET_NAME => self.result(self.write(k, arg, &self.threads[me].name)),
            PR_GET_DUMPABLE => ok(i64::from(self.dumpable)),
            PR_SET_DUMPABLE => match arg {
                0 | 1 => {
                    self.dumpable = arg == 1;
                    ok(0)
                }
                _ => err(EINVAL),
            },
            _ => err(EINVAL),
        }
    }

    /// The process or thread a `sched_*` call names: 0, the pid or a thread's tid.
    fn sched_target(&self, pid: i32) -> Result<(), i64> {
        if pid < 0 {
            Err(EINVAL)
        } else if pid == 0 || pid == self.pid || self.threads.iter().any(|t| t.tid == pid) {
            Ok(())
        } else {
            Err(ESRCH)
        }
    }

    /// `sched_setscheduler`: only `SCHED_OTHER` (priority 0), which every thread has; the
    /// real-time policies `EPERM` (an unprivileged process), as are `SCHED_BATCH` and
    /// `SCHED_IDLE` (Linux grants them; Ostrog has no such classes); other values `EINVAL`.
    fn sys_sched_setscheduler<K: Kernel>(
        &mut self,
        k: &mut K,
        pid: i32,
        policy: u64,
        param: u64,
    ) -> Outcome {
        const SCHED_RESET_ON_FORK: u64 = 0x4000_0000;
        if param == 0 || pid < 0 {
            return err(EINVAL);
        }
        let mut p = [0u8; 4];
        if let Err(e) = self.read(k, param, &mut p) {
            return err(e);
        }
        let prio = i32::from_le_bytes(p);
        if let Err(e) = self.sched_target(pid) {
            return err(e);
        }
        match (policy as u32 as u64) & !SCHED_RESET_ON_FORK {
            SCHED_OTHER | 3 | 5 if prio != 0 => err(EINVAL),
            SCHED_OTHER => ok(0),
            3 | 5 => err(EPERM),
            1 | 2 if (1..=99).contains(&prio) => err(EPERM),
            1 | 2 => err(EINVAL),
            _ => err(EINVAL),
        }
    }

    fn result(&self, r: Result<(), i64>) -> Outcome {
        match r {
            Ok(()) => ok(0),
            Err(e) => err(e),
        }
    }

    fn is_open(&self, fd: u64) -> bool {
        fd < 3 && self.open_fds & (1 << fd) != 0
    }

    fn std_fd(&self, fd: u64, then: i64) -> Outcome {
        if self.is_open(fd) {
            ok(then)
        } else {
            err(EBADF)
        }
    }

    /// Whether `fd` is console output: 1 or 2, or a duplicate of them (`dup`).
    fn console_out(&self, fd: u64) -> bool {
        match fd {
            1 | 2 => self.is_open(fd),
            _ => self.pipe_fd_console_out(fd),
        }
    }

    fn sys_write<K: Kernel>(&mut self, k: &mut K, fd: u64, buf: u64, len: u64) -> Outcome {
        if !self.console_out(fd) {
            return err(EBADF);
        }
        if fd == 2 && k.log_available() {
            return self.stderr_write(k, buf, len);
        }
        self.console_write(k, buf, len)
    }

    /// A `write` to descriptor 2 of a program with a log server: line-buffered, each whole
    /// line (or [`LOG_LINE_MAX`] bytes of one) a record.
    fn stderr_write<K: Kernel>(&mut self, k: &mut K, buf: u64, len: u64) -> Outcome {
        let len = len.min(0x7fff_f000);
        if len == 0 {
            return ok(0);
        }
        if !self.space.accessible(buf, len, false) {
            return err(EFAULT);
        }
        let mut chunk = [0u8; 512];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(chunk.len() as u64) as usize;
            let piece = &mut chunk[..n];
            k.read_user(buf + done, piece);
            for &b in piece.iter() {
                if b != b'\n' {
                    self.stderr_line.push(b);
                }
                if b == b'\n' || self.stderr_line.len() >= LOG_LINE_MAX {
                    let line = core::mem::take(&mut self.stderr_line);
                    if let Err(e) = k.log_line(&line) {
                        return if done == 0 { err(e) } else { ok(done as i64) };
                    }
                }
            }
            done += n as u64;
        }
        ok(len as i64)
    }

    /// Sends what standard error holds without a final newline (at exit).
    pub fn flush_stderr<K: Kernel>(&mut self, k: &mut K) {
        if !self.stderr_line.is_empty() {
            let line = core::mem::take(&mut self.stderr_line);
            let _ = k.log_line(&line);
        }
    }

    /// A `write` to the console.
    fn console_write<K: Kernel>(&mut self, k: &mut K, buf: u64, len: u64) -> Outcome {
        let len = len.min(0x7fff_f000);
        if len == 0 {
            return ok(0);
        }
        if !self.space.accessible(buf, len, false) {
            return err(EFAULT);
        }
        match k.console_write(buf, len as usize) {
            Ok(n) => ok(n as i64),
            Err(e) => err(e),
        }
    }

    fn sys_writev<K: Kernel>(&mut self, k: &mut K, fd: u64, iov: u64, count: u64) -> Outcome {
        if !self.console_out(fd) {
            return err(EBADF);
        }
        if count > 1024 {
            return err(EINVAL);
        }
        // A short writev (a line of stdio: buffer and new data) reaches the console as one
        // write, as a write to a pipe or terminal of up to PIPE_BUF bytes is atomic.
        if count > 1 && !(fd == 2 && k.log_available()) {
            if let Some(bytes) = self.gather(k, iov, count) {
                return match k.console_write_bytes(&bytes) {
                    Ok(n) => ok(n as i64),
                    Err(e) => err(e),
                };
            }
        }
        let mut total: i64 = 0;
        for i in 0..count {
            let (base, len) = match (
                self.read_u64(k, iov.wrapping_add(i * 16)),
                self.read_u64(k, iov.wrapping_add(i * 16 + 8)),
            ) {
                (Ok(b), Ok(l)) => (b, l),
                (Err(e), _) | (_, Err(e)) => return err(e),
            };
            if len == 0 {
                continue;
            }
            match self.sys_write(k, fd, base, len) {
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

    /// The bytes of the `count` vectors at `iov` if they are all readable and at most
    /// [`GATHER_MAX`] in all; `None` otherwise (then they are written one by one).
    fn gather<K: Kernel>(&self, k: &mut K, iov: u64, count: u64) -> Option<Vec<u8>> {
        let mut pieces = Vec::new();
        let mut total = 0u64;
        for i in 0..count {
            let base = self.read_u64(k, iov.wrapping_add(i * 16)).ok()?;
            let len = self.read_u64(k, iov.wrapping_add(i * 16 + 8)).ok()?;
            total = total.checked_add(len)?;
            if total > GATHER_MAX {
                return None;
            }
            if len > 0 {
                pieces.push((base, len));
            }
        }
        let mut bytes = vec![0u8; total as usize];
        let mut at = 0usize;
        for (base, len) in pieces {
            let end = at + len as usize;
            self.read(k, base, &mut bytes[at..end]).ok()?;
            at = end;
        }
        Some(bytes)
    }

    fn sys_ioctl<K: Kernel>(&mut self, k: &mut K, fd: u64, req: u64, arg: u64) -> Outcome {
        const TCGETS: u64 = 0x5401;
        const TIOCGWINSZ: u64 = 0x5413;
        if !self.is_open(fd) {
            return err(EBADF);
        }
        match req {
            TCGETS => {
                // struct termios (36 bytes, both architectures): a terminal in canonical
                // mode with echo, 38400 baud 8N1, the usual control characters.
                let mut t = [0u8; 36];
                let iflag: u32 = 0o2400; // ICRNL | IXON
                let oflag: u32 = 0o5; // OPOST | ONLCR
                let cflag: u32 = 0o277; // B38400 | CS8 | CREAD
                let lflag: u32 = 0o105073; // ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN
                t[0..4].copy_from_slice(&iflag.to_le_bytes());
                t[4..8].copy_from_slice(&oflag.to_le_bytes());
                t[8..12].copy_from_slice(&cflag.to_le_bytes());
                t[12..16].copy_from_slice(&lflag.to_le_bytes());
                let cc = [3u8, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22];
                t[17..17 + cc.len()].copy_from_slice(&cc);
                self.result(self.write(k, arg, &t))
            }
            TIOCGWINSZ => {
                let mut w = [0u8; 8];
                w[0..2].copy_from_slice(&24u16.to_le_bytes());
                w[2..4].copy_from_slice(&80u16.to_le_bytes());
                self.result(self.write(k, arg, &w))
            }
            _ => err(ENOTTY),
        }
    }

    fn sys_fcntl(&mut self, fd: u64, cmd: u64, arg: u64) -> Outcome {
        const F_GETFD: u64 = 1;
        const F_SETFD: u64 = 2;
        const F_GETFL: u64 = 3;
        const F_SETFL: u64 = 4;
        const FD_CLOEXEC: u64 = 1;
        const O_NONBLOCK: u64 = 0o4000;
        if !self.is_open(fd) {
            return err(EBADF);
        }
        match cmd {
            F_GETFD => ok(i64::from(self.cloexec_fds >> fd & 1)),
            // Close-on-exec means nothing without exec, but it reads back as set.
            F_SETFD => {
                match arg & FD_CLOEXEC {
                    0 => self.cloexec_fds &= !(1 << fd),
                    _ => self.cloexec_fds |= 1 << fd,
                }
                ok(0)
            }
            // Status flags: O_NONBLOCK makes reads of console input not wait; the others
            // (O_APPEND) change nothing for the console.
            F_SETFL => {
                if fd == 0 {
                    self.console_in.nonblock = arg & O_NONBLOCK != 0;
                }
                ok(0)
            }
            // O_RDONLY (with O_NONBLOCK) / O_WRONLY
            F_GETFL => ok(match fd {
                0 if self.console_in.nonblock => O_NONBLOCK as i64,
                0 => 0,
                _ => 1,
            }),
            _ => err(EINVAL),
        }
    }

    fn sys_poll<K: Kernel>(
        &mut self,
        k: &mut K,
        fds: u64,
        n: u64,
        timeout_ns: Option<u64>,
    ) -> Outcome {
        if n > POLL_MAX as u64 {
            return err(EINVAL);
        }
        if !self.space.accessible(fds, n * 8, true) {
            return err(EFAULT);
        }
        let mut entries = Vec::new();
        for i in 0..n {
            let mut p = [0u8; 8];
            if let Err(e) = self.read(k, fds.wrapping_add(i * 8), &mut p) {
                return err(e);
            }
            let fd = i32::from_le_bytes([p[0], p[1], p[2], p[3]]);
            let events = u16::from_le_bytes([p[4], p[5]]);
            entries.push((fd, events));
        }
        let looked = match self.poll_look(k, &entries) {
            Ok(l) => l,
            Err(e) => return err(e),
        };
        let mut ready = 0;
        for (i, &revents) in looked.revents.iter().enumerate() {
            if revents != 0 {
                ready += 1;
            }
            let at = fds.wrapping_add(i as u64 * 8 + 6);
            if let Err(e) = self.write(k, at, &revents.to_le_bytes()) {
                return err(e);
            }
        }
        let Look {
            ends,
            console_input,
            sockets,
            ..
        } = looked;
        let pipes = ends.iter().any(|e| e.0 != 0);
        match (ready, timeout_ns) {
            (0, Some(0)) => ok(0),
            // Sockets: looked at again (with everything else) after a while.
            (0, timeout_ns) if sockets => self.socket_wait(k, fds, timeout_ns).unwrap_or(ok(0)),
            // Console input and pipe ends together: the kernel cannot wait for both at
            // once; pipe waits of at most 10 ms, then the caller sees a timeout (a gap,
            // docs/linux.md).
            (0, timeout_ns) if pipes && console_input => Outcome::Block(Blocking::Poll {
                fds,
                n,
                timeout_ns: Some(timeout_ns.unwrap_or(u64::MAX).min(10_000_000)),
                ends,
            }),
            (0, timeout_ns) if pipes => Outcome::Block(Blocking::Poll {
                fds,
                n,
                timeout_ns,
                ends,
            }),
            // Waiting for console input: the wait ends when some arrives, and the call is
            // made again.
            (0, timeout_ns) if console_input => Outcome::WaitInput { timeout_ns },
            (0, Some(ns)) => Outcome::Block(Blocking::Sleep { ns }),
            (0, None) => Outcome::Block(Blocking::Forever),
            (r, _) => {
                self.end_socket_wait(fds);
                ok(r)
            }
        }
    }

    /// The readiness of `poll` entries `(fd, events)` now (the engine of `poll`, `ppoll`,
    /// `select`, `pselect6`): each entry's `revents`, and for a wait the pipe ends among
    /// them and whether console input is asked for.
    pub(super) fn poll_look<K: Kernel>(
        &mut self,
        k: &mut K,
        entries: &[(i32, u16)],
    ) -> Result<Look, i64> {
        const POLLIN: u16 = 1;
        const POLLOUT: u16 = 4;
        const POLLNVAL: u16 = 0x20;
        const POLLRDNORM: u16 = 0x40;
        const POLLWRNORM: u16 = 0x100;
        // Pipe ends: their readiness from the kernel, all in one look.
        let ends: Vec<(u32, bool)> = entries
            .iter()
            .map(|&(fd, _)| match fd {
                fd if fd >= 0 => self
                    .pipe_fd(fd as u64)
                    .filter(|f| !f.console)
                    .map_or((0, false), |f| (f.handle, f.write)),
                _ => (0, false),
            })
            .collect();
        let mut console_input = false;
        let mut sockets = false;
        let handles: Vec<u32> = ends.iter().map(|e| e.0).filter(|&h| h != 0).collect();
        let mut readiness = vec![0u8; handles.len()];
        if !handles.is_empty() {
            k.pipe_poll(&handles, Some(0), &mut readiness)?;
        }
        let mut next = readiness.iter();
        let mut revents = Vec::with_capacity(entries.len());
        for (i, &(fd, events)) in entries.iter().enumerate() {
            let (handle, write) = ends[i];
            let r = if fd < 0 {
                0
            } else if handle != 0 {
                pipe_revents(write, events, next.next().copied().unwrap_or(8))
            } else if let Some(f) = self.pipe_fd(fd as u64).filter(|f| f.console) {
                match f.write {
                    true => events & POLLOUT,
                    false if events & POLLIN != 0 => {
                        console_input = true;
                        console::console_revents(self, k, events)
                    }
                    false => 0,
                }
            } else if self.sockets.is_open(fd as u64) {
                sockets = true;
                self.socket_revents(k, fd as u64, events)
            } else if self.files.is_open(fd as u64) {
                // A file or directory is always ready, as on Linux.
                events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)
            } else if !self.is_open(fd as u64) {
                POLLNVAL
            } else if fd == 0 {
                if events & POLLIN != 0 {
                    console_input = true;
                    console::console_revents(self, k, events)
                } else {
                    0
                }
            } else {
                events & POLLOUT
            };
            revents.push(r);
        }
        Ok(Look {
            revents,
            ends,
            console_input,
            sockets,
        })
    }

    fn sys_sigaction<K: Kernel>(
        &mut self,
        k: &mut K,
        sig: u64,
        act: u64,
        old: u64,
        size: u64,
    ) -> Outcome {
        if size != 8 || sig == 0 || sig > NSIG {
            return err(EINVAL);
        }
        let i = (sig - 1) as usize;
        let current = self.actions[i];
        let new = if act != 0 {
            if sig == SIGKILL || sig == SIGSTOP {
                return err(EINVAL);
            }
            let mut w = [0u64; 4];
            for (j, word) in w.iter_mut().enumerate() {
                match self.read_u64(k, act.wrapping_add(8 * j as u64)) {
                    Ok(v) => *word = v,
                    Err(e) => return err(e),
                }
            }
            Some(SigAction {
                handler: w[0],
                flags: w[1],
                restorer: w[2],
                mask: w[3] & !(1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1)),
            })
        } else {
            None
        };
        if old != 0 {
            let words = [
                current.handler,
                current.flags,
                current.restorer,
                current.mask,
            ];
            if let Err(e) = self.write_u64s(k, old, &words) {
                return err(e);
            }
        }
        if let Some(new) = new {
            self.actions[i] = new;
        }
        ok(0)
    }

    /// The signal actions (for the tests and the shell).
    pub fn action(&self, sig: u64) -> Option<SigAction> {
        self.actions.get((sig as usize).wrapping_sub(1)).copied()
    }

    fn sys_sigprocmask<K: Kernel>(
        &mut self,
        k: &mut K,
        me: usize,
        how: u64,
        set: u64,
        old: u64,
        size: u64,
    ) -> Outcome {
        if size != 8 {
            return err(EINVAL);
        }
        let current = self.threads[me].sigmask;
        let new = if set != 0 {
            let s = match self.read_u64(k, set) {
                Ok(s) => s,
                Err(e) => return err(e),
            };
            let m = match how {
                0 => current | s,
                1 => current & !s,
                2 => s,
                _ => return err(EINVAL),
            };
            Some(m & !(1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1)))
        } else {
            None
        };
        if old != 0 {
            if let Err(e) = self.write_u64s(k, old, &[current]) {
                return err(e);
            }
        }
        if let Some(m) = new {
            self.threads[me].sigmask = m;
            // A pending signal now unblocked is delivered after the call
            // ([`State::deliver`]); one whose default action ends the process ends it here.
            let now = (self.pending | self.threads[me].pending) & !m;
            if now != 0 {
                let sig = u64::from(now.trailing_zeros()) + 1;
                if let Some(end) = self.default_ends(sig) {
                    self.pending &= !(1 << (sig - 1));
                    self.threads[me].pending &= !(1 << (sig - 1));
                    return end;
                }
            }
        }
        ok(0)
    }

    /// The thread's mask (for the tests).
    pub fn sigmask(&self, thread: usize) -> u64 {
        self.threads[thread].sigmask
    }

    fn default_ends(&self, sig: u64) -> Option<Outcome> {
        let a = self.actions[(sig - 1) as usize];
        // CHLD CONT URG WINCH are ignored by default; STOP TSTP TTIN TTOU stop the process,
        // which Ostrog cannot do (see `sys_kill`).
        let not_terminating = matches!(sig, 17..=23 | 28);
        (a.handler == SIG_DFL && !not_terminating).then_some(Outcome::ExitProcess(128 + sig as i32))
    }

    /// `kill` (`to`: `Some(None)` the process, `Some(Some(i))` thread `i`, `None` not this
    /// process) of the calling thread `me`. A signal the caller takes now with an action that
    /// ends the process ends it at once; others are recorded as pending and delivered after
    /// the call ([`State::deliver`]).
    fn sys_kill<K: Kernel>(
        &mut self,
        k: &mut K,
        nr: u64,
        me: usize,
        to: Option<Option<usize>>,
        sig: u64,
    ) -> Outcome {
        if sig > NSIG {
            return err(EINVAL);
        }
        let Some(to) = to else {
            return err(ESRCH);
        };
        if sig == 0 {
            return ok(0);
        }
        if sig == SIGKILL {
            return Outcome::ExitProcess(128 + sig as i32);
        }
        let bit = 1u64 << (sig - 1);
        let a = self.actions[(sig - 1) as usize];
        if a.handler == SIG_IGN || a.handler == SIG_DFL && sig::default_ignored(sig) {
            return ok(0);
        }
        if a.handler == SIG_DFL && sig::default_stops(sig) {
            self.report(k, nr, "would stop the process: not supported (ENOSYS)");
            return err(ENOSYS);
        }
        let takes_now = to.is_none_or(|t| t == me) && self.threads[me].sigmask & bit == 0;
        if takes_now {
            if let Some(end) = self.default_ends(sig) {
                return end;
            }
        }
        let tkill = nr::decode(self.arch, nr) != Some(Sys::Kill);
        self.infos[(sig - 1) as usize] = SigInfo {
            signo: sig as i32,
            code: if tkill { sig::SI_TKILL } else { sig::SI_USER },
            pid: self.pid,
            addr: 0,
            status: 0,
        };
        match to {
            Some(t) => self.threads[t].pending |= bit,
            None => self.pending |= bit,
        }
        // A thread in `pause` looks again.
        k.notify();
        ok(0)
    }

    /// The signals thread `me` takes now: pending for it or its process, not blocked, and
    /// not ignored.
    fn takes(&self, me: usize) -> u64 {
        let t = &self.threads[me];
        let ready = (t.pending | self.pending) & !t.sigmask;
        (0..NSIG)
            .filter(|&i| ready & (1 << i) != 0 && !self.ignored(i + 1))
            .fold(0, |m, i| m | 1 << i)
    }

    /// Whether signal `sig`'s action is to ignore it (explicitly or by default).
    fn ignored(&self, sig: u64) -> bool {
        let a = self.actions[(sig - 1) as usize];
        a.handler == SIG_IGN || a.handler == SIG_DFL && sig::default_ignored(sig)
    }

    /// The notification bits the thread with stack pointer `sp` should accept from the
    /// kernel, if they changed since it last told it: every signal it does not block, and
    /// those its `rt_sigtimedwait` waits for. So the kernel interrupts or enters a thread that
    /// takes the signal, and one that blocks it is left alone; a signal every thread blocks
    /// stays pending in the kernel until a thread unblocks it (or `rt_sigpending`,
    /// `rt_sigtimedwait`, `rt_sigsuspend`, `pause` look: [`State::before_call`]).
    pub fn accept_change(&mut self, sp: u64) -> Option<u64> {
        let me = self.current(sp);
        let t = &mut self.threads[me];
        let accept = !t.sigmask | t.waiting_for | 1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1);
        if t.told == Some(accept) {
            return None;
        }
        t.told = Some(accept);
        Some(accept)
    }

    /// What the shell does for call `nr` before [`State::dispatch`] (one look-up of the
    /// number, under the lock the shell takes anyway): `rt_sigreturn`, which it handles
    /// itself with [`State::sigreturn`]; a call that looks at the pending signals, for which
    /// it first takes those the kernel holds for the process (`task.Pending`).
    pub fn before_call(&self, nr: u64) -> BeforeCall {
        match nr::decode(self.arch, nr) {
            Some(Sys::RtSigreturn) => BeforeCall::Sigreturn,
            Some(Sys::RtSigpending | Sys::RtSigtimedwait | Sys::RtSigsuspend | Sys::Pause) => {
                BeforeCall::TakePending
            }
            _ => BeforeCall::Nothing,
        }
    }

    /// A signal to process `pid`, which is not this one: a child's `kill`
    /// ([`State::kill_child`]) or another's ([`State::kill_other`]).
    fn kill_process<K: Kernel>(&mut self, k: &mut K, pid: i32, sig: u64) -> Outcome {
        if self.procs.children.iter().any(|c| c.pid == pid) {
            return self.kill_child(k, pid, sig);
        }
        self.kill_other(k, pid, sig)
    }

    /// `kill` of process `pid`, which is neither this one nor a child: through the kernel
    /// (the parent; any other process is `ESRCH`).
    fn kill_other<K: Kernel>(&mut self, k: &mut K, pid: i32, sig: u64) -> Outcome {
        if sig > NSIG {
            return err(EINVAL);
        }
        self.result(k.signal_process(pid, sig))
    }

    /// A signal another process sent (a kernel notification: `kill` of another
    /// personality, or `SIGCHLD` when a child ended), from process `from`: pending for the
    /// process, unless it is ignored and no thread blocks it (then it is dropped, as Linux
    /// drops it).
    pub fn signal_arrived<K: Kernel>(&mut self, k: &mut K, sig: u64, from: i32) {
        if sig == 0 || sig > NSIG {
            return;
        }
        let bit = 1u64 << (sig - 1);
        if self.ignored(sig) && self.threads.iter().all(|t| t.sigmask & bit == 0) {
            return;
        }
        let mut info = SigInfo {
            signo: sig as i32,
            code: sig::SI_USER,
            pid: from,
            addr: 0,
            status: 0,
        };
        if sig == sig::SIGCHLD {
            if let Some(status) = self.child_status(from) {
                (info.code, info.status) = match status & 0x7f {
                    0 => (sig::CLD_EXITED, (status >> 8) & 0xff),
                    s => (sig::CLD_KILLED, s),
                };
            }
        }
        self.infos[(sig - 1) as usize] = info;
        self.pending |= bit;
        k.notify();
    }

    /// What a signal means for the call of thread `me` (number `nr`) whose wait it ended.
    pub fn interruption(&self, me: usize, nr: u64) -> Interruption {
        let sys = nr::decode(self.arch, nr);
        // These look at the pending signals themselves when made again.
        if matches!(
            sys,
            Some(Sys::Pause | Sys::RtSigsuspend | Sys::RtSigtimedwait)
        ) {
            return Interruption::Retry;
        }
        let ready = self.takes(me);
        if ready == 0 {
            return Interruption::Retry;
        }
        let sig = u64::from(ready.trailing_zeros()) + 1;
        let a = self.actions[(sig - 1) as usize];
        let restartable = matches!(
            sys,
            Some(
                Sys::Futex
                    | Sys::Read
                    | Sys::Readv
                    | Sys::Write
                    | Sys::Writev
                    | Sys::Wait4
                    | Sys::Waitid
                    | Sys::Accept
                    | Sys::Accept4
                    | Sys::Recvfrom
                    | Sys::Sendto
                    | Sys::Recvmsg
                    | Sys::Sendmsg
            )
        );
        if a.handler != SIG_DFL && restartable && a.flags & sig::SA_RESTART != 0 {
            Interruption::Restart
        } else {
            Interruption::Eintr
        }
    }

    /// A `nanosleep`/`clock_nanosleep` (relative) ended by a signal with `remaining` ns
    /// left: written to its `rem` if it has one.
    pub fn sleep_interrupted<K: Kernel>(&self, k: &mut K, call: &Call, remaining: u64) {
        let rem = match nr::decode(self.arch, call.nr) {
            Some(Sys::Nanosleep) => call.args[1],
            Some(Sys::ClockNanosleep) if call.args[1] & 1 == 0 => call.args[3],
            _ => 0,
        };
        if rem != 0 {
            let _ = self.write_u64s(
                k,
                rem,
                &[remaining / 1_000_000_000, remaining % 1_000_000_000],
            );
        }
    }

    /// `rt_sigsuspend`: waits with the mask at `set` until a signal this thread takes
    /// arrives, then `EINTR`; its handler's frame saves the mask from before the call.
    fn sys_sigsuspend<K: Kernel>(&mut self, k: &mut K, me: usize, set: u64, size: u64) -> Outcome {
        if size != 8 {
            return err(EINVAL);
        }
        let new = match self.read_u64(k, set) {
            Ok(m) => m & !(1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1)),
            Err(e) => return err(e),
        };
        let t = &mut self.threads[me];
        let before = t.suspend_saved.unwrap_or(t.sigmask);
        t.sigmask = new;
        t.suspend_saved = Some(before);
        match self.takes(me) {
            0 => Outcome::WaitEvent,
            _ => err(EINTR),
        }
    }

    /// `rt_sigtimedwait`: takes a pending signal of `set` (the thread's, else the
    /// process's) and returns its number, with its `siginfo` at `info`; waits for one until
    /// the time-out at `timeout` (none: for ever) ends it with `EAGAIN`, or a signal outside
    /// `set` that this thread takes ends it with `EINTR`.
    fn sys_sigtimedwait<K: Kernel>(
        &mut self,
        k: &mut K,
        me: usize,
        set: u64,
        info: u64,
        timeout: u64,
        size: u64,
    ) -> Outcome {
        if size != 8 {
            return err(EINVAL);
        }
        let set = match self.read_u64(k, set) {
            Ok(m) => m & !(1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1)),
            Err(e) => return err(e),
        };
        let t = &self.threads[me];
        let here = (t.pending | self.pending) & set;
        if here != 0 {
            let sig = u64::from(here.trailing_zeros()) + 1;
            let bit = 1u64 << (sig - 1);
            if self.threads[me].pending & bit != 0 {
                self.threads[me].pending &= !bit;
            } else {
                self.pending &= !bit;
            }
            self.threads[me].wait_until = None;
            self.threads[me].waiting_for = 0;
            if info != 0 {
                let bytes = self.infos[(sig - 1) as usize].to_bytes();
                if let Err(e) = self.write(k, info, &bytes) {
                    return err(e);
                }
            }
            return ok(sig as i64);
        }
        let until = match (self.threads[me].wait_until, timeout) {
            (_, 0) => None,
            (Some(at), _) => Some(at),
            (None, at) => match self.timespec(k, at) {
                Ok(ns) => Some(k.now_ns().saturating_add(ns)),
                Err(e) => return err(e),
            },
        };
        if self.takes(me) & !set != 0 {
            self.threads[me].wait_until = None;
            self.threads[me].waiting_for = 0;
            return err(EINTR);
        }
        match until {
            Some(at) if k.now_ns() >= at => {
                self.threads[me].wait_until = None;
                self.threads[me].waiting_for = 0;
                err(EAGAIN)
            }
            Some(at) => {
                self.threads[me].wait_until = Some(at);
                self.threads[me].waiting_for = set;
                Outcome::WaitEventUntil(at)
            }
            None => {
                self.threads[me].waiting_for = set;
                Outcome::WaitEvent
            }
        }
    }

    /// `rt_sigqueueinfo`: to this process as `kill` with the caller's `si_code`; to another
    /// (whose code must be negative and not `SI_TKILL`, as Linux requires), as `kill` (the
    /// receiver sees `SI_USER`: the kernel carries no payload).
    fn sys_sigqueueinfo<K: Kernel>(
        &mut self,
        k: &mut K,
        me: usize,
        pid: i32,
        sig: u64,
        uinfo: u64,
    ) -> Outcome {
        let mut raw = [0u8; 12];
        if let Err(e) = self.read(k, uinfo, &mut raw) {
            return err(e);
        }
        let code = i32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]);
        // Linux lets a program forge only negative codes (not `SI_TKILL`) to others.
        if pid != self.pid && (code >= 0 || code == sig::SI_TKILL) {
            return err(EPERM);
        }
        if pid != self.pid {
            if pid <= 0 {
                return err(ESRCH);
            }
            return self.kill_process(k, pid, sig);
        }
        let nr = nr_of(self.arch, Sys::Kill);
        let outcome = self.sys_kill(k, nr, me, Some(None), sig);
        if outcome == ok(0) && (1..=NSIG).contains(&sig) {
            self.infos[(sig - 1) as usize].code = code;
        }
        outcome
    }

    /// Makes the fault stack of the thread whose stack pointer is `sp` if it has none yet:
    /// its top, which the shell names to the kernel with the thread's next resume
    /// (`trap::SET_FAULT_STACK`), so that a stack overflow into a guard page still reaches
    /// the personality and the program's `SIGSEGV` handler on its alternate stack. `None` if
    /// the thread has one already (or there is no memory for it: it is tried again later).
    pub fn new_fault_stack<K: Kernel>(&mut self, k: &mut K, sp: u64) -> Option<u64> {
        let me = self.current(sp);
        if self.threads[me].fault_stack != 0 {
            return None;
        }
        let start = k.allocate(FAULT_STACK_SIZE, Rights::RW).ok()?;
        self.space.reserve(start, start + FAULT_STACK_SIZE);
        self.threads[me].fault_stack = start + FAULT_STACK_SIZE;
        Some(start + FAULT_STACK_SIZE)
    }

    /// After a call (or a `rt_sigreturn`) of the thread whose registers are `frame`: delivers
    /// its lowest pending signal that it does not block. A handler is entered by building its
    /// signal frame and changing `frame` (`None`); a default action that ends the process is
    /// `Some(ExitProcess)`; ignored signals are dropped.
    pub fn deliver<K: Kernel, F: SignalRegs>(
        &mut self,
        k: &mut K,
        frame: &mut F,
        env: SignalEnv,
    ) -> Option<Outcome> {
        let me = self.current(frame.sp());
        // After `rt_sigsuspend`: the handler's frame saves the mask from before it, which
        // comes back now if no handler runs.
        let saved = self.threads[me].suspend_saved.take();
        loop {
            let t = &self.threads[me];
            let ready = (t.pending | self.pending) & !t.sigmask;
            if ready == 0 {
                if let Some(mask) = saved {
                    self.threads[me].sigmask = mask;
                }
                return None;
            }
            let sig = u64::from(ready.trailing_zeros()) + 1;
            let bit = 1u64 << (sig - 1);
            if self.threads[me].pending & bit != 0 {
                self.threads[me].pending &= !bit;
            } else {
                self.pending &= !bit;
            }
            let a = self.actions[(sig - 1) as usize];
            if a.handler == SIG_IGN {
                continue;
            }
            if a.handler == SIG_DFL {
                match self.default_ends(sig) {
                    Some(end) => return Some(end),
                    None => continue,
                }
            }
            let info = SigInfo {
                signo: sig as i32,
                ..self.infos[(sig - 1) as usize]
            };
            return self.enter_handler(k, me, frame, info, env, saved);
        }
    }

    /// A fault of the program (`kind`: `ostrog_abi::trap::FAULT_*` with its access bits,
    /// `addr` the kernel's `info`) in the thread whose registers are `frame`, which point at
    /// the faulting instruction: the signal's handler is entered (`None`), or, with no
    /// handler or the signal blocked, the process ends with status 128 + signal and a line
    /// on the console.
    pub fn fault<K: Kernel, F: SignalRegs>(
        &mut self,
        k: &mut K,
        frame: &mut F,
        kind: u64,
        addr: u64,
        pc: u64,
        env: SignalEnv,
    ) -> Option<Outcome> {
        use ostrog_abi::trap as t;
        let (signo, code, addr) = match t::fault_type(kind) {
            t::FAULT_PAGE => {
                let mapped = kind & t::ACCESS_PROTECTION != 0
                    || self
                        .space
                        .mappings()
                        .iter()
                        .any(|m| m.start <= addr && addr < m.end);
                let code = if mapped {
                    sig::SEGV_ACCERR
                } else {
                    sig::SEGV_MAPERR
                };
                (sig::SIGSEGV, code, addr)
            }
            // Linux: `ud2` is ILL_ILLOPN on x86_64, an undefined instruction ILL_ILLOPC on
            // AArch64.
            t::FAULT_ILLEGAL if self.arch == Arch::Aarch64 => (sig::SIGILL, sig::ILL_ILLOPC, pc),
            t::FAULT_ILLEGAL => (sig::SIGILL, sig::ILL_ILLOPN, pc),
            t::FAULT_ALIGNMENT => (sig::SIGBUS, sig::BUS_ADRALN, addr),
            t::FAULT_BREAKPOINT => (sig::SIGTRAP, sig::TRAP_BRKPT, pc),
            t::FAULT_ARITHMETIC => (sig::SIGFPE, sig::FPE_INTDIV, pc),
            _ => (sig::SIGSEGV, sig::SI_KERNEL, 0),
        };
        let me = self.current(frame.sp());
        let a = self.actions[(signo - 1) as usize];
        let blocked = self.threads[me].sigmask & (1 << (signo - 1)) != 0;
        if a.handler == SIG_DFL || a.handler == SIG_IGN || blocked {
            return Some(self.killed_by_fault(k, signo, addr, pc));
        }
        let info = SigInfo {
            signo: signo as i32,
            code,
            pid: 0,
            addr,
            status: 0,
        };
        self.enter_handler(k, me, frame, info, env, None)
    }

    /// The end of a process by a signal it could not handle, with a console line.
    fn killed_by_fault<K: Kernel>(&mut self, k: &mut K, signo: u64, addr: u64, pc: u64) -> Outcome {
        let mut line = LineBuf::new();
        line.push(b"linux: ");
        line.push(&self.exe);
        line.push(b" (pid ");
        line.push_num(self.pid as u64);
        line.push(b"): killed by signal ");
        line.push_num(signo);
        line.push(b" (address ");
        line.push_hex(addr);
        line.push(b", pc ");
        line.push_hex(pc);
        line.push(b")");
        k.log(line.as_str());
        Outcome::ExitProcess(128 + signo as i32)
    }

    /// Builds the signal frame of `info.signo` for thread `me` and points `frame` at the handler.
    fn enter_handler<K: Kernel, F: SignalRegs>(
        &mut self,
        k: &mut K,
        me: usize,
        frame: &mut F,
        info: SigInfo,
        env: SignalEnv,
        saved: Option<u64>,
    ) -> Option<Outcome> {
        let signo = info.signo as u64;
        let a = self.actions[(signo - 1) as usize];
        let t = &self.threads[me];
        let sp = frame.sp();
        let (alt_sp, alt_flags, alt_size) = t.altstack;
        let alt_usable = alt_flags & SS_DISABLE == 0 && alt_size != 0;
        let on_alt = alt_usable && sp > alt_sp && sp - alt_sp <= alt_size;
        let (top, on_alt) = if a.flags & sig::SA_ONSTACK != 0 && alt_usable && !on_alt {
            (alt_sp.wrapping_add(alt_size), true)
        } else {
            (sp.min(env.floor), on_alt)
        };
        let ret = if a.flags & sig::SA_RESTORER != 0 && a.restorer != 0 {
            a.restorer
        } else {
            env.trampoline
        };
        let d = Delivery {
            sig: signo,
            info,
            handler: a.handler,
            ret,
            saved_mask: saved.unwrap_or(t.sigmask),
            altstack: t.altstack,
            top,
            on_alt,
            fp: env.save_fp.map(|save| {
                let mut fp = [0u8; sig::FP_SIZE];
                save(&mut fp);
                fp
            }),
        };
        let at = F::frame_at(&d).filter(|&at| self.space.accessible(at, F::SIZE, true));
        let Some(at) = at else {
            // No room for the frame (a stack overflow without an alternate stack): the
            // process ends as Linux ends it, with SIGSEGV.
            return Some(self.killed_by_fault(k, sig::SIGSEGV, sp, info.addr));
        };
        k.write_user(at, &frame.image(at, &d));
        *frame = frame.enter(at, &d);
        let mut mask = t.sigmask | a.mask;
        if a.flags & sig::SA_NODEFER == 0 {
            mask |= 1 << (signo - 1);
        }
        self.threads[me].sigmask = mask & !(1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1));
        if a.flags & sig::SA_RESETHAND != 0 {
            self.actions[(signo - 1) as usize] = SigAction::default();
        }
        None
    }

    /// `rt_sigreturn` of the thread whose registers are `frame`: its registers and mask
    /// come back from the signal frame at its stack pointer, and its FP/SIMD state if the
    /// frame has one (`Some`: the shell loads it). A frame that cannot be read ends the
    /// process (`Err`), as Linux ends it with SIGSEGV.
    pub fn sigreturn<K: Kernel, F: SignalRegs>(
        &mut self,
        k: &mut K,
        frame: &mut F,
    ) -> Result<Option<sig::FpState>, Outcome> {
        let sp = frame.sp();
        let me = self.current(sp);
        let at = F::frame_at_sigreturn(sp).filter(|&at| self.space.accessible(at, F::SIZE, false));
        let Some(at) = at else {
            return Err(self.killed_by_fault(k, sig::SIGSEGV, sp, 0));
        };
        let mut image = vec![0u8; F::SIZE as usize];
        k.read_user(at, &mut image);
        let (regs, mask) = frame.restore(&image);
        let mut fp = [0u8; sig::FP_SIZE];
        let fp = F::fp_at(&image, at)
            .filter(|&p| self.read(k, p, &mut fp).is_ok())
            .map(|_| fp);
        *frame = regs;
        self.threads[me].sigmask = mask & !(1 << (SIGKILL - 1) | 1 << (SIGSTOP - 1));
        Ok(fp)
    }

    fn sys_sigaltstack<K: Kernel>(
        &mut self,
        k: &mut K,
        me: usize,
        sp: u64,
        ss: u64,
        old: u64,
    ) -> Outcome {
        const SS_ONSTACK: u32 = 1;
        let min = match self.arch {
            Arch::X86_64 => 2048,
            Arch::Aarch64 => 5120,
        };
        let current = self.threads[me].altstack;
        let (base, flags, size) = current;
        let on_it = flags & SS_DISABLE == 0 && sp > base && sp - base <= size;
        let new = if ss != 0 {
            let (sp, flags, size) = match (
                self.read_u64(k, ss),
                self.read_u64(k, ss.wrapping_add(8)),
                self.read_u64(k, ss.wrapping_add(16)),
            ) {
                (Ok(a), Ok(b), Ok(c)) => (a, b as u32, c),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return err(e),
            };
            if flags & !(SS_DISABLE | SS_AUTODISARM) != 0 {
                return err(EINVAL);
            }
            if on_it {
                // Not while a handler runs on it.
                return err(EPERM);
            }
            if flags & SS_DISABLE != 0 {
                Some((0, SS_DISABLE, 0))
            } else if size < min {
                return err(ENOMEM);
            } else {
                Some((sp, flags, size))
            }
        } else {
            None
        };
        if old != 0 {
            let flags = if on_it {
                current.1 | SS_ONSTACK
            } else {
                current.1
            };
            if let Err(e) = self.write_u64s(k, old, &[current.0, u64::from(flags), current.2]) {
                return err(e);
            }
        }
        if let Some(n) = new {
            self.threads[me].altstack = n;
        }
        ok(0)
    }

    fn sys_clock_gettime<K: Kernel>(&mut self, k: &mut K, clock: u64, at: u64) -> Outcome {
        // REALTIME, MONOTONIC, MONOTONIC_RAW, REALTIME_COARSE, MONOTONIC_COARSE, BOOTTIME.
        // The real-time clocks (0, 5) are the wall-clock service's when the program has a
        // channel to one, else time since boot (from 1970-01-01): `Kernel::realtime_ns`.
        // The CPU-time clocks are refused rather than approximated.
        if !matches!(clock, 0 | 1 | 4..=7) {
            return err(EINVAL);
        }
        let ns = if matches!(clock, 0 | 5) {
            match k.realtime_ns() {
                Ok(ns) => ns,
                Err(e) => return err(e),
            }
        } else {
            k.now_ns()
        };
        self.result(self.write_u64s(k, at, &[ns / 1_000_000_000, ns % 1_000_000_000]))
    }

    fn sys_clock_nanosleep<K: Kernel>(
        &mut self,
        k: &mut K,
        clock: u64,
        flags: u64,
        req: u64,
    ) -> Outcome {
        const TIMER_ABSTIME: u64 = 1;
        if !matches!(clock, 0 | 1 | 7) {
            return err(EINVAL);
        }
        let ns = match self.timespec(k, req) {
            Ok(ns) => ns,
            Err(e) => return err(e),
        };
        // An absolute deadline is on the clock named: real time for CLOCK_REALTIME.
        let now = match (flags & TIMER_ABSTIME != 0, clock) {
            (false, _) => Ok(0),
            (true, 0) => k.realtime_ns(),
            (true, _) => Ok(k.now_ns()),
        };
        let ns = match now {
            Ok(now) => ns.saturating_sub(now),
            Err(e) => return err(e),
        };
        Outcome::Block(Blocking::Sleep { ns })
    }

    fn sys_uname<K: Kernel>(&mut self, k: &mut K, at: u64) -> Outcome {
        // Six fields of 65 bytes. "Linux" because C libraries and programs test for it; a
        // 6.1 release so that version checks for the calls implemented here pass.
        let fields: [&[u8]; 6] = [
            b"Linux",
            b"ostrog",
            b"6.1.0-ostrog",
            b"#1 Ostrog Linux personality",
            self.arch.machine().as_bytes(),
            b"(none)",
        ];
        let mut u = [0u8; 390];
        for (i, f) in fields.iter().enumerate() {
            u[i * 65..i * 65 + f.len()].copy_from_slice(f);
        }
        self.result(self.write(k, at, &u))
    }

    fn sys_readlink<K: Kernel>(
        &mut self,
        k: &mut K,
        dirfd: i64,
        path: u64,
        buf: u64,
        size: u64,
    ) -> Outcome {
        const SELF_EXE: &[u8] = b"/proc/self/exe\0";
        let mut p = [0u8; SELF_EXE.len()];
        // Read the path byte by byte up to its NUL, so that a short string at the end of a
        // mapping is not an EFAULT.
        for (i, b) in p.iter_mut().enumerate() {
            let mut one = [0u8];
            if let Err(e) = self.read(k, path.wrapping_add(i as u64), &mut one) {
                return err(e);
            }
            *b = one[0];
            if one[0] == 0 {
                break;
            }
        }
        if p != *SELF_EXE {
            return self.readlink_file(k, dirfd, path);
        }
        if size as i64 <= 0 {
            return err(EINVAL);
        }
        // An absolute path (glibc's static startup insists on one): a ROMFS executable is
        // where the VFS server shows it, under `/rom`.
        let mut exe = Vec::new();
        if !self.exe.starts_with(b"/") {
            exe.extend_from_slice(b"/rom/");
        }
        exe.extend_from_slice(&self.exe);
        let n = exe.len().min(size as usize);
        self.result(self.write(k, buf, &exe[..n])).map_ok(n as i64)
    }

    fn sys_prlimit<K: Kernel>(
        &mut self,
        k: &mut K,
        pid: u64,
        res: u64,
        new: u64,
        old: u64,
    ) -> Outcome {
        if pid != 0 && pid as i64 != i64::from(self.pid) {
            return err(ESRCH);
        }
        let Some(&(cur, max)) = self.limits.get(res as usize) else {
            return err(EINVAL);
        };
        let update = if new != 0 {
            match (self.read_u64(k, new), self.read_u64(k, new.wrapping_add(8))) {
                (Ok(c), Ok(m)) if c > m => return err(EINVAL),
                (Ok(_), Ok(m)) if m > max => return err(EPERM),
                (Ok(c), Ok(m)) => Some((c, m)),
                (Err(e), _) | (_, Err(e)) => return err(e),
            }
        } else {
            None
        };
        if old != 0 {
            if let Err(e) = self.write_u64s(k, old, &[cur, max]) {
                return err(e);
            }
        }
        if let Some(l) = update {
            self.limits[res as usize] = l;
        }
        ok(0)
    }

    fn sys_arch_prctl<K: Kernel>(
        &mut self,
        k: &mut K,
        call: &mut Call,
        code: u64,
        addr: u64,
    ) -> Outcome {
        const ARCH_SET_FS: u64 = 0x1002;
        const ARCH_GET_FS: u64 = 0x1003;
        match code {
            ARCH_SET_FS => {
                // The kernel refuses a frame whose fs_base is not a canonical user address.
                if addr >= 0x0000_8000_0000_0000 {
                    return err(EPERM);
                }
                call.tls = addr;
                ok(0)
            }
            ARCH_GET_FS => self.result(self.write_u64s(k, addr, &[call.tls])),
            _ => err(EINVAL),
        }
    }

    fn sys_futex<K: Kernel>(&mut self, k: &mut K, a: [u64; 6]) -> Outcome {
        const WAIT: u64 = 0;
        const WAKE: u64 = 1;
        const REQUEUE: u64 = 3;
        const CMP_REQUEUE: u64 = 4;
        const WAIT_BITSET: u64 = 9;
        const WAKE_BITSET: u64 = 10;
        const PRIVATE: u64 = 128;
        const CLOCK_REALTIME: u64 = 256;
        let (addr, op, val) = (a[0], a[1] & !(PRIVATE | CLOCK_REALTIME), a[2] as u32);
        if addr % 4 != 0 {
            return err(EINVAL);
        }
        let word = |s: &Self, k: &mut K| -> Result<u32, i64> {
            let mut b = [0u8; 4];
            s.read(k, addr, &mut b)?;
            Ok(u32::from_le_bytes(b))
        };
        match op {
            WAIT | WAIT_BITSET => {
                if op == WAIT_BITSET && a[5] as u32 == 0 {
                    return err(EINVAL);
                }
                match word(self, k) {
                    Ok(v) if v != val => return err(EAGAIN),
                    Ok(_) => {}
                    Err(e) => return err(e),
                }
                let timeout_ns = if a[3] == 0 {
                    None
                } else {
                    match self.timespec(k, a[3]) {
                        // FUTEX_WAIT: relative; FUTEX_WAIT_BITSET: absolute.
                        Ok(ns) if op == WAIT => Some(ns),
                        Ok(ns) => Some(ns.saturating_sub(k.now_ns())),
                        Err(e) => return err(e),
                    }
                };
                if timeout_ns == Some(0) {
                    return err(ETIMEDOUT);
                }
                Outcome::Block(Blocking::Futex {
                    addr,
                    expected: val,
                    timeout_ns,
                })
            }
            WAKE | WAKE_BITSET => {
                if op == WAKE_BITSET && a[5] as u32 == 0 {
                    return err(EINVAL);
                }
                // Waiters of any bitset are woken: a spurious wake-up is allowed by futex users.
                match k.futex_wake(addr, val) {
                    Ok(n) => ok(n as i64),
                    Err(e) => err(e),
                }
            }
            REQUEUE | CMP_REQUEUE => {
                if op == CMP_REQUEUE {
                    match word(self, k) {
                        Ok(v) if v != a[5] as u32 => return err(EAGAIN),
                        Ok(_) => {}
                        Err(e) => return err(e),
                    }
                }
                // No requeue in the kernel: the waiters that would move are woken instead
                // (they find the word changed and wait again: correct, only slower).
                let count = (val as u64).saturating_add(a[3] & 0x7fff_ffff);
                match k.futex_wake(addr, count.min(u64::from(u32::MAX)) as u32) {
                    Ok(n) => ok(n as i64),
                    Err(e) => err(e),
                }
            }
            _ => err(ENOSYS),
        }
    }

    fn sys_clone<K: Kernel>(&mut self, k: &mut K, nr: u64, me: usize, a: [u64; 6]) -> Outcome {
        const CLONE_VM: u64 = 0x100;
        const CLONE_SIGHAND: u64 = 0x800;
        const CLONE_VFORK: u64 = 0x4000;
        const CLONE_THREAD: u64 = 0x1_0000;
        const CLONE_SETTLS: u64 = 0x8_0000;
        const CLONE_PARENT_SETTID: u64 = 0x10_0000;
        const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
        const CLONE_CHILD_SETTID: u64 = 0x100_0000;
        let flags = a[0];
        // x86_64: (flags, stack, parent_tid, child_tid, tls); AArch64: (flags, stack,
        // parent_tid, tls, child_tid).
        let (stack, parent_tid) = (a[1], a[2]);
        let (child_tid, tls) = match self.arch {
            Arch::X86_64 => (a[3], a[4]),
            Arch::Aarch64 => (a[4], a[3]),
        };
        let thread = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
        if flags & thread != thread || flags & CLONE_VFORK != 0 {
            // Forks and vforks are `proc`'s (reached before this); what is left shares the
            // memory without being a thread (`CLONE_VM` alone): not supported.
            self.report(
                k,
                nr,
                "with CLONE_VM but not a thread: not supported (ENOSYS)",
            );
            return err(ENOSYS);
        }
        // Any alignment: musl's x86_64 `__clone` passes its stack 16-byte aligned minus 8
        // (it pushes the thread function's argument there).
        if stack == 0 {
            return err(EINVAL);
        }
        let tid = self.next_tid;
        if flags & CLONE_PARENT_SETTID != 0 {
            if let Err(e) = self.write(k, parent_tid, &tid.to_le_bytes()) {
                return err(e);
            }
        }
        if flags & CLONE_CHILD_SETTID != 0 {
            if let Err(e) = self.write(k, child_tid, &tid.to_le_bytes()) {
                return err(e);
            }
        }
        let tls = (flags & CLONE_SETTLS != 0).then_some(tls);
        if self.arch == Arch::X86_64 && tls.is_some_and(|t| t >= 0x0000_8000_0000_0000) {
            return err(EPERM);
        }
        self.threads.push(Thread {
            tid,
            stack_top: stack,
            clear_child_tid: if flags & CLONE_CHILD_CLEARTID != 0 {
                child_tid
            } else {
                0
            },
            robust_list: (0, 0),
            sigmask: self.threads[me].sigmask,
            altstack: (0, SS_DISABLE, 0),
            pending: 0,
            fault_stack: 0,
            native: None,
            unmap_on_exit: None,
            name: self.threads[me].name,
            suspend_saved: None,
            wait_until: None,
            waiting_for: 0,
            told: None,
        });
        match k.spawn(stack, tls) {
            Ok(native) => {
                if let Some(t) = self.threads.last_mut() {
                    t.native = Some(native);
                }
            }
            Err(e) => {
                self.threads.pop();
                return err(e);
            }
        }
        self.next_tid += 1;
        ok(i64::from(tid))
    }

    /// `munmap`; a thread unmapping the stack it runs on (musl's `__unmapself`) has it
    /// unmapped after it ends, since the kernel still needs the stack for its `exit` call.
    fn sys_munmap<K: Kernel>(
        &mut self,
        k: &mut K,
        me: usize,
        sp: u64,
        addr: u64,
        len: u64,
    ) -> Outcome {
        let end = addr.saturating_add(crate::page_up(len));
        let on_own_stack = (addr..end).contains(&sp) && self.threads[me].native.is_some();
        if on_own_stack && addr.is_multiple_of(crate::PAGE_SIZE) && len > 0 {
            self.threads[me].unmap_on_exit = Some((addr, end));
            return ok(0);
        }
        ok(self.space.munmap(addr, len, k))
    }

    /// Unmaps the stacks of threads that freed them on their way out, once they have ended.
    fn reap<K: Kernel>(&mut self, k: &mut K) {
        while let Some((native, (start, end))) = self.zombies.pop() {
            k.join(native);
            let _ = self.space.munmap(start, end - start, k);
        }
    }

    fn exit_thread<K: Kernel>(&mut self, k: &mut K, me: usize, status: i32) -> Outcome {
        if self.threads.len() == 1 {
            return Outcome::ExitProcess(status);
        }
        let t = self.threads.remove(me);
        if t.fault_stack != 0 {
            // The thread runs on its own stack now, never on this one again.
            let start = t.fault_stack - FAULT_STACK_SIZE;
            let _ = k.free(start, FAULT_STACK_SIZE);
            self.space.unreserve(start, t.fault_stack);
        }
        if let (Some(native), Some(range)) = (t.native, t.unmap_on_exit) {
            self.zombies.push((native, range));
        }
        if t.clear_child_tid != 0
            && self
                .write(k, t.clear_child_tid, &0u32.to_le_bytes())
                .is_ok()
        {
            let _ = k.futex_wake(t.clear_child_tid, 1);
        }
        Outcome::ExitThread(status)
    }
}

const SS_DISABLE: u32 = 2;
const SS_AUTODISARM: u32 = 1 << 31;

pub(crate) trait MapOk {
    fn map_ok(self, v: i64) -> Outcome;
}

impl MapOk for Outcome {
    fn map_ok(self, v: i64) -> Outcome {
        match self {
            Outcome::Return(0) => Outcome::Return(v),
            other => other,
        }
    }
}

/// A line built without formatting machinery (no heap growth past its capacity).
struct LineBuf {
    buf: [u8; 160],
    len: usize,
}

impl LineBuf {
    fn new() -> LineBuf {
        LineBuf {
            buf: [0; 160],
            len: 0,
        }
    }

    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }

    fn push_num(&mut self, mut n: u64) {
        let mut d = [0u8; 20];
        let mut i = d.len();
        loop {
            i -= 1;
            d[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&d[i..]);
    }

    /// Keeps at most `max` bytes (a character cut in two is dropped by [`LineBuf::as_str`]).
    fn truncate(&mut self, max: usize) {
        self.len = self.len.min(max);
    }

    fn push_hex(&mut self, n: u64) {
        let mut d = [0u8; 18];
        d[0] = b'0';
        d[1] = b'x';
        for (i, slot) in d[2..].iter_mut().enumerate() {
            let nibble = (n >> (60 - 4 * i)) & 0xf;
            *slot = b"0123456789abcdef"[nibble as usize];
        }
        self.push(&d);
    }

    fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

/// Rights of the pages of a `Rights` triple as `PROT_*` bits (for messages and tests).
pub fn prot_of(r: Rights) -> u64 {
    u64::from(r.read) | u64::from(r.write) << 1 | u64::from(r.exec) << 2
}

/// `mremap`: anonymous memory grows in place when the pages after it are free, or moves
/// (with `MREMAP_MAYMOVE`) to a fresh mapping holding a copy; it shrinks by unmapping the
/// tail.
impl State {
    fn sys_mremap<K: Kernel>(&mut self, k: &mut K, a: [u64; 6]) -> Outcome {
        const MAYMOVE: u64 = 1;
        const FIXED: u64 = 2;
        const DONTUNMAP: u64 = 4;
        const ANON_PRIVATE: u64 = 0x22;
        const NOREPLACE: u64 = 0x10_0000;
        let [addr, old_len, new_len, flags, _, _] = a;
        let page = crate::PAGE_SIZE;
        if !addr.is_multiple_of(page) || flags & !(MAYMOVE | FIXED | DONTUNMAP) != 0 {
            return err(EINVAL);
        }
        if flags & (FIXED | DONTUNMAP) != 0 {
            if flags & MAYMOVE == 0 {
                return err(EINVAL);
            }
            self.report(
                k,
                nr_of(self.arch, Sys::Mremap),
                "with MREMAP_FIXED/DONTUNMAP: ENOSYS",
            );
            return err(ENOSYS);
        }
        let (old, new) = (crate::page_up(old_len), crate::page_up(new_len));
        if new == 0 || old == 0 {
            return err(EINVAL);
        }
        let Some(old_end) = addr.checked_add(old) else {
            return err(EFAULT);
        };
        // The old range must be anonymous memory with one set of rights, in adjacent
        // mappings (Linux: one VMA, which merges such neighbours; else EFAULT).
        let mut rights = None;
        let mut at = addr;
        for m in self.space.mappings() {
            if m.end <= at || at >= old_end {
                continue;
            }
            let same = rights.is_none_or(|r| r == m.rights);
            if m.start > at || m.kind != crate::mm::Kind::Anon || !same {
                return err(EFAULT);
            }
            rights = Some(m.rights);
            at = m.end;
        }
        let Some(r) = rights.filter(|_| at >= old_end) else {
            return err(EFAULT);
        };
        let prot = u64::from(r.read) | u64::from(r.write) << 1 | u64::from(r.exec) << 2;
        if new <= old {
            if new < old {
                let _ = self.space.munmap(addr + new, old - new, k);
            }
            return ok(addr as i64);
        }
        let grown = self.space.mmap(
            [
                old_end,
                new - old,
                prot,
                ANON_PRIVATE | NOREPLACE,
                u64::MAX,
                0,
            ],
            k,
        );
        if grown == old_end as i64 {
            return ok(addr as i64);
        }
        if flags & MAYMOVE == 0 || !r.read {
            return err(ENOMEM);
        }
        let to = self.space.mmap([0, new, 3, ANON_PRIVATE, u64::MAX, 0], k);
        if to < 0 {
            return ok(to);
        }
        let to = to as u64;
        let mut chunk = vec![0u8; page as usize];
        let mut at = 0;
        while at < old {
            k.read_user(addr + at, &mut chunk);
            k.write_user(to + at, &chunk);
            at += page;
        }
        if prot != 3 {
            let _ = self.space.mprotect(to, new, prot, k);
        }
        let _ = self.space.munmap(addr, old, k);
        ok(to as i64)
    }
}

/// The number of `sys` on `arch` (0 where it has none: only for reports).
fn nr_of(arch: Arch, sys: Sys) -> u64 {
    nr::number(arch, sys).unwrap_or(0)
}
