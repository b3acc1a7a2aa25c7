//! hello-std: what a Rust `std` program for Linux expects of its system, printed in a form
//! that is the same on every run: its arguments and an environment variable, threads that
//! meet through a `Mutex` and a `Condvar`, `std::time::Instant` around a sleep, a `HashMap`
//! with its random seed (the entries are printed sorted), and a panic caught with
//! `std::panic::catch_unwind`.
//!
//! The test runs it natively on the host (or with `qemu-aarch64`) and on Ostrog through the
//! Linux personality, and compares the two outputs. Nothing printed may depend on the run:
//! no addresses, no times, no `argv[0]` (the path differs).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const WORKERS: u64 = 4;

fn main() {
    println!("hello-std: hello from Rust std on Linux");
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("hello-std: {} argument(s): {args:?}", args.len());
    match std::env::var("GREETING") {
        Ok(v) => println!("hello-std: GREETING = {v}"),
        Err(e) => println!("hello-std: GREETING: {e}"),
    }

    // Threads: each adds its share under the mutex; the last one wakes the main thread.
    let shared = Arc::new((Mutex::new((0u64, 0u64)), Condvar::new()));
    let handles: Vec<_> = (1..=WORKERS)
        .map(|n| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let (lock, ready) = &*shared;
                let mut state = lock.lock().expect("the lock is not poisoned");
                state.0 += (1..=1000).map(|i| i * n).sum::<u64>();
                state.1 += 1;
                if state.1 == WORKERS {
                    ready.notify_all();
                }
                n * n
            })
        })
        .collect();
    {
        let (lock, ready) = &*shared;
        let state = ready
            .wait_while(lock.lock().expect("the lock is not poisoned"), |s| {
                s.1 < WORKERS
            })
            .expect("the lock is not poisoned");
        println!("hello-std: {} threads added up {}", state.1, state.0);
    }
    let squares: u64 = handles
        .into_iter()
        .map(|h| h.join().expect("the thread did not panic"))
        .sum();
    println!("hello-std: the threads returned squares adding up to {squares}");

    // Time: a sleep takes at least what it asked for.
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(20));
    let slept = start.elapsed();
    println!(
        "hello-std: slept at least 20 ms: {}",
        slept >= Duration::from_millis(20)
    );

    // A HashMap seeded from the system's randomness.
    let words = ["ostrog", "linux", "musl", "policy", "kernel", "personality"];
    let lengths: HashMap<&str, usize> = words.iter().map(|w| (*w, w.len())).collect();
    let mut sorted: Vec<_> = lengths.iter().collect();
    sorted.sort();
    println!("hello-std: map of {} words: {sorted:?}", lengths.len());

    // A panic, caught: the default hook would print the thread id, so a quiet one.
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| {
        let empty: Vec<u8> = Vec::new();
        if empty.is_empty() {
            panic!("deliberate panic number {}", 7);
        }
        empty.len()
    });
    let _ = std::panic::take_hook();
    match caught {
        Ok(n) => println!("hello-std: no panic ({n})"),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(not a string)".into());
            println!("hello-std: caught a panic: {message}");
        }
    }
    println!("hello-std: done");
}
