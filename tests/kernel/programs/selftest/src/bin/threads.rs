//! Starts threads, joins them, and checks their results; a thread above the process's
//! priority ceiling is refused.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

fn main() -> i32 {
    let handles: Vec<_> = (0..4u64)
        .filter_map(|i| {
            thread::spawn(16, move || (selftest::spin(100_000) % 7 + i * 100) as isize)
                .map_err(|e| println!("threads: spawn failed: {}", e.name()))
                .ok()
        })
        .collect();
    let started = handles.len();
    let mut sum = 0;
    for h in handles {
        match h.join() {
            Ok(status) => sum += status / 100,
            Err(e) => println!("threads: join failed: {}", e.name()),
        }
    }
    println!("threads: {started} started, joined with sum of indices {sum}");
    // The kernel started this program at the default ceiling, 16.
    match thread::spawn(31, || 0) {
        Ok(_) => println!("threads: BREACH: a thread at priority 31 was created"),
        Err(e) => println!("threads: a thread at priority 31 is refused ({})", e.name()),
    }
    if started == 4 && sum == 6 {
        0
    } else {
        1
    }
}
