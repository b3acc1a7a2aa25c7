//! Run-time channels (`channel.Link`, `channel.Notify`) and what a program can do wrong with
//! them. The kernel starts this program (class `dcm-link`): its own `Link` is refused, since
//! only class `kl.core.DCM` may link. It creates a copy of itself of class `kl.core.DCM`
//! (`dcm-link manager`), which links the parent to itself: an empty name, the same process
//! twice, SIDs of no process and a notice out of range are refused; a name twice is `Busy`;
//! linking goes on until the parent's bound of channels (`LinkMax`) is `NoMemory`. The
//! manager's notice over one of its endpoints reaches the parent, which reads it after the
//! manager's end, with the manager as its sender.
#![no_std]
#![no_main]

use alloc::format;
use ostrog_abi::Status;
use ostrog_rt::println;
use ostrog_rt::sys::{self as rt, call_status, Channel};

extern crate alloc;

ostrog_rt::main!(main);

/// The manager's notice to the parent, and the parent's bound of linked channels.
const NOTICE: u32 = 9;
const LINK_MAX: u32 = 32;

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
    match rt::channels().notify(
        ostrog_rt::idl::spec_rt::Handle {
            handle: endpoint,
            rights_and_mode: 0,
        },
        NOTICE,
    ) {
        Ok(r) => println!("dcm-link: manager: notice to the clients of a: {}", r.count),
        Err(e) => println!("dcm-link: manager: notice: {}", call_status(e).name()),
    }
    0
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
    match rt::tasks().wait(child) {
        Ok(r) => println!("dcm-link: the manager ended with status {}", r.code),
        Err(e) => println!("dcm-link: wait failed: {}", call_status(e).name()),
    }
    let pending = rt::tasks().pending().map_or(0, |r| r.bits);
    let sender = rt::tasks().sender(NOTICE).map_or(0, |r| r.sid);
    println!(
        "dcm-link: pending {pending:#x}, from the manager: {}",
        sender == manager_sid
    );
    0
}
