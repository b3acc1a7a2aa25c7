//! Notifications between processes (`task.Signal`, `task.Pending`, `task.Sender`,
//! `task.AcceptNotify`, `task.NotifyExit`, `task.Parent`, `task.Alive`), and what a program can do wrong
//! with them. This program has no trap entry: it sees notifications only as interrupted waits
//! and with `task.Pending`.
//!
//! The parent tries a bad handle, bad bits and a handle without the signal right; creates a
//! copy of itself (`notify child`), asks for bit 17 at its end, and waits in `futex.Wait`,
//! which the child's notification (bit 5, through its `task.Parent` handle) interrupts. It
//! then floods the child with one bit: the child, which accepts nothing, sleeps on, sees one
//! pending bit, and answers; the parent's next wait ends at the child's end (bit 17). A
//! notification to the ended child is refused.
#![no_std]
#![no_main]

use core::sync::atomic::AtomicU32;

use ostrog_abi::handle::RIGHT_TRANSFER;
use ostrog_abi::Status;
use ostrog_rt::println;
use ostrog_rt::sys as rt;

ostrog_rt::main!(main);

/// A futex word nobody wakes: only a notification ends a wait on it.
static NEVER: AtomicU32 = AtomicU32::new(0);

/// Notification the child sends, the flood's, and the child's end.
const HELLO: u32 = 5;
const FLOOD: u32 = 7;
const ENDED: u32 = 17;
const FLOOD_COUNT: u32 = 10_000;

fn status(raw: i32) -> &'static str {
    Status::from_result(raw as isize)
        .err()
        .unwrap_or(Status::InvalidArgument)
        .name()
}

fn remote<E>(e: ostrog_rt::idl::spec_rt::CallError<E>, f: impl Fn(&E) -> i32) -> &'static str {
    match e {
        ostrog_rt::idl::spec_rt::CallError::Remote(e) => status(f(&e)),
        ostrog_rt::idl::spec_rt::CallError::Transport(t) => status(t.0),
        _ => "malformed",
    }
}

/// Waits on [`NEVER`] for ever: what ends the wait.
fn wait() -> &'static str {
    match rt::futex_wait(&NEVER, 0, rt::FUTEX_FOREVER) {
        Ok(()) => "woken",
        Err(s) => s.name(),
    }
}

fn child() -> i32 {
    let parent = match rt::tasks().parent() {
        Ok(r) => r.parent,
        Err(e) => {
            println!("notify: child: no parent ({})", remote(e, |e| e.status));
            return 1;
        }
    };
    // The handle carries only the signal right: it cannot end or wait for the parent.
    match rt::tasks().kill(parent, 1) {
        Ok(_) => println!("notify: child: ended its parent"),
        Err(e) => println!(
            "notify: child: kill through the parent handle refused ({})",
            remote(e, |e| e.status)
        ),
    }
    match rt::tasks().wait(parent) {
        Ok(_) => println!("notify: child: waited for its parent"),
        Err(e) => println!(
            "notify: child: wait through the parent handle refused ({})",
            remote(e, |e| e.status)
        ),
    }
    if let Err(e) = rt::tasks().signal(parent, HELLO) {
        println!(
            "notify: child: signal refused ({})",
            remote(e, |e| e.status)
        );
        return 1;
    }
    // It accepts nothing: the flood does not cut its sleep, it only sets one bit.
    let mut slept = 0;
    let bits = loop {
        if rt::sleep_ms(10).is_err() {
            println!("notify: child: a sleep was cut short");
        }
        slept += 1;
        match rt::tasks().pending() {
            Ok(r) if r.bits != 0 => break r.bits,
            Ok(_) if slept < 1000 => {}
            _ => {
                println!("notify: child: no notification came");
                return 1;
            }
        }
    };
    println!("notify: child: pending after the flood: {bits:#x}");
    let _ = rt::tasks().signal(parent, HELLO);
    3
}

fn main() -> i32 {
    if rt::tasks()
        .args()
        .is_ok_and(|a| a.args.starts_with(b"child"))
    {
        return child();
    }
    let tasks = rt::tasks;
    // The kernel started this program: it has no creator to signal.
    match tasks().parent() {
        Ok(_) => println!("notify: a parent handle for a program the kernel started"),
        Err(e) => println!("notify: no parent: {}", remote(e, |e| e.status)),
    }
    for bit in [0, 65] {
        match tasks().sender(bit) {
            Ok(_) => println!("notify: sender of bit {bit} accepted"),
            Err(e) => println!("notify: sender of bit {bit}: {}", remote(e, |e| e.status)),
        }
    }
    // Nothing was posted: nothing pending, no sender.
    let quiet = tasks().pending().map(|r| r.bits).unwrap_or(u64::MAX);
    let nobody = tasks().sender(HELLO).map(|r| r.sid).unwrap_or(u64::MAX);
    println!("notify: pending at start {quiet:#x}, sender {nobody}");
    match tasks().signal(
        ostrog_rt::idl::spec_rt::Handle {
            handle: 0x0042_0042,
            rights_and_mode: 0,
        },
        HELLO,
    ) {
        Ok(_) => println!("notify: signalled a forged handle"),
        Err(e) => println!("notify: forged handle: {}", remote(e, |e| e.status)),
    }
    let child = match tasks().create(
        "notified".into(),
        "".into(),
        "notify".into(),
        b"child\0".to_vec(),
        Default::default(),
        15,
    ) {
        Ok(r) => r.task,
        Err(e) => {
            println!("notify: create failed: {}", remote(e, |e| e.status));
            return 1;
        }
    };
    for bit in [0, 65, u32::MAX] {
        match tasks().signal(child, bit) {
            Ok(_) => println!("notify: bit {bit} accepted"),
            Err(e) => println!("notify: bit {bit}: {}", remote(e, |e| e.status)),
        }
    }
    match rt::handles().duplicate(child, RIGHT_TRANSFER) {
        Ok(r) => {
            match tasks().signal(r.copy, HELLO) {
                Ok(_) => println!("notify: signalled without the right"),
                Err(e) => println!("notify: handle without the signal right: {}", {
                    remote(e, |e| e.status)
                }),
            }
            let _ = rt::handles().close(r.copy);
        }
        Err(_) => println!("notify: duplicate failed"),
    }
    match tasks().notify_exit(child, 65) {
        Ok(_) => println!("notify: exit bit 65 accepted"),
        Err(e) => println!("notify: exit bit 65: {}", remote(e, |e| e.status)),
    }
    if let Err(e) = tasks().notify_exit(child, ENDED) {
        println!("notify: notify_exit failed: {}", remote(e, |e| e.status));
    }
    let accepted = (1u64 << (HELLO - 1)) | (1u64 << (ENDED - 1));
    if let Err(e) = tasks().accept_notify(accepted) {
        println!("notify: accept_notify failed: {}", remote(e, |e| e.status));
    }
    // Posted before it runs: kept until it looks (a bitmask: the flood below sets it again).
    match tasks().signal(child, FLOOD) {
        Ok(_) => println!("notify: signal before the start kept"),
        Err(e) => println!(
            "notify: signal before the start: {}",
            remote(e, |e| e.status)
        ),
    }
    // task.Alive: any SID is a question; only a process that exists and has not ended
    // answers 1 (the child is created, not yet started).
    let alive = |sid: u64| -> &'static str {
        match tasks().alive(sid) {
            Ok(r) if r.live == 0 => "0",
            Ok(r) if r.live == 1 => "1",
            Ok(_) => "neither 0 nor 1",
            Err(e) => remote(e, |e| e.status),
        }
    };
    println!(
        "notify: alive: itself {}, the child {}, SID 0 {}, SID 1 {}, SID max {}",
        alive(rt::task_info().map(|(sid, _)| sid).unwrap_or(0)),
        alive(rt::handles().sid(child).map(|r| r.sid).unwrap_or(u64::MAX)),
        alive(0),
        alive(1),
        alive(u64::MAX)
    );
    if let Err(e) = tasks().start(child) {
        println!("notify: start failed: {}", remote(e, |e| e.status));
        return 1;
    }
    let me = rt::task_info().map(|(sid, _)| sid).unwrap_or(0);
    let child_sid = rt::handles().sid(child).map(|r| r.sid).unwrap_or(u64::MAX);
    println!("notify: first wait: {}", wait());
    let bits = tasks().pending().map(|r| r.bits).unwrap_or(0);
    let from = tasks().sender(HELLO).map(|r| r.sid).unwrap_or(0);
    println!(
        "notify: pending {bits:#x}, from the child: {}",
        from == child_sid && from != me
    );
    let mut refused = 0;
    for _ in 0..FLOOD_COUNT {
        if tasks().signal(child, FLOOD).is_err() {
            refused += 1;
        }
    }
    println!("notify: flooded the child with {FLOOD_COUNT} notifications, {refused} refused");
    println!("notify: second wait: {}", wait());
    let _ = tasks().pending();
    println!("notify: third wait: {}", wait());
    let bits = tasks().pending().map(|r| r.bits).unwrap_or(0);
    let from = tasks().sender(ENDED).map(|r| r.sid).unwrap_or(0);
    println!(
        "notify: pending {bits:#x}, posted by the child's end: {}",
        from == child_sid
    );
    match tasks().wait(child) {
        Ok(r) => println!("notify: child ended with status {}", r.code),
        Err(e) => println!("notify: wait failed: {}", remote(e, |e| e.status)),
    }
    println!(
        "notify: alive after its end: the child {}",
        alive(child_sid)
    );
    match tasks().signal(child, HELLO) {
        Ok(_) => println!("notify: signalled an ended process"),
        Err(e) => println!("notify: ended child: {}", remote(e, |e| e.status)),
    }
    match tasks().notify_exit(child, ENDED) {
        Ok(_) => println!("notify: exit notification of an ended process accepted"),
        Err(e) => println!("notify: exit notification of the ended child: {}", {
            remote(e, |e| e.status)
        }),
    }
    // Nothing is pending and nothing posts: a wait with a time-out times out.
    match rt::futex_wait(&NEVER, 0, 20_000_000) {
        Err(Status::TimedOut) => println!("notify: a quiet wait times out"),
        other => println!("notify: a quiet wait ended otherwise: {other:?}"),
    }
    0
}
