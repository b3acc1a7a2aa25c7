//! The native shell: loads the Linux executable, builds its first frame, and serves its
//! system calls at the trap entry. Every decision is in the `linux` library; this module
//! only turns its requests into core-endpoint calls and registers.

mod frame;
mod net;
mod services;
mod vfs;

use alloc::boxed::Box;
use alloc::vec::Vec;

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use linux::elf::Rights;
use linux::errno::*;
use linux::load::{self, Program};
use linux::mm::Memory;
use linux::signal::FpState;
use linux::sys::file::{VfsReply, VfsRequest};
use linux::sys::{self, BeforeCall, Call, Interruption, Kernel, Outcome, SignalEnv, State};
use linux::Arch;
use ostrog_abi::layout::USER_MIN;
use ostrog_abi::trap::{fault_type, NOTIFY, SET_FAULT_STACK, SYSCALL};
use ostrog_abi::{priority, Status};
use ostrog_rt::idl::kl_core_core;
use ostrog_rt::idl::kl_core_time::TimeProxy;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::idl::spec_rt::Handle as RtHandle;
use ostrog_rt::println;
use ostrog_rt::sys as rt;
use spin::Mutex;

use frame::{LinuxFrame, TrapFrame};

ostrog_rt::main!(main);

/// The personality's state, shared by every thread of the program. Taken only for the
/// non-blocking part of a call.
static STATE: Mutex<Option<State>> = Mutex::new(None);
/// Priority new threads are created at: the process's ceiling, the main thread's priority,
/// found on the first `clone` by trying from the highest down (it is not known otherwise).
/// All threads at one priority, so that one spinning on the personality's lock never starves
/// the lower-priority holder.
static THREAD_PRIORITY: Mutex<Option<u8>> = Mutex::new(None);

/// Bumped (under the state lock) whenever something an [`Outcome::WaitEvent`] waits for
/// happens; the waiters sleep on it as a futex word.
static EVENTS: AtomicU32 = AtomicU32::new(0);
/// The parent's frame while its `vfork` child runs on its thread.
static VFORK_PARENT: Mutex<Option<TrapFrame>> = Mutex::new(None);
/// While a `vfork` child runs: the stack pointer it started with (0 otherwise). Its system
/// calls are served on [`VFORK_STACK`], not on its own stack: a C library gives the child a
/// small one (musl's `posix_spawn`: about 5 KiB, inside the parent's frame), which the
/// personality's `execve` would overflow into the parent's saved registers.
static VFORK_CHILD_SP: AtomicU64 = AtomicU64::new(0);
/// Top of the stack a `vfork` child's calls are served on (0: not made yet; made at the
/// first `vfork`, charged to the process, and kept for the next ones).
static VFORK_STACK: AtomicU64 = AtomicU64::new(0);
/// Its size.
const VFORK_STACK_SIZE: u64 = 64 * 1024;
/// How far below its first stack pointer a trap frame is taken for the `vfork` child's: the
/// child's own frames and the kernel's trap frame (other threads' stacks are elsewhere).
const VFORK_WINDOW: u64 = 32 * 1024;
/// The children that are processes: pid, task handle, watcher thread and its stack.
static CHILDREN: Mutex<Vec<ChildTask>> = Mutex::new(Vec::new());
/// Priority children are created at: just below this process's ceiling (found on the first
/// `execve` by trying from the highest down, as for threads).
static CHILD_PRIORITY: Mutex<Option<u8>> = Mutex::new(None);
/// Stack of a child's watcher thread (it only waits and takes the lock).
const WATCHER_STACK: usize = 16 * 1024;
/// The process that created this one: a task handle with only the signal right
/// (`task.Parent`) and its pid, asked for once (`None` until then; pid 0: there is none).
static PARENT: Mutex<Option<(Option<RtHandle>, i32)>> = Mutex::new(None);
/// The notification bit a child's end posts to this process (`task.NotifyExit`): `SIGCHLD`.
const SIGCHLD: u32 = 17;

struct ChildTask {
    pid: i32,
    task: RtHandle,
    watcher: Option<(usize, u64)>,
}

/// Exit status when the executable cannot be started (as a shell reports "cannot execute").
const CANNOT_EXECUTE: i32 = 126;

fn lock() -> spin::MutexGuard<'static, Option<State>> {
    loop {
        if let Some(guard) = STATE.try_lock() {
            return guard;
        }
        rt::yield_now();
    }
}

fn errno(s: Status) -> i64 {
    match s {
        Status::InvalidArgument => EINVAL,
        Status::BadAddress => EFAULT,
        Status::NoMemory => ENOMEM,
        Status::AccessDenied => EACCES,
        Status::TimedOut => ETIMEDOUT,
        Status::Busy => EAGAIN,
        Status::NotFound => ENOENT,
        Status::NotSupported | Status::NoSuchSyscall => ENOSYS,
        Status::Interrupted => EINTR,
        _ => EINVAL,
    }
}

/// The status of a failed core call whose error type `ostrog_rt::sys::call_status` does
/// not know.
fn remote_status<E>(e: CallError<E>, status: impl Fn(&E) -> i32) -> Status {
    let raw = match e {
        CallError::Remote(e) => status(&e),
        CallError::Transport(t) => t.0,
        CallError::Encode(_) | CallError::Decode(_) => Status::InvalidArgument as i32,
    };
    Status::from_result(raw as isize)
        .err()
        .unwrap_or(Status::InvalidArgument)
}

/// The errno of a failed memory request (`mmap`, `mprotect`, `brk`): a request the policy
/// denied (`AccessDenied`, e.g. executable memory for a class that may not make any) is
/// `EPERM`, "operation not permitted", as Linux answers a mapping its security rules refuse;
/// `EACCES` stays the answer to write+exec (W^X), which the personality refuses itself.
fn mem_errno(s: Status) -> i64 {
    match s {
        Status::AccessDenied => EPERM,
        other => errno(other),
    }
}

fn vmm_flags(r: Rights) -> u32 {
    if !r.read && !r.write && !r.exec {
        rt::VMM_NONE
    } else {
        u32::from(r.write) | u32::from(r.exec) << 1
    }
}

/// The [`Kernel`] of the library: core-endpoint requests, and the program's memory, which is
/// this process's own.
struct Native<'a> {
    /// The frame of the call being served (for `clone`).
    frame: Option<&'a TrapFrame>,
}

impl Memory for Native<'_> {
    fn allocate_at(&mut self, addr: u64, len: u64, rights: Rights) -> Result<(), i64> {
        rt::allocate_at(addr as usize, len as usize, vmm_flags(rights))
            .map(|_| ())
            .map_err(mem_errno)
    }

    fn allocate(&mut self, len: u64, rights: Rights) -> Result<u64, i64> {
        rt::vmm()
            .allocate(len, vmm_flags(rights))
            .map(|r| r.addr)
            .map_err(|e| mem_errno(rt::call_status(e)))
    }

    fn free(&mut self, addr: u64, len: u64) -> Result<(), i64> {
        rt::vmm()
            .free(addr, len)
            .map(|_| ())
            .map_err(|e| mem_errno(rt::call_status(e)))
    }

    fn protect(&mut self, addr: u64, len: u64, rights: Rights) -> Result<(), i64> {
        rt::vmm()
            .protect(addr, len, vmm_flags(rights))
            .map(|_| ())
            .map_err(|e| mem_errno(remote_status(e, |e| e.status)))
    }
}

fn time() -> TimeProxy<rt::CoreTransport> {
    TimeProxy {
        transport: rt::CoreTransport,
        riid: kl_core_core::riid::TIME,
    }
}

impl Kernel for Native<'_> {
    fn console_write(&mut self, addr: u64, len: usize) -> Result<usize, i64> {
        // SAFETY: the library checked that addr..addr+len is mapped readable in this
        // process (its address-space bookkeeping); the bytes are only read.
        let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, len) };
        let mut done = 0;
        for chunk in bytes.chunks(ostrog_abi::DEBUG_WRITE_MAX) {
            match rt::debug_write(chunk) {
                Ok(n) => done += n,
                Err(s) if done == 0 => return Err(errno(s)),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn console_write_bytes(&mut self, bytes: &[u8]) -> Result<usize, i64> {
        let mut done = 0;
        for chunk in bytes.chunks(ostrog_abi::DEBUG_WRITE_MAX) {
            match rt::debug_write(chunk) {
                Ok(n) => done += n,
                Err(s) if done == 0 => return Err(errno(s)),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    fn console_read(&mut self, buf: &mut [u8]) -> Result<usize, i64> {
        match rt::console_read(buf, 0) {
            Ok(n) => Ok(n),
            Err(Status::WouldBlock) => Err(EAGAIN),
            Err(s) => Err(errno(s)),
        }
    }

    fn console_ready(&mut self) -> Result<bool, i64> {
        rt::console_poll(0)
            .map(|(available, _)| available > 0)
            .map_err(errno)
    }

    fn console_wait(&mut self, timeout_ns: Option<u64>) -> Result<bool, i64> {
        match rt::console_poll(timeout_ns.unwrap_or(u64::MAX)) {
            Ok((available, _)) => Ok(available > 0),
            Err(Status::TimedOut) => Ok(false),
            Err(s) => Err(errno(s)),
        }
    }

    fn read_user(&mut self, addr: u64, buf: &mut [u8]) {
        // SAFETY: the library checked that the range is mapped readable; `buf` is the
        // personality's own memory, which no program mapping overlaps (it is reserved).
        unsafe {
            core::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), buf.len());
        }
    }

    fn write_user(&mut self, addr: u64, data: &[u8]) {
        // SAFETY: the library checked that the range is mapped writable and it lies outside
        // the personality (reserved); the program's own threads may race on it as they
        // would with a Linux kernel writing it.
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len());
        }
    }

    fn now_ns(&mut self) -> u64 {
        time().now().map(|r| r.ns).unwrap_or(0)
    }

    fn realtime_ns(&mut self) -> Result<u64, i64> {
        services::realtime_ns().unwrap_or_else(|| Ok(self.now_ns()))
    }

    fn log_available(&mut self) -> bool {
        services::log_available()
    }

    fn log_line(&mut self, line: &[u8]) -> Result<(), i64> {
        services::log_line(line)
    }

    fn sleep_ns(&mut self, ns: u64) {
        if ns > 0 {
            let _ = time().sleep_ns(ns);
        }
    }

    fn yield_now(&mut self) {
        rt::yield_now();
    }

    fn sleep_interruptible(&mut self, ns: u64) -> Result<(), i64> {
        if ns == 0 {
            return Ok(());
        }
        time()
            .sleep_ns(ns)
            .map(|_| ())
            .map_err(|e| errno(remote_status(e, |e| e.status)))
    }

    fn futex_wait(&mut self, addr: u64, expected: u32, timeout_ns: Option<u64>) -> Result<(), i64> {
        rt::futex_wait_raw(
            addr as usize,
            expected,
            timeout_ns.unwrap_or(rt::FUTEX_FOREVER),
        )
        .map_err(errno)
    }

    fn futex_wake(&mut self, addr: u64, count: u32) -> Result<u64, i64> {
        rt::futex_wake_raw(addr as usize, count)
            .map(u64::from)
            .map_err(errno)
    }

    fn join(&mut self, native: u64) {
        let _ = rt::thread_join(native as usize);
    }

    fn spawn(&mut self, sp: u64, tls: Option<u64>) -> Result<u64, i64> {
        let Some(parent) = self.frame else {
            return Err(EINVAL);
        };
        let mut child = *parent;
        child.set_result(0);
        child.set_sp(sp);
        if let Some(t) = tls {
            child.set_tls(t);
        }
        // The native part of the new thread runs briefly on the child's stack below the
        // stack pointer it starts with, as the trap entry does.
        let native_top = sp.saturating_sub(512) & !15;
        let arg = Box::into_raw(Box::new(child)) as usize;
        let mut guard = THREAD_PRIORITY.lock();
        let mut prio = guard.unwrap_or(priority::MAX);
        loop {
            match rt::thread_create(thread_start, native_top as usize, arg, prio) {
                Ok(native) => {
                    *guard = Some(prio);
                    return Ok(native as u64);
                }
                Err(Status::AboveCeiling) if prio > 0 => prio -= 1,
                Err(s) => {
                    // SAFETY: the thread was not created, so `arg` is still the box made
                    // above and nothing else owns it.
                    drop(unsafe { Box::from_raw(arg as *mut TrapFrame) });
                    return Err(if s == Status::NoMemory {
                        EAGAIN
                    } else {
                        errno(s)
                    });
                }
            }
        }
    }

    fn log(&mut self, line: &str) {
        println!("{line}");
    }

    fn audit(&mut self, text: &str) -> bool {
        rt::audit_note(text).is_ok()
    }

    fn random(&mut self, buf: &mut [u8]) -> Result<(), i64> {
        services::random(buf).unwrap_or_else(|| rt::random_bytes(buf).map_err(errno))
    }

    fn romfs_has(&mut self, name: &[u8]) -> bool {
        let Ok(name) = core::str::from_utf8(name) else {
            return false;
        };
        match rt::romfs_read(name) {
            Ok((region, _)) => {
                let _ = rt::handles().close(region);
                true
            }
            // Refused (by the policy: audited): as before, `exec` reports it.
            Err(s) => s != Status::NotFound,
        }
    }

    fn exec(
        &mut self,
        path: &[u8],
        args: &[u8],
        env: &[u8],
        give: &[(u32, u32)],
    ) -> Result<i32, i64> {
        exec(path, args, env, give)
    }

    fn pipe_create(&mut self) -> Result<(u32, u32), i64> {
        match rt::pipes().create() {
            Ok(r) => Ok((r.reader.handle, r.writer.handle)),
            Err(e) => Err(match rt::call_status(e) {
                Status::NoMemory => ENFILE,
                s => errno(s),
            }),
        }
    }

    fn pipe_read(&mut self, handle: u32, buf: &mut [u8], nonblock: bool) -> Result<usize, i64> {
        let max = buf.len().min(linux::sys::proc::PIPE_IO_MAX) as u32;
        match rt::pipes().read(pipe_end(handle), max, u32::from(nonblock)) {
            Ok(r) => {
                let n = r.data.len().min(buf.len());
                buf[..n].copy_from_slice(&r.data[..n]);
                Ok(n)
            }
            Err(e) => Err(pipe_errno(rt::call_status(e))),
        }
    }

    fn pipe_write(&mut self, handle: u32, data: &[u8], nonblock: bool) -> Result<usize, i64> {
        match rt::pipes().write(pipe_end(handle), data.to_vec(), u32::from(nonblock)) {
            Ok(r) => Ok(r.written as usize),
            Err(e) => Err(pipe_errno(rt::call_status(e))),
        }
    }

    fn pipe_poll(
        &mut self,
        handles: &[u32],
        timeout_ns: Option<u64>,
        ready: &mut [u8],
    ) -> Result<(), i64> {
        let ends: Vec<u8> = handles.iter().flat_map(|h| h.to_le_bytes()).collect();
        // A finite time-out never reads as "no limit".
        let timeout = timeout_ns.map_or(u64::MAX, |t| t.min(u64::MAX - 1));
        match rt::pipes().poll(ends, timeout) {
            Ok(r) => {
                for (out, b) in ready.iter_mut().zip(r.ready) {
                    *out = b;
                }
                Ok(())
            }
            Err(e) => Err(pipe_errno(rt::call_status(e))),
        }
    }

    fn close_handle(&mut self, handle: u32) {
        let _ = rt::handles().close(pipe_end(handle));
    }

    fn fork(&mut self, files: &[(u32, u32)]) -> Result<i32, i64> {
        match self.frame {
            Some(frame) => fork(frame, files),
            None => Err(EINVAL),
        }
    }

    fn kill_child(&mut self, pid: i32, code: i32) -> Result<(), i64> {
        let children = CHILDREN.lock();
        let Some(c) = children.iter().find(|c| c.pid == pid) else {
            return Err(ESRCH);
        };
        match rt::tasks().kill(c.task, code) {
            Ok(_) => Ok(()),
            // It has just ended by itself: its watcher reports its own status.
            Err(e) => match rt::call_status(e) {
                Status::Busy => Ok(()),
                Status::AccessDenied => Err(EPERM),
                s => Err(errno(s)),
            },
        }
    }

    fn release_child(&mut self, pid: i32) {
        let mut children = CHILDREN.lock();
        if let Some(i) = children.iter().position(|c| c.pid == pid) {
            let c = children.remove(i);
            if let Some((watcher, stack)) = c.watcher {
                let _ = rt::thread_join(watcher);
                let _ = rt::vmm().free(stack, WATCHER_STACK as u64);
            }
            let _ = rt::handles().close(c.task);
        }
    }

    fn notify(&mut self) {
        EVENTS.fetch_add(1, Ordering::SeqCst);
        let _ = rt::futex_wake(&EVENTS, u32::MAX);
    }

    fn memory_usage(&mut self) -> Option<(u64, u64)> {
        rt::memory_usage().ok()
    }

    fn vfs(&mut self, request: sys::file::VfsRequest<'_>) -> Result<sys::file::VfsReply, i64> {
        vfs::request(request)
    }
    fn dcm_connect(&mut self, name: &str, endpoint: &str) -> Result<u32, i64> {
        services::dcm_connect(name, endpoint)
    }

    fn channel_call(
        &mut self,
        handle: u32,
        request: &[u8],
        answer: &mut [u8],
    ) -> Result<usize, i64> {
        services::channel_call(handle, request, answer)
    }

    fn net(&mut self, request: sys::socket::NetRequest<'_>) -> Result<sys::socket::NetReply, i64> {
        net::request(request)
    }
    fn process_count(&mut self) -> Option<u64> {
        rt::tasks().count().ok().map(|c| u64::from(c.live))
    }

    fn signal_process(&mut self, pid: i32, sig: u64) -> Result<(), i64> {
        let child = CHILDREN
            .lock()
            .iter()
            .find(|c| c.pid == pid)
            .map(|c| c.task);
        let (task, is_child) = match child {
            Some(task) => (task, true),
            None => match parent() {
                (Some(task), ppid) if ppid == pid => (task, false),
                _ => return Err(ESRCH),
            },
        };
        if sig == 0 {
            return Ok(());
        }
        match rt::tasks().signal(task, sig as u32) {
            Ok(_) => Ok(()),
            Err(e) => match remote_status(e, |e| e.status) {
                // A child that has ended is a zombie until waited for: nothing happens.
                Status::Busy if is_child => Ok(()),
                Status::Busy => Err(ESRCH),
                Status::AccessDenied => Err(EPERM),
                s => Err(errno(s)),
            },
        }
    }

    fn parent_pid(&mut self) -> i32 {
        parent().1
    }
}

/// The parent's signal handle and pid (`task.Parent`, asked for once).
fn parent() -> (Option<RtHandle>, i32) {
    let mut guard = PARENT.lock();
    if let Some(p) = *guard {
        return p;
    }
    let found = match rt::tasks().parent() {
        Ok(r) => match rt::handles().sid(r.parent) {
            Ok(s) => (Some(r.parent), i32::try_from(s.sid).unwrap_or(i32::MAX / 2)),
            Err(_) => {
                let _ = rt::handles().close(r.parent);
                (None, 0)
            }
        },
        Err(_) => (None, 0),
    };
    *guard = Some(found);
    found
}

/// The signals other processes sent (kernel notifications, `task.Pending`) into the state:
/// each with its sender (`task.Sender`). A `SIGCHLD` from a child that has ended is given
/// the child's status when its watcher has recorded it (a few yields: the watcher wakes
/// when the kernel posts the signal).
fn take_posted(bits: Option<u64>) {
    let bits = match bits {
        Some(b) => b,
        None => match rt::tasks().pending() {
            Ok(r) => r.bits,
            Err(_) => return,
        },
    };
    for sig in (1..=64u32).filter(|&s| bits & (1 << (s - 1)) != 0) {
        let from = rt::tasks()
            .sender(sig)
            .map(|r| i32::try_from(r.sid).unwrap_or(0))
            .unwrap_or(0);
        if sig == SIGCHLD {
            let child = CHILDREN.lock().iter().any(|c| c.pid == from);
            for _ in 0..16 {
                let known = !child || with_state(|s| s.child_status(from).is_some());
                if known {
                    break;
                }
                rt::yield_now();
            }
        }
        with_state(|state| state.signal_arrived(&mut Native { frame: None }, u64::from(sig), from));
    }
}

/// Tells the kernel which signals the calling thread (the one whose stack pointer is `sp`)
/// takes now, if that changed: every signal it does not block (`State::accept_change`).
fn tell_accepted(sp: u64) {
    let changed = lock().as_mut().and_then(|s| s.accept_change(sp));
    if let Some(mask) = changed {
        let _ = rt::tasks().accept_notify(mask);
    }
}

/// A pipe end as a request names it (a handle of this process's, nothing moved).
fn pipe_end(handle: u32) -> RtHandle {
    RtHandle {
        handle,
        rights_and_mode: 0,
    }
}

/// The errno of a failed `pipe.Read`/`Write`/`Poll`.
fn pipe_errno(s: Status) -> i64 {
    match s {
        Status::WouldBlock => EAGAIN,
        Status::Disconnected => EPIPE,
        Status::BadHandle => EBADF,
        Status::AccessDenied => EACCES,
        other => errno(other),
    }
}

/// `execve` of a `vfork` child: a new process of the personality running `path`, as this
/// process's class (an empty class in `task.Create`), started (`task.Start`: the `execute`
/// event the policy judges), and a watcher thread that waits for its end.
fn exec(path: &[u8], args: &[u8], env: &[u8], give: &[(u32, u32)]) -> Result<i32, i64> {
    let path = core::str::from_utf8(path).map_err(|_| ENOENT)?;
    // The file must be there, as for Linux `execve` (the new personality would only find out
    // after the start).
    match rt::romfs_read(path) {
        Ok((region, _)) => {
            let _ = rt::handles().close(region);
        }
        // Outside the ROMFS: a file of the VFS the new program can be read from, as it
        // will be (vfs::read_program), with the same checks.
        Err(Status::NotFound) if path.starts_with('/') && vfs::channel().is_some() => {
            vfs::check_program(path.as_bytes())?
        }
        Err(s) => return Err(errno(s)),
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut guard = CHILD_PRIORITY.lock();
    let mut prio = guard.unwrap_or(priority::MAX);
    let task = loop {
        match rt::tasks().create(
            name.into(),
            "".into(),
            "linux".into(),
            args.to_vec(),
            env.to_vec(),
            prio,
        ) {
            Ok(r) => {
                *guard = Some(prio);
                break r.task;
            }
            Err(e) => match rt::call_status(e) {
                Status::AboveCeiling if prio > 0 => prio -= 1,
                Status::AboveCeiling => return Err(EAGAIN),
                Status::NoMemory => return Err(ENOMEM),
                s => return Err(errno(s)),
            },
        }
    };
    drop(guard);
    let forget = |task: RtHandle| {
        let _ = rt::handles().close(task);
    };
    let pid = match rt::handles().sid(task) {
        Ok(r) => i32::try_from(r.sid).unwrap_or(i32::MAX / 2),
        Err(e) => {
            forget(task);
            return Err(errno(rt::call_status(e)));
        }
    };
    // Its inherited descriptors, before it runs (task.Give needs a process not started):
    // open files are granted by the VFS server, pipe ends given by the kernel.
    let is_file = |&&(label, _): &&(u32, u32)| label & sys::proc::GIVE_FILE != 0;
    let files: Vec<(u32, u32)> = give.iter().filter(is_file).copied().collect();
    let give: Vec<(u32, u32)> = give.iter().filter(|g| !is_file(g)).copied().collect();
    if let Err(e) = grant_files(&files, pid) {
        let _ = rt::tasks().kill(task, -1);
        forget(task);
        return Err(e);
    }
    for &(label, handle) in &give {
        if let Err(e) = rt::tasks().give(task, pipe_end(handle), label) {
            withdraw_files(&files, pid);
            let _ = rt::tasks().kill(task, -1);
            forget(task);
            return Err(match rt::call_status(e) {
                Status::NoMemory => EMFILE,
                s => errno(s),
            });
        }
    }
    // This process's `vfs` channel, so that the new program reaches the same files (a
    // duplicate: init.yaml's client handles carry the duplicate right), with the flag that
    // says it inherits open files too.
    if let Some(vfs) = vfs::channel() {
        let label = match files.is_empty() {
            true => sys::proc::GIVE_VFS,
            false => sys::proc::GIVE_VFS | sys::proc::GIVE_VFS_FILES,
        };
        if let Err(e) = rt::tasks().give(task, pipe_end(vfs), label) {
            withdraw_files(&files, pid);
            let _ = rt::tasks().kill(task, -1);
            forget(task);
            return Err(match rt::call_status(e) {
                Status::NoMemory => EMFILE,
                s => errno(s),
            });
        }
    }
    // Its end posts SIGCHLD here (the Linux personality's signal for it).
    let _ = rt::tasks().notify_exit(task, SIGCHLD);
    if let Err(e) = rt::tasks().start(task) {
        withdraw_files(&files, pid);
        forget(task);
        return Err(match rt::call_status(e) {
            Status::AccessDenied => EACCES,
            s => errno(s),
        });
    }
    adopt(pid, task)
}

/// Grants each open file of `files` ((label with the tag, server file), as [`exec`] and
/// [`fork`] get them) to the process `pid` (its SID) before it starts; all or none.
fn grant_files(files: &[(u32, u32)], pid: i32) -> Result<(), i64> {
    for (i, &(label, file)) in files.iter().enumerate() {
        let request = VfsRequest::Grant {
            file,
            sid: pid as u64,
            tag: label & !sys::proc::GIVE_FILE,
        };
        if let Err(e) = vfs::request(request) {
            withdraw_files(&files[..i], pid);
            return Err(e);
        }
    }
    Ok(())
}

/// Takes back the grants to `pid` of a process that does not start.
fn withdraw_files(files: &[(u32, u32)], pid: i32) {
    if !files.is_empty() {
        let _ = vfs::request(VfsRequest::Withdraw { sid: pid as u64 });
    }
}

/// A started child process `pid` (`task`) joins the children, with a watcher thread that
/// waits for its end; without a watcher it is ended again (`EAGAIN`).
fn adopt(pid: i32, task: RtHandle) -> Result<i32, i64> {
    let forget = |task: RtHandle| {
        let _ = rt::handles().close(task);
    };
    let mut children = CHILDREN.lock();
    children.push(ChildTask {
        pid,
        task,
        watcher: None,
    });
    // The watcher: waits for the child's end and reports it.
    let stack = rt::vmm().allocate(WATCHER_STACK as u64, 1).map(|r| r.addr);
    let watcher = stack.ok().and_then(|stack| {
        let top = (stack as usize + WATCHER_STACK) & !15;
        let arg = Box::into_raw(Box::new((pid, task))) as usize;
        match create_thread(watch_child, top, arg) {
            Ok(t) => Some((t, stack)),
            Err(_) => {
                // SAFETY: the thread was not created, so `arg` is still the box made above.
                drop(unsafe { Box::from_raw(arg as *mut (i32, RtHandle)) });
                let _ = rt::vmm().free(stack, WATCHER_STACK as u64);
                None
            }
        }
    });
    match watcher {
        Some(w) => {
            if let Some(c) = children.last_mut() {
                c.watcher = Some(w);
            }
            Ok(pid)
        }
        None => {
            // Without a watcher its end could never be reported: it must not run on.
            let _ = rt::tasks().kill(task, -1);
            children.pop();
            forget(task);
            Err(EAGAIN)
        }
    }
}

/// `fork`: a copy of this process (`task.Fork`) whose thread starts in [`fork_child`] and
/// resumes the calling frame with result 0, started (`task.Start`: the judged `execute`
/// event); its pid. Called with the state lock held, so the copy's state is whole.
fn fork(frame: &TrapFrame, files: &[(u32, u32)]) -> Result<i32, i64> {
    // The child's native code runs on the stack below this function's frame: in the copy,
    // nothing there is in use.
    let here = 0u8;
    let top = (core::ptr::addr_of!(here) as usize).saturating_sub(1024) & !15;
    let arg = frame as *const TrapFrame as usize;
    let (task, sid) = rt::fork(fork_child, top, arg).map_err(|s| match s {
        Status::NoMemory => ENOMEM,
        Status::NotSupported => ENOSYS,
        s => errno(s),
    })?;
    let pid = i32::try_from(sid).unwrap_or(i32::MAX / 2);
    // Its open files, shared with it (one position) before it runs.
    let files: Vec<(u32, u32)> = files
        .iter()
        .map(|&(file, tag)| (sys::proc::GIVE_FILE | tag, file))
        .collect();
    if let Err(e) = grant_files(&files, pid) {
        let _ = rt::tasks().kill(task, -1);
        let _ = rt::handles().close(task);
        return Err(e);
    }
    // Its end posts SIGCHLD here, as a spawned child's does.
    let _ = rt::tasks().notify_exit(task, SIGCHLD);
    if let Err(e) = rt::tasks().start(task) {
        withdraw_files(&files, pid);
        let _ = rt::handles().close(task);
        // Linux documents no permission error for fork: a copy the policy does not let
        // start is refused like one over a process limit.
        return Err(match rt::call_status(e) {
            Status::AccessDenied => EAGAIN,
            s => errno(s),
        });
    }
    adopt(pid, task)
}

/// The thread of a process made by [`fork`]: `arg` is the parent's frame (in this copy).
extern "C" fn fork_child(arg: usize) -> ! {
    // SAFETY: this is the only thread of the new process and nothing ran before it: the
    // locks the forking thread (or another thread of the parent) held are nobody's here.
    unsafe {
        rt::forked();
        STATE.force_unlock();
        VFORK_PARENT.force_unlock();
        CHILDREN.force_unlock();
        THREAD_PRIORITY.force_unlock();
        CHILD_PRIORITY.force_unlock();
        PARENT.force_unlock();
    }
    // SAFETY: `arg` is the address of the forking thread's frame, which the kernel copied
    // with the rest of the parent's memory; nothing else uses it in this process.
    let mut frame = unsafe { *(arg as *const TrapFrame) };
    // The parent's children are not this process's: their handles (the kernel copied them)
    // and their watchers' stacks go.
    let theirs = core::mem::take(&mut *CHILDREN.lock());
    for c in theirs {
        let _ = rt::handles().close(c.task);
        if let Some((_, stack)) = c.watcher {
            let _ = rt::vmm().free(stack, WATCHER_STACK as u64);
        }
    }
    *VFORK_PARENT.lock() = None;
    VFORK_CHILD_SP.store(0, Ordering::SeqCst);
    // The parent's own parent is not this one's: `task.Parent` is asked again when needed.
    if let Some((Some(h), _)) = PARENT.lock().take() {
        let _ = rt::handles().close(h);
    }
    let pid = rt::task_info()
        .map(|(sid, _)| i32::try_from(sid).unwrap_or(i32::MAX / 2))
        .unwrap_or(1);
    let sp = with_state(|state| state.forked_child(&mut Native { frame: None }, pid));
    frame.set_result(0);
    if sp != 0 {
        frame.set_sp(sp);
    }
    resume(&frame)
}

/// A child's watcher thread: `task.Wait`, then the status into the state.
extern "C" fn watch_child(arg: usize) -> ! {
    // SAFETY: `arg` is the box `exec` made for this thread and handed over to it alone.
    let (pid, task) = *unsafe { Box::from_raw(arg as *mut (i32, RtHandle)) };
    let code = match rt::tasks().wait(task) {
        Ok(r) => r.code,
        Err(_) => -1,
    };
    {
        let mut state = lock();
        if let Some(state) = state.as_mut() {
            state.child_ended(pid, code);
        }
        Native { frame: None }.notify();
    }
    rt::thread_exit(0)
}

/// A native thread of this process at the threads' priority (the process's ceiling).
fn create_thread(
    entry: extern "C" fn(usize) -> !,
    top: usize,
    arg: usize,
) -> Result<usize, Status> {
    let mut guard = THREAD_PRIORITY.lock();
    let mut prio = guard.unwrap_or(priority::MAX);
    loop {
        match rt::thread_create(entry, top, arg, prio) {
            Ok(native) => {
                *guard = Some(prio);
                return Ok(native);
            }
            Err(Status::AboveCeiling) if prio > 0 => prio -= 1,
            Err(s) => return Err(s),
        }
    }
}

/// A thread made by `clone`: resumes the frame it was given.
extern "C" fn thread_start(arg: usize) -> ! {
    // SAFETY: `arg` is the box `spawn` made for this thread and handed over to it alone.
    let frame = *unsafe { Box::from_raw(arg as *mut TrapFrame) };
    tell_accepted(frame.sp());
    let status = rt::resume(&frame);
    println!("linux: cannot start a thread: {}", status.name());
    rt::exit(127)
}

// The return trampoline of signal handlers without `sa_restorer` (AArch64 has none in
// musl: Linux provides this code in its vDSO): `rt_sigreturn`. It is the personality's own
// code, which the program's threads can execute (the process's image).
#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".text",
    ".global linux_sigreturn_trampoline",
    "linux_sigreturn_trampoline:",
    "mov eax, 15",
    "syscall",
    "ud2",
);
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".text",
    ".global linux_sigreturn_trampoline",
    "linux_sigreturn_trampoline:",
    "mov x8, #139",
    "svc #0",
    "udf #0",
);

unsafe extern "C" {
    fn linux_sigreturn_trampoline();
}

/// Stack the personality may still use below its trap frame while it delivers a signal: a
/// signal frame on that stack goes below it.
const PERSONALITY_STACK: u64 = 16 * 1024;

/// 16-byte aligned room for an `fxsave` image.
#[cfg(target_arch = "x86_64")]
#[repr(C, align(16))]
struct FxArea([u8; 512]);

/// Saves the thread's FP/SIMD registers, still the program's: the personality is built
/// soft-float and never touches them.
#[cfg(target_arch = "x86_64")]
fn save_fp(out: &mut FpState) {
    let mut area = FxArea([0; 512]);
    // SAFETY: `fxsave64` writes 512 bytes to the 16-byte aligned area and nothing else.
    unsafe {
        core::arch::asm!("fxsave64 [{}]", in(reg) area.0.as_mut_ptr(), options(nostack));
    }
    out[..512].copy_from_slice(&area.0);
}

/// Loads FP/SIMD registers from a signal frame (the program's bytes): MXCSR is masked with
/// the CPU's MXCSR_MASK first, so that no value makes `fxrstor64` fault.
#[cfg(target_arch = "x86_64")]
fn load_fp(fp: &FpState) {
    let mut current = FxArea([0; 512]);
    // SAFETY: as in `save_fp`.
    unsafe {
        core::arch::asm!("fxsave64 [{}]", in(reg) current.0.as_mut_ptr(), options(nostack));
    }
    let mask =
        match u32::from_le_bytes([current.0[28], current.0[29], current.0[30], current.0[31]]) {
            0 => 0xffbf,
            m => m,
        };
    let mut area = FxArea([0; 512]);
    area.0.copy_from_slice(&fp[..512]);
    let mxcsr = u32::from_le_bytes([area.0[24], area.0[25], area.0[26], area.0[27]]) & mask;
    area.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
    // SAFETY: the image is 16-byte aligned and its MXCSR has only bits the CPU supports, the
    // one field `fxrstor64` checks; it loads only x87/SSE state, which is the program's.
    unsafe {
        core::arch::asm!("fxrstor64 [{}]", in(reg) area.0.as_ptr(), options(nostack));
    }
}

/// Saves the thread's FP/SIMD registers (`fpsr`, `fpcr`, `v0..v31`), still the program's:
/// the personality is built soft-float and never touches them.
#[cfg(target_arch = "aarch64")]
fn save_fp(out: &mut FpState) {
    let (fpsr, fpcr): (u64, u64);
    let v = out[8..].as_mut_ptr();
    // SAFETY: stores the 32 vector registers to the 512 bytes after the first 8 of `out`
    // and reads the two status registers; nothing else is changed.
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "stp q0, q1, [{v}, #0]",
            "stp q2, q3, [{v}, #32]",
            "stp q4, q5, [{v}, #64]",
            "stp q6, q7, [{v}, #96]",
            "stp q8, q9, [{v}, #128]",
            "stp q10, q11, [{v}, #160]",
            "stp q12, q13, [{v}, #192]",
            "stp q14, q15, [{v}, #224]",
            "stp q16, q17, [{v}, #256]",
            "stp q18, q19, [{v}, #288]",
            "stp q20, q21, [{v}, #320]",
            "stp q22, q23, [{v}, #352]",
            "stp q24, q25, [{v}, #384]",
            "stp q26, q27, [{v}, #416]",
            "stp q28, q29, [{v}, #448]",
            "stp q30, q31, [{v}, #480]",
            "mrs {sr}, fpsr",
            "mrs {cr}, fpcr",
            v = in(reg) v,
            sr = out(reg) fpsr,
            cr = out(reg) fpcr,
            options(nostack),
        );
    }
    out[0..4].copy_from_slice(&(fpsr as u32).to_le_bytes());
    out[4..8].copy_from_slice(&(fpcr as u32).to_le_bytes());
}

/// Loads FP/SIMD registers from a signal frame (the program's bytes; any value is a valid
/// register value, reserved FPCR bits are ignored on write).
#[cfg(target_arch = "aarch64")]
fn load_fp(fp: &FpState) {
    let fpsr = u64::from(u32::from_le_bytes([fp[0], fp[1], fp[2], fp[3]]));
    let fpcr = u64::from(u32::from_le_bytes([fp[4], fp[5], fp[6], fp[7]]));
    let v = fp[8..].as_ptr();
    // SAFETY: loads the 32 vector registers from the 512 bytes after the first 8 of `fp`
    // and the two status registers; the personality (soft-float) uses none of them.
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "ldp q0, q1, [{v}, #0]",
            "ldp q2, q3, [{v}, #32]",
            "ldp q4, q5, [{v}, #64]",
            "ldp q6, q7, [{v}, #96]",
            "ldp q8, q9, [{v}, #128]",
            "ldp q10, q11, [{v}, #160]",
            "ldp q12, q13, [{v}, #192]",
            "ldp q14, q15, [{v}, #224]",
            "ldp q16, q17, [{v}, #256]",
            "ldp q18, q19, [{v}, #288]",
            "ldp q20, q21, [{v}, #320]",
            "ldp q22, q23, [{v}, #352]",
            "ldp q24, q25, [{v}, #384]",
            "ldp q26, q27, [{v}, #416]",
            "ldp q28, q29, [{v}, #448]",
            "ldp q30, q31, [{v}, #480]",
            "msr fpsr, {sr}",
            "msr fpcr, {cr}",
            v = in(reg) v,
            sr = in(reg) fpsr,
            cr = in(reg) fpcr,
            options(nostack),
        );
    }
}

/// The delivery environment of a thread whose trap frame is at `frame`.
fn signal_env(frame: &TrapFrame) -> SignalEnv {
    let at = frame as *const TrapFrame as u64;
    SignalEnv {
        trampoline: linux_sigreturn_trampoline as *const () as u64,
        floor: at.saturating_sub(PERSONALITY_STACK),
        save_fp: Some(save_fp),
    }
}

/// Ends the thread or the process as an outcome says; resumes nothing.
fn finish(outcome: Outcome) -> ! {
    match outcome {
        Outcome::ExitThread(status) => rt::thread_exit(status as isize),
        Outcome::ExitProcess(status) => {
            // A last line of standard error without its newline goes to the log server.
            with_state(|state| state.flush_stderr(&mut Native { frame: None }));
            // Its files are closed at the server first (the kernel does not tell the
            // server; docs/files.md, "When a client ends").
            with_state(|state| state.close_all_files(&mut Native { frame: None }));
            // And its sockets (the network server does not learn of a client's end either).
            with_state(|state| state.close_all_sockets(&mut Native { frame: None }));
            rt::exit((status & 0xff) as isize)
        }
        _ => rt::exit(127),
    }
}

/// Before a thread continues: delivers its pending signals (`Some`: the process or thread
/// ends instead), and names its fault stack to the kernel if it was just made (kernel
/// contract item 6; the kernel keeps it for the thread).
fn prepare(state: &mut State, frame: &mut TrapFrame, env: SignalEnv) -> Option<Outcome> {
    let k = &mut Native { frame: None };
    let sp = frame.sp();
    if let Some(end) = state.deliver(k, frame, env) {
        return Some(end);
    }
    // The kernel learns which signals the thread takes now (its mask may have changed).
    if let Some(mask) = state.accept_change(sp) {
        let _ = rt::tasks().accept_notify(mask);
    }
    if let Some(top) = state.new_fault_stack(k, sp) {
        frame.kind = SET_FAULT_STACK;
        frame.info = top;
    }
    None
}

/// Resumes `frame`; never returns.
fn resume(frame: &TrapFrame) -> ! {
    let status = rt::resume(frame);
    println!(
        "linux: the kernel refused to resume a thread: {}",
        status.name()
    );
    rt::exit(127)
}

/// Runs `f` on the state under the lock.
fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut state = lock();
    let Some(state) = state.as_mut() else {
        rt::exit(127)
    };
    f(state)
}

/// Where the kernel sends every Linux system call of the program, and its faults: served
/// on the calling thread's stack, below the frame, except a `vfork` child's (see
/// [`VFORK_CHILD_SP`]).
extern "C" fn trap_entry(frame: *mut TrapFrame) -> ! {
    let at = frame as u64;
    let child_sp = VFORK_CHILD_SP.load(Ordering::SeqCst);
    let top = VFORK_STACK.load(Ordering::SeqCst);
    if child_sp != 0 && top != 0 && at < child_sp && child_sp - at <= VFORK_WINDOW {
        frame::run_on_stack(top, at as usize, serve)
    }
    serve(at as usize)
}

/// Serves the trap whose frame is at `frame`.
extern "C" fn serve(frame: usize) -> ! {
    // SAFETY: the kernel wrote a whole frame at this address on the calling thread's stack,
    // just above the stack pointer the trap entry started with; only this thread uses it.
    let frame = unsafe { &mut *(frame as *mut TrapFrame) };
    if frame.kind == NOTIFY {
        // Signals from other processes, taken by the kernel for this delivery: into the
        // state, then delivered as after a call (the frame is where the thread was).
        take_posted(Some(frame.info));
        let env = signal_env(frame);
        if let Some(outcome) = with_state(|state| prepare(state, frame, env)) {
            finish(outcome)
        }
        resume(frame)
    }
    if fault_type(frame.kind) != SYSCALL {
        // A fault: the signal's handler runs, or the process ends.
        let (kind, addr, pc) = (frame.kind, frame.info, frame.pc());
        let env = signal_env(frame);
        let ended = with_state(|state| {
            state
                .fault(&mut Native { frame: None }, frame, kind, addr, pc, env)
                .or_else(|| prepare(state, frame, env))
        });
        if let Some(outcome) = ended {
            finish(outcome)
        }
        resume(frame)
    }
    let mut call = Call {
        nr: frame.number(),
        args: frame.args(),
        tls: frame.tls(),
        sp: frame.sp(),
    };
    let env = signal_env(frame);
    // Signals every thread blocks stay with the kernel: these calls look at them too.
    let before = with_state(|state| state.before_call(call.nr));
    if before == BeforeCall::TakePending {
        take_posted(None);
    }
    if before == BeforeCall::Sigreturn {
        let ended = with_state(|state| {
            let k = &mut Native { frame: None };
            match state.sigreturn(k, frame) {
                Ok(fp) => {
                    if let Some(fp) = fp {
                        load_fp(&fp);
                    }
                    prepare(state, frame, env)
                }
                Err(outcome) => Some(outcome),
            }
        });
        if let Some(outcome) = ended {
            finish(outcome)
        }
        resume(frame)
    }
    // Signals sent by the call, or unblocked by it, are delivered before the program
    // continues (the handler's frame holds the call's result): under the same lock as the
    // call when it does not wait.
    loop {
        let (outcome, events) = with_state(|state| {
            // Changes are made and `EVENTS` bumped under the lock, so none made after the
            // call looked is missed by a wait below.
            let events = EVENTS.load(Ordering::SeqCst);
            let mut k = Native { frame: Some(frame) };
            let outcome = state.dispatch(&mut k, &mut call);
            if let Outcome::Return(v) = outcome {
                frame.set_result(v);
                frame.set_tls(call.tls);
                return (prepare(state, frame, env).unwrap_or(outcome), events);
            }
            (outcome, events)
        });
        match outcome {
            Outcome::Return(_) => {}
            Outcome::Block(mut b) => {
                let write = matches!(b, sys::Blocking::PipeWrite { .. });
                let mut result;
                let mut restarted = false;
                loop {
                    // Only a sleep needs its start (for the time left if a signal ends it).
                    let start = match b {
                        sys::Blocking::Sleep { .. } => Native { frame: None }.now_ns(),
                        _ => 0,
                    };
                    result = sys::block(&mut Native { frame: None }, b.clone());
                    if result != -EINTR {
                        break;
                    }
                    // A signal from another process ended the wait.
                    take_posted(None);
                    let elapsed = Native { frame: None }.now_ns().saturating_sub(start);
                    let me = with_state(|s| s.current(call.sp));
                    match with_state(|s| s.interruption(me, call.nr)) {
                        Interruption::Retry => {
                            if let sys::Blocking::Sleep { ns } = &mut b {
                                *ns = ns.saturating_sub(elapsed);
                            }
                        }
                        Interruption::Eintr => {
                            if let sys::Blocking::Sleep { ns } = &b {
                                let left = ns.saturating_sub(elapsed);
                                with_state(|s| {
                                    s.sleep_interrupted(&mut Native { frame: None }, &call, left)
                                });
                            }
                            break;
                        }
                        Interruption::Restart => {
                            frame.restart();
                            restarted = true;
                            break;
                        }
                    }
                }
                if !restarted {
                    frame.set_result(result);
                }
                frame.set_tls(call.tls);
                let ended = with_state(|state| {
                    if write && result == -EPIPE {
                        state.broken_pipe(call.sp);
                    }
                    prepare(state, frame, env)
                });
                if let Some(outcome) = ended {
                    finish(outcome)
                }
            }
            Outcome::WaitEvent | Outcome::WaitEventUntil(_) => {
                // `rt_sigsuspend` and `rt_sigtimedwait` wait with other signals taken.
                tell_accepted(call.sp);
                let timeout = match outcome {
                    Outcome::WaitEventUntil(at) => {
                        at.saturating_sub(Native { frame: None }.now_ns()).max(1)
                    }
                    _ => rt::FUTEX_FOREVER,
                };
                if rt::futex_wait(&EVENTS, events, timeout) != Err(Status::Interrupted) {
                    continue;
                }
                // A signal from another process ended the wait.
                take_posted(None);
                let me = with_state(|s| s.current(call.sp));
                match with_state(|s| s.interruption(me, call.nr)) {
                    Interruption::Retry => continue,
                    Interruption::Eintr => frame.set_result(-EINTR),
                    Interruption::Restart => frame.restart(),
                }
                frame.set_tls(call.tls);
                if let Some(outcome) = with_state(|state| prepare(state, frame, env)) {
                    finish(outcome)
                }
            }
            Outcome::WaitInput { timeout_ns } => {
                let result = match (Native { frame: None }).console_wait(timeout_ns) {
                    // Input arrived: the call again (it may find it taken by another
                    // reader, and wait again).
                    Ok(true) => continue,
                    Ok(false) => 0,
                    Err(e) => -e,
                };
                frame.set_result(result);
                frame.set_tls(call.tls);
                if let Some(outcome) = with_state(|state| prepare(state, frame, env)) {
                    finish(outcome)
                }
            }
            Outcome::Replaced => loop {
                // The program is gone (a new process runs it): this one only waits for that
                // one's end and ends with its status. Its sockets are not passed on (the
                // server numbers them per process): they close now.
                if let Some(state) = lock().as_mut() {
                    state.close_all_sockets(&mut Native { frame: None });
                }
                let (ended, events) = {
                    let state = lock();
                    let ended = state.as_ref().and_then(|s| s.replacement_ended());
                    (ended, EVENTS.load(Ordering::SeqCst))
                };
                match ended {
                    Some(status) => rt::exit(status as isize),
                    None => {
                        let _ = rt::futex_wait(&EVENTS, events, rt::FUTEX_FOREVER);
                    }
                }
            },
            Outcome::Vfork { sp } => {
                *VFORK_PARENT.lock() = Some(*frame);
                if sp != 0 {
                    frame.set_sp(sp);
                }
                if VFORK_STACK.load(Ordering::SeqCst) == 0 {
                    // Without it (out of memory) the child's calls run on its own stack.
                    if let Ok(r) = rt::vmm().allocate(VFORK_STACK_SIZE, 1) {
                        VFORK_STACK.store((r.addr + VFORK_STACK_SIZE) & !15, Ordering::SeqCst);
                    }
                }
                VFORK_CHILD_SP.store(frame.sp(), Ordering::SeqCst);
                frame.set_result(0);
                frame.set_tls(call.tls);
                tell_accepted(frame.sp());
            }
            Outcome::VforkEnd(pid) => {
                let parent = VFORK_PARENT.lock().take();
                if parent.is_some() {
                    VFORK_CHILD_SP.store(0, Ordering::SeqCst);
                }
                let Some(mut parent) = parent else {
                    // Only a thread the personality mistook for the vfork child (one running
                    // on another thread's stack) gets here: it gets an error.
                    frame.set_result(-EINVAL);
                    frame.set_tls(call.tls);
                    break;
                };
                parent.set_result(pid);
                tell_accepted(parent.sp());
                resume(&parent)
            }
            other => finish(other),
        }
        break;
    }
    resume(frame)
}

/// 16 bytes for `AT_RANDOM` (the C library's stack-protector canary and pointer guard),
/// from the kernel's generator.
fn at_random() -> Result<[u8; 16], Status> {
    let mut out = [0u8; 16];
    rt::random_bytes(&mut out)?;
    Ok(out)
}

fn main() -> i32 {
    let args = match rt::tasks().args() {
        Ok(a) => a,
        Err(e) => {
            let why = remote_status(e, |e| e.status).name();
            println!("linux: cannot read my arguments: {why}");
            return CANNOT_EXECUTE;
        }
    };
    let argv = nul_separated(&args.args);
    let envp: Vec<&[u8]> = nul_separated(&args.env)
        .into_iter()
        .filter(|e| !e.is_empty())
        .collect();
    let Some(sys::proc::ExecArgs { cwd, path, argv }) = sys::proc::exec_args(&argv) else {
        println!("linux: usage: linux PATH [ARG...] (PATH: the Linux executable, in the ROMFS or a VFS file)");
        return CANNOT_EXECUTE;
    };
    let shown = core::str::from_utf8(path).unwrap_or("(path not UTF-8)");
    match start(path, cwd, &argv, &envp) {
        Ok(never) => match never {},
        Err(why) => {
            println!("linux: cannot run {shown}: {why}");
            CANNOT_EXECUTE
        }
    }
}

/// NUL-separated strings (a final NUL ends the last one; empty arguments are kept).
fn nul_separated(bytes: &[u8]) -> Vec<&[u8]> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes.split(|&b| b == 0).collect()
}

enum Never {}

/// Why the program could not be started.
enum StartError {
    Kernel(&'static str, Status),
    Load(load::Error),
    /// Reading the program from the VFS failed with this errno.
    Vfs(i64),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Kernel(what, s) => write!(f, "{what}: {}", s.name()),
            StartError::Load(e) => write!(f, "{e}"),
            StartError::Vfs(errno) => write!(f, "reading it from the VFS: errno {errno}"),
        }
    }
}

/// The handles this process's creator handed on (`task.Give`), as (label, handle) pairs of
/// descriptors, and whether open files were granted to it too. The creator's `vfs` channel is
/// no descriptor: it becomes this process's (`vfs::adopt`).
fn given_handles() -> (Vec<(u32, u32)>, bool) {
    let Ok(given) = rt::tasks().given() else {
        return (Vec::new(), false);
    };
    let mut pairs: Vec<(u32, u32)> = given
        .given
        .chunks_exact(8)
        .map(|c| {
            let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (word(&c[..4]), word(&c[4..]))
        })
        .collect();
    let mut files = false;
    pairs.retain(|&(label, handle)| {
        let vfs = label & !sys::proc::GIVE_VFS_FILES == sys::proc::GIVE_VFS;
        if vfs {
            vfs::adopt(handle);
            files = label & sys::proc::GIVE_VFS_FILES != 0;
        }
        !vfs
    });
    (pairs, files)
}

fn start(path: &[u8], cwd: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> Result<Never, StartError> {
    let kernel = |what| move |s| StartError::Kernel(what, s);
    // The handles its creator handed on (task.Give), first: the `vfs` channel among them is
    // where a program outside the ROMFS is read from.
    let (given, files) = given_handles();
    let path_text = core::str::from_utf8(path)
        .map_err(|_| StartError::Kernel("romfs.Read", Status::InvalidArgument))?;
    let (file_at, file_size) = match rt::romfs_read(path_text) {
        Ok((region, _)) => {
            let mapped = rt::vmm()
                .map(region, 0)
                .map_err(|e| StartError::Kernel("vmm.Map", rt::call_status(e)))?;
            (mapped.addr, mapped.size as usize)
        }
        // Not in the ROMFS: a file of the VFS (the process's own `vfs` channel or its
        // creator's), read whole into memory of its own.
        Err(Status::NotFound) if path.starts_with(b"/") && vfs::channel().is_some() => {
            let (addr, size) = vfs::read_program(path).map_err(StartError::Vfs)?;
            (addr as u64, size)
        }
        Err(s) => return Err(kernel("romfs.Read")(s)),
    };
    // SAFETY: `file_size` readable bytes are mapped at `file_at` for this process (the
    // ROMFS file, or the copy of the VFS file); the mapping stays until the program unmaps
    // it, which it cannot (the range is reserved in the program's bookkeeping), and the bytes
    // are only read.
    let file = unsafe { core::slice::from_raw_parts(file_at as *const u8, file_size) };
    let pid = rt::task_info()
        .map(|(sid, _)| i32::try_from(sid).unwrap_or(i32::MAX / 2))
        .unwrap_or(1);
    let started = load::start(
        &mut Native { frame: None },
        &Program {
            arch: Arch::NATIVE,
            file,
            file_at,
            argv,
            envp,
            path,
            random: at_random().map_err(kernel("entropy.Read"))?,
            pid,
            user_min: USER_MIN as u64,
        },
    )
    .map_err(StartError::Load)?;
    let mut state = started.state;
    state.inherit_cwd(cwd);
    // The descriptors its creator handed on, and the open files granted to it.
    state.inherit(&given);
    if files {
        if let Ok(VfsReply::Data(records)) = vfs::request(VfsRequest::Inherited) {
            state.inherit_files(&records);
        }
    }
    *lock() = Some(state);
    rt::set_trap_entry(trap_entry as *const () as usize).map_err(kernel("task.TrapEntry"))?;
    let frame = TrapFrame::start(started.pc, started.sp);
    tell_accepted(frame.sp());
    Err(StartError::Kernel("resume", rt::resume(&frame)))
}
