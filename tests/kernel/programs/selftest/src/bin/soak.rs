//! Loops what once leaked kernel memory until the kernel ran out: threads that exit and are
//! joined, and child processes that end while their threads are blocked in the kernel
//! (sleeping, joining, waiting for a process). The kernel prints its heap and frame use at
//! power-off, and the scenario checks that they are back where they were before any
//! program ran.
//!
//! Run as `soak` it is the parent; with the argument `child` it is one of the children.
#![no_std]
#![no_main]

use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_task::TaskProxy;
use ostrog_rt::sys::{self, CoreTransport};
use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

/// Rounds of the default test; each starts one thread and one child process.
const ROUNDS: u32 = 300;

fn tasks() -> TaskProxy<CoreTransport> {
    TaskProxy {
        transport: CoreTransport,
        riid: riid::TASK,
    }
}

/// A child: threads block in the kernel, then the process ends under them.
fn child() -> i32 {
    let Ok(sleeper) = thread::spawn(15, || {
        let _ = sys::sleep_ms(60_000);
        0
    }) else {
        return 2;
    };
    let sleeper_id = sleeper.id();
    let _joiner = thread::spawn(15, move || {
        let _ = sys::thread_join(sleeper_id);
        0
    });
    // Let both block, then end the process with them still in the kernel.
    let _ = sys::sleep_ms(10);
    sys::exit(7)
}

fn main() -> i32 {
    let args = tasks().args().map(|a| a.args).unwrap_or_default();
    if args.starts_with(b"child") {
        return child();
    }
    for round in 0..ROUNDS {
        let result = thread::spawn(15, move || round as isize).map(|t| t.join());
        if !matches!(result, Ok(Ok(r)) if r == round as isize) {
            println!("soak: round {round}: thread failed");
            return 1;
        }
        let mut tasks = tasks();
        let child = match tasks.create(
            "soak-child".into(),
            "soak".into(),
            "soak".into(),
            b"child\0".to_vec(),
            Default::default(),
            15,
        ) {
            Ok(r) => r.task,
            Err(e) => {
                println!("soak: round {round}: create failed: {e:?}");
                return 1;
            }
        };
        let ended = tasks
            .start(child)
            .ok()
            .and_then(|_| tasks.wait(child).ok())
            .map(|r| r.code);
        let _ = sys::handles().close(child);
        if ended != Some(7) {
            println!("soak: round {round}: child did not end with 7: {ended:?}");
            return 1;
        }
    }
    println!("soak: {ROUNDS} rounds of threads and children ended while blocked");
    0
}
