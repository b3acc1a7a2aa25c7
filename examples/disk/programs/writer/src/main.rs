//! The writer: a native client of the disk VFS server kl.VfsSdCardFs (kl.Vfs through its
//! channel `vfs`) on a fresh disk. It makes its folder, writes a file across several
//! blocks, fsyncs it, reads it back, renames and lists; the ROMFS is read-only under /rom;
//! a folder the policy does not give it is refused; it fills its share of the disk
//! (ENOSPC) and gets the room back by removing what it wrote.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use ostrog_rt::client::{channel, refuser};
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;

// Generated from the SDK tree's kl/: this program uses only kl.Vfs.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_vfs::VfsProxy;
use idl::kl_vfs_sd_card_fs::riid;

ostrog_rt::main!(main);

/// What a request came to: "ok", the server's errno, or the kernel's refusal.
macro_rules! outcome {
    ($r:expr) => {
        match $r {
            Ok(_) => String::from("ok"),
            Err(CallError::Remote(e)) => alloc::format!("errno {}", e.status),
            Err(e) => alloc::format!("refused ({})", refuser(&e)),
        }
    };
}

/// Bytes of the file written, read back and listed.
const SIZE: usize = 40_000;

fn byte(i: usize) -> u8 {
    (i * 31 % 251) as u8
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
    let file = match vfs.open("/data/Writer/draft".into(), 7, 0o644) {
        Ok(r) => r.file,
        Err(e) => {
            println!("writer: open failed: {}", refuser(&e));
            return 1;
        }
    };
    let data: Vec<u8> = (0..SIZE).map(byte).collect();
    let mut written = 0;
    for piece in data.chunks(16 * 1024) {
        match vfs.write(file, piece.to_vec()) {
            Ok(r) => written += r.written as usize,
            Err(e) => println!("writer: write failed: {}", refuser(&e)),
        }
    }
    println!("writer: wrote {written} bytes");
    println!("writer: fsync: {}", outcome!(vfs.f_sync(file)));
    let mut back = Vec::new();
    while back.len() < SIZE {
        match vfs.p_read(file, back.len() as u64, 16 * 1024) {
            Ok(r) if !r.data.is_empty() => back.extend(r.data),
            _ => break,
        }
    }
    println!(
        "writer: read back {} bytes, the same: {}",
        back.len(),
        back == data
    );
    println!("writer: close: {}", outcome!(vfs.close(file)));
    println!(
        "writer: rename draft to log: {}",
        outcome!(vfs.rename("/data/Writer/draft".into(), "/data/Writer/log".into()))
    );
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
    match vfs.stat("/data/Writer/log".into()) {
        Ok(r) => println!(
            "writer: /data/Writer/log: size {}, regular file {}",
            r.size,
            r.kind & 0o170000 == 0o100000
        ),
        Err(e) => println!("writer: stat failed: {}", refuser(&e)),
    }
    match vfs.stat("/rom/DiskWriter".into()) {
        Ok(r) => println!(
            "writer: /rom/DiskWriter is its own executable: {}",
            r.size > 0
        ),
        Err(e) => println!("writer: stat /rom/DiskWriter failed: {}", refuser(&e)),
    }
    println!(
        "writer: write to /rom/DiskWriter: {}",
        outcome!(vfs.open("/rom/DiskWriter".into(), 2, 0))
    );
    println!(
        "writer: mkdir /data/Other: {}",
        outcome!(vfs.mk_dir("/data/Other".into(), 0o755))
    );
    // Hostile: numbers it never opened, then its whole share of the disk.
    println!("writer: close file 40: {}", outcome!(vfs.close(40)));
    let chunk = vec![0x5a; 16 * 1024];
    let mut filled = 0usize;
    let mut files = 0;
    let last = 'fill: loop {
        let path = alloc::format!("/data/Writer/fill{files}");
        let f = match vfs.open(path, 2 | 4, 0o644) {
            Ok(r) => r.file,
            Err(e) => break outcome!(Err::<(), _>(e)),
        };
        files += 1;
        for _ in 0..8 {
            match vfs.write(f, chunk.clone()) {
                Ok(_) => filled += chunk.len(),
                Err(e) => {
                    let _ = vfs.close(f);
                    break 'fill outcome!(Err::<(), _>(e));
                }
            }
        }
        let _ = vfs.close(f);
    };
    println!(
        "writer: filled {} KiB of the disk, then {last}",
        filled / 1024
    );
    let mut removed = true;
    for i in 0..files {
        removed &= vfs.unlink(alloc::format!("/data/Writer/fill{i}")).is_ok();
    }
    println!("writer: removed its {files} fill files: {removed}");
    let again = vfs
        .open("/data/Writer/again".into(), 2 | 4, 0o644)
        .map_err(|e| outcome!(Err::<(), _>(e)))
        .and_then(|r| {
            vfs.write(r.file, chunk.clone())
                .map_err(|e| outcome!(Err::<(), _>(e)))
        });
    println!(
        "writer: a write after that: {}",
        again.map_or_else(|e| e, |_| String::from("ok"))
    );
    println!("writer: done");
    0
}
