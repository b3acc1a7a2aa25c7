//! `console.Read` and `console.Poll`: reading what the scenario types on the serial line.
//!
//! In order: nothing buffered (a read that does not wait, a poll, a read that times out);
//! sizes refused (0, above 1024, `u32::MAX`) and a response buffer the kernel cannot
//! write; three threads waiting in turn for one byte each get the bytes `xyz` in the order
//! they began to wait; a line typed with a carriage return arrives with a line feed; Ctrl-D
//! ends a read; 5000 bytes typed while nobody reads fill the kernel's 4096-byte buffer and
//! the 904 others are dropped and counted, and the 4096 read back are all the typed byte;
//! the process ends while a thread still waits for input.
#![no_std]
#![no_main]

use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};
use ostrog_abi::{handle, syscall as nr, Status, TIMEOUT_FOREVER};
use ostrog_rt::idl::kl_core_console::ReadRequest;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::spec_rt::Message;
use ostrog_rt::sys::{self, CONSOLE_READ_MAX};
use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

const FOREVER: u64 = u64::MAX;
const MS: u64 = 1_000_000;

fn name(r: Result<usize, Status>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(s) => s.name(),
    }
}

/// A raw `console.Read` request for `size` bytes that does not wait, answered into
/// `response`: the call's status (the answer's own status is in the answer).
fn raw_read(size: u32, response: usize, response_len: usize) -> Result<usize, Status> {
    let request = ReadRequest {
        size,
        timeout_ns: 0,
    }
    .encode(riid::CONSOLE)
    .unwrap_or_default();
    let (result, _) = sys::raw(
        nr::CALL,
        [
            handle::CORE as usize,
            request.as_ptr() as usize,
            request.len(),
            response,
            response_len,
            TIMEOUT_FOREVER,
        ],
    );
    Status::from_result(result)
}

/// The error status in an encoded error response, if it is one.
fn answer_status(response: &[u8]) -> Option<Status> {
    let header = Header::read(response)?;
    if header.flags & FLAG_ERROR == 0 {
        return None;
    }
    let b = response.get(HEADER_SIZE..HEADER_SIZE + 4)?;
    Status::from_result(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as isize).err()
}

fn main() -> i32 {
    let mut failed = 0;
    let mut check = |ok: bool, what: &str| {
        if ok {
            println!("console-reader: {what}");
        } else {
            println!("console-reader: FAILED {what}");
            failed += 1;
        }
    };
    let mut buf = [0u8; 64];

    // Nothing typed yet.
    let r = sys::console_read(&mut buf, 0);
    check(
        r == Err(Status::WouldBlock),
        "a read that does not wait: WouldBlock",
    );
    check(
        sys::console_poll(0) == Ok((0, 0)),
        "a poll: nothing buffered, nothing dropped",
    );
    let r = sys::console_read(&mut buf, 30 * MS);
    check(r == Err(Status::TimedOut), "a read of 30 ms times out");
    println!("console-reader: (the last read: {})", name(r));

    // Sizes the kernel refuses, and an answer it cannot deliver.
    let mut response = [0u8; 128];
    for size in [0u32, CONSOLE_READ_MAX as u32 + 1, u32::MAX] {
        let r = raw_read(size, response.as_mut_ptr() as usize, response.len());
        let refused = r.is_ok() && answer_status(&response) == Some(Status::InvalidArgument);
        check(
            refused,
            "a read of 0, 1025 or 2^32-1 bytes is InvalidArgument",
        );
    }
    let r = raw_read(16, 0x10, 128);
    check(
        r == Err(Status::BadAddress),
        "a read into an unmapped response buffer is BadAddress",
    );

    // Three readers of one byte each, waiting in turn.
    let mut readers = [None, None, None];
    for (i, slot) in readers.iter_mut().enumerate() {
        *slot = thread::spawn(16, move || {
            let mut one = [0u8; 1];
            match sys::console_read(&mut one, FOREVER) {
                Ok(1) => {
                    println!("console-reader: reader {i} got {:?}", one[0] as char);
                    0
                }
                r => {
                    println!("console-reader: FAILED reader {i}: {}", name(r));
                    1
                }
            }
        })
        .ok();
        let _ = sys::sleep_ms(50);
    }
    println!("console-reader: three readers wait");
    for (i, reader) in readers.into_iter().enumerate() {
        let status = reader.map(|r| r.join());
        check(
            status == Some(Ok(0)),
            if i == 0 {
                "reader 0 ended"
            } else {
                "reader ended"
            },
        );
    }

    // A line typed with a carriage return.
    println!("console-reader: type a line");
    let mut line = [0u8; 128];
    let mut len = 0;
    while len < line.len() && !line[..len].contains(&b'\n') {
        match sys::console_read(&mut line[len..], FOREVER) {
            Ok(n) => len += n,
            Err(s) => {
                println!("console-reader: FAILED reading the line: {}", s.name());
                break;
            }
        }
    }
    check(
        &line[..len] == b"hello console\n",
        "the line arrived, its carriage return a line feed",
    );

    // Ctrl-D ends a read, whatever the size asked.
    println!("console-reader: type Ctrl-D");
    // Reads until one holds Ctrl-D: it must end there.
    let mut ended_at_eof = false;
    for _ in 0..8 {
        match sys::console_read(&mut buf, FOREVER) {
            Ok(n) if buf[..n].contains(&0x04) => {
                ended_at_eof = buf[..n].iter().position(|&b| b == 0x04) == Some(n - 1);
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    check(ended_at_eof, "a read ends after Ctrl-D");
    let mut rest = [0u8; 16];
    let mut len = 0;
    while len < rest.len() && !rest[..len].contains(&b'\n') {
        match sys::console_read(&mut rest[len..], FOREVER) {
            Ok(n) => len += n,
            Err(_) => break,
        }
    }
    check(
        &rest[..len] == b"ab\n",
        "the bytes after Ctrl-D come with the next read",
    );

    // A flood while nobody reads: the buffer fills, the rest is dropped and counted.
    println!("console-reader: flood the line");
    let mut state = (0, 0);
    for _ in 0..300 {
        state = sys::console_poll(0).unwrap_or((0, 0));
        if state.1 >= 904 {
            break;
        }
        let _ = sys::sleep_ms(100);
    }
    // The last bytes still in the UART's FIFO may arrive after the count was seen.
    let _ = sys::sleep_ms(200);
    state = sys::console_poll(0).unwrap_or(state);
    println!(
        "console-reader: {} bytes buffered, {} dropped",
        state.0, state.1
    );
    check(state == (4096, 904), "4096 bytes kept and 904 dropped");
    let mut total = 0usize;
    let mut all_a = true;
    let mut big = [0u8; CONSOLE_READ_MAX];
    loop {
        match sys::console_read(&mut big, 0) {
            Ok(n) => {
                total += n;
                all_a &= big[..n].iter().all(|&b| b == b'a');
            }
            Err(Status::WouldBlock) => break,
            Err(s) => {
                println!("console-reader: FAILED draining: {}", s.name());
                break;
            }
        }
    }
    check(total == 4096 && all_a, "the 4096 kept bytes read back");
    check(
        sys::console_poll(0) == Ok((0, 904)),
        "then nothing is buffered",
    );
    // A reader still waiting when the process ends: the kernel ends it (the scenario's
    // memory check sees everything freed).
    let _ = thread::spawn(16, || {
        let mut one = [0u8; 1];
        let _ = sys::console_read(&mut one, FOREVER);
        println!("console-reader: FAILED the last reader got input");
        1
    });
    let _ = sys::sleep_ms(50);
    println!("console-reader: done, {failed} failed");
    failed
}
