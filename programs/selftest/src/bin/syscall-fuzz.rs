//! Passes invalid pointers, huge lengths and unknown numbers to the system-call entry. Every
//! call must come back with an error status; the program then reports the tally.
#![no_std]
#![no_main]

use ostrog_abi::{syscall as nr, Status};
use ostrog_rt::{println, sys};

ostrog_rt::main!(main);

/// Pointers no program may pass: null, unmapped user memory, the kernel half, the top of the
/// address space, and misaligned ones into those.
const BAD_POINTERS: [usize; 8] = [
    0,
    1,
    0xfff,
    0x5000_0000,
    0x8000_0000,
    0xffff_8000_0000_0000,
    0xffff_ffff_ffff_f000,
    usize::MAX,
];

const BAD_LENGTHS: [usize; 5] = [4097, 1 << 20, 1 << 40, usize::MAX / 2, usize::MAX];

struct Tally {
    calls: u32,
    errors: u32,
    unexpected: u32,
}

impl Tally {
    fn expect_error(&mut self, what: &str, number: usize, args: [usize; 6]) {
        self.calls += 1;
        let (result, _) = sys::raw(number, args);
        match Status::from_result(result) {
            Err(_) => self.errors += 1,
            Ok(value) => {
                self.unexpected += 1;
                println!("syscall-fuzz: UNEXPECTED success of {what} {args:x?}: {value}");
            }
        }
    }
}

fn main() -> i32 {
    let mut t = Tally {
        calls: 0,
        errors: 0,
        unexpected: 0,
    };
    // Debug writes from bad buffers, of good and bad lengths.
    for &ptr in &BAD_POINTERS {
        for len in [1, 16, 4096] {
            t.expect_error("debug_write", nr::DEBUG_WRITE, [ptr, len, 0, 0, 0, 0]);
        }
    }
    let good = [0u8; 16];
    for &len in &BAD_LENGTHS {
        t.expect_error(
            "debug_write",
            nr::DEBUG_WRITE,
            [good.as_ptr() as usize, len, 0, 0, 0, 0],
        );
    }
    // A buffer that starts mapped and runs into unmapped memory.
    let stack_top = ostrog_abi::layout::STACK_TOP;
    t.expect_error(
        "debug_write",
        nr::DEBUG_WRITE,
        [stack_top - 8, 64, 0, 0, 0, 0],
    );
    // Threads at bad entry points or on bad stacks, and bad priorities.
    let entry = main as *const () as usize;
    for &ptr in &BAD_POINTERS {
        t.expect_error(
            "thread_create",
            nr::THREAD_CREATE,
            [ptr, stack_top, 0, 1, 0, 0],
        );
        t.expect_error("thread_create", nr::THREAD_CREATE, [entry, ptr, 0, 1, 0, 0]);
    }
    for priority in [32, 255, 1 << 20, usize::MAX] {
        t.expect_error(
            "thread_create",
            nr::THREAD_CREATE,
            [entry, stack_top, 0, priority, 0, 0],
        );
    }
    // Joins of threads that do not exist (or are not ours).
    for id in [0, 1, 2, 3, 1 << 40, usize::MAX] {
        t.expect_error("thread_join", nr::THREAD_JOIN, [id, 0, 0, 0, 0, 0]);
    }
    // IPC without handles.
    for number in [nr::CALL, nr::RECV, nr::REPLY] {
        for &ptr in &BAD_POINTERS {
            t.expect_error("ipc", number, [usize::MAX, ptr, 1 << 30, ptr, 0, 0]);
        }
    }
    // Numbers no system call has, with garbage arguments.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for number in (3..16)
        .chain(24..400)
        .chain([1 << 20, usize::MAX / 2, usize::MAX])
    {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let garbage = seed as usize;
        t.expect_error(
            "unknown",
            number,
            [garbage, !garbage, garbage >> 3, 0, 0, 0],
        );
    }
    println!(
        "syscall-fuzz: {} calls, {} errors, {} unexpected successes",
        t.calls, t.errors, t.unexpected
    );
    if t.unexpected == 0 {
        println!("syscall-fuzz: every invalid call was refused");
        0
    } else {
        1
    }
}
