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

    // 1. Processes, created but not running.
    let mut handles: Vec<Option<Handle>> = Vec::new();
    for p in table.processes() {
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
                    handles.push(None);
                }
                _ => handles.push(Some(r.task)),
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
                handles.push(None);
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
