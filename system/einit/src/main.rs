//! Einit: the first program. The kernel starts it (an `execute` event); it creates every
//! process of the solution, connects the channels, and starts the processes, each step a
//! request to the kernel's core endpoints that the security module judges. Then it ends.
//!
//! A Linux program (`linux: true` in `init.yaml`) is created from the personality `linux`
//! with the program's path as its first argument (see `docs/linux.md`).
//!
//! Each process gets the priority ceiling its `init.yaml` entry gives (`priority:`), or the
//! default, always below Einit's own, and the memory limit it gives (`memory:`, set with
//! `task.SetMemoryLimit` before the process starts; a process that cannot have it is not
//! started), or the kernel's default.
//!
//! Its table is generated at build time from the solution's `init.yaml` (see
//! `ostrog-init`) and embedded in this executable, the way KasperskyOS generates `einit.c`.
//! A program marked `dynamic_connection_manager: true` is connected to the process of class
//! `kl.core.DCM` by a channel of that name.
//!
//! The table is validated completely before anything is created.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use ostrog_init::table::{self, Table};
use ostrog_rt::idl::spec_rt::Handle;
use ostrog_rt::println;
use ostrog_rt::sys::{self, call_status};

ostrog_rt::main!(main);

/// The class of the dynamic connection manager, and the name of the channel to it.
const DCM_CLASS: &str = "kl.core.DCM";

static TABLE: &[u8] = include_bytes!(env!("OSTROG_EINIT_TABLE_FILE"));

/// The class of the log server (docs/services.md, "Logging").
const LOG_SERVER: &str = "logrr.Server";

/// Appends `LOGRR_CLASSES=SID:CLASS,...` to `env` for as many processes as fit the
/// environment's bound (`ArgsMax` of kl.core.Task); the log server names the rest by the
/// class numbers it learns, or by number.
fn identities(env: &mut Vec<u8>, classes: &[(u64, &str)]) {
    const ENV_MAX: usize = 2048;
    let mut entry = Vec::from(&b"LOGRR_CLASSES="[..]);
    for (i, (sid, class)) in classes.iter().enumerate() {
        let item = alloc::format!("{}{sid}:{class}", if i == 0 { "" } else { "," });
        if env.len() + entry.len() + item.len() + 1 > ENV_MAX {
            println!("Einit: the log server is told the class of {i} processes only");
            break;
        }
        entry.extend_from_slice(item.as_bytes());
    }
    entry.push(0);
    env.extend_from_slice(&entry);
}

fn main() -> i32 {
    if TABLE.is_empty() {
        println!("Einit: this image has no solution table; nothing to start");
        return 1;
    }
    let table = match Table::parse(TABLE) {
        Ok(t) => t,
        Err(e) => {
            println!("Einit: the solution table is damaged: {e}");
            return 1;
        }
    };
    let mut tasks = sys::tasks();
    let mut channels = sys::channels();
    let mut failures = 0;

    // 1. Processes, created but not running. A log server (class logrr.Server) is created
    // after the others, with the class of each SID created before it in its environment
    // (`LOGRR_CLASSES`), so that it can name its clients from the kernel's stamp alone.
    let mut handles: Vec<Option<Handle>> = alloc::vec![None; table.process_count()];
    let mut classes = Vec::new();
    let order = table
        .processes()
        .filter(|p| p.class() != LOG_SERVER)
        .chain(table.processes().filter(|p| p.class() == LOG_SERVER));
    for p in order {
        // A Linux program (`linux: true`) is the personality `linux` with the program's
        // path as its first argument; task and class stay the entity's own, so the policy
        // judges it as its class.
        let mut args = Vec::new();
        for a in p.personality_args() {
            args.extend_from_slice(a.as_bytes());
            args.push(0);
        }
        let mut env = Vec::new();
        for (k, v) in p.env() {
            env.extend_from_slice(k.as_bytes());
            env.push(b'=');
            env.extend_from_slice(v.as_bytes());
            env.push(0);
        }
        if p.class() == LOG_SERVER {
            identities(&mut env, &classes);
        }
        match tasks.create(
            p.task().into(),
            p.class().into(),
            p.executable().into(),
            args,
            env,
            // Below Einit's own ceiling, so that nothing runs before everything is set up.
            p.priority().unwrap_or(table::DEFAULT_PRIORITY),
        ) {
            Ok(r) => match p.memory().map(|m| sys::set_memory_limit(r.task, m)) {
                Some(Err(e)) => {
                    // Not started: a process over its limit before it runs is a setup error.
                    println!(
                        "Einit: cannot give {} its memory limit of {} KiB: {}",
                        p.task(),
                        p.memory().unwrap_or(0) >> 10,
                        e.name()
                    );
                    failures += 1;
                }
                _ => {
                    if let Some(slot) = handles.get_mut(p.index()) {
                        *slot = Some(r.task);
                    }
                    if let Ok(sid) = sys::handles().sid(r.task) {
                        classes.push((sid.sid, p.class()));
                    }
                }
            },
            Err(e) => {
                match p.linux() {
                    true => println!(
                        "Einit: cannot create {} ({}) from {} running the Linux program {}: {}",
                        p.task(),
                        p.class(),
                        p.executable(),
                        p.path(),
                        call_status(e).name()
                    ),
                    false => println!(
                        "Einit: cannot create {} ({}) from {}: {}",
                        p.task(),
                        p.class(),
                        p.path(),
                        call_status(e).name()
                    ),
                }
                failures += 1;
            }
        }
    }

    // 2. Channels, before anyone runs, so that no program ever looks for one in vain.
    for c in table.channels() {
        let ends = (
            handles.get(c.client()).copied().flatten(),
            handles.get(c.server()).copied().flatten(),
        );
        let (Some(client), Some(server)) = ends else {
            continue;
        };
        if let Err(e) = channels.connect(client, server, c.id().into()) {
            println!(
                "Einit: cannot connect channel {}: {}",
                c.id(),
                call_status(e).name()
            );
            failures += 1;
        }
    }

    // 2b. The dynamic connection manager: every program whose entry says
    // `dynamic_connection_manager: true` gets a channel named `kl.core.DCM` to the process
    // of that class (docs/services.md, "Dynamic channels").
    let manager = table
        .processes()
        .zip(&handles)
        .find(|(p, _)| p.class() == DCM_CLASS)
        .and_then(|(_, h)| *h);
    for (p, handle) in table.processes().zip(&handles) {
        if !p.dynamic_connection_manager() || p.class() == DCM_CLASS {
            continue;
        }
        let Some(client) = handle else { continue };
        let Some(server) = manager else {
            println!(
                "Einit: {} uses the dynamic connection manager, but the solution starts no {DCM_CLASS}",
                p.task()
            );
            failures += 1;
            continue;
        };
        if let Err(e) = channels.connect(*client, server, DCM_CLASS.into()) {
            println!(
                "Einit: cannot connect {} to {DCM_CLASS}: {}",
                p.task(),
                call_status(e).name()
            );
            failures += 1;
        }
    }

    // 3. Start: each is an `execute` event.
    for (p, handle) in table.processes().zip(&handles) {
        let Some(handle) = handle else { continue };
        if let Err(e) = tasks.start(*handle) {
            println!(
                "Einit: cannot start {}: {}",
                p.task(),
                call_status(e).name()
            );
            failures += 1;
        }
    }
    if failures > 0 {
        println!("Einit: {failures} step(s) failed; the rest of the solution runs");
    }
    0
}
