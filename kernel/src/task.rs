//! Processes and threads.
//!
//! A **process** is an address space, a handle table, a SID, and the class it was started as
//! (its EDL name). A **thread** runs in a process: its own kernel stack, its saved kernel
//! context, a priority, and a state. All of them live in one table ([`Tasks`]) guarded by one
//! lock; the kernel runs on one CPU with interrupts disabled, so the lock is never contended,
//! it only proves to the compiler that nothing is shared by accident.
//!
//! Lifetimes: a thread that exits keeps its record (exit status, for `join`) until it is
//! joined or its process ends; its kernel stack is freed by the scheduler once another thread
//! runs ("reaping"). A process ends when its last thread exits or when it faults; its address
//! space is freed when the last of its threads has been reaped.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use ostrog_abi::Status;
use spin::Mutex;

use crate::arch::{self, AddressSpace};
use crate::ipc::{Channel, Endpoint};
use crate::mm::kstack::KernelStack;
use crate::object::HandleTable;
use crate::sched;
use crate::sid::{ChannelId, EndpointId, ProcessId, ThreadId};

/// Thread priorities: 0 (lowest) to `MAX_PRIORITY` (see [`ostrog_abi::priority`]).
pub const PRIORITIES: usize = MAX_PRIORITY as usize + 1;
pub const MAX_PRIORITY: u8 = ostrog_abi::priority::MAX;
/// Ceiling (and main thread's priority) of a process the kernel starts other than Einit.
pub const DEFAULT_PRIORITY: u8 = ostrog_abi::priority::DEFAULT;
/// Priority of Einit: above the programs it starts (see `core_endpoints::task`).
pub const EINIT_PRIORITY: u8 = ostrog_abi::priority::EINIT;
/// Kernel stack of every thread.
pub const KERNEL_STACK_PAGES: usize = 4;
/// Exit statuses kept for `task.Wait` after their processes are gone.
pub const EXIT_RECORDS: usize = 256;
/// Threads one process may have at a time (a process must not exhaust the kernel's memory).
pub const MAX_THREADS_PER_PROCESS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Ready,
    Running,
    /// Waiting for the thread with this SID to exit.
    Joining(ThreadId),
    /// Waiting for the process with this SID to end (`task.Wait`).
    Waiting(ProcessId),
    /// Sleeping until this instant ([`crate::time::now_ns`]).
    Sleeping(u64),
    /// Blocked in `Call`, waiting for the reply.
    Calling,
    /// Blocked in `Recv` on this endpoint (or any endpoint of the process).
    Receiving(Option<EndpointId>),
    /// Waiting on the futex at this user address of its process (`futex.Wait`).
    Futex(usize),
    /// Waiting for data in, room in, or an end closed of this pipe (`pipe.Read`, `Write`).
    Pipe(crate::sid::PipeId),
    /// Waiting for any pipe to change (`pipe.Poll`).
    PipePoll,
    /// Waiting for console input (`console.Read`, `console.Poll`), with its place in the
    /// queue of readers ([`crate::console_input`]).
    ConsoleRead(u64),
    /// Created but not started yet (its process waits for `task.Start`).
    Created,
    Exited(isize),
}

pub struct Thread {
    pub sid: ThreadId,
    pub process: ProcessId,
    pub priority: u8,
    pub state: State,
    /// Kernel stack, between guard pages (None once reaped).
    pub kstack: Option<KernelStack>,
    /// Saved kernel stack pointer while not running.
    pub saved_sp: usize,
    /// Its FP/SIMD and other user registers outside the trap frame, while not running.
    pub extended: arch::ExtendedState,
    /// Set when another thread has collected the exit status.
    pub joined: bool,
    /// Its IPC state (calls waited on, the call it serves).
    pub ipc: crate::ipc::ThreadIpc,
    /// Set when the thread was ended while in the kernel: it exits with this status on its
    /// way back to user mode.
    pub dying: Option<isize>,
    /// Set by `futex.Wake` when it wakes this thread from [`State::Futex`] (a wait that
    /// ends otherwise timed out or was cut short).
    pub futex_woken: bool,
    /// Set when the thread resumed a frame (`Reply(RESUME)`) and cleared when a foreign
    /// system call or a fault is delivered to its trap entry: only a fault of such a thread
    /// is delivered ([`crate::trap_redirect::deliver_fault`]); a fault of the trap entry's
    /// own code (or before the first resume) ends the process, so faults cannot loop.
    pub resumed: bool,
    /// Where a fault frame goes when it cannot be written below the stack pointer (a stack
    /// top; 0: nowhere): set by a resumed frame of kind `trap::SET_FAULT_STACK`.
    pub fault_stack: u64,
    /// The notification bits it accepts (`task.AcceptNotify`; [`crate::notify`]).
    pub notify_mask: u64,
    /// Set when a notification ended its wait: the wait returns `Interrupted`.
    pub interrupted: bool,
}

impl Thread {
    pub fn kstack_top(&self) -> usize {
        self.kstack.as_ref().map_or(0, KernelStack::top)
    }
}

pub struct Process {
    pub sid: ProcessId,
    /// The task name (from init.yaml; the program name for now).
    pub name: String,
    /// The EDL class the process was started as.
    pub class: String,
    /// The security module's number for `class`, stamped on every message it sends.
    pub class_id: ostrog_ksm::ClassId,
    pub space: AddressSpace,
    /// Its handle table.
    pub handles: HandleTable,
    /// Arguments and environment (NUL-separated), as Einit gave them.
    pub args: Vec<u8>,
    pub env: Vec<u8>,
    /// True once the `execute` event was granted and its main thread runs.
    pub started: bool,
    /// None of its threads runs above this priority; the processes it creates run below.
    pub ceiling: u8,
    /// Memory mapped by `vmm.Allocate` or `vmm.Map`.
    pub allocations: Vec<crate::core_endpoints::vmm::Allocation>,
    pub threads: Vec<ThreadId>,
    /// Set when the process has ended (exit or fault).
    pub ended: bool,
    /// Kernel memory its system calls may hold ([`crate::quota`]).
    pub quota: alloc::sync::Arc<crate::quota::Quota>,
    /// Where its threads' foreign system calls are delivered (`task.TrapEntry`; 0: none,
    /// they fail with `NoSuchSyscall`). [`crate::trap_redirect`].
    pub trap_entry: usize,
    /// Handles given to it before its start (`task.Give`): the giver's label and the
    /// handle number, at most `kl.core.Task` `GiveMax`.
    pub given: Vec<(u32, u32)>,
    /// Notifications posted to it, and who created it ([`crate::notify`]).
    pub notify: crate::notify::ProcessNotify,
    /// The frame account everything it makes the kernel allocate is charged to
    /// ([`crate::mm::frame`]); closed after its address space is freed (field order).
    pub frames: crate::mm::frame::OwnedAccount,
}

/// Every process, thread, channel and endpoint. One lock guards them all: the kernel runs on
/// one CPU with interrupts disabled, so the lock only proves nothing is shared by accident.
#[derive(Default)]
pub struct Tasks {
    pub processes: BTreeMap<ProcessId, Process>,
    pub threads: BTreeMap<ThreadId, Box<Thread>>,
    pub channels: BTreeMap<ChannelId, Channel>,
    pub endpoints: BTreeMap<EndpointId, Endpoint>,
    /// Set when a thread exits or is joined: [`Tasks::reap`] has work to do. The scheduler
    /// calls `reap` on every switch, so the flag keeps the common switch cheap.
    pub reap_pending: bool,
    /// Exit statuses of ended processes, for `task.Wait`.
    pub exits: BTreeMap<ProcessId, isize>,
    /// Shared memory regions.
    pub regions: BTreeMap<crate::sid::RegionId, crate::core_endpoints::vmm::Region>,
    /// x86 I/O port ranges (inclusive) claimed by each process with `io.ClaimPorts`; the
    /// scheduler lets the running process use exactly its own ([`arch::set_io_ports`]).
    pub io_ports: BTreeMap<ProcessId, Vec<(u16, u16)>>,
    /// Pipes ([`crate::core_endpoints::pipe`]).
    pub pipes: BTreeMap<crate::sid::PipeId, crate::core_endpoints::pipe::Pipe>,
}

/// Threads marked dying ([`Tasks::exit_thread`]) that have not exited yet: while it is
/// zero, the way back to user mode ([`sched::exit_if_dying`]) has nothing to look up.
static DYING: AtomicUsize = AtomicUsize::new(0);

/// True if some thread is marked dying and has not exited yet.
pub fn any_dying() -> bool {
    DYING.load(Ordering::Relaxed) != 0
}

pub static TASKS: Mutex<Tasks> = Mutex::new(Tasks {
    processes: BTreeMap::new(),
    threads: BTreeMap::new(),
    channels: BTreeMap::new(),
    endpoints: BTreeMap::new(),
    reap_pending: false,
    exits: BTreeMap::new(),
    regions: BTreeMap::new(),
    io_ports: BTreeMap::new(),
    pipes: BTreeMap::new(),
});

impl Tasks {
    /// The process of a thread.
    pub fn process_of(&self, thread: ThreadId) -> Result<&Process, Status> {
        self.threads
            .get(&thread)
            .and_then(|t| self.processes.get(&t.process))
            .ok_or(Status::NoSuchThread)
    }

    /// Creates a thread that does not run until it is made ready: one that waits for its
    /// process to be started, or for the answer naming it to be delivered.
    pub fn create_waiting_thread(
        &mut self,
        process: ProcessId,
        entry: usize,
        user_sp: usize,
        arg: usize,
        priority: u8,
    ) -> Result<ThreadId, Status> {
        let sid = self.create_thread(process, entry, user_sp, arg, priority)?;
        sched::forget(sid);
        if let Some(t) = self.threads.get_mut(&sid) {
            t.state = State::Created;
        }
        Ok(sid)
    }

    /// Creates a thread of `process` entering user mode at `entry`; it is made ready.
    pub fn create_thread(
        &mut self,
        process: ProcessId,
        entry: usize,
        user_sp: usize,
        arg: usize,
        priority: u8,
    ) -> Result<ThreadId, Status> {
        if priority > MAX_PRIORITY {
            return Err(Status::InvalidArgument);
        }
        let proc = self
            .processes
            .get_mut(&process)
            .ok_or(Status::NoSuchThread)?;
        if proc.threads.len() >= MAX_THREADS_PER_PROCESS {
            return Err(Status::NoMemory);
        }
        let kstack = KernelStack::new().ok_or(Status::NoMemory)?;
        let sid = ThreadId::new();
        let mut thread = Box::new(Thread {
            sid,
            process,
            priority,
            state: State::Ready,
            kstack: Some(kstack),
            saved_sp: 0,
            extended: arch::ExtendedState::default(),
            joined: false,
            ipc: Default::default(),
            dying: None,
            futex_woken: false,
            resumed: false,
            fault_stack: 0,
            notify_mask: 0,
            interrupted: false,
        });
        thread.saved_sp = arch::prepare_user_thread(thread.kstack_top(), entry, user_sp, arg);
        proc.threads.push(sid);
        self.threads.insert(sid, thread);
        sched::make_ready(sid, priority);
        Ok(sid)
    }

    /// Removes a thread that never ran (made by [`Tasks::create_waiting_thread`]) without a
    /// trace: no exit status, no joiner woken, its kernel stack freed.
    pub fn discard_unstarted_thread(&mut self, sid: ThreadId) {
        if self
            .threads
            .get(&sid)
            .is_none_or(|t| t.state != State::Created)
        {
            return;
        }
        sched::forget(sid);
        if let Some(t) = self.threads.remove(&sid) {
            if let Some(p) = self.processes.get_mut(&t.process) {
                p.threads.retain(|&other| other != sid);
            }
        }
    }

    /// Ends a thread with `status`.
    ///
    /// A thread dies only on its way back to user mode ([`sched::exit_if_dying`]), when its
    /// kernel stack holds nothing but the trap frame: whatever the kernel allocated for the
    /// system call it was in (a message copy, a decoded request) is freed as that call
    /// unwinds. So a thread blocked in the kernel is only marked *dying* and woken, at the
    /// highest priority so that it goes promptly; every wait returns `Disconnected` to a
    /// dying thread ([`Tasks::check_alive`]). A thread that never ran dies at once.
    pub fn exit_thread(&mut self, sid: ThreadId, status: isize) {
        let Some(thread) = self.threads.get_mut(&sid) else {
            return;
        };
        match thread.state {
            State::Exited(_) => {}
            State::Created => self.finish_exit(sid, status),
            state => {
                if thread.dying.is_none() {
                    thread.dying = Some(status);
                    DYING.fetch_add(1, Ordering::Relaxed);
                }
                if state != State::Running {
                    sched::forget(sid);
                    thread.state = State::Ready;
                    thread.priority = MAX_PRIORITY;
                    sched::make_ready(sid, MAX_PRIORITY);
                }
            }
        }
    }

    /// `Err(Disconnected)` if `thread` is dying: a wait it woke from must not go on.
    pub fn check_alive(&self, thread: ThreadId) -> Result<(), Status> {
        match self.threads.get(&thread) {
            Some(t) if t.dying.is_none() => Ok(()),
            _ => Err(Status::Disconnected),
        }
    }

    /// Marks a thread exited, wakes its joiners, and ends its process if it was the last.
    /// Only for a thread with nothing on its kernel stack (see [`Tasks::exit_thread`]).
    pub fn finish_exit(&mut self, sid: ThreadId, status: isize) {
        let Some(thread) = self.threads.get_mut(&sid) else {
            return;
        };
        if matches!(thread.state, State::Exited(_)) {
            return;
        }
        let status = match thread.dying.take() {
            Some(dying) => {
                DYING.fetch_sub(1, Ordering::Relaxed);
                dying
            }
            None => status,
        };
        thread.state = State::Exited(status);
        let process = thread.process;
        let serving = thread.ipc.serving.take();
        if let Some(serving) = serving {
            // A call it received and never answered: its caller must not wait forever.
            crate::ipc::abandon(self, serving);
        }
        self.reap_pending = true;
        sched::forget(sid);
        let joiners: Vec<ThreadId> = self
            .threads
            .values()
            .filter(|t| t.state == State::Joining(sid))
            .map(|t| t.sid)
            .collect();
        for joiner in joiners {
            if let Some(t) = self.threads.get_mut(&joiner) {
                t.state = State::Ready;
                sched::make_ready(joiner, t.priority);
            }
        }
        let all_exited = self.processes.get(&process).is_some_and(|p| {
            p.threads.iter().all(|t| {
                self.threads
                    .get(t)
                    .is_none_or(|t| matches!(t.state, State::Exited(_)))
            })
        });
        if all_exited {
            self.process_ended(process, status);
        }
    }

    /// A process has ended with `status`: record it for `task.Wait` (the last
    /// [`EXIT_RECORDS`] are kept), wake its waiters, take down its IPC objects.
    fn process_ended(&mut self, process: ProcessId, status: isize) {
        match self.processes.get_mut(&process) {
            Some(p) if !p.ended => p.ended = true,
            _ => return,
        }
        self.exits.insert(process, status);
        while self.exits.len() > EXIT_RECORDS {
            self.exits.pop_first();
        }
        let waiters: Vec<(ThreadId, u8)> = self
            .threads
            .values()
            .filter(|t| t.state == State::Waiting(process))
            .map(|t| (t.sid, t.priority))
            .collect();
        for (sid, priority) in waiters {
            if let Some(t) = self.threads.get_mut(&sid) {
                t.state = State::Ready;
                sched::make_ready(sid, priority);
            }
        }
        crate::ipc::process_ended(self, process);
        // Its pipe ends count no more: readers see end of file, writers a broken pipe.
        crate::core_endpoints::pipe::wake_all(self);
        crate::irq::process_ended(process);
        // Processes it created (or forked) and never started go with it, unless another
        // process still holds them.
        let held: Vec<ProcessId> = self
            .processes
            .get(&process)
            .map(|p| {
                p.handles
                    .entries()
                    .filter_map(|e| match e.object {
                        crate::object::Object::Task(t) => Some(t),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.end_unstarted_orphans(&held);
        crate::notify::process_ended(self, process);
        // Its I/O ports are free for others; the bitmap denies them at the next switch.
        self.io_ports.remove(&process);
    }

    /// Ends each of `targets` that was never started and that no live process holds a task
    /// handle to any more: nothing could ever start it, so it would only hold its memory.
    pub fn end_unstarted_orphans(&mut self, targets: &[ProcessId]) {
        for &target in targets {
            let unstarted = self
                .processes
                .get(&target)
                .is_some_and(|p| !p.started && !p.ended);
            if !unstarted {
                continue;
            }
            let held = self.processes.values().any(|p| {
                !p.ended
                    && p.handles
                        .entries()
                        .any(|e| e.object == crate::object::Object::Task(target))
            });
            if !held {
                self.kill_process(target, -1);
            }
        }
    }

    /// Ends a process: every thread exits with `status`.
    pub fn kill_process(&mut self, process: ProcessId, status: isize) {
        let threads = self
            .processes
            .get(&process)
            .map(|p| p.threads.clone())
            .unwrap_or_default();
        for t in threads {
            self.exit_thread(t, status);
        }
        // Also a process with no thread left (one whose start was denied) ends here.
        self.process_ended(process, status);
    }

    /// Frees the kernel stacks of exited threads other than `running`, and the processes
    /// whose threads are all gone.
    pub fn reap(&mut self, running: Option<ThreadId>) {
        if !self.reap_pending {
            return;
        }
        for thread in self.threads.values_mut() {
            if matches!(thread.state, State::Exited(_)) && Some(thread.sid) != running {
                // Unmapped and freed.
                drop(thread.kstack.take());
            }
        }
        // Joined and reaped threads are gone for good.
        let gone: Vec<(ThreadId, ProcessId)> = self
            .threads
            .values()
            .filter(|t| t.joined && t.kstack.is_none())
            .map(|t| (t.sid, t.process))
            .collect();
        for (sid, process) in gone {
            self.threads.remove(&sid);
            if let Some(p) = self.processes.get_mut(&process) {
                p.threads.retain(|&t| t != sid);
            }
        }
        let done: Vec<ProcessId> = self
            .processes
            .values()
            .filter(|p| {
                p.ended
                    && p.threads.iter().all(|t| {
                        self.threads
                            .get(t)
                            .is_none_or(|t| t.kstack.is_none() && Some(t.sid) != running)
                    })
            })
            .map(|p| p.sid)
            .collect();
        for sid in done {
            if let Some(mut p) = self.processes.remove(&sid) {
                // Shared frames belong to their regions, not to the address space.
                crate::core_endpoints::vmm::unmap_regions(&mut p, &mut self.regions);
                for t in &p.threads {
                    self.threads.remove(t);
                }
                // Dropping the process frees its address space; it is not active, because
                // none of its threads is running.
                drop(p);
            }
        }
        if !self.regions.is_empty() {
            crate::core_endpoints::vmm::free_unused_regions(self);
        }
        if !self.pipes.is_empty() {
            crate::core_endpoints::pipe::free_unused(self);
        }
        // Left for a later pass: the running thread's stack, processes still in use.
        self.reap_pending = self
            .threads
            .values()
            .any(|t| matches!(t.state, State::Exited(_)) && t.kstack.is_some())
            || self.processes.values().any(|p| p.ended);
    }

    /// Number of processes still running.
    pub fn live_processes(&self) -> usize {
        self.processes.values().filter(|p| !p.ended).count()
    }
}

/// A fault a user program caused, as the architecture saw it.
pub struct Fault<'a> {
    pub what: &'a str,
    pub detail: Option<&'a str>,
    pub addr: Option<u64>,
    pub pc: u64,
}

/// Called by the architecture when the current thread faults in user mode: the process is
/// terminated with a report, and another thread runs. Does not return to the faulting thread.
pub fn user_fault(fault: &Fault) {
    let Some(current) = sched::current() else {
        // A user fault always has a thread: the architecture calls this only for traps
        // from user mode. Nothing to end otherwise.
        println!(
            "[kernel] user fault with no current thread at pc {:#x}",
            fault.pc
        );
        return;
    };
    {
        let mut tasks = TASKS.lock();
        let process = tasks.threads.get(&current).map(|t| t.process);
        if let Some(p) = process.and_then(|p| tasks.processes.get(&p)) {
            let mut line = alloc::format!(
                "[kernel] process {} (class {}, sid {}) killed: {}",
                p.name,
                p.class,
                p.sid,
                fault.what
            );
            if let Some(addr) = fault.addr {
                line.push_str(&alloc::format!(" at address {addr:#x}"));
            }
            if let Some(detail) = fault.detail {
                line.push_str(&alloc::format!(" ({detail})"));
            }
            line.push_str(&alloc::format!(", pc {:#x}", fault.pc));
            println!("{line}");
        }
        if let Some(p) = process {
            tasks.kill_process(p, -1);
        }
    }
    sched::exit_if_dying();
}
