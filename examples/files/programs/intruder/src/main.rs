//! The intruder: a hostile native client of the VFS server. It may work in /data/Intruder
//! only; it tries the writer's files (by path and by file number), `..` out of its folder,
//! sizes beyond every bound, and to exhaust the server. Each attempt must fail, and the
//! server must keep serving (the writer runs beside it).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec;

use ostrog_rt::client::{channel, refuser};
use ostrog_rt::println;

// Generated from the SDK tree's kl/: this program uses only kl.Vfs.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_vfs::VfsProxy;
use idl::kl_vfs_ram_fs::riid;

ostrog_rt::main!(main);

/// What a request came to: "ok", the server's errno, or the kernel's refusal.
macro_rules! outcome {
    ($r:expr) => {
        match $r {
            Ok(_) => String::from("ok"),
            Err(ostrog_rt::idl::spec_rt::CallError::Remote(e)) => {
                alloc::format!("errno {}", e.status)
            }
            Err(e) => alloc::format!("refused ({})", refuser(&e)),
        }
    };
}

fn main() -> i32 {
    let Some(transport) = channel("intruder", "vfs") else {
        return 1;
    };
    let mut vfs = VfsProxy {
        transport,
        riid: riid::VFS,
    };
    // File numbers are per client: the writer's 0 is nothing here.
    println!(
        "intruder: read file 0 (the writer's number): {}",
        outcome!(vfs.read(0, 100))
    );
    println!("intruder: close file 0: {}", outcome!(vfs.close(0)));
    println!(
        "intruder: read file 4294967295: {}",
        outcome!(vfs.read(u32::MAX, 100))
    );
    println!(
        "intruder: open /data/Writer/log: {}",
        outcome!(vfs.open("/data/Writer/log".into(), 1, 0))
    );
    println!(
        "intruder: unlink /data/Writer/log: {}",
        outcome!(vfs.unlink("/data/Writer/log".into()))
    );
    // The policy's pattern lets this through; the server takes only canonical paths.
    println!(
        "intruder: open /data/Intruder/../Writer/log: {}",
        outcome!(vfs.open("/data/Intruder/../Writer/log".into(), 1, 0))
    );
    println!(
        "intruder: mkdir /data/Intruder: {}",
        outcome!(vfs.mk_dir("/data/Intruder".into(), 0o755))
    );
    let Ok(own) = vfs.open("/data/Intruder/f".into(), 7, 0o600) else {
        println!("intruder: cannot open its own file");
        return 1;
    };
    println!(
        "intruder: pread at offset 2^63: {}",
        outcome!(vfs.p_read(own.file, 1 << 63, 100))
    );
    println!(
        "intruder: pwrite at offset 2^63: {}",
        outcome!(vfs.p_write(own.file, 1 << 63, vec![1]))
    );
    println!(
        "intruder: truncate to 2^64-1: {}",
        outcome!(vfs.truncate(own.file, u64::MAX))
    );
    println!(
        "intruder: seek to -1: {}",
        outcome!(vfs.seek(own.file, -1, 0))
    );
    println!(
        "intruder: read of 4294967295 bytes: {}",
        outcome!(vfs.read(own.file, u32::MAX))
    );
    // Its share of the data: 4 MiB, then ENOSPC.
    let piece = vec![7u8; 16 * 1024];
    let mut written = 0u64;
    let last = loop {
        match vfs.write(own.file, piece.clone()) {
            Ok(r) => written += u64::from(r.written),
            Err(e) => break outcome!(Err::<(), _>(e)),
        }
        if written > 64 << 20 {
            break String::from("no end");
        }
    };
    println!("intruder: wrote {} KiB, then {last}", written / 1024);
    // The file is at its largest; its data is all the intruder's share too.
    if let Ok(second) = vfs.open("/data/Intruder/g".into(), 7, 0o600) {
        println!(
            "intruder: write to a second file: {}",
            outcome!(vfs.write(second.file, vec![1]))
        );
        let _ = vfs.close(second.file);
    }
    // Its open files: 64, then EMFILE.
    let mut opened = 1;
    let last = loop {
        match vfs.open("/data/Intruder/f".into(), 1, 0) {
            Ok(_) => opened += 1,
            Err(e) => break outcome!(Err::<(), _>(e)),
        }
        if opened > 1000 {
            break String::from("no end");
        }
    };
    println!("intruder: {opened} files open, then {last}");
    // Directories: its share of nodes, then ENOSPC.
    let mut made = 0;
    let last = loop {
        match vfs.mk_dir(alloc::format!("/data/Intruder/d{made}"), 0o755) {
            Ok(_) => made += 1,
            Err(e) => break outcome!(Err::<(), _>(e)),
        }
        if made > 10_000 {
            break String::from("no end");
        }
    };
    println!("intruder: {made} folders made, then {last}");
    println!("intruder: done");
    0
}
