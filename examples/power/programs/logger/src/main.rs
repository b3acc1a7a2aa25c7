//! The logger: a native client of the disk VFS server kl.VfsSdCardFs, itself on the
//! virtio-blk driver kl.drivers.VirtioBlk. At start it reads its log, /data/Power/log, if
//! there is one, and checks every record (its number in order from 0, its contents, its
//! checksum; nothing after the last whole one); then it appends [`PER_BOOT`] records,
//! fsyncing after each and printing `power: synced K` (K records are now durable) once the
//! fsync has returned. The power-cut test (xtask/src/power.rs) kills QEMU in the middle of
//! that loop and boots the same disk again: every record it saw synced must be found.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
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

/// The log's path.
const LOG: &str = "/data/Power/log";

/// Bytes of a record: a tag, the record's number (u64), contents that depend on the number,
/// and an FNV-1a checksum (u64) of everything before it; little-endian.
const RECORD: usize = 64;

/// The tag that starts every record.
const TAG: &[u8; 4] = b"PWR1";

/// Where the checksum starts.
const SUM_AT: usize = RECORD - 8;

/// Records appended (and fsync'ed one by one) at each boot.
const PER_BOOT: u64 = 400;

/// Open flags of kl.Vfs: read, write, create, append.
const READ: u32 = 1;
const WRITE: u32 = 2;
const CREATE: u32 = 4;
const APPEND: u32 = 32;

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Record number `n`.
fn record(n: u64) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    r[..4].copy_from_slice(TAG);
    r[4..12].copy_from_slice(&n.to_le_bytes());
    for (k, b) in r[12..SUM_AT].iter_mut().enumerate() {
        *b = (n.wrapping_mul(131) as usize + k * 7) as u8;
    }
    let sum = checksum(&r[..SUM_AT]);
    r[SUM_AT..].copy_from_slice(&sum.to_le_bytes());
    r
}

/// What is wrong with `bytes` as record number `n`, if anything.
fn damage(n: u64, bytes: &[u8]) -> Option<String> {
    if bytes.len() < RECORD {
        return Some(alloc::format!(
            "cut short ({} of {RECORD} bytes)",
            bytes.len()
        ));
    }
    if &bytes[..4] != TAG {
        return Some(alloc::format!("no tag (starts {:02x?})", &bytes[..4]));
    }
    let mut number = [0u8; 8];
    number.copy_from_slice(&bytes[4..12]);
    let number = u64::from_le_bytes(number);
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&bytes[SUM_AT..RECORD]);
    if u64::from_le_bytes(sum) != checksum(&bytes[..SUM_AT]) {
        return Some(String::from("checksum mismatch"));
    }
    if number != n {
        return Some(alloc::format!("numbered {number} (out of order or a gap)"));
    }
    if bytes[..RECORD] != record(n) {
        return Some(String::from("contents differ"));
    }
    None
}

fn errno<E>(e: &CallError<E>, status: impl Fn(&E) -> i32) -> String {
    match e {
        CallError::Remote(e) => alloc::format!("errno {}", status(e)),
        e => alloc::format!("refused ({})", refuser(e)),
    }
}

fn main() -> i32 {
    let Some(transport) = channel("power", "vfs") else {
        return 1;
    };
    let mut vfs = VfsProxy {
        transport,
        riid: riid::VFS,
    };
    // There from an earlier boot, or made now (EEXIST is fine).
    let _ = vfs.mk_dir("/data/Power".into(), 0o755);
    let file = match vfs.open(LOG.into(), READ | WRITE | CREATE | APPEND, 0o644) {
        Ok(r) => r.file,
        Err(e) => {
            println!("power: open {LOG}: {}", errno(&e, |e| e.status));
            return 1;
        }
    };
    let mut data = Vec::new();
    loop {
        match vfs.read(file, 16 * 1024) {
            Ok(r) if !r.data.is_empty() => data.extend(r.data),
            Ok(_) => break,
            Err(e) => {
                println!("power: read {LOG}: {}", errno(&e, |e| e.status));
                return 1;
            }
        }
    }
    let mut found = 0u64;
    for piece in data.chunks(RECORD) {
        if let Some(what) = damage(found, piece) {
            println!(
                "power: FAILED: record {found} (at byte {}) is bad: {what}; {found} intact before it",
                found as usize * RECORD
            );
            return 1;
        }
        found += 1;
    }
    println!("power: found {found} intact records");
    for n in found..found + PER_BOOT {
        if let Err(e) = vfs.write(file, record(n).to_vec()) {
            println!(
                "power: FAILED: write of record {n}: {}",
                errno(&e, |e| e.status)
            );
            return 1;
        }
        if let Err(e) = vfs.f_sync(file) {
            println!(
                "power: FAILED: fsync of record {n}: {}",
                errno(&e, |e| e.status)
            );
            return 1;
        }
        println!("power: synced {}", n + 1);
    }
    let total = found + PER_BOOT;
    match vfs.stat(LOG.into()) {
        Ok(r) if r.size == total * RECORD as u64 => {}
        Ok(r) => {
            println!(
                "power: FAILED: {LOG} has {} bytes, not {}",
                r.size,
                total * RECORD as u64
            );
            return 1;
        }
        Err(e) => {
            println!("power: FAILED: stat {LOG}: {}", errno(&e, |e| e.status));
            return 1;
        }
    }
    if let Err(e) = vfs.close(file) {
        println!("power: FAILED: close: {}", errno(&e, |e| e.status));
        return 1;
    }
    println!("power: done, {total} records in {LOG}");
    0
}
