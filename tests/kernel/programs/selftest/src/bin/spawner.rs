//! Creates a process from the ROMFS through the core endpoints, starts it, and waits for it
//! to end: `task.Create`, `task.Start`, `task.Wait`. Then a copy of itself of its own class
//! (an empty class), started with the argument `sleep`, which it ends with `task.Kill`.
//! Between them, `task.CreateFrom`: a child from an image in its own memory, and the hostile
//! images the kernel must refuse.
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
    if tasks.args().is_ok_and(|a| a.args.starts_with(b"sleep")) {
        println!("spawner: sleeper sleeps");
        loop {
            let _ = ostrog_rt::sys::sleep_ms(1000);
        }
    }
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
    // From an image in its own memory (task.CreateFrom): the ROMFS file `hello`, mapped.
    let image = ostrog_rt::sys::romfs_read("hello").and_then(|(region, size)| {
        ostrog_rt::sys::vmm()
            .map(region, 0)
            .map(|m| (m.addr, size as u64))
            .map_err(ostrog_rt::sys::call_status)
    });
    let Ok((addr, size)) = image else {
        println!("spawner: cannot map the ROMFS file hello: {image:?}");
        return 1;
    };
    let from = |tasks: &mut TaskProxy<CoreTransport>, addr: u64, size: u64| {
        tasks.create_from(
            "from-image".into(),
            "hello".into(),
            addr,
            size,
            Default::default(),
            Default::default(),
            15,
        )
    };
    match from(&mut tasks, addr, size) {
        Ok(r) => {
            let started = tasks.start(r.task).is_ok();
            match tasks.wait(r.task) {
                Ok(w) if started => println!(
                    "spawner: a child from an image ended with status {}",
                    w.code
                ),
                other => println!("spawner: the child from an image failed: {other:?}"),
            }
        }
        Err(e) => println!("spawner: create from an image failed: {e:?}"),
    }
    // Hostile images: none, too big, unmapped, truncated. Each is refused; nothing is left.
    for (what, addr, size) in [
        ("an empty image", addr, 0),
        ("an image over the limit", addr, (32 << 20) + 1),
        ("an unmapped image", 0x1000, 8192),
        ("an image past its mapping", addr, size + (1 << 20)),
        ("a truncated image", addr, 100),
    ] {
        match from(&mut tasks, addr, size) {
            Ok(_) => println!("spawner: created a process from {what}"),
            Err(e) => println!(
                "spawner: {what} is refused ({})",
                ostrog_rt::sys::call_status(e).name()
            ),
        }
    }
    // A copy of itself as its own class (the empty class), ended with `task.Kill`.
    let sleeper = match tasks.create(
        "sleeper".into(),
        "".into(),
        "spawner".into(),
        b"sleep\0".to_vec(),
        Default::default(),
        15,
    ) {
        Ok(r) => r.task,
        Err(e) => {
            println!("spawner: create of the sleeper failed: {e:?}");
            return 1;
        }
    };
    if let Err(e) = tasks.start(sleeper) {
        println!("spawner: start of the sleeper failed: {e:?}");
        return 1;
    }
    let _ = ostrog_rt::sys::sleep_ms(50);
    match tasks.kill(sleeper, 137) {
        Ok(_) => println!("spawner: sleeper ended"),
        Err(e) => println!("spawner: kill failed: {e:?}"),
    }
    match tasks.wait(sleeper) {
        Ok(r) => println!("spawner: sleeper ended with status {}", r.code),
        Err(e) => println!("spawner: wait for the sleeper failed: {e:?}"),
    }
    match tasks.kill(sleeper, 1) {
        Ok(_) => println!("spawner: ended the sleeper twice"),
        Err(e) => println!(
            "spawner: a second kill is refused ({})",
            ostrog_rt::sys::call_status(e).name()
        ),
    }
    0
}
