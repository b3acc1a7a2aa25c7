//! The IPC fast path: a small request to a server thread already waiting in `Recv`, and the
//! server's answer to a caller still waiting in `Call`, each carried in one straight path.
//!
//! The full path ([`crate::ipc`]) copies every message into a heap buffer charged to its
//! sender, queues a request on its endpoint, wakes the server's receivers, and lets the
//! server thread that runs next take it off the queue, judge it and copy it out; an answer
//! waits in a heap buffer for its caller to copy it. For the common case that is all
//! bookkeeping around a few dozen bytes. Here the case is recognised first and carried
//! straight through:
//!
//! * [`call`]: the message is at most [`FAST_MAX`] bytes and carries no handle, the
//!   endpoint's queue is empty (nothing is overtaken), a thread of the server waits in
//!   `Recv` for this endpoint with a buffer large enough and writable, and the caller waits
//!   for the answer (a time-out of zero never does). The request is copied once into a
//!   buffer on the kernel stack (the kernel's copy: no heap, no quota charge, no queue),
//!   its header checked and stamped exactly as on the full path, judged by the security
//!   module on that copy ([`crate::judge::judge`], the same event the full path builds, IDL
//!   validation included), then copied into the server thread's buffer, and the thread is
//!   made ready with the call recorded as the one it serves;
//! * [`reply`]: the answer is at most [`FAST_MAX`] bytes, carries no handle, names the
//!   request's method, fits the caller's response buffer, which is writable, and the caller
//!   still waits. It is copied onto the kernel stack, checked, stamped, judged as on the full
//!   path and copied straight into the caller's response buffer.
//!
//! Complete mediation is the full path's: the bytes judged are the kernel's copy, which the
//! sender can no longer change, and the receiver gets exactly those bytes. Whatever is not
//! the common case is left untouched to the full path, which then does everything from the
//! start: a message it would refuse before the policy (bad length, bad header, an
//! unreadable buffer) is refused there, with the same status and the same audit line, so
//! the two cannot differ on what they refuse. A denial is the module's (audited by it) and
//! answered as the full path answers it: the caller gets `AccessDenied`, the server's
//! `Recv` goes on waiting; a denied answer leaves the caller with `AccessDenied` and tells
//! the server so. The scenario `the_ipc_fast_path_gives_what_the_full_path_gives` makes the
//! same calls both ways and compares.
//!
//! What is not on this path: a message with handles, a message larger than [`FAST_MAX`],
//! a request to a server with nothing waiting (or calls already queued), and every call to
//! the kernel or the security module.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ostrog_abi::handle::RIGHT_CALL;
use ostrog_abi::message::{FLAG_ERROR, HEADER_SIZE};
use ostrog_abi::Status;
use ostrog_ksm::Verdict;

use crate::ipc::{self, Answer, Carried, Sender, Serving};
use crate::judge::{judge, Judged, Party, Sent};
use crate::object::Object;
use crate::probe::{self, Stage};
use crate::sched;
use crate::sid::ThreadId;
use crate::task::{State, Tasks};
use crate::usercopy::{self, UserSlice};

/// Largest message the fast path carries: its kernel copy lives on the kernel stack.
pub const FAST_MAX: usize = 256;

/// Calls and answers judged on the fast path since boot (printed at power-off, read by the
/// scenario that compares the two paths).
static CALLS: AtomicU64 = AtomicU64::new(0);
static ANSWERS: AtomicU64 = AtomicU64::new(0);

/// Cleared by `ostrog.ipc_fast=off` on the kernel command line: every message takes the
/// full path (to compare the two, and to measure what the fast path saves).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the fast path off (boot time, from the command line).
pub fn disable() {
    ENABLED.store(false, Ordering::Relaxed);
}

/// How many calls and answers were judged on the fast path since boot.
pub fn taken() -> (u64, u64) {
    (
        CALLS.load(Ordering::Relaxed),
        ANSWERS.load(Ordering::Relaxed),
    )
}

/// Copies the message `src` (at most [`FAST_MAX`] bytes) into `copy`, checks its
/// header as the full path does, and returns the copy and its header; `None` if it is not a
/// message the fast path carries (the full path then refuses or carries it).
fn copy_small<'c>(
    copy: &'c mut [u8; FAST_MAX],
    space: &crate::arch::AddressSpace,
    src: UserSlice,
) -> Option<(&'c mut [u8], ostrog_abi::message::Header)> {
    let message = copy.get_mut(..src.len())?;
    usercopy::copy_from_user(space, message, src).ok()?;
    let header = ipc::check_header(message).ok()?;
    (header.handle_count == 0).then_some((message, header))
}

/// Call `id` of thread `me` through `handle`, delivered straight to a thread of the server
/// waiting in `Recv` if the call is the common case: `None` if it is not (nothing was done;
/// the caller takes the full path, which also refuses a handle that is not a channel),
/// `Some(Ok(()))` if the request was granted and delivered (the caller waits for the
/// answer), `Some(Err(AccessDenied))` if the policy denied it. Each object is looked up
/// once: the caller's thread and process, the channel, the endpoint, the server.
pub(crate) fn call(
    tasks: &mut Tasks,
    me: ThreadId,
    handle: u32,
    id: u64,
    request: UserSlice,
    response: UserSlice,
) -> Option<Result<(), Status>> {
    if !(HEADER_SIZE..=FAST_MAX).contains(&request.len()) || !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    let calling = tasks.processes.get(&tasks.threads.get(&me)?.process)?;
    let Object::Channel(channel) = calling.handles.get_with(handle, RIGHT_CALL).ok()?.object else {
        return None;
    };
    let endpoint = tasks.channels.get(&channel)?.endpoint;
    let e = tasks
        .endpoints
        .get(&endpoint)
        .filter(|e| e.queue.is_empty())?;
    let server = e.owner;
    let caller = Sender {
        thread: me,
        process: calling.sid,
        class: calling.class_id,
        id,
    };
    let p = tasks.processes.get(&server).filter(|p| !p.ended)?;
    let (receiver, buffer, priority) = p.threads.iter().find_map(|&sid| {
        let t = tasks.threads.get(&sid)?;
        let waiting = matches!(t.state, State::Receiving(f) if f.is_none_or(|f| f == endpoint));
        let free = t.dying.is_none() && t.ipc.serving.is_none() && t.ipc.delivered.is_none();
        (waiting && free).then_some((sid, t.ipc.receiving?, t.priority))
    })?;
    let client = &calling.space;
    probe::mark(Stage::Lookup);
    let mut copy = [0u8; FAST_MAX];
    let (message, header) = copy_small(&mut copy, client, request)?;
    let len = message.len();
    if header.flags & FLAG_ERROR != 0 || len > buffer.len() {
        return None;
    }
    let destination = usercopy::writable(&p.space, buffer.prefix(len)).ok()?;
    probe::mark(Stage::CopyIn);
    ipc::stamp(message, caller.process, caller.class);
    CALLS.fetch_add(1, Ordering::Relaxed);
    probe::mark(Stage::Validation);
    let verdict = judge(Judged::Message {
        sent: Sent::Request,
        from: Party::process(caller.process, caller.class),
        to: Party::process(server, p.class_id),
        message,
        handles: &Carried::default(),
    });
    probe::mark(Stage::Decision);
    if verdict == Verdict::Denied {
        return Some(Err(Status::AccessDenied));
    }
    if let Err(e) = destination.write(message) {
        return Some(Err(e));
    }
    let endpoint_handle = p.handles.find(Object::Endpoint(endpoint)).unwrap_or(0);
    probe::mark(Stage::CopyOut);
    let t = tasks.threads.get_mut(&receiver)?;
    t.ipc.receiving = None;
    t.ipc.delivered = Some((len, endpoint_handle as usize));
    t.ipc.serving = Some(Serving {
        id: caller.id,
        caller: caller.thread,
        caller_process: caller.process,
        riid: header.riid,
        mid: header.mid,
        response_capacity: response.len(),
    });
    t.state = State::Ready;
    sched::make_ready(receiver, priority);
    probe::mark(Stage::Queue);
    Some(Ok(()))
}

/// The answer of `server` to the call it serves, copied straight into the caller's response
/// buffer if it is the common case: `None` if it is not (nothing was done; the full path
/// answers), otherwise what `Reply` returns.
pub(crate) fn reply(
    tasks: &mut Tasks,
    server: &Sender,
    serving: &Serving,
    response: UserSlice,
) -> Option<Result<usize, Status>> {
    let len = response.len();
    let small = (HEADER_SIZE..=FAST_MAX.min(serving.response_capacity)).contains(&len);
    if !small || !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    // The caller still waits for this answer (as `ipc::still_awaited` asks).
    let buffer = tasks
        .threads
        .get(&serving.caller)
        .filter(|t| t.ipc.awaiting == Some(serving.id) && t.dying.is_none())?
        .ipc
        .response?;
    let client = tasks
        .processes
        .get(&serving.caller_process)
        .filter(|c| !c.ended)?;
    let destination = usercopy::writable(&client.space, buffer.prefix(len)).ok()?;
    let own = &tasks.processes.get(&server.process)?.space;
    let mut copy = [0u8; FAST_MAX];
    let (message, header) = copy_small(&mut copy, own, response)?;
    if header.riid != serving.riid || header.mid != serving.mid {
        return None;
    }
    probe::mark(Stage::CopyIn);
    ipc::stamp(message, server.process, server.class);
    ANSWERS.fetch_add(1, Ordering::Relaxed);
    probe::mark(Stage::Validation);
    let verdict = judge(Judged::Message {
        sent: Sent::Answer,
        from: Party::process(server.process, server.class),
        to: Party::process(client.sid, client.class_id),
        message,
        handles: &Carried::default(),
    });
    probe::mark(Stage::Decision);
    let answer = match verdict {
        Verdict::Denied => Err(Status::AccessDenied),
        Verdict::Granted => destination.write(message).map(|()| Answer::Copied(len)),
    };
    probe::mark(Stage::CopyOut);
    // The call is answered now, whatever the verdict.
    if let Some(t) = tasks.threads.get_mut(&server.thread) {
        t.ipc.serving = None;
    }
    let result = answer.as_ref().map(|_| 0).map_err(|e| *e);
    ipc::answer_caller(tasks, serving.caller, serving.id, answer);
    probe::mark(Stage::Queue);
    Some(result)
}
