//! `thread`: threads of the calling process, each at most at its process's priority
//! ceiling.

use ostrog_abi::Status;

use super::{code, Caller, Handover};
use crate::idl::kl_core_thread::{
    CreateError, CreateRequest, CreateResponse, ExitError, ExitRequest, ExitResponse, JoinError,
    JoinRequest, JoinResponse, ThreadServer, YieldError, YieldRequest, YieldResponse,
};
use crate::sched;
use crate::sid::ThreadId;
use crate::task::{State, TASKS};
use crate::usercopy::{self, UserSlice};

impl Caller {
    fn create_thread(
        &self,
        entry: usize,
        stack: usize,
        arg: usize,
        prio: u8,
    ) -> Result<ThreadId, Status> {
        if !stack.is_multiple_of(16) {
            return Err(Status::InvalidArgument);
        }
        let mut tasks = TASKS.lock();
        {
            let process = tasks
                .processes
                .get(&self.process)
                .ok_or(Status::NoSuchThread)?;
            // No thread runs above its process's ceiling: a program cannot starve the
            // system (Einit included) by asking for a high priority.
            if prio > process.ceiling {
                return Err(Status::AboveCeiling);
            }
            let space = &process.space;
            match space.translate(entry) {
                Some((_, access)) if access.execute => {}
                _ => return Err(Status::BadAddress),
            }
            // The top of the new stack must be writable user memory.
            let below = stack.checked_sub(16).ok_or(Status::BadAddress)?;
            usercopy::check(space, UserSlice::new(below, 16), true)?;
        }
        // It runs once the answer naming it is delivered (see `Handover`).
        tasks.create_waiting_thread(self.process, entry, stack, arg, prio)
    }

    fn join_thread(&self, target: ThreadId) -> Result<isize, Status> {
        if target == self.thread {
            return Err(Status::Deadlock);
        }
        loop {
            {
                let tasks = TASKS.lock();
                let state = match tasks.threads.get(&target) {
                    Some(t) if t.process == self.process && !t.joined => t.state,
                    _ => return Err(Status::NoSuchThread),
                };
                if let State::Exited(status) = state {
                    // The record is consumed once the answer is delivered: then a second
                    // join finds nothing.
                    return Ok(status);
                }
            }
            sched::block_current(State::Joining(target), None)?;
        }
    }
}

fn to_usize(v: u64) -> Result<usize, Status> {
    usize::try_from(v).map_err(|_| Status::InvalidArgument)
}

impl ThreadServer for Caller {
    fn create(&mut self, r: CreateRequest) -> Result<CreateResponse, CreateError> {
        (|| {
            let sid = self.create_thread(
                to_usize(r.entry)?,
                to_usize(r.stack)?,
                to_usize(r.arg)?,
                r.priority,
            )?;
            self.handover = Handover::Thread(sid);
            Ok(CreateResponse { tid: sid.sid().0 })
        })()
        .map_err(|s| CreateError { status: code(s) })
    }

    fn exit(&mut self, r: ExitRequest) -> Result<ExitResponse, ExitError> {
        // The thread exits on its way back to user mode, once this request is freed; the
        // answer is never delivered.
        TASKS.lock().exit_thread(self.thread, r.status as isize);
        Err(ExitError {})
    }

    fn join(&mut self, r: JoinRequest) -> Result<JoinResponse, JoinError> {
        let target = ThreadId::named(r.tid);
        self.join_thread(target)
            .map(|status| {
                self.handover = Handover::Joined(target);
                JoinResponse {
                    code: status as i64,
                }
            })
            .map_err(|s| JoinError { status: code(s) })
    }

    fn r#yield(&mut self, _r: YieldRequest) -> Result<YieldResponse, YieldError> {
        sched::yield_now();
        Ok(YieldResponse {})
    }
}
