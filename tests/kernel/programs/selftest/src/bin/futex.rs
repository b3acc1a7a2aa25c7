//! `futex.Wait` and `futex.Wake`: a changed value does not wait, time-outs end waits, wake
//! counts are exact, two threads hand a turn back and forth, bad addresses are refused, and a
//! thread left waiting when the process ends leaves nothing behind.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use ostrog_abi::Status;
use ostrog_rt::sys::{self, FUTEX_FOREVER};
use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

const ROUNDS: u32 = 1000;

static FAILED: AtomicU32 = AtomicU32::new(0);
static WORD: AtomicU32 = AtomicU32::new(0);
static TURN: AtomicU32 = AtomicU32::new(0);
static WAITERS: AtomicU32 = AtomicU32::new(0);
static WOKEN: AtomicU32 = AtomicU32::new(0);
static FOREVER: AtomicU32 = AtomicU32::new(0);

fn fail(what: &str, got: &str) {
    println!("futex: FAILED {what} ({got})");
    FAILED.fetch_add(1, Ordering::Relaxed);
}

fn expect<T>(result: Result<T, Status>, want: Status, what: &str) {
    match result {
        Err(e) if e == want => {}
        Err(e) => fail(what, e.name()),
        Ok(_) => fail(what, "succeeded"),
    }
}

fn basics() {
    WORD.store(5, Ordering::Relaxed);
    expect(
        sys::futex_wait(&WORD, 4, FUTEX_FOREVER),
        Status::WouldBlock,
        "Wait with another value",
    );
    expect(
        sys::futex_wait(&WORD, 5, 0),
        Status::TimedOut,
        "Wait of 0 ns",
    );
    let before = selftest::now_ms();
    expect(
        sys::futex_wait(&WORD, 5, 50_000_000),
        Status::TimedOut,
        "Wait of 50 ms",
    );
    let waited = selftest::now_ms().saturating_sub(before);
    if waited < 40 {
        fail("Wait of 50 ms waits", "shorter");
    }
    match sys::futex_wake(&WORD, 10) {
        Ok(0) => {}
        _ => fail("Wake with no waiter wakes none", "other"),
    }
    println!("futex: a changed value does not wait (would block); a 50 ms wait timed out after {waited} ms");
}

fn hostile() {
    let base = WORD.as_ptr() as usize;
    expect(
        sys::futex_wait_raw(base + 1, 0, FUTEX_FOREVER),
        Status::InvalidArgument,
        "Wait at an unaligned address",
    );
    expect(
        sys::futex_wait_raw(0, 0, FUTEX_FOREVER),
        Status::InvalidArgument,
        "Wait at address 0",
    );
    expect(
        sys::futex_wait_raw(0xffff_8000_0000_1000, 0, FUTEX_FOREVER),
        Status::InvalidArgument,
        "Wait at a kernel address",
    );
    expect(
        sys::futex_wait_raw(0x7fff_fffc + 4, 0, FUTEX_FOREVER),
        Status::InvalidArgument,
        "Wait past the user range",
    );
    expect(
        sys::futex_wait_raw(0x0a00_0000, 0, FUTEX_FOREVER),
        Status::BadAddress,
        "Wait at an unmapped address",
    );
    expect(
        sys::futex_wake_raw(base + 2, 1),
        Status::InvalidArgument,
        "Wake at an unaligned address",
    );
    expect(
        sys::futex_wake_raw(usize::MAX - 3, 1),
        Status::InvalidArgument,
        "Wake at the top of the address space",
    );
    match sys::futex_wake_raw(0x0a00_0000, u32::MAX) {
        Ok(0) => {}
        _ => fail("Wake at an unmapped address wakes none", "other"),
    }
    println!("futex: unaligned, kernel and unmapped addresses are refused");
}

fn ping_pong() {
    // Each side waits for its turn and hands it over: ROUNDS wake-ups each way.
    fn side(me: u32) -> isize {
        for _ in 0..ROUNDS {
            loop {
                let now = TURN.load(Ordering::Acquire);
                if now == me {
                    break;
                }
                match sys::futex_wait(&TURN, now, FUTEX_FOREVER) {
                    Ok(()) | Err(Status::WouldBlock) => {}
                    Err(_) => return -1,
                }
            }
            TURN.store(1 - me, Ordering::Release);
            if sys::futex_wake(&TURN, 1).is_err() {
                return -1;
            }
        }
        0
    }
    let other = thread::spawn(16, || side(1));
    let mine = side(0);
    let theirs = match other {
        Ok(h) => h.join().unwrap_or(-1),
        Err(_) => -1,
    };
    if mine != 0 || theirs != 0 {
        fail("ping-pong", "a side failed");
    }
    println!("futex: two threads handed the turn back and forth {ROUNDS} times each");
}

fn wake_counts() {
    WORD.store(0, Ordering::Relaxed);
    let mut joins = [None, None, None];
    for slot in joins.iter_mut() {
        *slot = thread::spawn(16, || {
            WAITERS.fetch_add(1, Ordering::AcqRel);
            match sys::futex_wait(&WORD, 0, 5_000_000_000) {
                Ok(()) => {
                    WOKEN.fetch_add(1, Ordering::AcqRel);
                    0
                }
                Err(_) => 1,
            }
        })
        .ok();
    }
    // All three are waiting once they have counted themselves and the CPU went idle.
    while WAITERS.load(Ordering::Acquire) < 3 {
        let _ = sys::sleep_ms(10);
    }
    let _ = sys::sleep_ms(30);
    let first = sys::futex_wake(&WORD, 2);
    let second = sys::futex_wake(&WORD, 10);
    let third = sys::futex_wake(&WORD, 10);
    let mut ok = 0;
    for j in joins.into_iter().flatten() {
        if j.join() == Ok(0) {
            ok += 1;
        }
    }
    match (first, second, third) {
        (Ok(2), Ok(1), Ok(0)) if ok == 3 && WOKEN.load(Ordering::Acquire) == 3 => {
            println!("futex: Wake(2) woke 2 of 3 waiters, Wake(10) the last one, then none")
        }
        _ => fail("wake counts", "other"),
    }
}

fn main() -> i32 {
    basics();
    hostile();
    ping_pong();
    wake_counts();
    // A thread still waiting when the process ends: ended with it, nothing left behind.
    let _ = thread::spawn(16, || {
        let _ = sys::futex_wait(&FOREVER, 0, FUTEX_FOREVER);
        println!("futex: FAILED the forever waiter woke");
        0
    });
    let _ = sys::sleep_ms(20);
    let failed = FAILED.load(Ordering::Relaxed);
    println!("futex: done, {failed} failed");
    i32::from(failed != 0)
}
