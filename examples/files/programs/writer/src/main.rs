//! The writer: a native client of the VFS server (kl.Vfs through its channel `vfs`). It
//! makes its folder, writes a file, reads it back, lists the folder and reads a ROMFS file's
//! size under /rom; then it tries a folder the policy does not give it.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

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
    let Some(transport) = channel("writer", "vfs") else {
        return 1;
    };
    let mut vfs = VfsProxy {
        transport,
        riid: riid::VFS,
    };
    println!(
        "writer: mkdir /data/Writer: {}",
        outcome!(vfs.mk_dir("/data/Writer".into(), 0o755))
    );
    // Read | Write | Create.
    let file = match vfs.open("/data/Writer/log".into(), 7, 0o644) {
        Ok(r) => r.file,
        Err(e) => {
            println!("writer: open failed: {}", refuser(&e));
            return 1;
        }
    };
    let text = "hello from a native client of the VFS\n";
    match vfs.write(file, text.as_bytes().to_vec()) {
        Ok(r) => println!("writer: wrote {} bytes", r.written),
        Err(e) => println!("writer: write failed: {}", refuser(&e)),
    }
    println!("writer: seek to 0: {}", outcome!(vfs.seek(file, 0, 0)));
    match vfs.read(file, 100) {
        Ok(r) => println!("writer: read back: {:?}", String::from_utf8_lossy(&r.data)),
        Err(e) => println!("writer: read failed: {}", refuser(&e)),
    }
    match vfs.f_stat(file) {
        Ok(r) => println!(
            "writer: size {}, regular file {}",
            r.size,
            r.kind & 0o170000 == 0o100000
        ),
        Err(e) => println!("writer: fstat failed: {}", refuser(&e)),
    }
    println!("writer: close: {}", outcome!(vfs.close(file)));
    // The folder's entries (records: inode u64, type u8, name length u8, name).
    if let Ok(dir) = vfs.open("/data/Writer".into(), 1 | 64, 0) {
        let mut names = Vec::new();
        if let Ok(r) = vfs.read_dir(dir.file, 4096) {
            let mut at = 0;
            while at + 10 <= r.entries.len() {
                let len = r.entries[at + 9] as usize;
                names
                    .push(String::from_utf8_lossy(&r.entries[at + 10..at + 10 + len]).into_owned());
                at += 10 + len;
            }
        }
        println!("writer: entries of /data/Writer: {names:?}");
        let _ = vfs.close(dir.file);
    }
    match vfs.stat("/rom/FilesWriter".into()) {
        Ok(r) => println!(
            "writer: /rom/FilesWriter is its own executable: {}",
            r.size > 0
        ),
        Err(e) => println!("writer: stat /rom/FilesWriter failed: {}", refuser(&e)),
    }
    // A file of the solution's files/ folder, in the ROMFS under its relative path.
    match vfs.open("/rom/etc/writer/greeting.conf".into(), 1, 0) {
        Ok(r) => {
            match vfs.read(r.file, 200) {
                Ok(d) => println!(
                    "writer: /rom/etc/writer/greeting.conf: {:?}",
                    String::from_utf8_lossy(&d.data)
                ),
                Err(e) => println!("writer: read of greeting.conf failed: {}", refuser(&e)),
            }
            let _ = vfs.close(r.file);
        }
        Err(e) => println!(
            "writer: open /rom/etc/writer/greeting.conf: {}",
            refuser(&e)
        ),
    }
    println!(
        "writer: write to /rom/FilesWriter: {}",
        outcome!(vfs.open("/rom/FilesWriter".into(), 2, 0))
    );
    println!(
        "writer: mkdir /etc: {}",
        outcome!(vfs.mk_dir("/etc".into(), 0o755))
    );
    println!("writer: done");
    0
}
