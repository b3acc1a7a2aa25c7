//! Creates a process from the ROMFS through the core endpoints, starts it, and waits for it
//! to end: `task.Create`, `task.Start`, `task.Wait`.
#![no_std]
#![no_main]

use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_task::TaskProxy;
use ostrog_rt::println;
use ostrog_rt::sys::CoreTransport;

ostrog_rt::main!(main);

fn main() -> i32 {
    let mut tasks = TaskProxy {
        transport: CoreTransport,
        riid: riid::TASK,
    };
    let child = match tasks.create(
        "child".into(),
        "hello".into(),
        "hello".into(),
        b"-v\0".to_vec(),
        b"MODE=test\0".to_vec(),
        15,
    ) {
        Ok(r) => r.task,
        Err(e) => {
            println!("spawner: create failed: {e:?}");
            return 1;
        }
    };
    if let Err(e) = tasks.start(child) {
        println!("spawner: start failed: {e:?}");
        return 1;
    }
    match tasks.wait(child) {
        Ok(r) => println!("spawner: child ended with status {}", r.code),
        Err(e) => {
            println!("spawner: wait failed: {e:?}");
            return 1;
        }
    }
    // A child runs below its creator: one at the spawner's own priority is refused.
    match tasks.create(
        "peer".into(),
        "hello".into(),
        "hello".into(),
        Default::default(),
        Default::default(),
        16,
    ) {
        Ok(_) => println!("spawner: created a process at its own priority"),
        Err(e) => println!(
            "spawner: a child at its own priority is refused ({})",
            ostrog_rt::sys::call_status(e).name()
        ),
    }
    // A process that does not exist cannot be created.
    match tasks.create(
        "ghost".into(),
        "hello".into(),
        "no-such-file".into(),
        Default::default(),
        Default::default(),
        15,
    ) {
        Ok(_) => println!("spawner: created a process from nothing"),
        Err(_) => println!("spawner: a missing executable is refused"),
    }
    0
}
