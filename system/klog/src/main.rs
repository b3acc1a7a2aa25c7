//! Klog: the audit reader. It takes the security module's records from the kernel's audit
//! log (core endpoint `audit.Read`) and prints each on the console as one line starting
//! with `[audit]`, where a person reads them and `cargo ostrog` collects them after a run. When
//! the log is empty and Klog is the last process running, it ends, so that a solution
//! whose programs have all finished powers off.
#![no_std]
#![no_main]

use ostrog_rt::println;
use ostrog_rt::sys::{self, call_status};

ostrog_rt::main!(main);

/// Pause between polls of an empty log.
const POLL_MS: usize = 10;

fn main() -> i32 {
    let mut audit = sys::audit();
    let mut tasks = sys::tasks();
    loop {
        let batch = match audit.read() {
            Ok(b) => b,
            Err(e) => {
                println!("Klog: cannot read the audit log: {}", call_status(e).name());
                return 1;
            }
        };
        if batch.dropped > 0 {
            println!(
                "[audit] ({} records lost: the log was full; the lines below name whose)",
                batch.dropped
            );
        }
        for line in batch
            .records
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
        {
            println!(
                "[audit] {}",
                core::str::from_utf8(line).unwrap_or("(not UTF-8)")
            );
        }
        if batch.records.is_empty() {
            match tasks.count() {
                Ok(c) if c.live <= 1 => return 0,
                Ok(_) => {}
                Err(e) => {
                    println!("Klog: cannot count processes: {}", call_status(e).name());
                    return 1;
                }
            }
            let _ = sys::sleep_ms(POLL_MS);
        }
    }
}
