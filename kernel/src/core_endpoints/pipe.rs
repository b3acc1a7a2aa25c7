//! `pipe`: a bounded byte ring between processes, with a read end and a write end as handles.
//!
//! A pipe's ring is [`RING_FRAMES`] frames (64 KiB, Linux's default pipe size), allocated at
//! `Create` and charged to the creating process's frame account, so how many pipes a process
//! can make is bounded by its memory limit (and its handle table): running out is `NoMemory`.
//! The pipe lives while any handle to either end exists in any process; it is freed (and its
//! frames with it) when the last one is closed or its holder has ended and been reaped.
//!
//! Ends are counted from the handle tables, not kept as counters, so every way a handle
//! comes or goes (duplicated, moved in a message, given to a child, closed, its process
//! ended) is counted right without bookkeeping at each place: a read end sees end of file
//! when no live process holds a write end, a write end a broken pipe (`Disconnected`) when
//! none holds a read end.
//!
//! A blocked reader or writer waits in [`State::Pipe`] of its pipe; a poller in
//! [`State::PipePoll`]. Every change to a pipe (data in or out, a handle closed, a process
//! ended) wakes that pipe's waiters and every poller, which look again: waiters are bounded
//! by threads, and a thread ended while it waits leaves nothing behind.
//!
//! What a `Read` takes is gone from the ring once the request is served, like any effect of
//! a granted request: a policy that then withholds the response loses those bytes for the
//! reader (a policy decides on the request, where it sees the handle and the count).

use alloc::vec::Vec;

use ostrog_abi::handle::{RIGHT_DUPLICATE, RIGHT_READ, RIGHT_TRANSFER, RIGHT_WRITE};
use ostrog_abi::Status;

use super::{code, Caller, Handover};
use crate::boot::PhysAddr;
use crate::idl::kl_core_pipe::{
    CreateError, CreateRequest, CreateResponse, PipeServer, PollError, PollRequest, PollResponse,
    ReadError, ReadRequest, ReadResponse, WriteError, WriteRequest, WriteResponse,
};
use crate::idl::spec_rt::Handle;
use crate::mm::{frame, PAGE_SIZE};
use crate::object::Object;
use crate::sid::PipeId;
use crate::task::{State, Tasks, TASKS};
use crate::{sched, time};

/// Frames of a pipe's ring.
pub const RING_FRAMES: usize = 16;
/// Bytes a pipe holds.
pub const CAPACITY: usize = RING_FRAMES * PAGE_SIZE;
/// Most bytes one `Read` or `Write` moves (`IoMax`, Linux's `PIPE_BUF`).
pub const IO_MAX: usize = 4096;
/// Most ends one `Poll` names.
pub const POLL_MAX: usize = 64;
/// `Read`/`Write` flag: do not wait.
const NONBLOCK: u32 = 1;
/// `timeout_ns` that waits as long as it takes.
const FOREVER: u64 = u64::MAX;

/// Readiness bits of `Poll`.
const READABLE: u8 = 1;
const WRITABLE: u8 = 2;
const CLOSED: u8 = 4;
const NOT_A_PIPE: u8 = 8;

/// A pipe: its ring, charged to its creator's account until freed.
pub struct Pipe {
    pub sid: PipeId,
    frames: Vec<PhysAddr>,
    /// Offset of the oldest byte in the ring.
    head: usize,
    /// Bytes held.
    len: usize,
}

impl Pipe {
    /// A pipe with an empty ring, its frames charged to the account charged now.
    fn new() -> Result<Pipe, Status> {
        let mut frames = Vec::new();
        frames
            .try_reserve_exact(RING_FRAMES)
            .map_err(|_| Status::NoMemory)?;
        for _ in 0..RING_FRAMES {
            match frame::alloc() {
                Some(f) => frames.push(f),
                None => {
                    for f in frames {
                        frame::free(f);
                    }
                    return Err(Status::NoMemory);
                }
            }
        }
        Ok(Pipe {
            sid: PipeId::new(),
            frames,
            head: 0,
            len: 0,
        })
    }

    /// Appends `data` (which fits).
    fn push(&mut self, data: &[u8]) {
        let mut at = (self.head + self.len) % CAPACITY;
        let mut rest = data;
        while !rest.is_empty() {
            let (page, offset) = (at / PAGE_SIZE, at % PAGE_SIZE);
            let n = rest.len().min(PAGE_SIZE - offset);
            if let Some(&f) = self.frames.get(page) {
                frame::with_contents(f, |bytes| {
                    if let (Some(to), Some(from)) =
                        (bytes.get_mut(offset..offset + n), rest.get(..n))
                    {
                        to.copy_from_slice(from);
                    }
                });
            }
            rest = rest.get(n..).unwrap_or(&[]);
            at = (at + n) % CAPACITY;
        }
        self.len += data.len();
    }

    /// Takes up to `max` of the oldest bytes.
    fn take(&mut self, max: usize) -> Vec<u8> {
        let count = max.min(self.len);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let (page, offset) = (self.head / PAGE_SIZE, self.head % PAGE_SIZE);
            let n = (count - out.len()).min(PAGE_SIZE - offset);
            if let Some(&f) = self.frames.get(page) {
                frame::with_contents(f, |bytes| {
                    out.extend_from_slice(bytes.get(offset..offset + n).unwrap_or(&[]));
                });
            }
            self.head = (self.head + n) % CAPACITY;
        }
        self.len -= count;
        if self.len == 0 {
            self.head = 0;
        }
        out
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        for f in self.frames.drain(..) {
            frame::free(f);
        }
    }
}

/// Whether a live process (not ended) holds an end of `pipe`: `(a read end, a write end)`.
fn ends(tasks: &Tasks, pipe: PipeId) -> (bool, bool) {
    let (mut readers, mut writers) = (false, false);
    for p in tasks.processes.values().filter(|p| !p.ended) {
        for e in p.handles.entries() {
            if let Object::Pipe { pipe: q, write } = e.object {
                if q == pipe {
                    match write {
                        true => writers = true,
                        false => readers = true,
                    }
                }
            }
        }
    }
    (readers, writers)
}

/// Wakes the threads waiting on `pipe` and every poller.
fn wake(tasks: &mut Tasks, pipe: Option<PipeId>) {
    for t in tasks.threads.values_mut() {
        let waiting = match t.state {
            State::Pipe(q) => pipe.is_none_or(|p| p == q),
            State::PipePoll => true,
            _ => false,
        };
        if waiting {
            t.state = State::Ready;
            sched::make_ready(t.sid, t.priority);
        }
    }
}

/// Wakes every thread waiting on any pipe (a process ended: its ends count no more).
pub fn wake_all(tasks: &mut Tasks) {
    if !tasks.pipes.is_empty() {
        wake(tasks, None);
    }
}

/// A handle to one end of a pipe was closed: its waiters look again, and the pipe goes if
/// no handle names it any more.
pub fn end_closed(tasks: &mut Tasks, pipe: PipeId) {
    wake(tasks, Some(pipe));
    free_unused(tasks);
}

/// Frees the pipes no handle names any more (in any process, ended or not: an ended
/// process's handles go when it is reaped).
pub fn free_unused(tasks: &mut Tasks) {
    let named: Vec<PipeId> = tasks
        .processes
        .values()
        .flat_map(|p| p.handles.entries())
        .filter_map(|e| match e.object {
            Object::Pipe { pipe, .. } => Some(pipe),
            _ => None,
        })
        .collect();
    tasks.pipes.retain(|sid, _| named.contains(sid));
}

/// The instant a wait of `ns` from now ends at ([`time::now_ns`]).
fn deadline(ns: u64) -> u64 {
    time::deadline_after_ns(ns)
}

impl Caller {
    /// The pipe handle `number` of the caller names: it must be the `write` end (or the read
    /// end) and carry `right`.
    fn pipe_end(
        &self,
        tasks: &Tasks,
        number: u32,
        write: bool,
        right: u32,
    ) -> Result<PipeId, Status> {
        let p = tasks
            .processes
            .get(&self.process)
            .ok_or(Status::NoSuchThread)?;
        let entry = p.handles.get(number)?;
        match entry.object {
            Object::Pipe { pipe, write: w } if w == write => {
                if entry.rights & right != right {
                    return Err(Status::AccessDenied);
                }
                Ok(pipe)
            }
            _ => Err(Status::BadHandle),
        }
    }

    /// Marks the calling thread waiting in `state`, under the task lock.
    fn pipe_wait(&self, tasks: &mut Tasks, state: State) -> Result<(), Status> {
        let t = tasks
            .threads
            .get_mut(&self.thread)
            .ok_or(Status::NoSuchThread)?;
        t.state = state;
        Ok(())
    }

    fn pipe_read(&mut self, r: &ReadRequest) -> Result<Vec<u8>, Status> {
        let max = (r.max as usize).min(IO_MAX);
        loop {
            {
                let mut tasks = TASKS.lock();
                let sid = self.pipe_end(&tasks, r.end.handle, false, RIGHT_READ)?;
                let (_, writers) = ends(&tasks, sid);
                let pipe = tasks.pipes.get_mut(&sid).ok_or(Status::BadHandle)?;
                if pipe.len > 0 || max == 0 {
                    let data = pipe.take(max);
                    wake(&mut tasks, Some(sid));
                    return Ok(data);
                }
                if !writers {
                    return Ok(Vec::new());
                }
                if r.flags & NONBLOCK != 0 {
                    return Err(Status::WouldBlock);
                }
                self.pipe_wait(&mut tasks, State::Pipe(sid))?;
            }
            sched::block_prepared(None)?;
        }
    }

    fn pipe_write(&mut self, r: &WriteRequest) -> Result<u32, Status> {
        if r.data.len() > IO_MAX {
            return Err(Status::InvalidArgument);
        }
        loop {
            {
                let mut tasks = TASKS.lock();
                let sid = self.pipe_end(&tasks, r.end.handle, true, RIGHT_WRITE)?;
                let (readers, _) = ends(&tasks, sid);
                if !readers {
                    return Err(Status::Disconnected);
                }
                let pipe = tasks.pipes.get_mut(&sid).ok_or(Status::BadHandle)?;
                // At most IoMax (PIPE_BUF) bytes: all or nothing, never split.
                if CAPACITY - pipe.len >= r.data.len() {
                    pipe.push(&r.data);
                    wake(&mut tasks, Some(sid));
                    return Ok(r.data.len() as u32);
                }
                if r.flags & NONBLOCK != 0 {
                    return Err(Status::WouldBlock);
                }
                self.pipe_wait(&mut tasks, State::Pipe(sid))?;
            }
            sched::block_prepared(None)?;
        }
    }

    /// The readiness byte of each handle in `numbers`.
    fn readiness(&self, tasks: &Tasks, numbers: &[u32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(numbers.len());
        let table = tasks.processes.get(&self.process).map(|p| &p.handles);
        for &n in numbers {
            let object = table.and_then(|t| t.get(n).ok()).map(|e| e.object);
            let Some(Object::Pipe { pipe, write }) = object else {
                out.push(NOT_A_PIPE);
                continue;
            };
            let Some(held) = tasks.pipes.get(&pipe).map(|p| p.len) else {
                out.push(NOT_A_PIPE);
                continue;
            };
            let (readers, writers) = ends(tasks, pipe);
            out.push(match write {
                false => (if held > 0 { READABLE } else { 0 }) | if writers { 0 } else { CLOSED },
                true => {
                    (if CAPACITY - held >= IO_MAX {
                        WRITABLE
                    } else {
                        0
                    }) | if readers { 0 } else { CLOSED }
                }
            });
        }
        out
    }

    fn pipe_poll(&mut self, r: &PollRequest) -> Result<Vec<u8>, Status> {
        if !r.ends.len().is_multiple_of(4) || r.ends.len() / 4 > POLL_MAX {
            return Err(Status::InvalidArgument);
        }
        let numbers: Vec<u32> = r
            .ends
            .chunks_exact(4)
            .map(|c| <[u8; 4]>::try_from(c).map_or(0, u32::from_le_bytes))
            .collect();
        let until = (r.timeout_ns != FOREVER && r.timeout_ns != 0).then(|| deadline(r.timeout_ns));
        loop {
            {
                let mut tasks = TASKS.lock();
                let ready = self.readiness(&tasks, &numbers);
                let timed_out = until.is_some_and(|at| time::now_ns() >= at);
                if ready.iter().any(|&b| b != 0) || r.timeout_ns == 0 || timed_out {
                    return Ok(ready);
                }
                self.pipe_wait(&mut tasks, State::PipePoll)?;
            }
            sched::block_prepared(until)?;
        }
    }
}

impl PipeServer for Caller {
    fn create(&mut self, _r: CreateRequest) -> Result<CreateResponse, CreateError> {
        (|| {
            // The ring is charged to the caller's account (set for the whole request).
            let pipe = Pipe::new()?;
            let sid = pipe.sid;
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            if p.handles.room() < 2 {
                return Err(Status::NoMemory);
            }
            let common = RIGHT_TRANSFER | RIGHT_DUPLICATE;
            let reader = p.handles.insert(
                Object::Pipe {
                    pipe: sid,
                    write: false,
                },
                common | RIGHT_READ,
                None,
            )?;
            let writer = match p.handles.insert(
                Object::Pipe {
                    pipe: sid,
                    write: true,
                },
                common | RIGHT_WRITE,
                None,
            ) {
                Ok(w) => w,
                Err(e) => {
                    let _ = p.handles.remove(reader);
                    return Err(e);
                }
            };
            tasks.pipes.insert(sid, pipe);
            self.handover = Handover::Handles(reader, writer);
            Ok(CreateResponse {
                reader: Handle {
                    handle: reader,
                    rights_and_mode: common | RIGHT_READ,
                },
                writer: Handle {
                    handle: writer,
                    rights_and_mode: common | RIGHT_WRITE,
                },
            })
        })()
        .map_err(|s| CreateError { status: code(s) })
    }

    fn read(&mut self, r: ReadRequest) -> Result<ReadResponse, ReadError> {
        self.pipe_read(&r)
            .map(|data| ReadResponse { data })
            .map_err(|s| ReadError { status: code(s) })
    }

    fn write(&mut self, r: WriteRequest) -> Result<WriteResponse, WriteError> {
        self.pipe_write(&r)
            .map(|written| WriteResponse { written })
            .map_err(|s| WriteError { status: code(s) })
    }

    fn poll(&mut self, r: PollRequest) -> Result<PollResponse, PollError> {
        self.pipe_poll(&r)
            .map(|ready| PollResponse { ready })
            .map_err(|s| PollError { status: code(s) })
    }
}
