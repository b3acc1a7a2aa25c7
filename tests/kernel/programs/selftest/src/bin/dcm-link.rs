//! Run-time channels (`channel.Link`, `channel.Notify`) and what a program can do wrong with
//! them. The kernel starts this program (class `dcm-link`): its own `Link` is refused, since
//! only class `kl.core.DCM` may link. It creates a copy of itself of class `kl.core.DCM`
//! (`dcm-link manager`), which links the parent to itself: an empty name, the same process
//! twice, SIDs of no process and a notice out of range are refused; a name twice is `Busy`;
//! linking goes on until the parent's bound of channels (`LinkMax`) is `NoMemory`. The
//! manager's notice over one of its endpoints reaches the parent, with the manager as its
//! sender. Then the charge: the parent closes its linked channels (they go, and the kernel
//! memory they were charged returns to its account), fills its memory to the limit (a link
//! to it is `NoMemory`, not made at the kernel's expense), frees it, and is linked again.
//! The two take turns with notices: `PARENT_TURN` to the parent, `MANAGER_TURN` back.
#![no_std]
#![no_main]

use alloc::format;
use alloc::vec::Vec;
use ostrog_abi::Status;
use ostrog_rt::idl::spec_rt::Handle;
use ostrog_rt::println;
use ostrog_rt::sys::{self as rt, call_status, Channel};

extern crate alloc;

ostrog_rt::main!(main);

/// The manager's notice to the parent, and the parent's bound of linked channels.
const NOTICE: u32 = 9;
const LINK_MAX: u32 = 32;
/// The turns of the charge test.
const PARENT_TURN: u32 = 10;
const MANAGER_TURN: u32 = 11;

fn handle(number: u32) -> Handle {
    Handle {
        handle: number,
        rights_and_mode: 0,
    }
}

/// Waits (at most 20 s) for notification `bit`; the bits pending then, taken.
fn wait_for(bit: u32) -> u64 {
    let _ = rt::tasks().accept_notify(1 << (bit - 1));
    for _ in 0..400 {
        if rt::sleep_ms(50) == Err(Status::Interrupted) {
            break;
        }
    }
    rt::tasks().pending().map_or(0, |r| r.bits)
}

/// Posts `bit` to the process of task handle `task`.
fn signal(task: Handle, bit: u32) {
    if let Err(e) = rt::tasks().signal(task, bit) {
        println!("dcm-link: signal {bit}: {}", call_status(e).name());
    }
}

fn link(client: u64, server: u64, name: &str, notice: u32) -> Result<u32, Status> {
    rt::channels()
        .link(client, server, name.into(), notice)
        .map(|r| r.channel)
        .map_err(call_status)
}

fn outcome(r: Result<u32, Status>) -> &'static str {
    match r {
        Ok(_) => "linked",
        Err(s) => s.name(),
    }
}

fn manager() -> i32 {
    let me = rt::task_info().map_or(0, |(sid, _)| sid);
    let parent = match rt::tasks()
        .parent()
        .map_err(call_status)
        .and_then(|r| rt::handles().sid(r.parent).map_err(call_status))
    {
        Ok(r) => r.sid,
        Err(e) => {
            println!("dcm-link: manager: no parent: {}", e.name());
            return 1;
        }
    };
    println!(
        "dcm-link: manager: empty name: {}",
        outcome(link(parent, me, "", 0))
    );
    println!(
        "dcm-link: manager: itself to itself: {}",
        outcome(link(me, me, "a", 0))
    );
    println!(
        "dcm-link: manager: SID 0: {}",
        outcome(link(parent, 0, "a", 0))
    );
    println!(
        "dcm-link: manager: SID max: {}",
        outcome(link(u64::MAX, me, "a", 0))
    );
    println!(
        "dcm-link: manager: notice 65: {}",
        outcome(link(parent, me, "a", 65))
    );
    println!(
        "dcm-link: manager: a: {}",
        outcome(link(parent, me, "a", 0))
    );
    println!(
        "dcm-link: manager: a again: {}",
        outcome(link(parent, me, "a", 0))
    );
    let mut linked = 1;
    let refusal = loop {
        match link(parent, me, &format!("l{linked}"), 0) {
            Ok(_) => linked += 1,
            Err(e) => break e,
        }
        if linked > 4 * LINK_MAX {
            break Status::InvalidArgument;
        }
    };
    println!(
        "dcm-link: manager: the parent holds {linked} linked channels, then: {}",
        refusal.name()
    );
    let endpoint = Channel::lookup("a").map_or(0, |c| c.handle);
    match rt::channels().notify(handle(endpoint), NOTICE) {
        Ok(r) => println!("dcm-link: manager: notice to the clients of a: {}", r.count),
        Err(e) => println!("dcm-link: manager: notice: {}", call_status(e).name()),
    }
    // The parent closes its channels and fills its memory; a link to it then is refused.
    // The name `a` again: the manager's endpoint `a` exists (endpoints stay until their
    // server ends; it listens at EndpointMax of them now), so the parent's charge decides.
    let Ok(parent_task) = rt::tasks().parent().map(|r| r.parent) else {
        return 1;
    };
    signal(parent_task, PARENT_TURN);
    wait_for(MANAGER_TURN);
    println!(
        "dcm-link: manager: to the parent at its memory limit: {}",
        outcome(link(parent, me, "a", 0))
    );
    signal(parent_task, PARENT_TURN);
    wait_for(MANAGER_TURN);
    println!(
        "dcm-link: manager: to the parent with memory again: {}",
        outcome(link(parent, me, "a", 0))
    );
    0
}

/// Allocates private memory until the process's account refuses a page; the ranges.
fn fill_memory() -> Vec<(u64, u64)> {
    let mut held = Vec::new();
    let mut size: u64 = 64 << 20;
    while size >= 4096 {
        match rt::vmm().allocate(size, rt::VMM_WRITE) {
            Ok(r) => held.push((r.addr, size)),
            Err(_) => size /= 2,
        }
    }
    held
}

/// The parent's turns: closes its linked channels (their charge returns), fills its memory,
/// frees it. The notification bits pending besides the turns.
fn parent_turns(manager: Handle) -> u64 {
    let mut other = wait_for(PARENT_TURN);
    let before = rt::memory_usage().map_or(0, |(used, _)| used);
    let closed = ["a".into()]
        .into_iter()
        .chain((1..LINK_MAX).map(|i| format!("l{i}")))
        .filter_map(|name: alloc::string::String| Channel::lookup(&name).ok())
        .filter(|c| rt::handles().close(handle(c.handle)).is_ok())
        .count();
    let after = rt::memory_usage().map_or(0, |(used, _)| used);
    println!(
        "dcm-link: closed {closed} linked channels, their charge returned: {} ({} bytes)",
        after < before,
        before.saturating_sub(after)
    );
    let held = fill_memory();
    let (used, limit) = rt::memory_usage().unwrap_or((0, 0));
    println!(
        "dcm-link: memory filled to the limit: {}",
        limit.saturating_sub(used) < 4096
    );
    signal(manager, MANAGER_TURN);
    other |= wait_for(PARENT_TURN);
    for (start, size) in held {
        let _ = rt::free(start as usize, size as usize);
    }
    signal(manager, MANAGER_TURN);
    other & !(1 << (PARENT_TURN - 1))
}

fn main() -> i32 {
    if rt::tasks()
        .args()
        .is_ok_and(|a| a.args.starts_with(b"manager"))
    {
        return manager();
    }
    let me = rt::task_info().map_or(0, |(sid, _)| sid);
    println!(
        "dcm-link: link from another class: {}",
        outcome(link(me, me + 1, "x", 0))
    );
    let child = match rt::tasks().create(
        "manager".into(),
        "kl.core.DCM".into(),
        "dcm-link".into(),
        b"manager\0".to_vec(),
        Default::default(),
        15,
    ) {
        Ok(r) => r.task,
        Err(e) => {
            println!("dcm-link: create failed: {}", call_status(e).name());
            return 1;
        }
    };
    let manager_sid = rt::handles().sid(child).map_or(0, |r| r.sid);
    if let Err(e) = rt::tasks().start(child).map_err(call_status) {
        println!("dcm-link: start failed: {}", e.name());
        return 1;
    }
    let pending = parent_turns(child);
    match rt::tasks().wait(child) {
        Ok(r) => println!("dcm-link: the manager ended with status {}", r.code),
        Err(e) => println!("dcm-link: wait failed: {}", call_status(e).name()),
    }
    let sender = rt::tasks().sender(NOTICE).map_or(0, |r| r.sid);
    println!(
        "dcm-link: pending {pending:#x}, from the manager: {}",
        sender == manager_sid
    );
    0
}
