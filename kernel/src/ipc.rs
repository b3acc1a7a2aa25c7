//! The message path: `Call`, `Recv`, `Reply`.
//!
//! This module is the heart of the kernel and is meant to be read top to bottom. Every
//! message takes the same five steps:
//!
//! 1. **entry**: the system call arrives with a handle and a user buffer ([`call`],
//!    [`recv`], [`reply`]);
//! 2. **copy**: the whole message is copied once into a kernel buffer ([`copy_in`]) and its
//!    header checked against its length; from here on only the kernel's copy is used, so the
//!    sender cannot change what is judged;
//! 3. **stamp**: the kernel writes the sender's SID and class into the header and resolves
//!    the handles the message carries into the SIDs of their objects;
//! 4. **decide**: the security module judges the event on the kernel's copy
//!    ([`crate::security::decide`]); it validates the message against its IDL type before
//!    any rule runs. A denied request is never delivered and the caller gets
//!    [`Status::AccessDenied`]; a denied response is dropped and the caller gets
//!    [`Status::AccessDenied`] as well;
//!    A `security` event (a `Call` on [`handle::SECURITY`]) ends here: the verdict is the
//!    answer;
//! 5. **deliver**: to the kernel's core endpoints ([`crate::coresrv`]) at once, or to a server
//!    through its listening endpoint's queue; handles move to the receiver with at most the
//!    rights the sender had and chose to pass.
//!
//! Rendezvous: a client blocks in `Call` until the server's `Reply` (or a time-out, or the
//! server's end). A server thread blocks in `Recv` until a request is queued on one of its
//! endpoints; the reply goes to the caller of the request the thread received last, so a
//! server can never answer a call it was not given.
//!
//! Objects: a *channel* is the client's side (its handle names the channel); an *endpoint*
//! is the server's listening side with a queue of calls. Both are created only by
//! `channel.Connect` (Einit, from `init.yaml`), so a process can reach exactly the servers
//! it was given channels to.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use ostrog_abi::handle::{self, RIGHT_CALL, RIGHT_RECV, RIGHT_TRANSFER};
use ostrog_abi::message::{
    Header, DEFAULT_MAX_MESSAGE, FLAG_ERROR, HANDLE_COPY, HANDLE_MOVE, HANDLE_SLOT_SIZE,
    HEADER_SIZE, MAX_HANDLES,
};
use ostrog_abi::{Status, TIMEOUT_FOREVER};
use ostrog_ksm::{Event, EventKind, HandleInfo, Verdict};

use crate::object::Object;
use crate::sched;
use crate::security;
use crate::sid::{self, Sid};
use crate::task::{State, Tasks, TASKS};
use crate::{time, usercopy, TICK_HZ};

/// Largest message the kernel carries unless the command line says otherwise
/// (`ostrog.max_message=BYTES`, from [`MIN_MAX_MESSAGE`] to [`MAX_MAX_MESSAGE`]).
static MAX_MESSAGE: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_MESSAGE);
/// Bounds of `ostrog.max_message`.
pub const MIN_MAX_MESSAGE: usize = 256;
pub const MAX_MAX_MESSAGE: usize = 1 << 20;
/// Bytes of requests one endpoint may hold queued, in messages of the largest size: a
/// server that does not receive slows its clients down (`Busy`) instead of filling the
/// kernel heap.
pub const QUEUE_MESSAGES: usize = 8;

/// Sets the largest message size (boot time, from the command line); false if out of range.
pub fn set_max_message(bytes: usize) -> bool {
    if (MIN_MAX_MESSAGE..=MAX_MAX_MESSAGE).contains(&bytes) {
        MAX_MESSAGE.store(bytes, Ordering::Relaxed);
        true
    } else {
        false
    }
}

/// The largest message the kernel carries.
pub fn max_message() -> usize {
    MAX_MESSAGE.load(Ordering::Relaxed)
}

/// The client side of a channel.
pub struct Channel {
    pub sid: Sid,
    /// The client process it was made for (it goes away with it).
    pub owner: Sid,
    /// The endpoint it reaches.
    pub endpoint: Sid,
}

/// A server's listening endpoint.
pub struct Endpoint {
    pub sid: Sid,
    /// The process that receives on it.
    pub owner: Sid,
    /// The channel name it was created for.
    pub name: String,
    /// Calls waiting to be received, oldest first.
    pub queue: VecDeque<PendingCall>,
}

/// A judged request waiting for a server thread.
pub struct PendingCall {
    pub id: u64,
    /// The calling thread and its process.
    pub caller: Sid,
    pub caller_process: Sid,
    /// The kernel's copy, header stamped.
    pub message: Vec<u8>,
    /// The objects its handle slots carry, with the rights the receiver gets.
    pub handles: Vec<(Object, u32)>,
    /// How large a response the caller can take.
    pub response_capacity: usize,
}

/// The call a server thread received and has not answered yet.
#[derive(Clone, Copy)]
pub struct Serving {
    pub id: u64,
    pub caller: Sid,
    pub caller_process: Sid,
    pub riid: u32,
    pub mid: u32,
    pub response_capacity: usize,
}

/// A thread's IPC state.
#[derive(Default)]
pub struct ThreadIpc {
    /// The call this thread (as a client) waits on.
    pub awaiting: Option<u64>,
    /// The answer to it, left by `Reply` or by a cancellation.
    pub reply: Option<Result<Vec<u8>, Status>>,
    /// The call this thread (as a server) must answer.
    pub serving: Option<Serving>,
    /// A message buffer kept from the last message this thread sent or received, reused
    /// for the next one so that the common path does not allocate.
    pub spare: Option<Vec<u8>>,
}

/// Buffers larger than this are not kept for reuse (a thread's spare stays small).
const SPARE_MAX: usize = 4096;

/// A zeroed buffer of `len` bytes: the thread's spare if it is large enough.
fn buffer_for(tasks: &mut Tasks, thread: Sid, len: usize) -> Vec<u8> {
    let spare = tasks
        .threads
        .get_mut(&thread)
        .and_then(|t| t.ipc.spare.take());
    match spare {
        Some(mut buf) if buf.capacity() >= len => {
            buf.clear();
            buf.resize(len, 0);
            buf
        }
        _ => vec![0u8; len],
    }
}

/// Keeps `buf` as the thread's spare buffer, if it is small and the thread has none.
fn recycle(tasks: &mut Tasks, thread: Sid, buf: Vec<u8>) {
    if buf.capacity() <= SPARE_MAX {
        if let Some(t) = tasks.threads.get_mut(&thread) {
            if t.ipc.spare.is_none() {
                t.ipc.spare = Some(buf);
            }
        }
    }
}

static NEXT_CALL: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

impl Endpoint {
    /// Bytes of the requests waiting.
    fn queued_bytes(&self) -> usize {
        self.queue.iter().map(|c| c.message.len()).sum()
    }
}

// ---------------------------------------------------------------------------------------
// Step 2: copy.

/// Copies a message from user memory and checks its header against its length.
fn copy_in(tasks: &mut Tasks, thread: Sid, ptr: usize, len: usize) -> Result<Vec<u8>, Status> {
    if !(HEADER_SIZE..=max_message()).contains(&len) {
        return Err(Status::InvalidArgument);
    }
    let mut message = buffer_for(tasks, thread, len);
    let space = &tasks.process_of(thread)?.space;
    usercopy::copy_from_user(space, &mut message, ptr)?;
    let header = Header::read(&message).ok_or(Status::InvalidArgument)?;
    let well_sized = header.total_size() == Some(len)
        && header.handle_count as usize <= MAX_HANDLES
        && header.fixed_size % 8 == 0
        && header.reserved == 0
        && header.flags & !FLAG_ERROR == 0;
    if !well_sized {
        return Err(Status::InvalidArgument);
    }
    Ok(message)
}

/// `(handle, rights_and_mode)` of every handle slot.
fn slots(message: &[u8]) -> impl Iterator<Item = (usize, u32, u32)> + '_ {
    let count = Header::read(message).map_or(0, |h| h.handle_count as usize);
    (0..count).filter_map(move |i| {
        let at = HEADER_SIZE + i * HANDLE_SLOT_SIZE;
        let word = |o: usize| -> Option<u32> {
            let b = message.get(at + o..at + o + 4)?;
            Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        Some((at, word(0)?, word(4)?))
    })
}

fn write_u32(message: &mut [u8], at: usize, value: u32) {
    if let Some(b) = message.get_mut(at..at + 4) {
        b.copy_from_slice(&value.to_le_bytes());
    }
}

// ---------------------------------------------------------------------------------------
// Step 3: stamp.

/// Writes the sender's identity into the header; whatever the sender put there is lost.
fn stamp(message: &mut [u8], sender: Sid, class: u32) {
    if let Some(mut header) = Header::read(message) {
        header.src_sid = sender.0;
        header.src_class = class;
        header.write(message);
    }
}

/// Resolves the handles a message carries in the sender's table: the objects, the rights
/// the receiver will get, and whether each moves. `transfer` requires the transfer right
/// (not needed when the handles go to the kernel, which uses them in the sender's name).
fn resolve_handles(
    tasks: &Tasks,
    process: Sid,
    message: &[u8],
    transfer: bool,
) -> Result<Vec<(Object, u32, Option<u32>)>, Status> {
    let table = &tasks
        .processes
        .get(&process)
        .ok_or(Status::NoSuchThread)?
        .handles;
    let mut out = Vec::new();
    for (_, number, rights_and_mode) in slots(message) {
        let entry = table.get(number)?;
        if transfer && entry.rights & RIGHT_TRANSFER == 0 {
            return Err(Status::AccessDenied);
        }
        let moves = match rights_and_mode >> 16 {
            m if m == HANDLE_COPY => None,
            m if m == HANDLE_MOVE => Some(number),
            _ => return Err(Status::InvalidArgument),
        };
        out.push((entry.object, entry.rights & rights_and_mode & 0xffff, moves));
    }
    Ok(out)
}

fn handle_infos(handles: &[(Object, u32, Option<u32>)]) -> Vec<HandleInfo> {
    handles
        .iter()
        .map(|(object, rights, _)| HandleInfo {
            sid: object.sid().0,
            rights: *rights,
        })
        .collect()
}

/// Installs handles in the receiver's table and rewrites the slots with its numbers.
fn install_handles(
    tasks: &mut Tasks,
    receiver: Sid,
    message: &mut [u8],
    handles: &[(Object, u32)],
) -> Result<(), Status> {
    let process = tasks
        .processes
        .get_mut(&receiver)
        .ok_or(Status::Disconnected)?;
    let positions: Vec<usize> = slots(message).map(|(at, _, _)| at).collect();
    for (at, (object, rights)) in positions.into_iter().zip(handles) {
        let number = process.handles.insert(*object, *rights, None)?;
        write_u32(message, at, number);
        write_u32(message, at + 4, *rights);
    }
    Ok(())
}

fn header(message: &[u8]) -> Header {
    Header::read(message).unwrap_or_default()
}

fn timeout_deadline(timeout_ms: usize) -> Option<u64> {
    if timeout_ms == TIMEOUT_FOREVER {
        return None;
    }
    let ticks = (timeout_ms as u64)
        .saturating_mul(u64::from(TICK_HZ))
        .div_ceil(1000);
    Some(time::ticks().saturating_add(ticks))
}

// ---------------------------------------------------------------------------------------
// Step 1: entry. The three system calls.

/// `Call(handle, request, request_len, response, response_capacity, timeout_ms)`.
pub fn call(
    me: Sid,
    handle: u32,
    request: (usize, usize),
    response: (usize, usize),
    timeout_ms: usize,
) -> Result<usize, Status> {
    let answer = if handle == handle::CORE {
        call_kernel(me, request, response.1)
    } else if handle == handle::SECURITY {
        return query_security(me, request).inspect_err(|e| audit_refused(me, handle, *e));
    } else {
        call_server(me, handle, request, response.1, timeout_ms)
    };
    let reply = answer.inspect_err(|e| audit_refused(me, handle, *e))?;
    let response_ptr = response.0;
    let mut tasks = TASKS.lock();
    if reply.len() > response.1 {
        return Err(Status::BufferTooSmall);
    }
    let space = &tasks.process_of(me)?.space;
    usercopy::copy_to_user(space, response_ptr, &reply)?;
    let len = reply.len();
    recycle(&mut tasks, me, reply);
    Ok(len)
}

/// Audits a `Call` the kernel refused before the security module could judge it (the module
/// audits its own denials, `AccessDenied`).
fn audit_refused(me: Sid, handle: u32, status: Status) {
    if matches!(
        status,
        Status::BadHandle | Status::InvalidArgument | Status::BadAddress
    ) {
        let tasks = TASKS.lock();
        if let Ok(p) = tasks.process_of(me) {
            security::audit_refusal(&p.class, p.sid.0, handle, status);
        }
    }
}

/// A request to the kernel's core endpoints: judged, served at once, the answer judged.
fn call_kernel(me: Sid, request: (usize, usize), capacity: usize) -> Result<Vec<u8>, Status> {
    let (mut message, process, class) = judge_to_kernel(me, request, EventKind::Request)?;
    let h = header(&message);
    // The kernel acts on the caller's handles in the caller's name: nothing is moved.
    let answer = crate::coresrv::serve(me, process, &mut message)?;
    recycle(&mut TASKS.lock(), me, message);
    if answer.len() > capacity {
        return Err(Status::BufferTooSmall);
    }
    let a = header(&answer);
    let infos = {
        let tasks = TASKS.lock();
        let table = &tasks.process_of(me)?.handles;
        // The kernel put the caller's own handles in its answer.
        slots(&answer)
            .map(|(_, number, _)| {
                table
                    .get(number)
                    .map_or(HandleInfo::default(), |e| HandleInfo {
                        sid: e.object.sid().0,
                        rights: e.rights,
                    })
            })
            .collect::<Vec<_>>()
    };
    let event = Event {
        kind: if a.flags & FLAG_ERROR != 0 {
            EventKind::Error
        } else {
            EventKind::Response
        },
        src_sid: sid::KERNEL.0,
        src_class: crate::coresrv::class(),
        dst_sid: process.0,
        dst_class: class,
        riid: h.riid,
        mid: h.mid,
        message: &answer,
        handles: &infos,
    };
    if security::decide(&event) == Verdict::Denied {
        return Err(Status::AccessDenied);
    }
    Ok(answer)
}

/// A `security` event: the process asks the security module about a message of its own
/// security interface. Nothing is delivered; the verdict is the answer.
fn query_security(me: Sid, request: (usize, usize)) -> Result<usize, Status> {
    let (message, ..) = judge_to_kernel(me, request, EventKind::Security)?;
    recycle(&mut TASKS.lock(), me, message);
    Ok(0)
}

/// Steps 2 to 4 for a message to the kernel or the security module (`kind` is `Request` or
/// `Security`): copied, stamped, and judged with the kernel as destination. The handles it
/// carries stay the caller's: the kernel acts on them in the caller's name. Returns the
/// kernel's copy, the caller's process and class, or `AccessDenied`.
fn judge_to_kernel(
    me: Sid,
    request: (usize, usize),
    kind: EventKind,
) -> Result<(Vec<u8>, Sid, u32), Status> {
    let (mut message, process, class, handles) = {
        let mut tasks = TASKS.lock();
        let message = copy_in(&mut tasks, me, request.0, request.1)?;
        let p = tasks.process_of(me)?;
        let handles = resolve_handles(&tasks, p.sid, &message, false)?;
        (message, p.sid, p.class_id, handles)
    };
    stamp(&mut message, process, class);
    let h = header(&message);
    if h.flags & FLAG_ERROR != 0 {
        return Err(Status::InvalidArgument);
    }
    let infos = handle_infos(&handles);
    let event = Event {
        kind,
        src_sid: process.0,
        src_class: class,
        dst_sid: sid::KERNEL.0,
        dst_class: crate::coresrv::class(),
        riid: h.riid,
        mid: h.mid,
        message: &message,
        handles: &infos,
    };
    match security::decide(&event) {
        Verdict::Granted => Ok((message, process, class)),
        Verdict::Denied => Err(Status::AccessDenied),
    }
}

/// A request to a server: judged, queued on its endpoint, then wait for the reply.
fn call_server(
    me: Sid,
    handle: u32,
    request: (usize, usize),
    capacity: usize,
    timeout_ms: usize,
) -> Result<Vec<u8>, Status> {
    let id = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
    {
        let mut tasks = TASKS.lock();
        let p = tasks.process_of(me)?;
        let (process, class) = (p.sid, p.class_id);
        let channel = match p.handles.get_with(handle, RIGHT_CALL)?.object {
            Object::Channel(sid) => sid,
            _ => return Err(Status::BadHandle),
        };
        let endpoint = tasks
            .channels
            .get(&channel)
            .map(|c| c.endpoint)
            .ok_or(Status::Disconnected)?;
        let server = tasks
            .endpoints
            .get(&endpoint)
            .map(|e| e.owner)
            .ok_or(Status::Disconnected)?;
        let (server_sid, server_class) = match tasks.processes.get(&server) {
            Some(s) if !s.ended => (s.sid, s.class_id),
            _ => return Err(Status::Disconnected),
        };
        let mut message = copy_in(&mut tasks, me, request.0, request.1)?;
        if header(&message).flags & FLAG_ERROR != 0 {
            return Err(Status::InvalidArgument);
        }
        let queued = tasks
            .endpoints
            .get(&endpoint)
            .map_or(0, Endpoint::queued_bytes);
        if queued + message.len() > QUEUE_MESSAGES * max_message() {
            // The server is not keeping up; refused before anything happens.
            return Err(Status::Busy);
        }
        let handles = resolve_handles(&tasks, process, &message, true)?;
        stamp(&mut message, process, class);
        let h = header(&message);
        let infos = handle_infos(&handles);
        let event = Event {
            kind: EventKind::Request,
            src_sid: process.0,
            src_class: class,
            dst_sid: server_sid.0,
            dst_class: server_class,
            riid: h.riid,
            mid: h.mid,
            message: &message,
            handles: &infos,
        };
        if security::decide(&event) == Verdict::Denied {
            return Err(Status::AccessDenied);
        }
        // Granted: from here on the call happens. Moved handles leave the sender now.
        if let Some(p) = tasks.processes.get_mut(&process) {
            for (_, _, moved) in &handles {
                if let Some(number) = moved {
                    let _ = p.handles.remove(*number);
                }
            }
        }
        let pending = PendingCall {
            id,
            caller: me,
            caller_process: process,
            message,
            handles: handles.iter().map(|(o, r, _)| (*o, *r)).collect(),
            response_capacity: capacity,
        };
        if let Some(e) = tasks.endpoints.get_mut(&endpoint) {
            e.queue.push_back(pending);
        }
        if let Some(t) = tasks.threads.get_mut(&me) {
            t.ipc.awaiting = Some(id);
            t.ipc.reply = None;
        }
        wake_receivers(&mut tasks, server, endpoint);
    }
    let deadline = timeout_deadline(timeout_ms);
    loop {
        {
            let mut tasks = TASKS.lock();
            let t = tasks.threads.get_mut(&me).ok_or(Status::NoSuchThread)?;
            if let Some(answer) = t.ipc.reply.take() {
                t.ipc.awaiting = None;
                return answer;
            }
            if deadline.is_some_and(|d| time::ticks() >= d) {
                t.ipc.awaiting = None;
                cancel_call(&mut tasks, id);
                return Err(Status::TimedOut);
            }
        }
        sched::block_current(State::Calling, deadline);
    }
}

/// Removes a call that is still queued (its caller gave up).
fn cancel_call(tasks: &mut Tasks, id: u64) {
    for e in tasks.endpoints.values_mut() {
        e.queue.retain(|c| c.id != id);
    }
}

/// Wakes the threads of `server` waiting in `Recv` on `endpoint` (or on any endpoint).
fn wake_receivers(tasks: &mut Tasks, server: Sid, endpoint: Sid) {
    let Tasks {
        processes, threads, ..
    } = tasks;
    let Some(p) = processes.get(&server) else {
        return;
    };
    for t in &p.threads {
        if let Some(thread) = threads.get_mut(t) {
            if let State::Receiving(filter) = thread.state {
                if filter.is_none() || filter == Some(endpoint) {
                    thread.state = State::Ready;
                    sched::make_ready(*t, thread.priority);
                }
            }
        }
    }
}

/// `Recv(handle, buffer, capacity, timeout_ms)` -> (length, endpoint handle).
pub fn recv(
    me: Sid,
    handle: u32,
    buffer: usize,
    capacity: usize,
    timeout_ms: usize,
) -> Result<(usize, usize), Status> {
    let deadline = timeout_deadline(timeout_ms);
    loop {
        {
            let mut tasks = TASKS.lock();
            let p = tasks.process_of(me)?;
            let process = p.sid;
            let filter = if handle == handle::ANY {
                None
            } else {
                match p.handles.get_with(handle, RIGHT_RECV)?.object {
                    Object::Endpoint(sid) => Some(sid),
                    _ => return Err(Status::BadHandle),
                }
            };
            if tasks
                .threads
                .get(&me)
                .is_some_and(|t| t.ipc.serving.is_some())
            {
                // One call at a time per thread: answer the last one first.
                return Err(Status::Busy);
            }
            let ready = tasks
                .endpoints
                .values()
                .find(|e| {
                    e.owner == process && filter.is_none_or(|f| f == e.sid) && !e.queue.is_empty()
                })
                .map(|e| e.sid);
            if let Some(endpoint) = ready {
                return deliver(&mut tasks, me, process, endpoint, buffer, capacity);
            }
            let reachable = tasks.channels.values().any(|c| {
                filter.is_none_or(|f| f == c.endpoint)
                    && tasks
                        .endpoints
                        .get(&c.endpoint)
                        .is_some_and(|e| e.owner == process)
            });
            if !reachable {
                // No client can ever call again: waiting would be forever.
                return Err(Status::Disconnected);
            }
            if deadline.is_some_and(|d| time::ticks() >= d) {
                return Err(Status::TimedOut);
            }
            drop(tasks);
            sched::block_current(State::Receiving(filter), deadline);
        }
    }
}

/// Step 5 for a request: the oldest call on `endpoint` moves into the receiver's buffer,
/// its handles into the receiver's table.
fn deliver(
    tasks: &mut Tasks,
    me: Sid,
    process: Sid,
    endpoint: Sid,
    buffer: usize,
    capacity: usize,
) -> Result<(usize, usize), Status> {
    let needed = tasks
        .endpoints
        .get(&endpoint)
        .and_then(|e| e.queue.front())
        .map_or(0, |c| c.message.len());
    if needed > capacity {
        return Err(Status::BufferTooSmall);
    }
    // The buffer must be writable before the call is taken off the queue.
    usercopy::check(&tasks.process_of(me)?.space, buffer, needed, true)?;
    let Some(mut call) = tasks
        .endpoints
        .get_mut(&endpoint)
        .and_then(|e| e.queue.pop_front())
    else {
        return Err(Status::Disconnected);
    };
    install_handles(tasks, process, &mut call.message, &call.handles)?;
    usercopy::copy_to_user(&tasks.process_of(me)?.space, buffer, &call.message)?;
    let len = call.message.len();
    let h = header(&call.message);
    recycle(tasks, me, call.message);
    if let Some(t) = tasks.threads.get_mut(&me) {
        t.ipc.serving = Some(Serving {
            id: call.id,
            caller: call.caller,
            caller_process: call.caller_process,
            riid: h.riid,
            mid: h.mid,
            response_capacity: call.response_capacity,
        });
    }
    let endpoint_handle = tasks
        .processes
        .get(&process)
        .and_then(|p| p.handles.find(Object::Endpoint(endpoint)))
        .unwrap_or(0);
    Ok((len, endpoint_handle as usize))
}

/// `Reply(handle, response, len)`: answers the call this thread received last.
pub fn reply(me: Sid, handle: u32, response: usize, len: usize) -> Result<usize, Status> {
    let mut tasks = TASKS.lock();
    let p = tasks.process_of(me)?;
    let (process, class) = (p.sid, p.class_id);
    if handle != handle::ANY {
        match p.handles.get_with(handle, RIGHT_RECV)?.object {
            Object::Endpoint(_) => {}
            _ => return Err(Status::BadHandle),
        }
    }
    let serving = tasks
        .threads
        .get(&me)
        .and_then(|t| t.ipc.serving)
        .ok_or(Status::InvalidArgument)?;
    let mut message = copy_in(&mut tasks, me, response, len)?;
    let h = header(&message);
    if h.riid != serving.riid || h.mid != serving.mid {
        // A response answers its request's method, nothing else.
        return Err(Status::InvalidArgument);
    }
    if message.len() > serving.response_capacity {
        return Err(Status::BufferTooSmall);
    }
    let handles = resolve_handles(&tasks, process, &message, true)?;
    stamp(&mut message, process, class);
    // The call is answered (or dropped) now, whatever the verdict.
    if let Some(t) = tasks.threads.get_mut(&me) {
        t.ipc.serving = None;
    }
    let client = match tasks.processes.get(&serving.caller_process) {
        Some(c) if !c.ended => (c.sid, c.class_id),
        _ => return Err(Status::Disconnected),
    };
    let infos = handle_infos(&handles);
    let event = Event {
        kind: if h.flags & FLAG_ERROR != 0 {
            EventKind::Error
        } else {
            EventKind::Response
        },
        src_sid: process.0,
        src_class: class,
        dst_sid: client.0 .0,
        dst_class: client.1,
        riid: serving.riid,
        mid: serving.mid,
        message: &message,
        handles: &infos,
    };
    let verdict = security::decide(&event);
    let answer = if verdict == Verdict::Granted {
        if let Some(p) = tasks.processes.get_mut(&process) {
            for (_, _, moved) in &handles {
                if let Some(number) = moved {
                    let _ = p.handles.remove(*number);
                }
            }
        }
        let carried: Vec<(Object, u32)> = handles.iter().map(|(o, r, _)| (*o, *r)).collect();
        install_handles(&mut tasks, client.0, &mut message, &carried).map(|()| message)
    } else {
        Err(Status::AccessDenied)
    };
    let delivered = match tasks.threads.get_mut(&serving.caller) {
        Some(caller) if caller.ipc.awaiting == Some(serving.id) => {
            caller.ipc.reply = Some(answer);
            if caller.state == State::Calling {
                caller.state = State::Ready;
                sched::make_ready(serving.caller, caller.priority);
            }
            true
        }
        _ => false,
    };
    match (verdict, delivered) {
        (Verdict::Denied, _) => Err(Status::AccessDenied),
        (_, false) => Err(Status::Disconnected),
        _ => Ok(0),
    }
}

// ---------------------------------------------------------------------------------------
// Channels and endpoints come and go with processes.

/// Connects `client` to `server` under channel `name`: a new channel for the client, and
/// the server's endpoint of that name (created on first use).
pub fn connect(tasks: &mut Tasks, client: Sid, server: Sid, name: &str) -> Result<(), Status> {
    if client == server {
        return Err(Status::InvalidArgument);
    }
    if !tasks.processes.contains_key(&client) || !tasks.processes.contains_key(&server) {
        return Err(Status::NotFound);
    }
    let named_taken = tasks
        .processes
        .get(&client)
        .is_some_and(|p| p.handles.lookup(name).is_some());
    if named_taken {
        return Err(Status::Busy);
    }
    let existing = tasks
        .endpoints
        .values()
        .find(|e| e.owner == server && e.name == name)
        .map(|e| e.sid);
    let endpoint = match existing {
        Some(sid) => sid,
        None => {
            let sid = Sid::new();
            tasks
                .processes
                .get_mut(&server)
                .ok_or(Status::NotFound)?
                .handles
                .insert(Object::Endpoint(sid), RIGHT_RECV, Some(String::from(name)))?;
            tasks.endpoints.insert(
                sid,
                Endpoint {
                    sid,
                    owner: server,
                    name: String::from(name),
                    queue: VecDeque::new(),
                },
            );
            sid
        }
    };
    let channel = Sid::new();
    tasks
        .processes
        .get_mut(&client)
        .ok_or(Status::NotFound)?
        .handles
        .insert(
            Object::Channel(channel),
            RIGHT_CALL | RIGHT_TRANSFER | handle::RIGHT_DUPLICATE,
            Some(String::from(name)),
        )?;
    tasks.channels.insert(
        channel,
        Channel {
            sid: channel,
            owner: client,
            endpoint,
        },
    );
    Ok(())
}

/// A process has ended: its endpoints and channels go away; every caller waiting on its
/// endpoints, or being served by one of its threads, gets [`Status::Disconnected`]; its own
/// queued calls are withdrawn; servers it was the last client of stop waiting.
pub fn process_ended(tasks: &mut Tasks, process: Sid) {
    tasks.channels.retain(|_, c| c.owner != process);
    let receivers: Vec<(Sid, u8)> = tasks
        .threads
        .values()
        .filter(|t| matches!(t.state, State::Receiving(_)))
        .map(|t| (t.sid, t.priority))
        .collect();
    for (sid, priority) in receivers {
        // They re-check whether anyone can still reach them.
        if let Some(t) = tasks.threads.get_mut(&sid) {
            t.state = State::Ready;
            sched::make_ready(sid, priority);
        }
    }
    let owned: Vec<Sid> = tasks
        .endpoints
        .values()
        .filter(|e| e.owner == process)
        .map(|e| e.sid)
        .collect();
    let mut cancelled: Vec<(Sid, u64)> = Vec::new();
    for sid in owned {
        if let Some(e) = tasks.endpoints.remove(&sid) {
            cancelled.extend(e.queue.iter().map(|c| (c.caller, c.id)));
        }
    }
    let threads = tasks
        .processes
        .get(&process)
        .map(|p| p.threads.clone())
        .unwrap_or_default();
    for t in &threads {
        if let Some(serving) = tasks.threads.get_mut(t).and_then(|t| t.ipc.serving.take()) {
            cancelled.push((serving.caller, serving.id));
        }
    }
    for e in tasks.endpoints.values_mut() {
        e.queue.retain(|c| c.caller_process != process);
    }
    for (caller, id) in cancelled {
        if let Some(t) = tasks.threads.get_mut(&caller) {
            if t.ipc.awaiting == Some(id) {
                t.ipc.reply = Some(Err(Status::Disconnected));
                if t.state == State::Calling {
                    t.state = State::Ready;
                    sched::make_ready(caller, t.priority);
                }
            }
        }
    }
}
