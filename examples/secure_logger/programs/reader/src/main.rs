//! The reader: waits until both writers have written their three records, prints the log,
//! counts the records of each writer, and tries to write, which the policy forbids it.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use ostrog_rt::sys::{self, Channel};
use ostrog_rt::{call_refusal, println};

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::logger_log::LogProxy;
use idl::logger_server::riid;

ostrog_rt::main!(main);

/// Records the writers write (three each).
const EXPECTED: u32 = 6;
/// Polls of the log before giving up (10 ms apart).
const POLLS: u32 = 1000;

fn main() -> i32 {
    let Ok(channel) = Channel::lookup("log") else {
        println!("reader: no channel named log");
        return 1;
    };
    let mut log = LogProxy {
        transport: channel,
        riid: riid::LOG,
    };
    // Each writer writes its last record after its refused attempts, so once the log is
    // full, every decision about the writers has been made (and audited).
    let mut count = 0;
    for _ in 0..POLLS {
        match log.read(0) {
            Ok(r) => count = r.count,
            Err(e) => {
                println!("reader: reading the log failed: {e:?}");
                return 1;
            }
        }
        if count >= EXPECTED {
            break;
        }
        let _ = sys::sleep_ms(10);
    }
    println!("reader: the log holds {count} records");
    let mut records = Vec::new();
    for i in 0..count {
        match log.read(i) {
            Ok(r) => {
                println!("reader: [{i}] {}", r.record);
                records.push(r.record);
            }
            Err(e) => println!("reader: record {i}: {e:?}"),
        }
    }
    // The writers' records interleave in any order; their numbers per writer do not.
    let from = |who: &str| {
        let prefix = format!("{who}: ");
        records.iter().filter(|r| r.starts_with(&prefix)).count()
    };
    println!(
        "reader: {} records from app, {} from auditor",
        from("app"),
        from("auditor")
    );
    // The reader may not write.
    let forged = String::from("app: all is well");
    match log.write(forged) {
        Ok(_) => println!("reader: BREACH: wrote a record"),
        Err(e) => println!(
            "reader: writing refused: {}",
            call_refusal(&e).map_or("(not by the kernel)", |s| s.name())
        ),
    }
    0
}
