//! posix-bench: the cost of Linux system calls on Ostrog, through the kernel's trap
//! redirect, the personality and back (`cargo xtask bench posix`). Prints counter ticks per
//! operation (the TSC on x86_64, the virtual counter on AArch64, with its frequency), best
//! of 5 runs: a null call (`getpid`), a futex wake with no waiter, and a futex wait/wake
//! round trip between two threads (ping-pong on one word). The bench runs it under QEMU's
//! `-icount shift=0`, where the counters count guest instructions; `loop=T` is the ticks a
//! loop of exactly 2,000,000 instructions takes, so the bench converts ticks to
//! instructions by measurement, not by assumption.

#[path = "../sys.rs"]
mod sys;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const ROUNDS: u64 = 2_000;
const PING_PONGS: u64 = 500;

fn wake(word: &AtomicU32) -> isize {
    sys::syscall(
        sys::nr::FUTEX,
        [word.as_ptr() as usize, sys::FUTEX_WAKE_PRIVATE, 1, 0, 0, 0],
    )
}

fn wait(word: &AtomicU32, expected: u32) -> isize {
    sys::syscall(
        sys::nr::FUTEX,
        [
            word.as_ptr() as usize,
            sys::FUTEX_WAIT_PRIVATE,
            expected as usize,
            0,
            0,
            0,
        ],
    )
}

/// Best of 5 runs of `rounds` operations `op`, in ticks per operation.
fn best(rounds: u64, mut op: impl FnMut()) -> u64 {
    (0..5)
        .map(|_| {
            let start = sys::counter();
            for _ in 0..rounds {
                op();
            }
            sys::counter().wrapping_sub(start) / rounds
        })
        .min()
        .unwrap_or(0)
}

fn main() {
    // Warm up: the personality's tables, caches, TLB.
    for _ in 0..100 {
        sys::syscall(sys::nr::GETPID, [0; 6]);
    }
    let getpid = best(ROUNDS, || {
        sys::syscall(sys::nr::GETPID, [0; 6]);
    });
    let word = AtomicU32::new(0);
    let futex_wake = best(ROUNDS, || {
        wake(&word);
    });

    // Ping-pong: the main thread sets the word to 1 and wakes the other, which sets it back
    // to 0 and wakes the main thread; each waits while the word says it is not its turn.
    let word = Arc::new(AtomicU32::new(0));
    let total = 5 * PING_PONGS;
    let other = {
        let word = Arc::clone(&word);
        std::thread::spawn(move || {
            for _ in 0..total {
                while word.load(Ordering::Acquire) == 0 {
                    wait(&word, 0);
                }
                word.store(0, Ordering::Release);
                wake(&word);
            }
        })
    };
    let ping_pong = best(PING_PONGS, || {
        word.store(1, Ordering::Release);
        wake(&word);
        while word.load(Ordering::Acquire) == 1 {
            wait(&word, 1);
        }
    });
    let _ = other.join();

    let calibration = (0..5)
        .map(|_| {
            let start = sys::counter();
            sys::two_instruction_loop(1_000_000);
            sys::counter().wrapping_sub(start)
        })
        .min()
        .unwrap_or(0);
    let hz = sys::counter_hz().map_or(String::new(), |hz| format!(" counter-hz={hz}"));
    println!(
        "posix-bench: getpid={getpid} futex-wake={futex_wake} futex-ping-pong={ping_pong} \
         loop={calibration}{hz} \
         (counter ticks per operation, best of 5 x {ROUNDS} / {PING_PONGS})"
    );
}
