//! rs-std: Rust `std` over the calls musl makes for it: threads (clone, futex, exit),
//! `Mutex`/`Condvar`, thread-locals, `Instant` and `sleep`, `HashMap`'s random keys
//! (getrandom), the environment and arguments, `catch_unwind`, large allocations (mmap).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use conformance_rs::Conf;

thread_local! {
    static LOCAL: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

fn main() {
    let c = Conf::new("rs-std");
    let handle = std::thread::spawn(|| {
        LOCAL.with(|l| l.set(2));
        7u32
    });
    c.check(
        "thread_spawn_join_value",
        handle.join().map(i64::from).unwrap_or(-1),
        7,
    );
    c.check(
        "thread_local_unchanged",
        i64::from(LOCAL.with(|l| l.get())),
        1,
    );

    let count = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let count = count.clone();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let joined = threads
        .into_iter()
        .map(|t| t.join().is_ok())
        .filter(|&ok| ok)
        .count();
    c.check("six_threads_joined", joined as i64, 6);
    c.check("atomic_count", count.load(Ordering::SeqCst) as i64, 3000);

    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let other = pair.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        *other.0.lock().unwrap() = true;
        other.1.notify_one();
    });
    let mut ready = pair.0.lock().unwrap();
    while !*ready {
        ready = pair.1.wait(ready).unwrap();
    }
    c.check_true("condvar_wakes_waiter", *ready);
    drop(ready);
    c.check_true("condvar_thread_joined", t.join().is_ok());
    let (lock, cvar) = &*pair;
    let guard = lock.lock().unwrap();
    let start = Instant::now();
    let (_guard, timeout) = cvar.wait_timeout(guard, Duration::from_millis(15)).unwrap();
    c.check_true(
        "condvar_wait_timeout",
        timeout.timed_out() && start.elapsed() >= Duration::from_millis(15),
    );

    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(25));
    c.check_true("sleep_25ms", start.elapsed() >= Duration::from_millis(25));
    let a = Instant::now();
    let b = Instant::now();
    c.check_true("instant_monotonic", b >= a);
    c.check_true(
        "system_time_after_epoch",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .is_ok(),
    );

    let mut map = HashMap::new();
    for i in 0..1000 {
        map.insert(i, i * 2);
    }
    c.check(
        "hashmap_random_keys",
        map.values().map(|&v| v as i64).sum(),
        999_000,
    );

    let big = vec![3u8; 16 << 20];
    c.check(
        "large_allocation_16mib",
        big.iter().map(|&b| b as i64).sum(),
        3 * (16 << 20),
    );
    drop(big);

    c.check_true(
        "env_var_from_init",
        std::env::var("CONF").as_deref() == Ok("conformance"),
    );
    c.check("args_count", std::env::args().count() as i64, 3);
    c.check_true(
        "args_values",
        std::env::args()
            .skip(1)
            .eq(["one", "two words"].iter().map(|s| s.to_string())),
    );
    let caught = std::panic::catch_unwind(|| {
        std::panic::set_hook(Box::new(|_| {}));
        panic!("expected");
    });
    let _ = std::panic::take_hook();
    c.check_true("panic_caught", caught.is_err());
    c.check_true(
        "available_parallelism",
        std::thread::available_parallelism().is_ok(),
    );
    c.check_true(
        "current_dir",
        std::env::current_dir()
            .map(|d| d.is_absolute())
            .unwrap_or(false),
    );
    c.check_true("current_exe", std::env::current_exe().is_ok());
    c.done();
}
