//! The system call dispatcher: one arch-independent function behind every entry.
//!
//! The architecture's entry code unpacks the registers into [`Args`] and calls [`dispatch`],
//! which returns `(result, second)`: a negative result is an [`ostrog_abi::Status`]. Every
//! handler validates its arguments and touches user memory only through
//! [`crate::usercopy`]; nothing a process passes can make the kernel panic.

use alloc::vec;

use ostrog_abi::{layout, syscall as nr, Status, DEBUG_WRITE_MAX};

use crate::sched;
use crate::task::{State, TASKS};
use crate::{time, usercopy, TICK_HZ};

/// A system call as the process made it.
pub struct Args {
    pub number: usize,
    pub a: [usize; 6],
}

type SysResult = Result<(usize, usize), Status>;

pub fn dispatch(args: &Args) -> (isize, usize) {
    let result = match args.number {
        nr::CALL | nr::RECV | nr::REPLY => Err(Status::BadHandle),
        nr::DEBUG_WRITE => debug_write(args.a[0], args.a[1]),
        nr::PROCESS_EXIT => process_exit(args.a[0] as isize),
        nr::YIELD => {
            sched::yield_now();
            Ok((0, 0))
        }
        nr::THREAD_CREATE => thread_create(args.a[0], args.a[1], args.a[2], args.a[3]),
        nr::THREAD_EXIT => thread_exit(args.a[0] as isize),
        nr::THREAD_JOIN => thread_join(args.a[0]),
        nr::NULL => Ok((0, 0)),
        nr::SLEEP => sleep(args.a[0]),
        _ => Err(Status::NoSuchSyscall),
    };
    match result {
        Ok((value, second)) => (value as isize, second),
        Err(status) => (status as isize, 0),
    }
}

fn current() -> Result<crate::sid::Sid, Status> {
    sched::current().ok_or(Status::NoSuchThread)
}

fn debug_write(ptr: usize, len: usize) -> SysResult {
    if len > DEBUG_WRITE_MAX {
        return Err(Status::InvalidArgument);
    }
    let me = current()?;
    let mut buf = vec![0u8; len];
    {
        let tasks = TASKS.lock();
        let process = tasks
            .threads
            .get(&me)
            .and_then(|t| tasks.processes.get(&t.process))
            .ok_or(Status::NoSuchThread)?;
        usercopy::copy_from_user(&process.space, &mut buf, ptr)?;
    }
    crate::console::print(format_args!(
        "{}",
        alloc::string::String::from_utf8_lossy(&buf)
    ));
    Ok((len, 0))
}

fn process_exit(status: isize) -> SysResult {
    let me = current()?;
    {
        let mut tasks = TASKS.lock();
        let process = tasks.threads.get(&me).map(|t| t.process);
        if let Some(p) = process {
            if let Some(proc) = tasks.processes.get(&p) {
                println!(
                    "[kernel] process {} (class {}) exited with status {}",
                    proc.name, proc.class, status
                );
            }
            tasks.kill_process(p, status);
        }
    }
    sched::switch_away();
    Err(Status::NoSuchThread)
}

fn thread_create(entry: usize, stack_top: usize, arg: usize, priority: usize) -> SysResult {
    let me = current()?;
    let priority = u8::try_from(priority).map_err(|_| Status::InvalidArgument)?;
    if !stack_top.is_multiple_of(16) {
        return Err(Status::InvalidArgument);
    }
    let mut tasks = TASKS.lock();
    let process = tasks
        .threads
        .get(&me)
        .map(|t| t.process)
        .ok_or(Status::NoSuchThread)?;
    {
        let space = &tasks
            .processes
            .get(&process)
            .ok_or(Status::NoSuchThread)?
            .space;
        match space.translate(entry) {
            Some((_, access)) if access.execute => {}
            _ => return Err(Status::BadAddress),
        }
        // The top word of the new stack must be writable user memory.
        let below = stack_top.checked_sub(16).ok_or(Status::BadAddress)?;
        usercopy::check(space, below, 16, true)?;
    }
    let sid = tasks.create_thread(process, entry, stack_top, arg, priority)?;
    Ok((sid.0 as usize, 0))
}

fn thread_exit(status: isize) -> SysResult {
    let me = current()?;
    TASKS.lock().exit_thread(me, status);
    sched::switch_away();
    Err(Status::NoSuchThread)
}

fn thread_join(target: usize) -> SysResult {
    let me = current()?;
    let target = crate::sid::Sid(target as u64);
    if target == me {
        return Err(Status::Deadlock);
    }
    loop {
        {
            let mut tasks = TASKS.lock();
            let my_process = tasks.threads.get(&me).map(|t| t.process);
            let state = match tasks.threads.get(&target) {
                Some(t) if Some(t.process) == my_process && !t.joined => t.state,
                _ => return Err(Status::NoSuchThread),
            };
            if let State::Exited(status) = state {
                // The record is consumed: a second join finds nothing.
                if let Some(t) = tasks.threads.get_mut(&target) {
                    t.joined = true;
                }
                return Ok((status as usize, 0));
            }
            if let Some(t) = tasks.threads.get_mut(&me) {
                t.state = State::Joining(target);
            }
        }
        sched::switch_away();
    }
}

fn sleep(ms: usize) -> SysResult {
    let ticks = (ms as u64)
        .saturating_mul(u64::from(TICK_HZ))
        .div_ceil(1000)
        .max(1);
    sched::sleep_current(time::ticks().saturating_add(ticks));
    Ok((0, 0))
}

/// Where a new process's main thread starts its stack.
pub const MAIN_STACK_TOP: usize = layout::STACK_TOP;
