//! Precise deadlines: sleeps and futex time-outs of random lengths end at their deadline
//! (never before, and a median well under a millisecond after it, where a 100 Hz tick would
//! give 5 ms), and huge or zero waits neither hang nor hurt the kernel.
//!
//! Each wait is timed with `time.Now` read just before the request: the kernel's deadline
//! is taken later than that, so a wake-up measured earlier than the length asked for is a
//! real early wake-up, and the lateness printed includes the cost of the calls around it.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use ostrog_abi::Status;
use ostrog_rt::sys;
use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

const SLEEPS: usize = 200;
const TIMEOUTS: usize = 50;
/// The median lateness a precise timer must stay under.
const MEDIAN_LIMIT_NS: u64 = 1_000_000;

static FAILED: AtomicU32 = AtomicU32::new(0);
static WORD: AtomicU32 = AtomicU32::new(0);

fn fail(what: &str) {
    println!("timers: FAILED {what}");
    FAILED.fetch_add(1, Ordering::Relaxed);
}

fn now() -> u64 {
    sys::now_ns().unwrap_or(0)
}

/// xorshift64: lengths spread over the range, not aligned to anything.
struct Lengths(u64);

impl Lengths {
    /// A length in `min..max` nanoseconds.
    fn next(&mut self, min: u64, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        min + self.0 % (max - min)
    }
}

/// Times `count` waits of random lengths in `min..max` ns done by `wait`; prints the lateness
/// distribution in µs and checks it.
fn measure(
    what: &str,
    count: usize,
    lengths: &mut Lengths,
    (min, max): (u64, u64),
    wait: impl Fn(u64) -> Result<(), Status>,
) {
    let mut all = [0u64; SLEEPS];
    let count = count.min(SLEEPS);
    let late = &mut all[..count];
    let mut early = 0;
    for slot in late.iter_mut() {
        let length = lengths.next(min, max);
        let before = now();
        if let Err(e) = wait(length) {
            println!("timers: FAILED {what} of {length} ns: {}", e.name());
            FAILED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let took = now().saturating_sub(before);
        if took < length {
            early += 1;
            println!("timers: FAILED {what} of {length} ns woke after {took} ns");
        }
        *slot = took.saturating_sub(length);
    }
    late.sort_unstable();
    let at = |q: usize| late.get(q.min(count - 1)).copied().unwrap_or(0) / 1000;
    let median = late.get(count / 2).copied().unwrap_or(u64::MAX);
    println!(
        "timers: {what} lateness over {count} waits of {}-{} us: min {} us, median {} us, p90 {} us, max {} us, {early} early",
        min / 1000,
        max / 1000,
        at(0),
        median / 1000,
        at(count * 9 / 10),
        at(count - 1),
    );
    if early > 0 {
        FAILED.fetch_add(1, Ordering::Relaxed);
    }
    if median >= MEDIAN_LIMIT_NS {
        fail("median lateness is 1 ms or more");
    }
}

fn futex_timeout(ns: u64) -> Result<(), Status> {
    match sys::futex_wait(&WORD, 0, ns) {
        Err(Status::TimedOut) => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Err(Status::WouldBlock),
    }
}

/// Zero, huge and overflowing lengths: a zero sleep returns, a zero futex wait times out at
/// once, and threads left waiting for ever (`u64::MAX - 1` ns, `u32::MAX` ms) are ended with
/// the process without harm.
fn extremes() {
    let before = now();
    if sys::sleep_ns(0).is_err() || sys::sleep_ms(0).is_err() {
        fail("a zero sleep was refused");
    }
    if !matches!(sys::futex_wait(&WORD, 0, 0), Err(Status::TimedOut)) {
        fail("a zero futex wait did not time out");
    }
    if now().saturating_sub(before) > 50_000_000 {
        fail("zero waits took more than 50 ms");
    }
    // These never end: the process's exit ends them.
    let forever = [
        thread::spawn(1, || sys::sleep_ns(u64::MAX - 1).map_or(-1, |()| 1)),
        thread::spawn(1, || sys::sleep_ms(u32::MAX as usize).map_or(-1, |_| 1)),
        thread::spawn(1, || {
            sys::futex_wait(&WORD, 0, u64::MAX - 1).map_or(-1, |_| 1) as isize
        }),
    ];
    if forever.iter().any(|t| t.is_err()) {
        fail("a thread could not be started");
    }
    // They are asleep now, and their deadlines are later than any other: the next sleep
    // still ends on time.
    let before = now();
    if sys::sleep_ns(300_000).is_err() || now().saturating_sub(before) < 300_000 {
        fail("a 300 us sleep beside endless ones");
    }
    println!("timers: zero waits end at once; endless ones are left to the process's exit");
}

fn main() -> i32 {
    let mut lengths = Lengths(now() | 1);
    measure(
        "time.SleepNs",
        SLEEPS,
        &mut lengths,
        (100_000, 5_000_000),
        sys::sleep_ns,
    );
    measure(
        "futex.Wait time-out",
        TIMEOUTS,
        &mut lengths,
        (100_000, 2_000_000),
        futex_timeout,
    );
    extremes();
    let failed = FAILED.load(Ordering::Relaxed);
    println!("timers: done, {failed} failed");
    failed as i32
}
