//! fork-std: `fork()` from a multi-threaded Rust `std` program. One thread counts without
//! stopping, another waits on a condition variable; the main thread forks. The child is the
//! forking thread alone: it checks (with async-signal-safe calls only: `write`,
//! `nanosleep`, `getpid`, `getppid`, `_exit`) that the counter no longer moves and that its
//! memory is a copy, then `_exit`s with 5. The parent waits for it, sees its own memory
//! unchanged, wakes and joins its threads. Nothing printed depends on the run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

extern "C" {
    fn fork() -> i32;
    fn _exit(status: i32) -> !;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn write(fd: i32, buf: *const u8, len: usize) -> isize;
    fn nanosleep(req: *const [i64; 2], rem: *mut [i64; 2]) -> i32;
    fn getpid() -> i32;
    fn getppid() -> i32;
}

static COUNTER: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);
static mut SHARED: [u8; 8] = *b"parent\0\0";

/// `write` of a whole line to stdout: async-signal-safe.
fn say(line: &[u8]) {
    // SAFETY: the buffer is valid for its length.
    unsafe { write(1, line.as_ptr(), line.len()) };
}

fn sleep_ms(ms: i64) {
    let t = [0, ms * 1_000_000];
    // SAFETY: `t` is a valid timespec; no remainder is asked for.
    unsafe { nanosleep(&t, std::ptr::null_mut()) };
}

fn yes(b: bool) -> &'static [u8] {
    if b {
        b"yes\n"
    } else {
        b"no\n"
    }
}

/// The child: only async-signal-safe calls, then `_exit`.
fn child(parent: i32) -> ! {
    let before = COUNTER.load(Ordering::SeqCst);
    sleep_ms(100);
    let after = COUNTER.load(Ordering::SeqCst);
    say(b"fork-std: child: the counting thread is not here: ");
    say(yes(before == after));
    // SAFETY: the child has one thread; nothing else touches SHARED here.
    unsafe {
        SHARED = *b"child\0\0\0";
    }
    say(b"fork-std: child: getppid is the parent: ");
    // SAFETY: plain system calls.
    say(yes(
        unsafe { getppid() } == parent && unsafe { getpid() } != parent
    ));
    // SAFETY: ends the child at once, without running the parent's exit handlers.
    unsafe { _exit(5) }
}

fn main() {
    let counter = std::thread::spawn(|| {
        while !STOP.load(Ordering::SeqCst) {
            COUNTER.fetch_add(1, Ordering::SeqCst);
            std::thread::yield_now();
        }
    });
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let waiting = {
        let gate = Arc::clone(&gate);
        std::thread::spawn(move || {
            let (lock, cv) = &*gate;
            let mut open = lock.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
            "woken"
        })
    };
    // Both threads are under way: one counting, one waiting.
    while COUNTER.load(Ordering::SeqCst) < 100 {
        std::thread::yield_now();
    }
    // SAFETY: plain system call.
    let parent = unsafe { getpid() };
    // SAFETY: the child calls only async-signal-safe functions before `_exit`.
    let pid = unsafe { fork() };
    if pid == 0 {
        child(parent);
    }
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: waits for our child; `status` is valid.
    let got = unsafe { waitpid(pid, &mut status, 0) };
    println!("fork-std: waitpid returned the child: {}", got == pid);
    println!(
        "fork-std: child exited with {}",
        if status & 0x7f == 0 {
            (status >> 8) & 0xff
        } else {
            -1
        }
    );
    // SAFETY: the threads do not touch SHARED.
    let shared = unsafe { SHARED };
    println!(
        "fork-std: parent: memory unchanged: {}",
        shared.starts_with(b"parent")
    );
    let before = COUNTER.load(Ordering::SeqCst);
    while COUNTER.load(Ordering::SeqCst) == before {
        std::thread::yield_now();
    }
    println!("fork-std: parent: the counting thread still counts");
    {
        let (lock, cv) = &*gate;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
    println!(
        "fork-std: the waiting thread was {}",
        waiting.join().unwrap()
    );
    STOP.store(true, Ordering::SeqCst);
    counter.join().unwrap();
    println!("fork-std: done");
}
