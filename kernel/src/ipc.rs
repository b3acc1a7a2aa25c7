//! The message path: `Call`, `Recv`, `Reply`.
//!
//! This module is the heart of the kernel and is meant to be read top to bottom. Every
//! message takes the same five steps:
//!
//! 1. **entry**: the system call arrives with its arguments decoded into a named struct
//!    ([`CallArgs`], [`RecvArgs`], [`ReplyArgs`] in [`crate::syscall`]): a handle and user
//!    buffers, each a [`UserSlice`] the process only alleges is its memory ([`call`],
//!    [`recv`], [`reply`]);
//! 2. **copy**: the whole message is copied once into a kernel buffer ([`copy_in`]),
//!    charged to the sender ([`crate::quota`]), and its header checked against its length
//!    (the `UserSlice` is checked against the sender's address space by [`usercopy`]);
//!    from here on only the kernel's copy is used, so the sender cannot change what is
//!    judged;
//! 3. **stamp**: the kernel writes the sender's SID and class into the header and resolves
//!    the handles the message carries into the objects and rights the receiver would get
//!    ([`resolve_handles`], a [`Carried`]); moved handles are *in flight* from here until
//!    the message is delivered or given up, and nothing can use them meanwhile;
//! 4. **decide**: the security module judges the event on the kernel's copy
//!    ([`crate::judge::judge`], the kernel's one judge, for this and every other event),
//!    with exactly the rights the receiver will get; it
//!    validates the message against its IDL type before any rule runs (every handle slot
//!    named by a parameter, every arena byte used by one). A request is judged when it is
//!    *delivered* (a server thread takes it in [`recv`]), a response when it reaches a
//!    caller still waiting for it, so that a verdict, and the model state it commits, is
//!    made exactly for an event that happens: a call cancelled before a server took it was
//!    never judged. A denied request is answered [`Status::AccessDenied`] and the server's
//!    `Recv` goes on to the next call; a denied response leaves the caller with
//!    [`Status::AccessDenied`]. A `security` event (a `Call` on [`handle::SECURITY`]) ends
//!    here: the verdict is the answer;
//! 5. **deliver**: to the kernel's core endpoints ([`crate::core_endpoints`]) at once, or to a server
//!    thread in [`recv`]; delivery is all or nothing: the receiver's table must have room for
//!    every handle before anything moves, otherwise the call is answered
//!    [`Status::NoMemory`] and moved handles go back to their sender. Handles change tables
//!    in one place only, [`commit_handles`] (held in flight, given back, or installed).
//!
//! Rendezvous: a client blocks in `Call` until the server's `Reply` (or a time-out, or the
//! server's end). A server thread blocks in `Recv` until a request is queued on one of its
//! endpoints; the reply goes to the caller of the request the thread received last, so a
//! server can never answer a call it was not given.
//!
//! Objects: a *channel* is the client's side (its handle names the channel); an *endpoint*
//! is the server's listening side with a queue of calls. Both are created only by
//! `channel.Connect` (Einit, from `init.yaml`) and `channel.Link` (the dynamic connection
//! manager, at run time), so a process can reach exactly the servers it was given channels
//! to, or that a judged message handed it a channel to.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ostrog_abi::handle::{self, RIGHT_CALL, RIGHT_DUPLICATE, RIGHT_RECV, RIGHT_TRANSFER};
use ostrog_abi::message::{
    HandleSlot, Header, DEFAULT_MAX_MESSAGE, FLAG_ERROR, HANDLE_COPY, HANDLE_MOVE, HEADER_SIZE,
    MAX_HANDLES,
};
use ostrog_abi::wire::{Reader, Writer};
use ostrog_abi::{Status, TIMEOUT_FOREVER};
use ostrog_ksm::{HandleInfo, Verdict};

use crate::judge::{judge, Judged, Party, Sent};
use crate::object::{HandleTable, Object};
use crate::probe::{self, Stage};
use crate::quota::{MessageBuf, ObjectCharge};
use crate::sched;
use crate::security;
use crate::sid::{ChannelId, EndpointId, ProcessId, ThreadId};
use crate::syscall::{CallArgs, RecvArgs, ReplyArgs};
use crate::task::{State, Tasks, TASKS};
use crate::time;
use crate::usercopy::{self, UserSlice};

/// Largest message the kernel carries unless the command line says otherwise
/// (`ostrog.max_message=BYTES`, from [`MIN_MAX_MESSAGE`] to [`MAX_MAX_MESSAGE`]).
static MAX_MESSAGE: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_MESSAGE);
/// Bounds of `ostrog.max_message`.
pub const MIN_MAX_MESSAGE: usize = 256;
pub const MAX_MAX_MESSAGE: usize = 1 << 20;

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
    pub sid: ChannelId,
    /// The client process it was made for: the channel goes away with it, and so do the
    /// handles to it that judged messages passed to others (they find `Disconnected`). Any
    /// holder of a handle with the call right may call; each call is judged with the
    /// holder as the source.
    pub owner: ProcessId,
    /// The endpoint it reaches.
    pub endpoint: EndpointId,
    /// A channel made at run time (`channel.Link`): its bytes charged to the client, and it
    /// goes when the last handle naming it is closed ([`free_unnamed_channel`]). `None`:
    /// a static channel (Einit's `channel.Connect`), which lasts as long as its client.
    pub charge: Option<ObjectCharge>,
}

/// A server's listening endpoint.
pub struct Endpoint {
    pub sid: EndpointId,
    /// The process that receives on it.
    pub owner: ProcessId,
    /// The channel name it was created for.
    pub name: String,
    /// Calls waiting to be received, oldest first. Each is charged to its caller, and a
    /// thread has at most one call in flight.
    pub queue: VecDeque<PendingCall>,
    /// Made at run time (`channel.Link`): its bytes charged to the server until it ends.
    pub charge: Option<ObjectCharge>,
}

/// A handle a message carries, as the kernel resolved it in the sender's table.
#[derive(Clone, Copy, Debug)]
pub struct CarriedHandle {
    pub object: Object,
    /// The rights the receiver gets, which are the rights the policy sees.
    pub rights: u32,
    /// The sender's handle number if the handle moves (in flight until delivered).
    pub moved: Option<u32>,
}

/// The handles of one message, in slot order (at most [`MAX_HANDLES`]; no heap).
#[derive(Clone, Copy, Debug, Default)]
pub struct Carried {
    slots: [Option<CarriedHandle>; MAX_HANDLES],
}

impl Carried {
    fn iter(&self) -> impl Iterator<Item = &CarriedHandle> {
        self.slots.iter().flatten()
    }

    fn len(&self) -> usize {
        self.iter().count()
    }

    /// What the security module sees of each handle: its object's SID and the rights.
    pub(crate) fn infos(&self) -> ([HandleInfo; MAX_HANDLES], usize) {
        let mut infos = [HandleInfo::default(); MAX_HANDLES];
        for (info, carried) in infos.iter_mut().zip(self.iter()) {
            *info = HandleInfo {
                sid: carried.object.sid().0,
                rights: carried.rights,
            };
        }
        (infos, self.len())
    }
}

/// A request waiting for a server thread; judged when one takes it.
pub struct PendingCall {
    pub id: u64,
    /// The calling thread, its process and class.
    pub caller: ThreadId,
    pub caller_process: ProcessId,
    pub caller_class: u32,
    /// The kernel's copy, header stamped, charged to the caller.
    pub message: MessageBuf,
    /// The handles its slots carry.
    pub handles: Carried,
    /// How large a response the caller can take.
    pub response_capacity: usize,
}

/// The call a server thread received and has not answered yet.
#[derive(Clone, Copy)]
pub struct Serving {
    pub id: u64,
    pub caller: ThreadId,
    pub caller_process: ProcessId,
    pub riid: u32,
    pub mid: u32,
    pub response_capacity: usize,
}

/// An answer left for a waiting caller.
pub enum Answer {
    /// The kernel's copy, for the caller to copy into its response buffer.
    Message(MessageBuf),
    /// Already in the caller's response buffer (the fast path, [`crate::fastpath`]): its
    /// length.
    Copied(usize),
}

/// A thread's IPC state.
#[derive(Default)]
pub struct ThreadIpc {
    /// The call this thread (as a client) waits on.
    pub awaiting: Option<u64>,
    /// The answer to it, left by `Reply` or by a refusal or cancellation.
    pub reply: Option<Result<Answer, Status>>,
    /// While it waits on `awaiting`: its response buffer, where the fast path copies the
    /// answer.
    pub response: Option<UserSlice>,
    /// The call this thread (as a server) must answer.
    pub serving: Option<Serving>,
    /// Its buffer in its latest `Recv`, where the fast path delivers a call while the
    /// thread waits there (in [`State::Receiving`]; at other times it is not looked at).
    pub receiving: Option<UserSlice>,
    /// A call the fast path delivered into `receiving`, for `Recv` to return: its length
    /// and the endpoint's handle.
    pub delivered: Option<(usize, usize)>,
    /// A message buffer kept from the last message this thread sent or received, reused
    /// for the next one so that the common path does not allocate.
    pub spare: Option<Vec<u8>>,
}

/// Buffers larger than this are not kept for reuse (a thread's spare stays small).
const SPARE_MAX: usize = 4096;

/// Keeps `buf` as the thread's spare buffer, if it is small and the thread has none.
fn recycle(tasks: &mut Tasks, thread: ThreadId, buf: MessageBuf) {
    let buf = buf.into_vec();
    if buf.capacity() <= SPARE_MAX {
        if let Some(t) = tasks.threads.get_mut(&thread) {
            if t.ipc.spare.is_none() {
                t.ipc.spare = Some(buf);
            }
        }
    }
}

static NEXT_CALL: AtomicU64 = AtomicU64::new(1);

// ---------------------------------------------------------------------------------------
// Step 2: copy.

/// Copies a message from user memory into a buffer charged to the sender's process, and
/// checks its header against its length.
fn copy_in(tasks: &mut Tasks, thread: ThreadId, src: UserSlice) -> Result<MessageBuf, Status> {
    let len = src.len();
    if !(HEADER_SIZE..=max_message()).contains(&len) {
        return Err(Status::InvalidArgument);
    }
    let spare = tasks
        .threads
        .get_mut(&thread)
        .and_then(|t| t.ipc.spare.take());
    let process = tasks.process_of(thread)?;
    let mut message = MessageBuf::zeroed(&process.quota, len, spare)?;
    usercopy::copy_from_user(&process.space, &mut message, src)?;
    check_header(&message)?;
    Ok(message)
}

/// The header of a message just copied in, checked against the message's length (the
/// checks the kernel needs to carry it; the security module validates the rest).
pub(crate) fn check_header(message: &[u8]) -> Result<Header, Status> {
    let wire = Reader::parse(message).map_err(|_| Status::InvalidArgument)?;
    let header = *wire.header();
    let well_sized =
        header.fixed_size % 8 == 0 && header.reserved == 0 && header.flags & !FLAG_ERROR == 0;
    if !well_sized {
        return Err(Status::InvalidArgument);
    }
    Ok(header)
}

/// Every handle slot of a message `copy_in` accepted (none of anything else).
fn slots(message: &[u8]) -> impl Iterator<Item = HandleSlot> + '_ {
    Reader::parse(message)
        .into_iter()
        .flat_map(|wire| wire.slots())
}

// ---------------------------------------------------------------------------------------
// Step 3: stamp.

/// Writes the sender's identity into the header; whatever the sender put there is lost.
pub(crate) fn stamp(message: &mut [u8], sender: ProcessId, class: u32) {
    Writer::new(message).stamp(class, sender.sid().0);
}

/// Where a message's handles go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Destination {
    /// To another process: each needs the transfer right, a copy the duplicate right, and
    /// the receiver gets the rights the sender chose to pass (never more than it has).
    Process,
    /// To the kernel, which acts on them in the sender's name with the rights they have in
    /// its table: nothing moves, and the policy sees exactly those rights.
    Kernel,
}

/// Resolves the handles a message carries in the sender's table: the objects, the rights
/// the receiver gets, and whether each moves. A handle that moves may appear in one slot
/// only (it cannot be both given away and kept, or given twice).
fn resolve_handles(
    table: &HandleTable,
    message: &[u8],
    destination: Destination,
) -> Result<Carried, Status> {
    let mut carried = Carried::default();
    for (i, slot) in slots(message).enumerate() {
        let (number, rights_and_mode) = (slot.handle, slot.rights_and_mode);
        let entry = table.get(number)?;
        let moves = match rights_and_mode >> 16 {
            m if m == HANDLE_COPY => false,
            m if m == HANDLE_MOVE => true,
            _ => return Err(Status::InvalidArgument),
        };
        let rights = match destination {
            Destination::Kernel => entry.rights,
            Destination::Process => {
                let needed = if moves {
                    RIGHT_TRANSFER
                } else {
                    RIGHT_TRANSFER | RIGHT_DUPLICATE
                };
                if entry.rights & needed != needed {
                    return Err(Status::AccessDenied);
                }
                entry.rights & rights_and_mode & 0xffff
            }
        };
        let moved = (moves && destination == Destination::Process).then_some(number);
        if moves && slots(message).filter(|s| s.handle == number).count() > 1 {
            return Err(Status::InvalidArgument);
        }
        let slot = carried.slots.get_mut(i).ok_or(Status::InvalidArgument)?;
        *slot = Some(CarriedHandle {
            object: entry.object,
            rights,
            moved,
        });
    }
    Ok(carried)
}

/// What becomes of the handles a message carries.
enum HandleMove<'m> {
    /// The message is queued: its moved handles are in flight, unusable by the sender.
    Hold,
    /// The message will not be delivered: its moved handles are the sender's again.
    GiveBack,
    /// The message is delivered to `receiver`: every handle is installed in its table, or
    /// none (`NoMemory` if the table has no room for all); the slots of `message` get the
    /// receiver's numbers, and moved handles leave the sender's table.
    Install {
        receiver: ProcessId,
        message: &'m mut [u8],
    },
}

/// Step 5 for handles, and the only place where a handle changes tables or its in-flight
/// mark: commits `step` for the handles `sender` put in a message.
fn commit_handles(
    tasks: &mut Tasks,
    sender: ProcessId,
    handles: &Carried,
    step: HandleMove<'_>,
) -> Result<(), Status> {
    let moved = handles.iter().filter_map(|c| c.moved);
    let (receiver, message) = match step {
        HandleMove::Hold | HandleMove::GiveBack => {
            let in_flight = matches!(step, HandleMove::Hold);
            if let Some(p) = tasks.processes.get_mut(&sender) {
                for number in moved {
                    p.handles.set_in_flight(number, in_flight);
                }
            }
            return Ok(());
        }
        HandleMove::Install { receiver, message } => (receiver, message),
    };
    let table = &mut tasks
        .processes
        .get_mut(&receiver)
        .ok_or(Status::Disconnected)?
        .handles;
    if table.room() < handles.len() {
        return Err(Status::NoMemory);
    }
    let count = slots(message).count();
    let mut numbers = [HandleSlot::default(); MAX_HANDLES];
    for (carried, out) in handles.iter().take(count).zip(numbers.iter_mut()) {
        let handle = table.insert(carried.object, carried.rights, None)?;
        *out = HandleSlot {
            handle,
            rights_and_mode: carried.rights,
        };
    }
    let mut writer = Writer::new(message);
    for (index, &slot) in numbers.iter().take(handles.len().min(count)).enumerate() {
        writer.set_slot(index, slot);
    }
    if let Some(sender) = tasks.processes.get_mut(&sender) {
        for number in moved {
            sender.handles.remove_moved(number);
        }
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
    Some(time::deadline_after_ms(timeout_ms as u64))
}

// ---------------------------------------------------------------------------------------
// Step 1: entry. The three system calls.

/// `Call(handle, request, request_len, response, response_capacity, timeout_ms)`.
pub fn call(me: ThreadId, args: CallArgs) -> Result<usize, Status> {
    let CallArgs {
        handle,
        request,
        response,
        timeout_ms,
    } = args;
    let answer = if handle == handle::CORE {
        call_kernel(me, request, response)
    } else if handle == handle::SECURITY {
        query_security(me, request)
    } else {
        call_server(me, handle, request, response, timeout_ms).and_then(|answer| match answer {
            Answer::Message(reply) => copy_out(me, response, reply),
            Answer::Copied(len) => Ok(len),
        })
    };
    answer.inspect_err(|e| audit_refused(me, handle, *e))
}

/// Copies an answer into the caller's response buffer; its length.
fn copy_out(me: ThreadId, response: UserSlice, reply: MessageBuf) -> Result<usize, Status> {
    let mut tasks = TASKS.lock();
    if reply.len() > response.len() {
        return Err(Status::BufferTooSmall);
    }
    let space = &tasks.process_of(me)?.space;
    usercopy::copy_to_user(space, response, &reply)?;
    let len = reply.len();
    recycle(&mut tasks, me, reply);
    probe::mark(Stage::CopyOut);
    Ok(len)
}

/// Audits a `Call` the kernel refused before the security module could judge it (the module
/// audits its own denials, `AccessDenied`).
fn audit_refused(me: ThreadId, handle: u32, status: Status) {
    if matches!(
        status,
        Status::BadHandle | Status::InvalidArgument | Status::BadAddress
    ) {
        let tasks = TASKS.lock();
        if let Ok(p) = tasks.process_of(me) {
            security::audit_refusal(&p.class, p.sid.sid().0, handle, status);
        }
    }
}

/// A request to the kernel's core endpoints: judged, served at once, the answer judged.
///
/// The response buffer is checked before the request is served, so that a response the
/// caller cannot take never skips its judgement. What the answer hands over (a handle, a
/// mapping, a thread, a consumed record: [`crate::core_endpoints::Handover`]) is held until the
/// answer is granted and fits; a denied answer undoes it, so the caller never holds what it
/// was not allowed to learn. What the request did without handing anything over is the
/// request's effect, decided when the request was judged.
fn call_kernel(me: ThreadId, request: UserSlice, response: UserSlice) -> Result<usize, Status> {
    let writable = response.prefix(max_message());
    usercopy::check(&TASKS.lock().process_of(me)?.space, writable, true)?;
    let (mut message, process, class) = judge_to_kernel(me, request, Sent::Request)?;
    // The kernel acts on the caller's handles in the caller's name: nothing is moved.
    let (answer, handover) = crate::core_endpoints::serve(me, process, &mut message);
    recycle(&mut TASKS.lock(), me, message);
    let delivered = judge_kernel_answer(me, (process, class), answer, response.len())
        .and_then(|reply| copy_out(me, response, reply));
    match delivered {
        Ok(len) => {
            handover.keep();
            Ok(len)
        }
        Err(e) => {
            handover.undo(process);
            Err(e)
        }
    }
}

/// The kernel's answer to `me`, judged: the reply the caller may take, or why not.
fn judge_kernel_answer(
    me: ThreadId,
    (process, class): (ProcessId, u32),
    answer: Result<Vec<u8>, Status>,
    capacity: usize,
) -> Result<MessageBuf, Status> {
    let tasks = TASKS.lock();
    // A thread that ended itself (`thread.Exit`, `task.Exit`) gets no answer.
    tasks.check_alive(me)?;
    let reply = MessageBuf::adopt(&tasks.process_of(me)?.quota, answer?)?;
    // The kernel put the caller's own handles in its answer.
    let table = &tasks.process_of(me)?.handles;
    let carried = resolve_handles(table, &reply, Destination::Kernel)?;
    drop(tasks);
    let verdict = judge(Judged::Message {
        sent: Sent::Answer,
        from: Party::kernel(),
        to: Party::process(process, class),
        message: &reply,
        handles: &carried,
    });
    if verdict == Verdict::Denied {
        return Err(Status::AccessDenied);
    }
    if reply.len() > capacity {
        return Err(Status::BufferTooSmall);
    }
    Ok(reply)
}

/// A `security` event: the process asks the security module about a message of its own
/// security interface. Nothing is delivered; the verdict is the answer.
fn query_security(me: ThreadId, request: UserSlice) -> Result<usize, Status> {
    let (message, ..) = judge_to_kernel(me, request, Sent::Query)?;
    recycle(&mut TASKS.lock(), me, message);
    Ok(0)
}

/// Steps 2 to 4 for a message to the kernel or the security module (`sent` is a request or
/// a query): copied, stamped, and judged with the kernel as destination. The handles it
/// carries stay the caller's: the kernel acts on them in the caller's name. Returns the
/// kernel's copy, the caller's process and class, or `AccessDenied`.
fn judge_to_kernel(
    me: ThreadId,
    request: UserSlice,
    sent: Sent,
) -> Result<(MessageBuf, ProcessId, u32), Status> {
    let mut tasks = TASKS.lock();
    let mut message = copy_in(&mut tasks, me, request)?;
    let p = tasks.process_of(me)?;
    let (process, class) = (p.sid, p.class_id);
    let carried = resolve_handles(&p.handles, &message, Destination::Kernel)?;
    if header(&message).flags & FLAG_ERROR != 0 {
        return Err(Status::InvalidArgument);
    }
    stamp(&mut message, process, class);
    let verdict = judge(Judged::Message {
        sent,
        from: Party::process(process, class),
        to: Party::kernel(),
        message: &message,
        handles: &carried,
    });
    match verdict {
        Verdict::Granted => Ok((message, process, class)),
        Verdict::Denied => Err(Status::AccessDenied),
    }
}

/// A request to a server: copied, stamped, queued on its endpoint with its moved handles in
/// flight, then wait for the answer (the verdict comes when a server thread takes it).
fn call_server(
    me: ThreadId,
    handle: u32,
    request: UserSlice,
    response: UserSlice,
    timeout_ms: usize,
) -> Result<Answer, Status> {
    let id = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
    {
        let mut tasks = TASKS.lock();
        probe::round_trip();
        // A call that does not wait at all is never delivered (the full path withdraws it
        // unjudged); every other one goes to a server thread already waiting if it can.
        let fast = if timeout_ms == 0 {
            None
        } else {
            crate::fastpath::call(&mut tasks, me, handle, id, request, response)
        };
        match fast {
            Some(delivered) => {
                delivered?;
                await_answer(&mut tasks, me, id, response);
            }
            None => queue_call(&mut tasks, me, handle, id, request, response)?,
        }
    }
    let deadline = timeout_deadline(timeout_ms);
    loop {
        {
            let mut tasks = TASKS.lock();
            let t = tasks.threads.get_mut(&me).ok_or(Status::NoSuchThread)?;
            if let Some(answer) = t.ipc.reply.take() {
                t.ipc.awaiting = None;
                t.ipc.response = None;
                return answer;
            }
            if deadline.is_some_and(|d| time::now_ns() >= d) || t.dying.is_some() {
                t.ipc.awaiting = None;
                t.ipc.response = None;
                cancel_call(&mut tasks, id);
                tasks.check_alive(me)?;
                return Err(Status::TimedOut);
            }
        }
        // Woken by the answer, the deadline, or the thread's end: all re-checked above.
        let _ = sched::block(State::Calling, deadline);
        probe::mark(Stage::Switch);
    }
}

/// The thread sending a message (a request, or the answer to call `id`), its process and
/// class, and the call's number.
pub(crate) struct Sender {
    pub thread: ThreadId,
    pub process: ProcessId,
    pub class: u32,
    pub id: u64,
}

/// Marks `me` as waiting for the answer to call `id`, to be put in `response`.
pub(crate) fn await_answer(tasks: &mut Tasks, me: ThreadId, id: u64, response: UserSlice) {
    if let Some(t) = tasks.threads.get_mut(&me) {
        t.ipc.awaiting = Some(id);
        t.ipc.reply = None;
        t.ipc.response = Some(response);
    }
}

/// The full path of a request to a server: copied into a kernel buffer, stamped, queued on
/// `endpoint` with its moved handles in flight, and the server's receivers woken.
fn queue_call(
    tasks: &mut Tasks,
    me: ThreadId,
    handle: u32,
    id: u64,
    request: UserSlice,
    response: UserSlice,
) -> Result<(), Status> {
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
    if tasks.processes.get(&server).is_none_or(|s| s.ended) {
        return Err(Status::Disconnected);
    }
    probe::mark(Stage::Lookup);
    let capacity = response.len();
    let mut message = copy_in(tasks, me, request)?;
    probe::mark(Stage::CopyIn);
    if header(&message).flags & FLAG_ERROR != 0 {
        return Err(Status::InvalidArgument);
    }
    let sender = &mut tasks
        .processes
        .get_mut(&process)
        .ok_or(Status::NoSuchThread)?
        .handles;
    let handles = resolve_handles(sender, &message, Destination::Process)?;
    stamp(&mut message, process, class);
    probe::mark(Stage::Validation);
    let queue = &mut tasks
        .endpoints
        .get_mut(&endpoint)
        .ok_or(Status::Disconnected)?
        .queue;
    queue.try_reserve(1).map_err(|_| Status::NoMemory)?;
    queue.push_back(PendingCall {
        id,
        caller: me,
        caller_process: process,
        caller_class: class,
        message,
        handles,
        response_capacity: capacity,
    });
    commit_handles(tasks, process, &handles, HandleMove::Hold)?;
    await_answer(tasks, me, id, response);
    wake_receivers(tasks, server, endpoint);
    probe::mark(Stage::Queue);
    Ok(())
}

/// Withdraws a call that is still queued (its caller gave up or ended): it was never judged,
/// and its moved handles are the caller's again.
fn cancel_call(tasks: &mut Tasks, id: u64) {
    let mut withdrawn = None;
    for e in tasks.endpoints.values_mut() {
        if let Some(at) = e.queue.iter().position(|c| c.id == id) {
            withdrawn = e.queue.remove(at);
            break;
        }
    }
    if let Some(call) = withdrawn {
        give_back(tasks, &call);
    }
}

/// A call that will not be delivered: its moved handles are its caller's again.
fn give_back(tasks: &mut Tasks, call: &PendingCall) {
    let _ = commit_handles(
        tasks,
        call.caller_process,
        &call.handles,
        HandleMove::GiveBack,
    );
}

/// Leaves `answer` for the thread waiting on call `id`, if it still waits, and wakes it;
/// false if nobody waits for it any more.
pub(crate) fn answer_caller(
    tasks: &mut Tasks,
    caller: ThreadId,
    id: u64,
    answer: Result<Answer, Status>,
) -> bool {
    match tasks.threads.get_mut(&caller) {
        Some(t) if t.ipc.awaiting == Some(id) => {
            t.ipc.reply = Some(answer);
            if t.state == State::Calling {
                t.state = State::Ready;
                sched::make_ready(caller, t.priority);
            }
            true
        }
        _ => false,
    }
}

/// A server thread ended without answering the call it received: its caller gets
/// `Disconnected`.
pub fn abandon(tasks: &mut Tasks, serving: Serving) {
    answer_caller(tasks, serving.caller, serving.id, Err(Status::Disconnected));
}

/// True if the thread waiting for call `id` still waits for it.
fn still_awaited(tasks: &Tasks, caller: ThreadId, id: u64) -> bool {
    tasks
        .threads
        .get(&caller)
        .is_some_and(|t| t.ipc.awaiting == Some(id) && t.dying.is_none())
}

/// Wakes the threads of `server` waiting in `Recv` on `endpoint` (or on any endpoint).
fn wake_receivers(tasks: &mut Tasks, server: ProcessId, endpoint: EndpointId) {
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
pub fn recv(me: ThreadId, args: RecvArgs) -> Result<(usize, usize), Status> {
    let RecvArgs {
        handle,
        buffer,
        timeout_ms,
    } = args;
    let deadline = timeout_deadline(timeout_ms);
    loop {
        let filter = {
            let mut tasks = TASKS.lock();
            let t = tasks
                .threads
                .get_mut(&me)
                .filter(|t| t.dying.is_none())
                .ok_or(Status::Disconnected)?;
            // Woken with a call the fast path delivered ([`crate::fastpath::call`]).
            if let Some(delivered) = t.ipc.delivered.take() {
                return Ok(delivered);
            }
            // Where a caller that finds this thread waiting puts its request.
            t.ipc.receiving = Some(buffer);
            let (busy, pid) = (t.ipc.serving.is_some(), t.process);
            let p = tasks.processes.get(&pid).ok_or(Status::NoSuchThread)?;
            let process = p.sid;
            let filter = if handle == handle::ANY {
                None
            } else {
                match p.handles.get_with(handle, RIGHT_RECV)?.object {
                    Object::Endpoint(sid) => Some(sid),
                    _ => return Err(Status::BadHandle),
                }
            };
            if busy {
                // One call at a time per thread: answer the last one first.
                return Err(Status::Busy);
            }
            probe::mark(Stage::Lookup);
            // Calls that are refused on delivery are answered, and the next one is tried.
            loop {
                let ready = tasks
                    .endpoints
                    .values()
                    .find(|e| {
                        e.owner == process
                            && filter.is_none_or(|f| f == e.sid)
                            && !e.queue.is_empty()
                    })
                    .map(|e| e.sid);
                let Some(endpoint) = ready else { break };
                if let Some(delivered) = deliver(&mut tasks, me, process, endpoint, buffer)? {
                    return Ok(delivered);
                }
            }
            // A notification the thread accepts ends the wait, as it ends futex.Wait and
            // time.Sleep ([`crate::notify`]): a server waits for calls and notices at once.
            if crate::notify::take_interrupt(&mut tasks, me) {
                return Err(Status::Interrupted);
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
            if deadline.is_some_and(|d| time::now_ns() >= d) {
                return Err(Status::TimedOut);
            }
            probe::mark(Stage::Lookup);
            filter
        };
        // Woken by a call, the deadline, or the thread's end: all re-checked above.
        let _ = sched::block(State::Receiving(filter), deadline);
        probe::mark(Stage::Switch);
    }
}

/// Steps 4 and 5 for a request: the oldest call on `endpoint` is judged and, if granted,
/// moves into the receiver's buffer, its handles into the receiver's table. `Ok(None)`: the
/// call was refused (denied, or the receiver has no room for its handles) and answered so;
/// the caller of `Recv` goes on with the next. A call larger than the receiver's buffer is
/// answered `BufferTooSmall` unjudged.
fn deliver(
    tasks: &mut Tasks,
    me: ThreadId,
    process: ProcessId,
    endpoint: EndpointId,
    buffer: UserSlice,
) -> Result<Option<(usize, usize)>, Status> {
    let capacity = buffer.len();
    let needed = tasks
        .endpoints
        .get(&endpoint)
        .and_then(|e| e.queue.front())
        .map_or(0, |c| c.message.len());
    // The buffer must be writable before a call is taken off the queue (the server's own
    // mistake: its `Recv` fails and the call stays queued).
    let server = tasks.process_of(me)?;
    let server_party = Party::process(server.sid, server.class_id);
    usercopy::check(&server.space, buffer.prefix(needed), true)?;
    let Some(mut call) = tasks
        .endpoints
        .get_mut(&endpoint)
        .and_then(|e| e.queue.pop_front())
    else {
        return Ok(None);
    };
    probe::mark(Stage::Queue);
    let room = tasks
        .processes
        .get(&process)
        .map_or(0, |p| p.handles.room());
    // Refusals before the event (nobody waits any more; larger than the server takes, the
    // caller's problem, not the server's; the server's table is full), then the verdict.
    let refusal = if !still_awaited(tasks, call.caller, call.id) {
        Some(Status::Disconnected)
    } else if needed > capacity {
        Some(Status::BufferTooSmall)
    } else if room < call.handles.len() {
        Some(Status::NoMemory)
    } else {
        let verdict = judge(Judged::Message {
            sent: Sent::Request,
            from: Party::process(call.caller_process, call.caller_class),
            to: server_party,
            message: &call.message,
            handles: &call.handles,
        });
        probe::mark(Stage::Decision);
        match verdict {
            Verdict::Granted => None,
            Verdict::Denied => Some(Status::AccessDenied),
        }
    };
    let moved = match refusal {
        Some(status) => Err(status),
        None => commit_handles(
            tasks,
            call.caller_process,
            &call.handles,
            HandleMove::Install {
                receiver: process,
                message: &mut call.message,
            },
        ),
    };
    if let Err(status) = moved {
        // Answered (if anyone waits) and given up; the receiver goes on with the next.
        give_back(tasks, &call);
        answer_caller(tasks, call.caller, call.id, Err(status));
        return Ok(None);
    }
    probe::mark(Stage::Validation);
    // Checked writable above, and nothing ran since.
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
    probe::mark(Stage::CopyOut);
    Ok(Some((len, endpoint_handle as usize)))
}

/// `Reply(handle, response, len)`: answers the call this thread received last.
pub fn reply(me: ThreadId, args: ReplyArgs) -> Result<usize, Status> {
    let ReplyArgs { handle, response } = args;
    let mut tasks = TASKS.lock();
    let thread = tasks.threads.get(&me).ok_or(Status::NoSuchThread)?;
    let (serving, pid) = (thread.ipc.serving, thread.process);
    if handle == handle::ANY && serving.is_none() {
        // Nothing received (the null system call): refused before anything else is looked up.
        return Err(Status::InvalidArgument);
    }
    let p = tasks.processes.get(&pid).ok_or(Status::NoSuchThread)?;
    let (process, class) = (p.sid, p.class_id);
    if handle != handle::ANY {
        match p.handles.get_with(handle, RIGHT_RECV)?.object {
            Object::Endpoint(_) => {}
            _ => return Err(Status::BadHandle),
        }
    }
    let serving = serving.ok_or(Status::InvalidArgument)?;
    probe::mark(Stage::Lookup);
    let server = Sender {
        thread: me,
        process,
        class,
        id: serving.id,
    };
    if let Some(answered) = crate::fastpath::reply(&mut tasks, &server, &serving, response) {
        return answered;
    }
    let mut message = copy_in(&mut tasks, me, response)?;
    probe::mark(Stage::CopyIn);
    let h = header(&message);
    if h.riid != serving.riid || h.mid != serving.mid {
        // A response answers its request's method, nothing else.
        return Err(Status::InvalidArgument);
    }
    if message.len() > serving.response_capacity {
        return Err(Status::BufferTooSmall);
    }
    let sender = &tasks.process_of(me)?.handles;
    let handles = resolve_handles(sender, &message, Destination::Process)?;
    stamp(&mut message, process, class);
    probe::mark(Stage::Validation);
    // The call is answered (or dropped) now, whatever happens next.
    if let Some(t) = tasks.threads.get_mut(&me) {
        t.ipc.serving = None;
    }
    let client = match tasks.processes.get(&serving.caller_process) {
        Some(c) if !c.ended && still_awaited(&tasks, serving.caller, serving.id) => {
            (c.sid, c.class_id)
        }
        // Nobody waits for it any more: no event, and the server keeps its handles.
        _ => return Err(Status::Disconnected),
    };
    let room = tasks
        .processes
        .get(&client.0)
        .map_or(0, |c| c.handles.room());
    probe::mark(Stage::Lookup);
    let refusal = if room < handles.len() {
        // Refused before the event: the client's table is full; the server keeps its
        // handles, the client learns why.
        Some(Status::NoMemory)
    } else {
        let verdict = judge(Judged::Message {
            sent: Sent::Answer,
            from: Party::process(process, class),
            to: Party::process(client.0, client.1),
            message: &message,
            handles: &handles,
        });
        probe::mark(Stage::Decision);
        (verdict == Verdict::Denied).then_some(Status::AccessDenied)
    };
    if let Some(status) = refusal {
        answer_caller(&mut tasks, serving.caller, serving.id, Err(status));
        return Err(status);
    }
    commit_handles(
        &mut tasks,
        process,
        &handles,
        HandleMove::Install {
            receiver: client.0,
            message: &mut message,
        },
    )?;
    answer_caller(
        &mut tasks,
        serving.caller,
        serving.id,
        Ok(Answer::Message(message)),
    );
    probe::mark(Stage::Queue);
    Ok(0)
}

// ---------------------------------------------------------------------------------------
// Channels and endpoints come and go with processes.

/// Connects `client` to `server` under channel `name`: a new channel for the client, and
/// the server's endpoint of that name (created on first use).
pub fn connect(
    tasks: &mut Tasks,
    client: ProcessId,
    server: ProcessId,
    name: &str,
    run_time: bool,
) -> Result<(), Status> {
    if client == server {
        return Err(Status::InvalidArgument);
    }
    let account = |p: ProcessId| tasks.processes.get(&p).map(|p| p.frames.id());
    let (Some(client_account), Some(server_account)) = (account(client), account(server)) else {
        return Err(Status::NotFound);
    };
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
    // A run-time channel's objects are charged before anything is made: the endpoint (if
    // new) to the server, the channel to the client.
    let charge = |account, bytes| {
        run_time
            .then(|| ObjectCharge::new(account, bytes))
            .transpose()
    };
    let endpoint_charge = match existing {
        Some(_) => None,
        None => charge(server_account, object_bytes::<Endpoint>(name))?,
    };
    let channel_charge = charge(client_account, object_bytes::<Channel>(name))?;
    let endpoint = match existing {
        Some(sid) => sid,
        None => {
            let sid = EndpointId::new();
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
                    charge: endpoint_charge,
                },
            );
            sid
        }
    };
    let channel = ChannelId::new();
    tasks
        .processes
        .get_mut(&client)
        .ok_or(Status::NotFound)?
        .handles
        .insert(
            Object::Channel(channel),
            RIGHT_CALL | RIGHT_TRANSFER | RIGHT_DUPLICATE,
            Some(String::from(name)),
        )?;
    tasks.channels.insert(
        channel,
        Channel {
            sid: channel,
            owner: client,
            endpoint,
            charge: channel_charge,
        },
    );
    Ok(())
}

/// What a run-time channel or endpoint named `name` takes of the kernel heap: the object,
/// its name and the handle that names it (the maps' own nodes are not counted).
fn object_bytes<T>(name: &str) -> usize {
    core::mem::size_of::<T>() + name.len() + core::mem::size_of::<crate::object::Entry>()
}

/// A handle to the run-time channel `channel` was closed: if no handle names it any more
/// (in any table, moved by a message or carried by a queued one), it goes, and its charge
/// with it; its server's receiving threads look again whether anyone can still call.
/// Static channels stay until their client ends.
pub fn free_unnamed_channel(tasks: &mut Tasks, channel: ChannelId) {
    if tasks
        .channels
        .get(&channel)
        .is_none_or(|c| c.charge.is_none())
    {
        return;
    }
    let object = Object::Channel(channel);
    let named = tasks
        .processes
        .values()
        .any(|p| p.handles.entries().any(|e| e.object == object))
        || tasks.endpoints.values().any(|e| {
            e.queue
                .iter()
                .any(|c| c.handles.iter().any(|h| h.object == object))
        });
    if !named {
        if let Some(c) = tasks.channels.remove(&channel) {
            if let Some(server) = tasks.endpoints.get(&c.endpoint).map(|e| e.owner) {
                wake_receivers(tasks, server, c.endpoint);
            }
        }
    }
}

/// Every thread waiting in `Recv` looks again (whether a call came, whether anyone can
/// still reach it).
fn wake_all_receivers(tasks: &mut Tasks) {
    let receivers: Vec<(ThreadId, u8)> = tasks
        .threads
        .values()
        .filter(|t| matches!(t.state, State::Receiving(_)))
        .map(|t| (t.sid, t.priority))
        .collect();
    for (sid, priority) in receivers {
        if let Some(t) = tasks.threads.get_mut(&sid) {
            t.state = State::Ready;
            sched::make_ready(sid, priority);
        }
    }
}

/// A process has ended: its endpoints and channels go away; every caller waiting on its
/// endpoints, or being served by one of its threads, gets [`Status::Disconnected`]; its own
/// queued calls are withdrawn; servers it was the last client of stop waiting.
pub fn process_ended(tasks: &mut Tasks, process: ProcessId) {
    tasks.channels.retain(|_, c| c.owner != process);
    wake_all_receivers(tasks);
    let owned: Vec<EndpointId> = tasks
        .endpoints
        .values()
        .filter(|e| e.owner == process)
        .map(|e| e.sid)
        .collect();
    let mut cancelled: Vec<(ThreadId, u64)> = Vec::new();
    for sid in owned {
        if let Some(e) = tasks.endpoints.remove(&sid) {
            for call in &e.queue {
                give_back(tasks, call);
                cancelled.push((call.caller, call.id));
            }
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
        answer_caller(tasks, caller, id, Err(Status::Disconnected));
    }
}
