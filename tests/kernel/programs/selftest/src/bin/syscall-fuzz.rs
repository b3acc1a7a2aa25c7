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
    let good = [0u8; 64];
    let mut out = [0u8; 64];
    let stack_top = ostrog_abi::layout::STACK_TOP;
    // Calls to the kernel (handle 0) from bad request buffers, with good and bad lengths.
    for &ptr in &BAD_POINTERS {
        for len in [1, 40, 4096] {
            t.expect_error(
                "call core",
                nr::CALL,
                [0, ptr, len, out.as_mut_ptr() as usize, out.len(), 0],
            );
        }
    }
    // Lengths that cannot be a message (too short, too long, huge).
    for &len in BAD_LENGTHS.iter().chain(&[0, 8, 39]) {
        t.expect_error(
            "call core",
            nr::CALL,
            [
                0,
                good.as_ptr() as usize,
                len,
                out.as_mut_ptr() as usize,
                64,
                0,
            ],
        );
    }
    // A request buffer that starts mapped and runs into unmapped memory.
    t.expect_error(
        "call core",
        nr::CALL,
        [0, stack_top - 8, 64, out.as_mut_ptr() as usize, 64, 0],
    );
    // A zeroed 64-byte "message": its header does not add up to its length.
    t.expect_error(
        "call core",
        nr::CALL,
        [
            0,
            good.as_ptr() as usize,
            64,
            out.as_mut_ptr() as usize,
            64,
            0,
        ],
    );
    // Handles that name nothing: forged numbers of every shape.
    for handle in [1, 2, 3, 0x1_0001, 0xffff, 0xfffe_0001, usize::MAX, 1 << 40] {
        t.expect_error(
            "call",
            nr::CALL,
            [
                handle,
                good.as_ptr() as usize,
                40,
                out.as_mut_ptr() as usize,
                64,
                0,
            ],
        );
        t.expect_error(
            "recv",
            nr::RECV,
            [handle, out.as_mut_ptr() as usize, 64, 0, 0, 0],
        );
        t.expect_error(
            "reply",
            nr::REPLY,
            [handle, good.as_ptr() as usize, 40, 0, 0, 0],
        );
    }
    // IPC with bad buffers everywhere.
    for number in [nr::CALL, nr::RECV, nr::REPLY] {
        for &ptr in &BAD_POINTERS {
            t.expect_error("ipc", number, [usize::MAX, ptr, 1 << 30, ptr, 0, 0]);
            t.expect_error("ipc", number, [0, ptr, 1 << 30, ptr, usize::MAX, 0]);
        }
    }
    // Receiving with no endpoint at all, and replying with nothing received.
    t.expect_error(
        "recv any",
        nr::RECV,
        [
            ostrog_abi::handle::ANY as usize,
            out.as_mut_ptr() as usize,
            64,
            0,
            0,
            0,
        ],
    );
    t.expect_error(
        "reply",
        nr::REPLY,
        [
            ostrog_abi::handle::ANY as usize,
            good.as_ptr() as usize,
            40,
            0,
            0,
            0,
        ],
    );
    // Numbers no system call has (foreign ones: this program has no trap entry), with
    // garbage arguments: small ones (Linux's), those around the native ones, huge ones.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let near_native = (nr::BASE - 2..nr::BASE).chain(nr::REPLY + 1..nr::REPLY + 4);
    for number in (0..400)
        .chain(near_native)
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
