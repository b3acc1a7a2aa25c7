//! `task`: processes. Creating one loads its executable from the ROMFS; starting one is the
//! `execute` event, judged by the security module like every other event.

use ostrog_abi::handle::{RIGHT_CONTROL, RIGHT_DUPLICATE, RIGHT_SIGNAL, RIGHT_TRANSFER};
use ostrog_abi::Status;
use ostrog_ksm::Verdict;

use super::{code, Caller, Handover};
use crate::idl::kl_core_task::{
    AcceptNotifyError, AcceptNotifyRequest, AcceptNotifyResponse, AliveError, AliveRequest,
    AliveResponse, NotifyExitError, NotifyExitRequest, NotifyExitResponse, ParentError,
    ParentRequest, ParentResponse, PendingError, PendingRequest, PendingResponse, SenderError,
    SenderRequest, SenderResponse, SignalError, SignalRequest, SignalResponse,
};
use crate::idl::kl_core_task::{
    ArgsError, ArgsRequest, ArgsResponse, CountError, CountRequest, CountResponse, CreateError,
    CreateRequest, CreateResponse, ExitError, ExitRequest, ExitResponse, InfoError, InfoRequest,
    InfoResponse, KillError, KillRequest, KillResponse, StartError as StartFailed, StartRequest,
    StartResponse, TaskServer, TrapEntryError, TrapEntryRequest, TrapEntryResponse, WaitError,
    WaitRequest, WaitResponse,
};
use crate::idl::kl_core_task::{CreateFromError, CreateFromRequest, CreateFromResponse};
use crate::idl::kl_core_task::{
    ForkError, ForkRequest, ForkResponse, GiveError, GiveRequest, GiveResponse, GivenError,
    GivenRequest, GivenResponse, MemoryUsageError, MemoryUsageRequest, MemoryUsageResponse,
    SetMemoryLimitError, SetMemoryLimitRequest, SetMemoryLimitResponse,
};
use crate::idl::spec_rt::Handle;
use crate::judge::{judge, Judged, Party};
use crate::mm::{frame, PAGE_SIZE};
use crate::notify;
use crate::object::Object;
use crate::program;
use crate::sched;
use crate::sid::ProcessId;
use crate::task::{State, DEFAULT_PRIORITY, EINIT_PRIORITY, TASKS};
use crate::usercopy::{copy_from_user, UserSlice};
use alloc::string::String;
use alloc::vec::Vec;

pub use crate::program::StartError;

/// Most handles given to one process before its start (`GiveMax`).
const GIVE_MAX: usize = 64;

/// Judges the `execute` event of `target` started by `initiator` and, if granted, lets its
/// threads run. A denied process is removed again.
pub fn execute(initiator: Party, target: ProcessId) -> Result<(), Status> {
    let (class, name) = {
        let tasks = TASKS.lock();
        let p = tasks.processes.get(&target).ok_or(Status::NotFound)?;
        if p.started || p.ended {
            return Err(Status::Busy);
        }
        (p.class_id, p.name.clone())
    };
    let verdict = judge(Judged::Execute {
        initiator,
        target: Party::process(target, class),
    });
    let mut tasks = TASKS.lock();
    if verdict == Verdict::Denied {
        println!("[kernel] start of {name} (sid {target}) denied by the security policy");
        tasks.kill_process(target, -1);
        return Err(Status::AccessDenied);
    }
    let threads = match tasks.processes.get_mut(&target) {
        Some(p) => {
            p.started = true;
            p.threads.clone()
        }
        None => return Err(Status::NotFound),
    };
    for t in threads {
        if let Some(thread) = tasks.threads.get_mut(&t) {
            if thread.state == State::Created {
                thread.state = State::Ready;
                sched::make_ready(t, thread.priority);
            }
        }
    }
    println!("[kernel] started {name} (sid {target})");
    Ok(())
}

/// Boot: the kernel's own `execute` event, then the initial programs (Einit, or those named
/// by `ostrog.start=`), each started by the kernel. Returns how many started.
pub fn start_kernel_and_einit(names: &[&str]) -> usize {
    let core = Party::kernel();
    let verdict = judge(Judged::Execute {
        initiator: core,
        target: core,
    });
    if verdict == Verdict::Denied {
        println!("[kernel] the security policy denies the kernel's own start; stopping");
        return 0;
    }
    let mut started = 0;
    for name in names {
        let class_id = crate::security::class_id(name).unwrap_or(u32::MAX);
        // Einit runs above the programs it starts, so that every process is created,
        // connected and started (every `execute` event judged, every model state the policy
        // sets up at a start in place) before any program runs.
        let priority = if *name == "Einit" {
            EINIT_PRIORITY
        } else {
            DEFAULT_PRIORITY
        };
        match program::create(name, name, name, class_id, priority) {
            Ok(sid) => {
                // The programs Einit starts are charged to their own accounts nested in
                // Einit's, limited by their init.yaml entries: Einit's own account bounds
                // nothing more.
                if *name == "Einit" {
                    set_unlimited(sid);
                }
                if execute(core, sid).is_ok() {
                    started += 1;
                }
            }
            Err(e) => println!("[kernel] cannot start {name}: {e}"),
        }
    }
    started
}

/// Lifts the frame limit of process `sid` (Einit's).
fn set_unlimited(sid: ProcessId) {
    if let Some(p) = TASKS.lock().processes.get(&sid) {
        crate::mm::frame::set_limit(p.frames.id(), crate::mm::frame::UNLIMITED);
    }
}

impl Caller {
    fn class_id(&self) -> u32 {
        TASKS
            .lock()
            .processes
            .get(&self.process)
            .map_or(u32::MAX, |p| p.class_id)
    }

    /// The process a task handle with the signal or the control right names.
    fn signal_handle(&self, number: u32) -> Result<ProcessId, Status> {
        self.with_handles(|table| {
            let entry = table.get(number)?;
            match entry.object {
                Object::Task(_) if entry.rights & (RIGHT_SIGNAL | RIGHT_CONTROL) == 0 => {
                    Err(Status::AccessDenied)
                }
                Object::Task(sid) => Ok(sid),
                _ => Err(Status::BadHandle),
            }
        })
    }

    fn task_handle(&self, number: u32) -> Result<ProcessId, Status> {
        self.with_handles(
            |table| match table.get_with(number, RIGHT_CONTROL)?.object {
                Object::Task(sid) => Ok(sid),
                _ => Err(Status::BadHandle),
            },
        )
    }
}

impl TaskServer for Caller {
    fn create(&mut self, r: CreateRequest) -> Result<CreateResponse, CreateError> {
        (|| {
            let (cls, class_id) = self.new_class(r.priority, &r.cls)?;
            let sid =
                program::create(&r.name, &cls, &r.path, class_id, r.priority).map_err(|e| {
                    println!("[kernel] cannot create {} from {}: {e}", r.name, r.path);
                    start_status(e)
                })?;
            self.hand_new_process(sid, r.args, r.env)
        })()
        .map_err(|s| CreateError { status: code(s) })
    }

    /// [`Self::create`] from an image in the caller's memory: copied into frames charged to
    /// the caller (a contiguous run, freed again before the answer), validated and loaded
    /// from that copy, so that the caller cannot change what is checked while it is loaded.
    fn create_from(&mut self, r: CreateFromRequest) -> Result<CreateFromResponse, CreateFromError> {
        (|| {
            let (cls, class_id) = self.new_class(r.priority, &r.cls)?;
            let size = usize::try_from(r.size).map_err(|_| Status::InvalidArgument)?;
            if size == 0 || size > IMAGE_MAX {
                return Err(Status::InvalidArgument);
            }
            let addr = usize::try_from(r.addr).map_err(|_| Status::InvalidArgument)?;
            let image = ImageCopy::take(self.process, addr, size)?;
            let sid = program::create_from(&r.name, &cls, image.bytes(), class_id, r.priority)
                .map_err(|e| {
                    println!("[kernel] cannot create {} from an image: {e}", r.name);
                    start_status(e)
                })?;
            drop(image);
            self.hand_new_process(sid, r.args, r.env)
                .map(|r| CreateFromResponse { task: r.task })
        })()
        .map_err(|s| CreateFromError { status: code(s) })
    }

    /// A copy of the caller ([`crate::fork`]), not started; a handle to it.
    fn fork(&mut self, r: ForkRequest) -> Result<ForkResponse, ForkError> {
        (|| {
            let as_usize = |v: u64| usize::try_from(v).map_err(|_| Status::InvalidArgument);
            let sid = crate::fork::fork(
                self.thread,
                as_usize(r.pc)?,
                as_usize(r.sp)?,
                as_usize(r.arg)?,
            )?;
            let mut tasks = TASKS.lock();
            let rights = RIGHT_CONTROL | RIGHT_TRANSFER | RIGHT_DUPLICATE;
            let inserted = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)
                .and_then(|caller| caller.handles.insert(Object::Task(sid), rights, None));
            match inserted {
                Ok(number) => {
                    self.handover = Handover::Handle(number);
                    Ok(ForkResponse {
                        task: Handle {
                            handle: number,
                            rights_and_mode: rights,
                        },
                        sid: sid.sid().0,
                    })
                }
                Err(e) => {
                    crate::fork::discard(&mut tasks, sid);
                    Err(e)
                }
            }
        })()
        .map_err(|s| ForkError { status: code(s) })
    }

    fn start(&mut self, r: StartRequest) -> Result<StartResponse, StartFailed> {
        (|| {
            let target = self.task_handle(r.task.handle)?;
            execute(Party::process(self.process, self.class_id()), target)?;
            Ok(StartResponse {})
        })()
        .map_err(|s| StartFailed { status: code(s) })
    }

    fn exit(&mut self, r: ExitRequest) -> Result<ExitResponse, ExitError> {
        {
            let mut tasks = TASKS.lock();
            if let Some(p) = tasks.processes.get(&self.process) {
                println!(
                    "[kernel] process {} (class {}) exited with status {}",
                    p.name, p.class, r.status
                );
            }
            tasks.kill_process(self.process, r.status as isize);
        }
        // Its threads exit on their way back to user mode, once what the kernel holds for
        // them is freed; the answer is never delivered.
        Err(ExitError {})
    }

    fn wait(&mut self, r: WaitRequest) -> Result<WaitResponse, WaitError> {
        let target = self
            .task_handle(r.task.handle)
            .map_err(|s| WaitError { status: code(s) })?;
        loop {
            {
                let tasks = TASKS.lock();
                if let Some(&status) = tasks.exits.get(&target) {
                    return Ok(WaitResponse {
                        code: status as i64,
                    });
                }
                match tasks.processes.get(&target) {
                    Some(p) if !p.ended => {}
                    // Ended so long ago that its status is no longer kept.
                    _ => {
                        return Err(WaitError {
                            status: code(Status::NotFound),
                        })
                    }
                }
                if target == self.process {
                    return Err(WaitError {
                        status: code(Status::Deadlock),
                    });
                }
            }
            sched::block_current(State::Waiting(target), None)
                .map_err(|s| WaitError { status: code(s) })?;
        }
    }

    fn info(&mut self, _r: InfoRequest) -> Result<InfoResponse, InfoError> {
        Ok(InfoResponse {
            sid: self.process.sid().0,
            cls: self.class_id(),
        })
    }

    fn count(&mut self, _r: CountRequest) -> Result<CountResponse, CountError> {
        let live = TASKS.lock().live_processes();
        Ok(CountResponse {
            live: u32::try_from(live).unwrap_or(u32::MAX),
        })
    }

    /// Whether the process `sid` names exists and has not ended: any SID is a valid
    /// question (of no process, of a thread, 0, the caller's own), answered from the
    /// process table without allocating.
    fn alive(&mut self, r: AliveRequest) -> Result<AliveResponse, AliveError> {
        let tasks = TASKS.lock();
        let live = tasks
            .processes
            .get(&ProcessId::named(r.sid))
            .is_some_and(|p| !p.ended);
        Ok(AliveResponse {
            live: u32::from(live),
        })
    }

    /// Sets where the caller's foreign system calls are delivered ([`crate::trap_redirect`]).
    fn trap_entry(&mut self, r: TrapEntryRequest) -> Result<TrapEntryResponse, TrapEntryError> {
        let user = ostrog_abi::layout::USER_MIN as u64..ostrog_abi::layout::USER_END as u64;
        if r.entry != 0 && !user.contains(&r.entry) {
            return Err(TrapEntryError {
                status: code(Status::InvalidArgument),
            });
        }
        let mut tasks = TASKS.lock();
        match tasks.processes.get_mut(&self.process) {
            Some(p) => {
                p.trap_entry = r.entry as usize;
                Ok(TrapEntryResponse {})
            }
            None => Err(TrapEntryError {
                status: code(Status::NoSuchThread),
            }),
        }
    }

    fn kill(&mut self, r: KillRequest) -> Result<KillResponse, KillError> {
        let target = self
            .task_handle(r.task.handle)
            .map_err(|s| KillError { status: code(s) })?;
        // A process ends itself with `Exit` (whose answer is never sent).
        if target == self.process {
            return Err(KillError {
                status: code(Status::Deadlock),
            });
        }
        let mut tasks = TASKS.lock();
        let (name, class) = match tasks.processes.get(&target) {
            Some(p) if !p.ended => (p.name.clone(), p.class.clone()),
            _ => {
                return Err(KillError {
                    status: code(Status::Busy),
                })
            }
        };
        println!(
            "[kernel] process {name} (class {class}) ended by sid {} with status {}",
            self.process.sid().0,
            r.code
        );
        tasks.kill_process(target, r.code as isize);
        Ok(KillResponse {})
    }

    fn args(&mut self, _r: ArgsRequest) -> Result<ArgsResponse, ArgsError> {
        let tasks = TASKS.lock();
        match tasks.processes.get(&self.process) {
            Some(p) => Ok(ArgsResponse {
                args: p.args.clone(),
                env: p.env.clone(),
            }),
            None => Err(ArgsError {
                status: code(Status::NoSuchThread),
            }),
        }
    }

    fn give(&mut self, r: GiveRequest) -> Result<GiveResponse, GiveError> {
        (|| {
            let target = self.task_handle(r.task.handle)?;
            let mut tasks = TASKS.lock();
            let entry = tasks
                .processes
                .get(&self.process)
                .ok_or(Status::NoSuchThread)?
                .handles
                .get_with(r.h.handle, RIGHT_DUPLICATE)?
                .clone();
            let p = tasks.processes.get_mut(&target).ok_or(Status::NotFound)?;
            if p.started || p.ended {
                return Err(Status::Busy);
            }
            if p.given.len() >= GIVE_MAX {
                return Err(Status::NoMemory);
            }
            p.given.try_reserve(1).map_err(|_| Status::NoMemory)?;
            let number = p.handles.insert(entry.object, entry.rights, None)?;
            p.given.push((r.label, number));
            Ok(GiveResponse { number })
        })()
        .map_err(|s| GiveError { status: code(s) })
    }

    fn given(&mut self, _r: GivenRequest) -> Result<GivenResponse, GivenError> {
        let tasks = TASKS.lock();
        match tasks.processes.get(&self.process) {
            Some(p) => Ok(GivenResponse {
                given: p
                    .given
                    .iter()
                    .flat_map(|&(label, number)| {
                        label.to_le_bytes().into_iter().chain(number.to_le_bytes())
                    })
                    .collect(),
            }),
            None => Err(GivenError {
                status: code(Status::NoSuchThread),
            }),
        }
    }

    fn set_memory_limit(
        &mut self,
        r: SetMemoryLimitRequest,
    ) -> Result<SetMemoryLimitResponse, SetMemoryLimitError> {
        (|| {
            let target = self.task_handle(r.task.handle)?;
            let pages = usize::try_from(r.bytes)
                .map_err(|_| Status::InvalidArgument)?
                .div_ceil(PAGE_SIZE) as u64;
            let tasks = TASKS.lock();
            let mine = tasks
                .processes
                .get(&self.process)
                .ok_or(Status::NoSuchThread)?
                .frames
                .id();
            let p = tasks.processes.get(&target).ok_or(Status::NotFound)?;
            if p.started || p.ended {
                return Err(Status::Busy);
            }
            let (_, own_limit) = frame::usage(mine);
            if pages > own_limit {
                return Err(Status::InvalidArgument);
            }
            let (used, _) = frame::usage(p.frames.id());
            if used > pages {
                return Err(Status::NoMemory);
            }
            frame::set_limit(p.frames.id(), pages);
            Ok(SetMemoryLimitResponse {})
        })()
        .map_err(|s| SetMemoryLimitError { status: code(s) })
    }

    fn memory_usage(
        &mut self,
        _: MemoryUsageRequest,
    ) -> Result<MemoryUsageResponse, MemoryUsageError> {
        let tasks = TASKS.lock();
        let p = tasks.processes.get(&self.process).ok_or(MemoryUsageError {
            status: code(Status::NoSuchThread),
        })?;
        let (used, limit) = frame::usage(p.frames.id());
        let bytes = |pages: u64| pages.saturating_mul(PAGE_SIZE as u64);
        Ok(MemoryUsageResponse {
            used: bytes(used),
            limit: bytes(limit),
        })
    }

    fn signal(&mut self, r: SignalRequest) -> Result<SignalResponse, SignalError> {
        (|| {
            let target = self.signal_handle(r.task.handle)?;
            notify::mask_of(r.bit).ok_or(Status::InvalidArgument)?;
            let mut tasks = TASKS.lock();
            if !notify::post(&mut tasks, target, r.bit, self.process) {
                return Err(Status::Busy);
            }
            Ok(SignalResponse {})
        })()
        .map_err(|s| SignalError { status: code(s) })
    }

    fn pending(&mut self, _r: PendingRequest) -> Result<PendingResponse, PendingError> {
        let mut tasks = TASKS.lock();
        let p = tasks.processes.get_mut(&self.process).ok_or(PendingError {
            status: code(Status::NoSuchThread),
        })?;
        let bits = core::mem::take(&mut p.notify.pending);
        notify::recheck_work(&tasks);
        Ok(PendingResponse { bits })
    }

    fn sender(&mut self, r: SenderRequest) -> Result<SenderResponse, SenderError> {
        (|| {
            notify::mask_of(r.bit).ok_or(Status::InvalidArgument)?;
            let tasks = TASKS.lock();
            let p = tasks
                .processes
                .get(&self.process)
                .ok_or(Status::NoSuchThread)?;
            Ok(SenderResponse {
                sid: p
                    .notify
                    .senders
                    .get((r.bit - 1) as usize)
                    .copied()
                    .unwrap_or(0),
            })
        })()
        .map_err(|s| SenderError { status: code(s) })
    }

    fn accept_notify(
        &mut self,
        r: AcceptNotifyRequest,
    ) -> Result<AcceptNotifyResponse, AcceptNotifyError> {
        let mut tasks = TASKS.lock();
        let t = tasks
            .threads
            .get_mut(&self.thread)
            .ok_or(AcceptNotifyError {
                status: code(Status::NoSuchThread),
            })?;
        t.notify_mask = r.mask;
        notify::mark_work();
        Ok(AcceptNotifyResponse {})
    }

    fn notify_exit(&mut self, r: NotifyExitRequest) -> Result<NotifyExitResponse, NotifyExitError> {
        (|| {
            let target = self.task_handle(r.task.handle)?;
            if r.bit != 0 {
                notify::mask_of(r.bit).ok_or(Status::InvalidArgument)?;
            }
            let mut tasks = TASKS.lock();
            match tasks.processes.get_mut(&target) {
                Some(p) if !p.ended => {
                    p.notify.on_exit = (r.bit != 0).then_some((self.process, r.bit));
                    Ok(NotifyExitResponse {})
                }
                _ => Err(Status::Busy),
            }
        })()
        .map_err(|s| NotifyExitError { status: code(s) })
    }

    fn parent(&mut self, _r: ParentRequest) -> Result<ParentResponse, ParentError> {
        (|| {
            let mut tasks = TASKS.lock();
            let creator = tasks
                .processes
                .get(&self.process)
                .ok_or(Status::NoSuchThread)?
                .notify
                .creator
                .ok_or(Status::NotFound)?;
            if tasks.processes.get(&creator).is_none_or(|p| p.ended) {
                return Err(Status::NotFound);
            }
            let me = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            let number = me
                .handles
                .insert(Object::Task(creator), RIGHT_SIGNAL, None)?;
            self.handover = Handover::Handle(number);
            Ok(ParentResponse {
                parent: Handle {
                    handle: number,
                    rights_and_mode: RIGHT_SIGNAL,
                },
            })
        })()
        .map_err(|s| ParentError { status: code(s) })
    }
}

/// Most bytes of an image `task.CreateFrom` loads (`ImageMax`).
const IMAGE_MAX: usize = 32 << 20;

fn start_status(e: StartError) -> Status {
    match e {
        StartError::NotFound => Status::NotFound,
        StartError::OutOfMemory => Status::NoMemory,
        _ => Status::InvalidArgument,
    }
}

impl Caller {
    /// The class of a process the caller creates with ceiling `priority` and class `cls`
    /// (empty: the caller's own), with its number in the security module.
    fn new_class(&self, priority: u8, cls: &str) -> Result<(String, u32), Status> {
        // A process runs below its creator, so that the creator sets it up (channels,
        // start) before it can run, as Einit does, and no program gains a priority by
        // having another created.
        let tasks = TASKS.lock();
        let caller = tasks
            .processes
            .get(&self.process)
            .ok_or(Status::NoSuchThread)?;
        if priority >= caller.ceiling {
            return Err(Status::AboveCeiling);
        }
        // An empty class is the caller's own (the Linux personality's `execve`: the new
        // program runs as the class of the one that started it).
        let cls = match cls.is_empty() {
            true => caller.class.clone(),
            false => String::from(cls),
        };
        drop(tasks);
        // A class the policy does not know could never be started: refuse it now.
        let class_id = crate::security::class_id(&cls).ok_or(Status::NotFound)?;
        Ok((cls, class_id))
    }

    /// Gives a process just created for the caller its arguments and environment, and the
    /// caller a handle to it (the answer's handover); ends it if the handle does not fit.
    fn hand_new_process(
        &mut self,
        sid: ProcessId,
        args: Vec<u8>,
        env: Vec<u8>,
    ) -> Result<CreateResponse, Status> {
        let mut tasks = TASKS.lock();
        if let Some(p) = tasks.processes.get_mut(&sid) {
            p.args = args;
            p.env = env;
            p.notify.creator = Some(self.process);
        }
        let rights = RIGHT_CONTROL | RIGHT_SIGNAL | RIGHT_TRANSFER | RIGHT_DUPLICATE;
        let caller = tasks
            .processes
            .get_mut(&self.process)
            .ok_or(Status::NoSuchThread)?;
        match caller.handles.insert(Object::Task(sid), rights, None) {
            Ok(number) => {
                self.handover = Handover::Handle(number);
                Ok(CreateResponse {
                    task: Handle {
                        handle: number,
                        rights_and_mode: rights,
                    },
                })
            }
            Err(e) => {
                tasks.kill_process(sid, -1);
                Err(e)
            }
        }
    }
}

/// The kernel's copy of an executable image read from a process's memory: a run of frames
/// charged to that process, freed when dropped.
struct ImageCopy {
    start: crate::boot::PhysAddr,
    frames: usize,
    size: usize,
}

impl ImageCopy {
    fn take(process: ProcessId, addr: usize, size: usize) -> Result<ImageCopy, Status> {
        let frames = size.div_ceil(PAGE_SIZE);
        let start = frame::alloc_contiguous(frames, 1).ok_or(Status::NoMemory)?;
        let copy = ImageCopy {
            start,
            frames,
            size,
        };
        let tasks = TASKS.lock();
        let p = tasks.processes.get(&process).ok_or(Status::NoSuchThread)?;
        // SAFETY: the run was just allocated for this copy alone and lies in RAM, which
        // the direct map covers; the slice lives only for this copy.
        let bytes =
            unsafe { core::slice::from_raw_parts_mut(crate::arch::phys_to_virt(start), size) };
        copy_from_user(&p.space, bytes, UserSlice::new(addr, size))?;
        Ok(copy)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the run is held by this copy (allocated in `take`, freed in `drop`), was
        // filled by `take`, and nothing writes it while the copy lives.
        unsafe { core::slice::from_raw_parts(crate::arch::phys_to_virt(self.start), self.size) }
    }
}

impl Drop for ImageCopy {
    fn drop(&mut self) {
        for i in 0..self.frames {
            frame::free(crate::boot::PhysAddr(self.start.0 + (i * PAGE_SIZE) as u64));
        }
    }
}
