//! `pipe.*` and `task.Give`/`Given`, honest and hostile: bytes in order, end of file, a
//! broken pipe, wrong ends, wrong rights and handles that are not pipes refused, blocked
//! readers and writers woken by the other side (and by a close), poll with a time-out,
//! 200 KiB through one 64 KiB pipe, pipes handed to a child that echoes through them, a
//! child killed while it waits in a read, and a child that makes pipes until its memory
//! limit refuses one. Prints `pipes: FAILED ...` when a check does not hold.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use ostrog_abi::handle::{RIGHT_DUPLICATE, RIGHT_TRANSFER};
use ostrog_abi::Status;
use ostrog_rt::idl::spec_rt::Handle;
use ostrog_rt::sys;
use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

static FAILED: AtomicU32 = AtomicU32::new(0);

const NONBLOCK: u32 = 1;
const IO_MAX: usize = 4096;
const CAPACITY: usize = 64 * 1024;
const FOREVER: u64 = u64::MAX;
/// The priority of this program's threads; children run one below.
const PRIORITY: u8 = 16;

fn fail(what: &str, got: &str) {
    println!("pipes: FAILED {what} ({got})");
    FAILED.fetch_add(1, Ordering::Relaxed);
}

fn expect<T>(result: Result<T, Status>, want: Status, what: &str) {
    match result {
        Err(e) if e == want => {}
        Err(e) => fail(what, e.name()),
        Ok(_) => fail(what, "succeeded"),
    }
}

fn create() -> Option<(Handle, Handle)> {
    match sys::pipes().create() {
        Ok(r) => Some((r.reader, r.writer)),
        Err(e) => {
            fail("pipe.Create", sys::call_status(e).name());
            None
        }
    }
}

fn read(end: Handle, max: u32, flags: u32) -> Result<Vec<u8>, Status> {
    sys::pipes()
        .read(end, max, flags)
        .map(|r| r.data)
        .map_err(sys::call_status)
}

fn write(end: Handle, data: &[u8], flags: u32) -> Result<u32, Status> {
    sys::pipes()
        .write(end, data.to_vec(), flags)
        .map(|r| r.written)
        .map_err(sys::call_status)
}

fn poll(ends: &[Handle], timeout_ns: u64) -> Result<Vec<u8>, Status> {
    let bytes: Vec<u8> = ends.iter().flat_map(|h| h.handle.to_le_bytes()).collect();
    sys::pipes()
        .poll(bytes, timeout_ns)
        .map(|r| r.ready)
        .map_err(sys::call_status)
}

fn close(h: Handle) {
    if let Err(e) = sys::handles().close(h) {
        fail("handle.Close of a pipe end", sys::call_status(e).name());
    }
}

fn basics() {
    let Some((r, w)) = create() else { return };
    if write(w, b"hello, ", 0) != Ok(7) || write(w, b"pipe", NONBLOCK) != Ok(4) {
        fail("writes", "short");
    }
    match poll(&[r, w], 0) {
        Ok(ready) if ready == [1, 2] => {}
        other => fail(
            "poll of a pipe holding bytes",
            if other.is_ok() { "bits" } else { "error" },
        ),
    }
    let first = read(r, 5, 0);
    let rest = read(r, 100, NONBLOCK);
    match (first.as_deref(), rest.as_deref()) {
        (Ok(b"hello"), Ok(b", pipe")) => {}
        _ => fail("bytes in order", "other"),
    }
    expect(
        read(r, 16, NONBLOCK),
        Status::WouldBlock,
        "non-blocking read of an empty pipe",
    );
    // A read of more than IoMax takes at most IoMax.
    let big = vec![7u8; IO_MAX];
    let _ = write(w, &big, 0);
    let _ = write(w, &big, 0);
    match read(r, u32::MAX, 0) {
        Ok(d) if d.len() == IO_MAX => {}
        _ => fail("a read is at most IoMax", "other"),
    }
    let _ = read(r, u32::MAX, 0);
    // The last write end closed: end of file (after the bytes), and poll says so.
    let _ = write(w, b"last", 0);
    close(w);
    match (read(r, 100, 0).as_deref(), read(r, 100, 0).as_deref()) {
        (Ok(b"last"), Ok(b"")) => {}
        _ => fail("end of file after the bytes", "other"),
    }
    match poll(&[r], 0) {
        Ok(ready) if ready == [4] => {}
        _ => fail("poll of a read end without writer", "other"),
    }
    close(r);
    // The last read end closed: a broken pipe.
    let Some((r, w)) = create() else { return };
    close(r);
    expect(
        write(w, b"x", 0),
        Status::Disconnected,
        "write without a reader",
    );
    match poll(&[w], 0) {
        Ok(ready) if ready == [2 | 4] => {}
        _ => fail("poll of a write end without reader", "other"),
    }
    close(w);
    println!("pipes: bytes in order, end of file after the last writer, broken pipe after the last reader");
}

fn hostile() {
    let Some((r, w)) = create() else { return };
    expect(
        read(w, 16, NONBLOCK),
        Status::BadHandle,
        "read of a write end",
    );
    expect(
        write(r, b"x", NONBLOCK),
        Status::BadHandle,
        "write to a read end",
    );
    let forged = Handle {
        handle: 0x0abc_0123,
        rights_and_mode: 0,
    };
    expect(
        read(forged, 16, NONBLOCK),
        Status::BadHandle,
        "read of a forged handle",
    );
    expect(
        write(forged, b"x", NONBLOCK),
        Status::BadHandle,
        "write to a forged handle",
    );
    // A handle that is not a pipe: this program's own task handle of a child.
    if let Ok(task) = sys::tasks().create(
        "victim".into(),
        "".into(),
        "pipes".into(),
        b"idle\0".to_vec(),
        Vec::new(),
        PRIORITY - 1,
    ) {
        expect(
            read(task.task, 16, NONBLOCK),
            Status::BadHandle,
            "read of a task handle",
        );
        expect(
            write(task.task, b"x", NONBLOCK),
            Status::BadHandle,
            "write to a task handle",
        );
        // Handles go to a process not started yet only: the victim is never started.
        match sys::tasks().give(task.task, r, 0) {
            Ok(_) => {}
            Err(e) => fail("task.Give before the start", sys::call_status(e).name()),
        }
        expect(
            sys::tasks()
                .give(task.task, forged, 0)
                .map_err(sys::call_status),
            Status::BadHandle,
            "task.Give of a forged handle",
        );
        expect(
            sys::tasks().give(r, w, 0).map_err(sys::call_status),
            Status::AccessDenied,
            "task.Give to a pipe end as if it were a task",
        );
        // A task handle without the control right cannot give.
        if let Ok(weak) = sys::handles().duplicate(task.task, RIGHT_TRANSFER | RIGHT_DUPLICATE) {
            expect(
                sys::tasks().give(weak.copy, w, 0).map_err(sys::call_status),
                Status::AccessDenied,
                "task.Give through a task handle without the control right",
            );
            let _ = sys::handles().close(weak.copy);
        }
        let _ = sys::tasks().kill(task.task, 0);
        let _ = sys::handles().close(task.task);
    }
    // Rights: a copy of each end without its read or write right.
    match (
        sys::handles().duplicate(r, RIGHT_TRANSFER | RIGHT_DUPLICATE),
        sys::handles().duplicate(w, RIGHT_TRANSFER | RIGHT_DUPLICATE),
    ) {
        (Ok(rc), Ok(wc)) => {
            expect(
                read(rc.copy, 16, NONBLOCK),
                Status::AccessDenied,
                "read without the read right",
            );
            expect(
                write(wc.copy, b"x", 0),
                Status::AccessDenied,
                "write without the write right",
            );
            // A copy without the duplicate right cannot be given to a child either.
            if let Ok(nodup) = sys::handles().duplicate(r, RIGHT_TRANSFER) {
                expect(
                    sys::handles()
                        .duplicate(nodup.copy, RIGHT_TRANSFER)
                        .map_err(sys::call_status),
                    Status::AccessDenied,
                    "duplicate without the duplicate right",
                );
                let _ = sys::handles().close(nodup.copy);
            }
            close(rc.copy);
            close(wc.copy);
        }
        _ => fail("handle.Duplicate of pipe ends", "refused"),
    }
    // Poll: a malformed list, a bad handle among good ones.
    expect(
        sys::pipes()
            .poll(vec![1, 2, 3], 0)
            .map_err(sys::call_status),
        Status::InvalidArgument,
        "poll of a list that is not whole handles",
    );
    match poll(&[forged, w], 0) {
        Ok(ready) if ready == [8, 2] => {}
        _ => fail("poll names a bad handle", "other"),
    }
    close(r);
    close(w);
    expect(
        read(r, 1, NONBLOCK),
        Status::BadHandle,
        "read of a closed end",
    );
    println!(
        "pipes: wrong ends, forged and non-pipe handles, missing rights and bad gives are refused"
    );
}

fn waking() {
    // A blocked reader woken by a write, then by the last writer's close (end of file).
    let Some((r, w)) = create() else { return };
    let reader = thread::spawn(PRIORITY, move || {
        let first = read(r, 100, 0);
        let second = read(r, 100, 0);
        match (first.as_deref(), second.as_deref()) {
            (Ok(b"wake"), Ok(b"")) => 0,
            _ => 1,
        }
    });
    let _ = sys::sleep_ms(30);
    let _ = write(w, b"wake", 0);
    let _ = sys::sleep_ms(30);
    close(w);
    if reader.map(|j| j.join()) != Ok(Ok(0)) {
        fail(
            "a blocked reader wakes for data and for end of file",
            "other",
        );
    }
    // A reader blocked on a handle that another thread closes: woken, told the handle is
    // gone (the pipe lives on through the write end).
    let Some((r, w)) = create() else { return };
    let reader = thread::spawn(PRIORITY, move || match read(r, 100, 0) {
        Err(Status::BadHandle) => 0,
        _ => 1,
    });
    let _ = sys::sleep_ms(30);
    close(r);
    if reader.map(|j| j.join()) != Ok(Ok(0)) {
        fail("a reader whose handle is closed while it waits", "other");
    }
    close(w);
    // A writer blocked on a full pipe: the reader's close breaks the pipe and wakes it.
    let Some((r, w)) = create() else { return };
    let chunk = vec![1u8; IO_MAX];
    for _ in 0..CAPACITY / IO_MAX {
        let _ = write(w, &chunk, 0);
    }
    expect(
        write(w, &chunk, NONBLOCK),
        Status::WouldBlock,
        "non-blocking write to a full pipe",
    );
    let writer = thread::spawn(PRIORITY, move || match write(w, &[2u8; IO_MAX], 0) {
        Err(Status::Disconnected) => 0,
        _ => 1,
    });
    let _ = sys::sleep_ms(30);
    close(r);
    if writer.map(|j| j.join()) != Ok(Ok(0)) {
        fail("a blocked writer is told the pipe broke", "other");
    }
    close(w);
    // Poll: a time-out, then a poller woken by a write.
    let Some((r, w)) = create() else { return };
    let before = selftest::now_ms();
    match poll(&[r], 50_000_000) {
        Ok(ready) if ready == [0] => {}
        _ => fail("poll times out with nothing ready", "other"),
    }
    let waited = selftest::now_ms().saturating_sub(before);
    if waited < 40 {
        fail("poll of 50 ms waits", "shorter");
    }
    let poller = thread::spawn(PRIORITY, move || match poll(&[r], FOREVER) {
        Ok(ready) if ready == [1] => 0,
        _ => 1,
    });
    let _ = sys::sleep_ms(30);
    let _ = write(w, b"!", 0);
    if poller.map(|j| j.join()) != Ok(Ok(0)) {
        fail("a poller wakes for data", "other");
    }
    close(r);
    close(w);
    println!(
        "pipes: blocked readers, writers and pollers wake for data, room, closes and time-outs"
    );
}

fn flow() {
    // 200 KiB through one 64 KiB pipe: the writer waits for the reader.
    const TOTAL: usize = 200 * 1024;
    let Some((r, w)) = create() else { return };
    let writer = thread::spawn(PRIORITY, move || {
        let mut sent = 0;
        while sent < TOTAL {
            let chunk: Vec<u8> = (sent..sent + IO_MAX).map(|i| (i % 251) as u8).collect();
            match write(w, &chunk, 0) {
                Ok(n) => sent += n as usize,
                Err(_) => return -1,
            }
        }
        close(w);
        sent as isize
    });
    let (mut got, mut in_order) = (0usize, true);
    loop {
        match read(r, IO_MAX as u32, 0) {
            Ok(d) if d.is_empty() => break,
            Ok(d) => {
                in_order &= d
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| b == ((got + i) % 251) as u8);
                got += d.len();
            }
            Err(_) => break,
        }
    }
    let sent = writer.map(|j| j.join().unwrap_or(-1)).unwrap_or(-1);
    if got != TOTAL || sent != TOTAL as isize || !in_order {
        fail("200 KiB through a pipe", "other");
    }
    close(r);
    println!("pipes: 204800 bytes through one pipe in order, the writer waiting for the reader");
    // Two writers at once: each write of IoMax (PIPE_BUF) bytes arrives whole, never
    // interleaved with the other's.
    const CHUNKS: usize = 40;
    let Some((r, w)) = create() else { return };
    let writers: Vec<_> = [b'a', b'b']
        .into_iter()
        .map(|byte| {
            thread::spawn(PRIORITY, move || {
                for _ in 0..CHUNKS {
                    if write(w, &[byte; IO_MAX], 0) != Ok(IO_MAX as u32) {
                        return 1;
                    }
                }
                0
            })
        })
        .collect();
    let (mut whole, mut of_a) = (0, 0);
    for _ in 0..2 * CHUNKS {
        match read(r, IO_MAX as u32, 0) {
            Ok(d) if d.len() == IO_MAX && d.iter().all(|&b| b == d[0]) => {
                whole += 1;
                of_a += usize::from(d[0] == b'a');
            }
            _ => break,
        }
    }
    let ended = writers
        .into_iter()
        .all(|j| j.map(|j| j.join()) == Ok(Ok(0)));
    if whole != 2 * CHUNKS || of_a != CHUNKS || !ended {
        fail(
            "concurrent writes of PIPE_BUF bytes stay whole",
            "split or lost",
        );
    }
    close(r);
    close(w);
    println!("pipes: two writers at once, every 4096-byte write arrived whole");
}

/// A child of this program, created (not started) with `args`.
fn child(args: &[u8]) -> Option<Handle> {
    match sys::tasks().create(
        "pipes-child".into(),
        "".into(),
        "pipes".into(),
        args.to_vec(),
        Vec::new(),
        PRIORITY - 1,
    ) {
        Ok(r) => Some(r.task),
        Err(e) => {
            fail("task.Create of a child", sys::call_status(e).name());
            None
        }
    }
}

fn children() {
    // An echo child: pipes given as labels 0 and 1; it upper-cases what it reads.
    let (Some((to_r, to_w)), Some((from_r, from_w))) = (create(), create()) else {
        return;
    };
    let Some(task) = child(b"echo\0") else { return };
    let gave = (
        sys::tasks().give(task, to_r, 0),
        sys::tasks().give(task, from_w, 1),
    );
    if gave.0.is_err() || gave.1.is_err() {
        fail("task.Give", "refused");
    }
    if sys::tasks().start(task).is_err() {
        fail("task.Start of the echo child", "refused");
    }
    expect(
        sys::tasks().give(task, to_r, 2).map_err(sys::call_status),
        Status::Busy,
        "task.Give after the start",
    );
    // Only the child holds these ends now: its end of file and broken pipe are its own.
    close(to_r);
    close(from_w);
    let _ = write(to_w, b"through another process", 0);
    close(to_w);
    let mut back = Vec::new();
    while let Ok(d) = read(from_r, 100, 0) {
        if d.is_empty() {
            break;
        }
        back.extend_from_slice(&d);
    }
    if back != b"THROUGH ANOTHER PROCESS" {
        fail("a child echoes through the pipes it was given", "other");
    }
    close(from_r);
    let _ = sys::tasks().wait(task);
    let _ = sys::handles().close(task);
    // A child blocked in a read, killed: its read end goes with it (a write then finds no
    // reader), and nothing is left behind.
    let Some((r, w)) = create() else { return };
    let Some(task) = child(b"block\0") else {
        return;
    };
    let _ = sys::tasks().give(task, r, 0);
    close(r);
    let _ = sys::tasks().start(task);
    let _ = sys::sleep_ms(50);
    match sys::tasks().kill(task, 9) {
        Ok(_) => {}
        Err(e) => fail("task.Kill of a blocked reader", sys::call_status(e).name()),
    }
    match sys::tasks().wait(task) {
        Ok(r) if r.code == 9 => {}
        _ => fail("the killed reader's status", "other"),
    }
    expect(
        write(w, b"x", 0),
        Status::Disconnected,
        "write after the reader was killed",
    );
    close(w);
    let _ = sys::handles().close(task);
    println!("pipes: a child echoes through given pipes; a reader killed while blocked takes its end along");
    // A child with a 1 MiB memory limit makes pipes until the kernel refuses one.
    let Some(task) = child(b"exhaust\0") else {
        return;
    };
    if let Err(e) = sys::tasks().set_memory_limit(task, 1024 * 1024) {
        fail("task.SetMemoryLimit", sys::call_status(e).name());
    }
    let _ = sys::tasks().start(task);
    match sys::tasks().wait(task) {
        // 1 MiB holds at most 16 rings of 64 KiB, fewer with the child's own pages.
        Ok(r) if (1..16).contains(&r.code) => println!(
            "pipes: a child limited to 1 MiB made {} pipes, then NoMemory",
            r.code
        ),
        Ok(r) => fail(
            "pipes made under a 1 MiB limit",
            if r.code < 0 { "killed" } else { "count" },
        ),
        Err(_) => fail("wait for the exhausting child", "error"),
    }
    let _ = sys::handles().close(task);
}

/// The child roles: `echo`, `block`, `exhaust`, `idle`.
fn role(args: &[u8]) -> Option<i32> {
    let given = sys::tasks().given().map(|g| g.given).unwrap_or_default();
    let end = |label: u32| {
        given.chunks_exact(8).find_map(|c| {
            let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (word(&c[..4]) == label).then(|| Handle {
                handle: word(&c[4..]),
                rights_and_mode: 0,
            })
        })
    };
    if args.starts_with(b"echo") {
        let (Some(input), Some(output)) = (end(0), end(1)) else {
            return Some(2);
        };
        while let Ok(d) = read(input, 100, 0) {
            if d.is_empty() {
                break;
            }
            let _ = write(output, &d.to_ascii_uppercase(), 0);
        }
        return Some(0);
    }
    if args.starts_with(b"block") {
        let Some(input) = end(0) else { return Some(2) };
        let _ = read(input, 100, 0);
        println!("pipes: FAILED the blocked reader read");
        return Some(3);
    }
    if args.starts_with(b"exhaust") {
        let mut made = 0;
        loop {
            match sys::pipes().create() {
                Ok(_) => made += 1,
                Err(e) => {
                    return Some(match sys::call_status(e) {
                        Status::NoMemory => made,
                        _ => -2,
                    });
                }
            }
        }
    }
    if args.starts_with(b"idle") {
        return Some(0);
    }
    None
}

fn main() -> i32 {
    let args = sys::tasks().args().map(|a| a.args).unwrap_or_default();
    if let Some(code) = role(&args) {
        return code;
    }
    basics();
    hostile();
    waking();
    flow();
    children();
    let failed = FAILED.load(Ordering::Relaxed);
    println!("pipes: done, {failed} failed");
    i32::from(failed != 0)
}
