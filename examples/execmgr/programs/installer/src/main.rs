//! The installer: copies the app (ExecApp, shipped in the ROMFS) into /data/apps through
//! the VFS, as an update would arrive, and has the execution manager start it from there;
//! then what the policy and the manager refuse.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use ostrog_rt::client::{channel, refuser};
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;
use ostrog_rt::sys as rt;

// Generated from the SDK tree: this program uses kl.Vfs and the execution manager's
// interface.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::execution_manager_exec_mgr_entity::riid as em_riid;
use idl::execution_manager_i_application_controller::{IApplicationControllerProxy, EXITED};
use idl::kl_vfs::VfsProxy;
use idl::kl_vfs_ram_fs::riid as vfs_riid;

ostrog_rt::main!(main);

type Manager = IApplicationControllerProxy<rt::Channel>;

/// What a request came to: the manager's error status, or the kernel's refusal.
fn refusal<E>(e: CallError<E>, status: impl Fn(&E) -> i32) -> String {
    match e {
        CallError::Remote(e) => alloc::format!("status {}", status(&e)),
        e => alloc::format!("refused ({})", refuser(&e)),
    }
}

/// Copies `from` to `to` (created executable); the bytes copied.
fn copy(vfs: &mut VfsProxy<rt::Channel>, from: &str, to: &str, mode: u32) -> Result<u64, String> {
    let src = vfs
        .open(from.into(), 1, 0)
        .map_err(|e| refusal(e, |e| e.status))?
        .file;
    // Write | Create | Truncate.
    let dst = vfs
        .open(to.into(), 2 | 4 | 16, mode)
        .map_err(|e| refusal(e, |e| e.status))?
        .file;
    let mut total = 0u64;
    loop {
        let data = vfs
            .read(src, 16384)
            .map_err(|e| refusal(e, |e| e.status))?
            .data;
        if data.is_empty() {
            break;
        }
        let written = vfs
            .write(dst, data.clone())
            .map_err(|e| refusal(e, |e| e.status))?;
        if written.written as usize != data.len() {
            return Err("short write".into());
        }
        total += data.len() as u64;
    }
    let _ = vfs.close(src);
    let _ = vfs.close(dst);
    Ok(total)
}

fn start(m: &mut Manager, path: &str, class: &str, args: &[&str]) -> Result<u32, String> {
    let mut bytes = Vec::new();
    for a in args {
        bytes.extend_from_slice(a.as_bytes());
        bytes.push(0);
    }
    m.start_entity(path.into(), "".into(), class.into(), bytes, Vec::new())
        .map(|r| r.id)
        .map_err(|e| refusal(e, |e| e.status))
}

/// Waits until entity `id` has ended; its exit status.
fn wait(m: &mut Manager, id: u32) -> Result<i32, String> {
    for _ in 0..2000 {
        let s = m
            .get_entity_state(id)
            .map_err(|e| refusal(e, |e| e.status))?;
        if s.state == EXITED {
            return Ok(s.code);
        }
        let _ = rt::sleep_ms(5);
    }
    Err("still running after 10 s".into())
}

fn main() -> i32 {
    let (Some(v), Some(e)) = (channel("installer", "vfs"), channel("installer", "execmgr")) else {
        return 1;
    };
    let mut vfs = VfsProxy {
        transport: v,
        riid: vfs_riid::VFS,
    };
    let mut m = Manager {
        transport: e,
        riid: em_riid::EXECMGR,
    };
    let mut failed = 0;
    let mut check = |what: &str, ok: bool, detail: String| {
        println!("installer: {what}: {detail}");
        if !ok {
            println!("installer: FAILED: {what}");
            failed += 1;
        }
    };
    let _ = vfs.mk_dir("/data/apps".into(), 0o755);
    let copied = copy(&mut vfs, "/rom/ExecApp", "/data/apps/app", 0o755);
    check(
        "install",
        copied.is_ok(),
        alloc::format!("{}", copied.map_or_else(|e| e, |_| "ok".into())),
    );

    // Granted: the app, from the VFS, as execmgr.App.
    match start(
        &mut m,
        "/data/apps/app",
        "execmgr.App",
        &["hello", "from the installer"],
    ) {
        Ok(id) => {
            let code = wait(&mut m, id);
            check("app ended", code == Ok(7), alloc::format!("{code:?}"));
            let again = m.get_entity_state(id).map_err(|e| refusal(e, |e| e.status));
            check(
                "its id is forgotten",
                again.is_err(),
                alloc::format!("{:?}", again.err()),
            );
        }
        Err(e) => check("start app", false, e),
    }
    // A running app stopped.
    match start(&mut m, "/data/apps/app", "execmgr.App", &["wait"]) {
        Ok(id) => {
            let _ = rt::sleep_ms(50);
            let state = m.get_entity_state(id).map(|s| s.state);
            check(
                "waiting app runs",
                state.as_ref().is_ok_and(|s| *s == 1),
                alloc::format!("{state:?}").replace("Ok", "state"),
            );
            let stopped = m.stop_entity(id).map_err(|e| refusal(e, |e| e.status));
            check("stop", stopped.is_ok(), alloc::format!("{stopped:?}"));
            let code = wait(&mut m, id);
            check(
                "stopped app ended",
                code == Ok(-1),
                alloc::format!("{code:?}"),
            );
        }
        Err(e) => check("start waiting app", false, e),
    }
    // Denied by the policy: the manager may not start this class (the execute event).
    let rogue = start(&mut m, "/data/apps/app", "execmgr.Rogue", &[]);
    check(
        "start as execmgr.Rogue",
        rogue == Err("status 1".into()),
        alloc::format!("{rogue:?}"),
    );
    // Denied by the policy: the installer may not name a file outside /data/apps.
    let rom = start(&mut m, "/rom/ExecApp", "execmgr.App", &[]);
    check(
        "start /rom/ExecApp",
        rom == Err("refused (access denied)".into()),
        alloc::format!("{rom:?}"),
    );
    // Refused by the manager and the kernel: no file, no program, no such entity.
    let missing = start(&mut m, "/data/apps/missing", "execmgr.App", &[]);
    check(
        "start a missing file",
        missing == Err("status 2".into()),
        alloc::format!("{missing:?}"),
    );
    let junk = vfs
        .open("/data/apps/junk".into(), 2 | 4 | 16, 0o755)
        .map(|f| {
            let _ = vfs.write(f.file, b"#!/bin/sh\nnot an ELF file\n".to_vec());
            let _ = vfs.close(f.file);
        });
    check("write junk", junk.is_ok(), "ok".into());
    let bad = start(&mut m, "/data/apps/junk", "execmgr.App", &[]);
    check(
        "start a file that is no program",
        bad == Err("status 8".into()),
        alloc::format!("{bad:?}"),
    );
    let unknown = m.stop_entity(12345).map_err(|e| refusal(e, |e| e.status));
    check(
        "stop an unknown id",
        unknown == Err("status 9".into()),
        alloc::format!("{unknown:?}"),
    );
    println!("installer: done, {failed} failed");
    i32::from(failed != 0)
}
