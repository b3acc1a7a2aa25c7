//! The three system calls and the core services built on them. Each returns `Ok(value)` or
//! the kernel's [`Status`].

use ostrog_abi::message::{Header, HEADER_SIZE};
use ostrog_abi::{handle, syscall as nr, Status, TIMEOUT_FOREVER};

use crate::idl::spec_rt as rt;
use crate::idl::{
    kl_core_audit, kl_core_channel, kl_core_console, kl_core_core, kl_core_entropy, kl_core_futex,
    kl_core_handle, kl_core_io, kl_core_pipe, kl_core_romfs, kl_core_task, kl_core_thread,
    kl_core_time, kl_core_vmm,
};

/// Makes a raw system call: `number` and up to six arguments; returns the two result
/// registers. Exposed so that tests can pass anything at all to the kernel.
#[inline(always)]
pub fn raw(number: usize, args: [usize; 6]) -> (isize, usize) {
    let result: isize;
    let second: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `syscall` enters the kernel, which reads only registers and checks every
    // pointer; it clobbers rcx and r11 (return address and flags) and nothing else.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => result,
            in("rdi") args[0],
            in("rsi") args[1],
            inlateout("rdx") args[2] => second,
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: `svc #0` enters the kernel, which reads only registers and checks every
    // pointer; results come back in x0 and x1.
    unsafe {
        core::arch::asm!(
            "svc #0",
            in("x8") number,
            inlateout("x0") args[0] as isize => result,
            inlateout("x1") args[1] => second,
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x5") args[5],
            options(nostack),
        );
    }
    (result, second)
}

fn status(raw: isize) -> Result<usize, Status> {
    Status::from_result(raw)
}

/// `Call`: sends `request` through `handle` (a channel, or [`handle::CORE`]) and waits up to
/// `timeout_ms` ([`TIMEOUT_FOREVER`]) for the answer, written into `response`; its length.
pub fn call(
    handle: u32,
    request: &[u8],
    response: &mut [u8],
    timeout_ms: usize,
) -> Result<usize, Status> {
    status(
        raw(
            nr::CALL,
            [
                handle as usize,
                request.as_ptr() as usize,
                request.len(),
                response.as_mut_ptr() as usize,
                response.len(),
                timeout_ms,
            ],
        )
        .0,
    )
}

/// `Recv`: waits for a request on `handle` (a listening endpoint, or [`handle::ANY`]);
/// `(length, endpoint handle)`. A request larger than `buffer` is answered
/// [`Status::BufferTooSmall`] to its caller, and `recv` waits for the next one. A thread that
/// accepts notification bits ([`crate::dcm::accept`]) gets [`Status::Interrupted`] when one
/// is pending and no request is waiting.
pub fn recv(handle: u32, buffer: &mut [u8], timeout_ms: usize) -> Result<(usize, u32), Status> {
    let (result, second) = raw(
        nr::RECV,
        [
            handle as usize,
            buffer.as_mut_ptr() as usize,
            buffer.len(),
            timeout_ms,
            0,
            0,
        ],
    );
    status(result).map(|len| (len, second as u32))
}

/// `Reply`: answers the request this thread received last.
pub fn reply(handle: u32, response: &[u8]) -> Result<(), Status> {
    status(
        raw(
            nr::REPLY,
            [
                handle as usize,
                response.as_ptr() as usize,
                response.len(),
                0,
                0,
                0,
            ],
        )
        .0,
    )
    .map(|_| ())
}

/// A `security` event: asks the security module about `request`, a message of this
/// program's security interface. `Ok` if the policy grants it, [`Status::AccessDenied`] if
/// not; the program must act on the answer itself.
pub fn security_query(request: &[u8]) -> Result<(), Status> {
    call(handle::SECURITY, request, &mut [], TIMEOUT_FOREVER).map(|_| ())
}

/// The transport to the kernel's core endpoints (handle 0).
pub struct CoreTransport;

impl rt::Transport for CoreTransport {
    fn call(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, rt::TransportError> {
        call(handle::CORE, request, response, TIMEOUT_FOREVER)
            .map_err(|s| rt::TransportError(s as i32))
    }
}

/// A channel to a server, found by the name Einit gave it (the `id` in `init.yaml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel {
    pub handle: u32,
}

impl Channel {
    /// The channel (client side) or listening endpoint (server side) named `name`.
    pub fn lookup(name: &str) -> Result<Channel, Status> {
        handles()
            .lookup(name.into())
            .map(|r| Channel { handle: r.h.handle })
            .map_err(call_status)
    }
}

impl rt::Transport for Channel {
    fn call(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, rt::TransportError> {
        call(self.handle, request, response, TIMEOUT_FOREVER)
            .map_err(|s| rt::TransportError(s as i32))
    }
}

/// The status behind a failed core call: the kernel's error parameter, or the transport's.
pub fn call_status<E: CoreError>(e: rt::CallError<E>) -> Status {
    match e {
        rt::CallError::Remote(e) => Status::from_result(e.status() as isize)
            .err()
            .unwrap_or(Status::InvalidArgument),
        rt::CallError::Transport(t) => Status::from_result(t.0 as isize)
            .err()
            .unwrap_or(Status::InvalidArgument),
        rt::CallError::Encode(_) | rt::CallError::Decode(_) => Status::InvalidArgument,
    }
}

/// Error responses of the core endpoints carry a status.
pub trait CoreError {
    fn status(&self) -> i32;
}

macro_rules! core_errors {
    ($($t:ty),* $(,)?) => {
        $(impl CoreError for $t {
            fn status(&self) -> i32 {
                self.status
            }
        })*
    };
}

core_errors!(
    kl_core_handle::LookupError,
    kl_core_handle::DuplicateError,
    kl_core_handle::SidError,
    kl_core_task::InfoError,
    kl_core_task::CountError,
    kl_core_audit::ReadError,
    kl_core_audit::NoteError,
    kl_core_task::CreateError,
    kl_core_task::CreateFromError,
    kl_core_task::StartError,
    kl_core_task::TrapEntryError,
    kl_core_task::WaitError,
    kl_core_task::KillError,
    kl_core_task::SetMemoryLimitError,
    kl_core_task::MemoryUsageError,
    kl_core_task::ForkError,
    kl_core_task::SignalError,
    kl_core_task::PendingError,
    kl_core_task::SenderError,
    kl_core_task::AcceptNotifyError,
    kl_core_task::NotifyExitError,
    kl_core_task::ParentError,
    kl_core_task::AliveError,
    kl_core_channel::ConnectError,
    kl_core_vmm::AllocateError,
    kl_core_vmm::FreeError,
    kl_core_vmm::ProtectError,
    kl_core_vmm::AllocateAtError,
    kl_core_romfs::ReadError,
    kl_core_futex::WaitError,
    kl_core_futex::WakeError,
    kl_core_entropy::ReadError,
    kl_core_task::GiveError,
    kl_core_task::GivenError,
    kl_core_pipe::CreateError,
    kl_core_pipe::ReadError,
    kl_core_pipe::WriteError,
    kl_core_pipe::PollError,
    kl_core_vmm::ShareError,
    kl_core_io::MapMmioError,
    kl_core_io::ClaimIrqError,
    kl_core_io::WaitIrqError,
    kl_core_io::ReleaseIrqError,
    kl_core_io::AllocDmaError,
    kl_core_io::FreeDmaError,
    kl_core_io::PciReadError,
    kl_core_io::PciWriteError,
    kl_core_io::PciBarSizeError,
    kl_core_vmm::MapError,
    kl_core_handle::CloseError,
    kl_core_console::WriteError,
    kl_core_console::ReadError,
    kl_core_console::PollError,
    kl_core_time::SleepError,
    kl_core_time::SleepNsError,
    kl_core_time::NowError,
    kl_core_thread::CreateError,
    kl_core_thread::JoinError,
    kl_core_thread::YieldError,
);

/// The calling process's SID and class number, as the kernel stamps them on its messages.
pub fn task_info() -> Result<(u64, u32), Status> {
    tasks().info().map(|r| (r.sid, r.cls)).map_err(call_status)
}

/// The transport of `task.Fork`: the request is made with the heap locked (its buffers are
/// allocated before), so that the copied heap is in a consistent state.
struct HeapLocked;

impl rt::Transport for HeapLocked {
    fn call(&mut self, request: &[u8], response: &mut [u8]) -> Result<usize, rt::TransportError> {
        crate::heap::locked(|| call(handle::CORE, request, response, TIMEOUT_FOREVER))
            .map_err(|s| rt::TransportError(s as i32))
    }
}

/// `task.Fork`: a copy of this process, not started, whose one thread enters `entry(arg)`
/// on the stack ending at `stack_top` (in the copy); its task handle and SID. The new
/// thread must call [`forked`] before anything else.
pub fn fork(
    entry: extern "C" fn(usize) -> !,
    stack_top: usize,
    arg: usize,
) -> Result<(rt::Handle, u64), Status> {
    let mut proxy = kl_core_task::TaskProxy {
        transport: HeapLocked,
        riid: kl_core_core::riid::TASK,
    };
    proxy
        .fork(entry as usize as u64, stack_top as u64, arg as u64)
        .map(|r| (r.task, r.sid))
        .map_err(call_status)
}

/// The first call of the thread of a process made by [`fork`]: the runtime's locks that the
/// forking thread held are released.
///
/// # Safety
///
/// Only on the first thread of a forked process, as its first action.
pub unsafe fn forked() {
    // SAFETY: the caller's contract.
    unsafe { crate::heap::unlock_after_fork() };
}

/// Sets this process's trap entry (`task.TrapEntry`): where its foreign system calls are
/// delivered, with the address of an [`ostrog_abi::trap::TrapFrame`] as the first argument;
/// 0 clears it.
pub fn set_trap_entry(entry: usize) -> Result<(), Status> {
    tasks()
        .trap_entry(entry as u64)
        .map(|_| ())
        .map_err(call_status)
}

/// `task.SetMemoryLimit`: the most bytes of memory the created, not yet started process
/// `task` (and the processes it creates) may make the kernel allocate.
pub fn set_memory_limit(task: rt::Handle, bytes: u64) -> Result<(), Status> {
    tasks()
        .set_memory_limit(task, bytes)
        .map(|_| ())
        .map_err(call_status)
}

/// `task.MemoryUsage`: the bytes of memory charged to this process and its limit.
pub fn memory_usage() -> Result<(u64, u64), Status> {
    tasks()
        .memory_usage()
        .map(|r| (r.used, r.limit))
        .map_err(call_status)
}

/// Continues the calling thread with every register of `frame` (`Reply` on
/// [`handle::RESUME`]). Returns only if the kernel refused the frame, with the reason.
pub fn resume(frame: &ostrog_abi::trap::TrapFrame) -> Status {
    let (result, _) = raw(
        nr::REPLY,
        [
            handle::RESUME as usize,
            frame as *const ostrog_abi::trap::TrapFrame as usize,
            core::mem::size_of::<ostrog_abi::trap::TrapFrame>(),
            0,
            0,
            0,
        ],
    );
    match Status::from_result(result) {
        Err(status) => status,
        // A successful resume never comes back here.
        Ok(_) => Status::InvalidArgument,
    }
}

/// Declares functions that return the proxy of a core endpoint.
macro_rules! core_proxies {
    ($($(#[$doc:meta])* $name:ident: $module:ident::$proxy:ident = $riid:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name() -> $module::$proxy<CoreTransport> {
            $module::$proxy {
                transport: CoreTransport,
                riid: kl_core_core::riid::$riid,
            }
        }
    )*};
}

core_proxies! {
    /// The handle proxy of the core endpoints (lookup, close, duplicate, SID of a handle).
    handles: kl_core_handle::HandleProxy = HANDLE;
    /// The memory proxy of the core endpoints.
    vmm: kl_core_vmm::VmmProxy = VMM;
    /// The task proxy of the core endpoints (processes: create, start, info, ...).
    tasks: kl_core_task::TaskProxy = TASK;
    /// The channel proxy of the core endpoints (channels between processes).
    channels: kl_core_channel::ChannelProxy = CHANNEL;
    /// The audit proxy of the core endpoints (the kernel's log of security decisions).
    audit: kl_core_audit::AuditProxy = AUDIT;
    /// The ROMFS proxy of the core endpoints (files of the image as read-only regions).
    romfs: kl_core_romfs::RomfsProxy = ROMFS;
    /// The futex proxy of the core endpoints (waiting on a word of this process's memory).
    futex: kl_core_futex::FutexProxy = FUTEX;
    /// The entropy proxy of the core endpoints (random bytes from the kernel's generator).
    entropy: kl_core_entropy::EntropyProxy = ENTROPY;
    /// The pipe proxy of the core endpoints (byte streams between processes).
    pipes: kl_core_pipe::PipeProxy = PIPE;
    /// The console proxy of the core endpoints (output, and input from the serial line).
    console: kl_core_console::ConsoleProxy = CONSOLE;
}

/// Most bytes one [`console_read`] request gives (`ReadMax` of `kl.core.Console`).
pub const CONSOLE_READ_MAX: usize = 1024;

/// Reads console input into `buf` (`console.Read`, at most [`CONSOLE_READ_MAX`] bytes; an
/// empty `buf` reads nothing): whatever is buffered, ending after an end-of-file byte
/// (0x04) if one comes; a carriage return arrives as a line feed. With nothing buffered it
/// waits up to `timeout_ns` ([`ostrog_abi::TIMEOUT_FOREVER`]-like `u64::MAX`: as long as
/// it takes; 0: `WouldBlock` at once; `TimedOut` when the time passes). How many bytes.
pub fn console_read(buf: &mut [u8], timeout_ns: u64) -> Result<usize, Status> {
    if buf.is_empty() {
        return Ok(0);
    }
    let size = buf.len().min(CONSOLE_READ_MAX);
    let data = console()
        .read(size as u32, timeout_ns)
        .map_err(call_status)?
        .data;
    let n = data.len().min(size);
    if let (Some(to), Some(from)) = (buf.get_mut(..n), data.get(..n)) {
        to.copy_from_slice(from);
    }
    Ok(n)
}

/// `console.Poll`: how many bytes of console input are buffered, waiting up to
/// `timeout_ns` for some (0: not at all), and how many were dropped since boot because the
/// kernel's buffer was full.
pub fn console_poll(timeout_ns: u64) -> Result<(usize, u64), Status> {
    console()
        .poll(timeout_ns)
        .map(|r| (r.available as usize, r.dropped))
        .map_err(call_status)
}

/// Longest text of an [`audit_note`] (`NoteMax` of `kl.core.Audit`).
pub const AUDIT_NOTE_MAX: usize = 128;

/// Adds a record `note CLASS(SID): text` to the kernel's audit log (`audit.Note`); the
/// kernel stamps it with this process's class and SID. At most [`AUDIT_NOTE_MAX`] bytes.
pub fn audit_note(text: &str) -> Result<(), Status> {
    audit().note(text.into()).map(|_| ()).map_err(call_status)
}

/// Most bytes one [`random_bytes`] request gives (`ReadMax` of `kl.core.Entropy`).
pub const RANDOM_MAX: usize = 256;

/// Fills `out` with random bytes from the kernel (`entropy.Read`, in pieces of
/// [`RANDOM_MAX`]).
pub fn random_bytes(out: &mut [u8]) -> Result<(), Status> {
    for piece in out.chunks_mut(RANDOM_MAX) {
        let data = entropy()
            .read(piece.len() as u32)
            .map_err(call_status)?
            .data;
        if data.len() != piece.len() {
            return Err(Status::InvalidArgument);
        }
        piece.copy_from_slice(&data);
    }
    Ok(())
}

/// `vmm` flag: writable.
pub const VMM_WRITE: u32 = 1;
/// `vmm` flag: executable (never with [`VMM_WRITE`]).
pub const VMM_EXECUTE: u32 = 2;
/// `vmm` flag: no access at all (alone): the pages stay allocated, with their contents.
pub const VMM_NONE: u32 = 4;

/// `vmm.AllocateAt`: `size` bytes (rounded up to pages) of fresh zeroed memory exactly at the
/// page-aligned `addr`; [`Status::Busy`] if anything is there already.
pub fn allocate_at(addr: usize, size: usize, flags: u32) -> Result<usize, Status> {
    vmm()
        .allocate_at(addr as u64, size as u64, flags)
        .map(|r| r.start as usize)
        .map_err(call_status)
}

/// `vmm.Free` of any page range of this process's private memory (or a whole mapping).
pub fn free(addr: usize, size: usize) -> Result<(), Status> {
    vmm()
        .free(addr as u64, size as u64)
        .map(|_| ())
        .map_err(call_status)
}

/// `vmm.Protect` of any page range of this process's private memory.
pub fn protect(addr: usize, size: usize, flags: u32) -> Result<(), Status> {
    vmm()
        .protect(addr as u64, size as u64, flags)
        .map(|_| ())
        .map_err(call_status)
}

/// `romfs.Read`: the ROMFS file `path` as a read-only region; `(region handle, file size)`.
/// Map it with `vmm().map(..)`.
pub fn romfs_read(path: &str) -> Result<(rt::Handle, usize), Status> {
    romfs()
        .read(path.into())
        .map(|r| (r.region, r.size as usize))
        .map_err(call_status)
}

/// `futex.Timeout` value of [`futex_wait`] that waits as long as it takes.
pub const FUTEX_FOREVER: u64 = u64::MAX;

/// `futex.Wait`: sleeps while the word at `word` holds `expected`, until [`futex_wake`] on it
/// or `timeout_ns` ([`FUTEX_FOREVER`]): `Ok` when woken, [`Status::WouldBlock`] if the value
/// differed, [`Status::TimedOut`].
pub fn futex_wait(
    word: &core::sync::atomic::AtomicU32,
    expected: u32,
    timeout_ns: u64,
) -> Result<(), Status> {
    futex_wait_raw(word.as_ptr() as usize, expected, timeout_ns)
}

/// [`futex_wait`] on any address (the kernel checks it).
pub fn futex_wait_raw(addr: usize, expected: u32, timeout_ns: u64) -> Result<(), Status> {
    futex()
        .wait(addr as u64, expected, timeout_ns)
        .map(|_| ())
        .map_err(call_status)
}

/// `futex.Wake`: wakes up to `count` threads waiting on `word`; how many it woke.
pub fn futex_wake(word: &core::sync::atomic::AtomicU32, count: u32) -> Result<u32, Status> {
    futex_wake_raw(word.as_ptr() as usize, count)
}

/// [`futex_wake`] on any address (the kernel checks it).
pub fn futex_wake_raw(addr: usize, count: u32) -> Result<u32, Status> {
    futex()
        .wake(addr as u64, count)
        .map(|r| r.woken)
        .map_err(call_status)
}

/// Writes bytes to the kernel console (at most [`ostrog_abi::DEBUG_WRITE_MAX`] per call).
pub fn debug_write(bytes: &[u8]) -> Result<usize, Status> {
    let mut console = kl_core_console::ConsoleProxy {
        transport: CoreTransport,
        riid: kl_core_core::riid::CONSOLE,
    };
    console
        .write(bytes.into())
        .map(|r| r.written as usize)
        .map_err(call_status)
}

/// Sends a core request whose only parameter is an `SInt32` and that is never answered
/// (`task.Exit`, `thread.Exit`), from buffers on the stack: the heap is not touched, so
/// nothing is left allocated when the caller ends.
fn call_never_answered(riid: u32, mid: u32, value: i32) {
    const FIXED: usize = 8;
    let mut request = [0u8; HEADER_SIZE + FIXED];
    Header {
        riid,
        mid,
        fixed_size: FIXED as u32,
        ..Header::default()
    }
    .write(&mut request);
    if let Some(b) = request.get_mut(HEADER_SIZE..HEADER_SIZE + 4) {
        b.copy_from_slice(&value.to_le_bytes());
    }
    let mut response = [0u8; HEADER_SIZE + FIXED];
    let _ = call(handle::CORE, &request, &mut response, TIMEOUT_FOREVER);
}

/// Ends the process with `status`.
pub fn exit(status: isize) -> ! {
    call_never_answered(
        kl_core_core::riid::TASK,
        <kl_core_task::ExitRequest as rt::Message>::MID,
        status as i32,
    );
    // The kernel never answers task.Exit; if the policy denied it, spin rather than run on.
    loop {
        core::hint::spin_loop();
    }
}

fn thread_proxy() -> kl_core_thread::ThreadProxy<CoreTransport> {
    kl_core_thread::ThreadProxy {
        transport: CoreTransport,
        riid: kl_core_core::riid::THREAD,
    }
}

/// Gives up the rest of the time slice.
pub fn yield_now() {
    let _ = thread_proxy().r#yield();
}

/// The cheapest round trip through the kernel: `Reply` when this thread has received
/// nothing, refused right after the caller's thread is looked up (a refused `Call` would
/// also be audited, which is not what a null call measures).
pub fn null() -> Result<usize, Status> {
    reply(handle::ANY, &[]).map(|()| 0)
}

/// Sleeps for at least `ms` milliseconds.
pub fn sleep_ms(ms: usize) -> Result<usize, Status> {
    let mut time = kl_core_time::TimeProxy {
        transport: CoreTransport,
        riid: kl_core_core::riid::TIME,
    };
    time.sleep(u32::try_from(ms).unwrap_or(u32::MAX))
        .map(|_| 0)
        .map_err(call_status)
}

/// Sleeps for at least `ns` nanoseconds (woken at that deadline, not at a timer tick).
pub fn sleep_ns(ns: u64) -> Result<(), Status> {
    let mut time = kl_core_time::TimeProxy {
        transport: CoreTransport,
        riid: kl_core_core::riid::TIME,
    };
    time.sleep_ns(ns).map(|_| ()).map_err(call_status)
}

/// Nanoseconds since boot, from the kernel's clock.
pub fn now_ns() -> Result<u64, Status> {
    let mut time = kl_core_time::TimeProxy {
        transport: CoreTransport,
        riid: kl_core_core::riid::TIME,
    };
    time.now().map(|r| r.ns).map_err(call_status)
}

/// Starts a thread of this process at `entry(arg)` on the stack ending at `stack_top`.
pub fn thread_create(
    entry: extern "C" fn(usize) -> !,
    stack_top: usize,
    arg: usize,
    priority: u8,
) -> Result<usize, Status> {
    thread_proxy()
        .create(
            entry as usize as u64,
            stack_top as u64,
            arg as u64,
            priority,
        )
        .map(|r| r.tid as usize)
        .map_err(call_status)
}

/// Ends the calling thread.
pub fn thread_exit(status: isize) -> ! {
    call_never_answered(
        kl_core_core::riid::THREAD,
        <kl_core_thread::ExitRequest as rt::Message>::MID,
        status as i32,
    );
    loop {
        core::hint::spin_loop();
    }
}

/// Waits for thread `id` of this process to end; returns its status.
pub fn thread_join(id: usize) -> Result<isize, Status> {
    thread_proxy()
        .join(id as u64)
        .map(|r| r.code as isize)
        .map_err(call_status)
}

/// A free-running counter: the TSC on x86_64, the virtual counter on AArch64.
#[inline(always)]
pub fn cycles() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: rdtsc reads the time-stamp counter and has no other effect.
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
    #[cfg(target_arch = "aarch64")]
    {
        let value: u64;
        // SAFETY: reads the virtual counter, which the kernel makes readable from EL0.
        unsafe { core::arch::asm!("isb", "mrs {0}, cntvct_el0", out(reg) value) };
        value
    }
}
