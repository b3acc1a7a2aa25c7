//! A program that floods the log server: 500 records as fast as it can. Its quota lets a
//! burst through and then a steady rate; the rest are dropped, answered `Dropped`, and
//! counted by the server, which it asks. Then it checks the server's rotated files on the
//! RAM file system (sizes within the bound, no more files than configured).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;

use logrr_client::{send, Failure};
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;
use ostrog_rt::sys::{self, Channel};

// Generated from the SDK tree: kl.Vfs.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_vfs::VfsProxy;

ostrog_rt::main!(main);

const RECORDS: u64 = 500;
const ROTATE_SIZE: u64 = 1200;

fn main() -> i32 {
    if let Err(e) = logrr_client::init(log_max()) {
        println!("flood: FAILED: no logger: {e:?}");
        return 1;
    }
    let mut failed = 0;
    let mut dropped = 0;
    let mut logged = 0;
    let start = sys::now_ns().unwrap_or(0);
    for i in 0..RECORDS {
        match send(3, format!("flood record {i}").as_bytes()) {
            Ok(()) => logged += 1,
            Err(Failure::Dropped) => dropped += 1,
            Err(e) => {
                println!("flood: FAILED: record {i}: {e:?}");
                failed += 1;
                break;
            }
        }
    }
    let us = sys::now_ns().unwrap_or(0).saturating_sub(start) / 1000;
    println!(
        "flood: {RECORDS} records sent, {logged} logged, {dropped} dropped, in {us} us ({} us a record)",
        us / RECORDS
    );
    match logrr_client::losses() {
        Ok((mine, _)) if mine == dropped && dropped > 0 => {
            println!("flood: the server counts {mine} of its records dropped")
        }
        other => {
            println!("flood: FAILED: the server's count {other:?}, dropped {dropped}");
            failed += 1;
        }
    }

    // The rotated files.
    let Ok(channel) = Channel::lookup("vfs") else {
        println!("flood: FAILED: no channel vfs");
        return 1;
    };
    let mut vfs = VfsProxy {
        transport: channel,
        riid: idl::kl_vfs_ram_fs::riid::VFS,
    };
    // The current file and at least one older one, each within the bound; never more
    // than --rotate-files (3).
    let mut total = 0;
    let mut files = 0;
    for name in [
        "/data/ostrog.log",
        "/data/ostrog.log.1",
        "/data/ostrog.log.2",
    ] {
        match vfs.stat(name.into()) {
            Ok(s) if s.size > 0 && s.size <= ROTATE_SIZE => {
                total += s.size;
                files += 1;
            }
            Err(CallError::Remote(e)) if e.status == 2 && files >= 2 => {}
            other => {
                println!("flood: FAILED: {name}: {other:?}");
                failed += 1;
            }
        }
    }
    match vfs.stat("/data/ostrog.log.3".into()) {
        Err(_) => println!(
            "flood: {files} log files of at most {ROTATE_SIZE} bytes ({total} bytes), no fourth"
        ),
        Ok(_) => {
            println!("flood: FAILED: a fourth log file");
            failed += 1;
        }
    }
    let found = vfs
        .open("/data/ostrog.log".into(), 1, 0)
        .ok()
        .and_then(|f| vfs.read(f.file, 4096).ok())
        .map(|r| r.data)
        .unwrap_or_default();
    let text = core::str::from_utf8(&found).unwrap_or("");
    match text.lines().last() {
        Some(line) if line.starts_with("[log] ") || line.starts_with("logrr: ") => {
            println!("flood: the newest file ends with a record line")
        }
        other => {
            println!("flood: FAILED: the newest file ends with {other:?}");
            failed += 1;
        }
    }
    let _ = sys::sleep_ms(1);
    println!("flood: done, {failed} failed");
    0
}

fn log_max() -> logrr_client::LevelFilter {
    logrr_client::LevelFilter::Info
}
