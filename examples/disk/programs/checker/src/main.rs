//! The checker: after a power cut in the middle of a write loop (DiskCrashedBlock), it
//! reads the disk through disk.CrashedFs (VfsSdCardFs mounting it as after a reboot) and
//! checks every record; it appends one more and fsyncs it. Then it tries disk.ForeignFs,
//! whose disk holds another format: every request fails with EIO.
#![no_std]
#![no_main]

extern crate alloc;

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

/// Bytes of a record.
const RECORD: usize = 64;

/// Record `i` as DiskCrashedBlock writes it: its number, letters that depend on it, a
/// newline.
fn record(i: usize) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    let head = [
        b'r',
        b'0' + (i / 1000 % 10) as u8,
        b'0' + (i / 100 % 10) as u8,
        b'0' + (i / 10 % 10) as u8,
        b'0' + (i % 10) as u8,
        b' ',
    ];
    r[..head.len()].copy_from_slice(&head);
    for (k, b) in r.iter_mut().enumerate().skip(head.len()) {
        *b = b'a' + ((i * 7 + k) % 26) as u8;
    }
    r[RECORD - 1] = b'\n';
    r
}

fn errno<E>(e: &CallError<E>, status: impl Fn(&E) -> i32) -> alloc::string::String {
    match e {
        CallError::Remote(e) => alloc::format!("errno {}", status(e)),
        e => alloc::format!("refused ({})", refuser(e)),
    }
}

fn main() -> i32 {
    let (Some(crashed), Some(foreign)) = (channel("checker", "vfs"), channel("checker", "foreign"))
    else {
        return 1;
    };
    let mut vfs = VfsProxy {
        transport: crashed,
        riid: riid::VFS,
    };
    // Read | Write | Append.
    let file = match vfs.open("/data/Checker/log".into(), 1 | 2 | 32, 0) {
        Ok(r) => r.file,
        Err(e) => {
            println!(
                "checker: open /data/Checker/log: {}",
                errno(&e, |e| e.status)
            );
            return 1;
        }
    };
    let mut data = Vec::new();
    loop {
        match vfs.read(file, 16 * 1024) {
            Ok(r) if !r.data.is_empty() => data.extend(r.data),
            Ok(_) => break,
            Err(e) => {
                println!("checker: read: {}", errno(&e, |e| e.status));
                return 1;
            }
        }
    }
    let whole = data
        .chunks(RECORD)
        .enumerate()
        .take_while(|(i, r)| *r == record(*i))
        .count();
    println!(
        "checker: the log holds {whole} whole records in order, and nothing else: {}",
        data.len() == whole * RECORD
    );
    let appended = vfs
        .write(file, record(whole).to_vec())
        .map_err(|e| errno(&e, |e| e.status))
        .and_then(|_| vfs.f_sync(file).map_err(|e| errno(&e, |e| e.status)));
    println!(
        "checker: record {whole} appended and fsync'ed after the reboot: {}",
        appended.map_or_else(|e| e, |_| "ok".into())
    );
    let _ = vfs.close(file);
    let mut other = VfsProxy {
        transport: foreign,
        riid: riid::VFS,
    };
    println!(
        "checker: the foreign disk: stat /data: {}",
        other
            .stat("/data".into())
            .map_or_else(|e| errno(&e, |e| e.status), |_| "ok".into())
    );
    println!(
        "checker: the foreign disk: mkdir /data: {}",
        other
            .mk_dir("/data".into(), 0o755)
            .map_or_else(|e| errno(&e, |e| e.status), |_| "ok".into())
    );
    println!("checker: done");
    0
}
