//! The IPC fast path against the full path: the same calls made to an echo server that is
//! already waiting in `Recv` when each call arrives (the fast path) and to one that is not
//! (the full path), with identical results required.
//!
//! Started as a program of its own (`ostrog.start=fastpath`), it creates the echo server
//! (`echo-server`, class `ipctest.Server`) and a copy of itself as the client (argument
//! `client`, class `ipctest.Client`), connects them and starts both, twice:
//!
//! * `waiting`: the server runs at the client's priority, so after each answer it goes back
//!   to `Recv` before the client runs again, and every call finds it waiting (the fast path);
//! * `busy`: the server runs below the client, so the client, woken by the answer, preempts
//!   it before it can wait again, and a call is queued and taken by a later `Recv` (the full
//!   path; except after a denied call, which the server answers from inside `Recv` and goes
//!   on waiting there).
//!
//! The client makes the same calls in both runs (granted echoes, a denied method,
//! malformed messages, a message with a handle, a large message) and prints one line per
//! kind and a digest of every result; `check: fast-and-full-agree` compares the two runs'
//! digests and the kernel's count of calls taken by the fast path. Booted with
//! `ostrog.ipc_fast=off` the kernel takes the full path for everything, answers included,
//! and the digest must be the same again.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use ipctest::idl::ipctest_echo::EchoProxy;
use ipctest::idl::ipctest_server::riid;
use ipctest::idl::spec_rt::{CallError, Handle};
use ostrog_abi::handle::{RIGHT_CALL, RIGHT_TRANSFER};
use ostrog_abi::message::{Header, FLAG_ERROR, HANDLE_MOVE, HEADER_SIZE};
use ostrog_abi::{Status, TIMEOUT_FOREVER};
use ostrog_rt::println;
use ostrog_rt::sys::{self, Channel};

ostrog_rt::main!(main);

/// Granted echoes per run, each on the fast path in the `fast` run.
const ECHOES: u32 = 20;

fn main() -> i32 {
    let args = sys::tasks().args().map(|a| a.args).unwrap_or_default();
    match args.split(|&b| b == 0).next() {
        Some(b"waiting") => client("waiting"),
        Some(b"busy") => client("busy"),
        _ => controller(),
    }
}

/// Runs the client against a server at the client's priority, then one below it.
fn controller() -> i32 {
    for (run, server_priority) in [("waiting", 15), ("busy", 14)] {
        if let Err(why) = run_once(run, server_priority) {
            println!("fastpath: the {run} run failed: {}", why.name());
            return 1;
        }
    }
    0
}

fn run_once(run: &str, server_priority: u8) -> Result<(), Status> {
    let mut tasks = sys::tasks();
    let server = tasks
        .create(
            "server".into(),
            "ipctest.Server".into(),
            "echo-server".into(),
            Vec::new(),
            Vec::new(),
            server_priority,
        )
        .map_err(sys::call_status)?
        .task;
    let mut args = Vec::from(run.as_bytes());
    args.push(0);
    let client = tasks
        .create(
            "client".into(),
            "ipctest.Client".into(),
            "fastpath".into(),
            args,
            Vec::new(),
            15,
        )
        .map_err(sys::call_status)?
        .task;
    sys::channels()
        .connect(client, server, "echo".into())
        .map_err(sys::call_status)?;
    // The server first: it waits in `Recv` before the client's first call.
    tasks.start(server).map_err(sys::call_status)?;
    tasks.start(client).map_err(sys::call_status)?;
    let code = tasks.wait(client).map_err(sys::call_status)?.code;
    let _ = tasks.wait(server).map_err(sys::call_status)?;
    println!("fastpath: the {run} client ended with status {code}");
    Ok(())
}

/// FNV-1a over the results, so that two runs can be compared by one number.
struct Digest(u64);

impl Digest {
    fn add(&mut self, value: u64) {
        for byte in value.to_le_bytes() {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn status(&mut self, result: Result<usize, Status>) -> &'static str {
        match result {
            Ok(len) => {
                self.add(len as u64);
                "ok"
            }
            Err(e) => {
                self.add(e as i64 as u64);
                e.name()
            }
        }
    }
}

/// A request of `len` bytes with `header` at its start (the rest zero).
fn raw(header: Header, len: usize) -> Vec<u8> {
    let mut message = alloc::vec![0u8; len];
    header.write(&mut message);
    message
}

fn client(run: &str) -> i32 {
    let Ok((my_sid, my_class)) = sys::task_info() else {
        println!("fastpath-client: cannot learn its own identity");
        return 1;
    };
    let Ok(channel) = Channel::lookup("echo") else {
        println!("fastpath-client: no channel named echo");
        return 1;
    };
    let mut proxy = EchoProxy {
        transport: channel,
        riid: riid::IPC,
    };
    let mut digest = Digest(0xcbf2_9ce4_8422_2325);
    let mut wrong = 0;

    // Granted: small echoes, the kernel's stamp seen by the server.
    for n in 0..ECHOES {
        let data: Vec<u8> = (0..n % 16).map(|i| (i * 7 + n) as u8).collect();
        match proxy.echo(n, data.clone()) {
            Ok(r) => {
                let mut expected = data;
                expected.reverse();
                let right = r.next == n + 1
                    && r.back == expected
                    && r.sender == my_sid
                    && r.cls == my_class;
                wrong += u32::from(!right);
                digest.add(u64::from(r.next));
                digest.add(r.back.iter().map(|&b| u64::from(b)).sum());
                digest.add(u64::from(right));
            }
            Err(e) => {
                wrong += 1;
                println!("fastpath-client ({run}): echo {n} failed: {e:?}");
                digest.add(u64::MAX);
            }
        }
    }
    println!("fastpath-client ({run}): {ECHOES} echoes, {wrong} wrong");

    // Denied by the policy (and audited by it).
    let denied = match proxy.forbidden() {
        Err(CallError::Transport(t)) => Status::from_result(t.0 as isize).map(|_| 0),
        _ => Ok(0),
    };
    println!(
        "fastpath-client ({run}): Forbidden: {}",
        digest.status(denied)
    );

    // Malformed: refused by the kernel before the policy (and audited as such).
    let header = |riid, mid| Header {
        riid,
        mid,
        ..Header::default()
    };
    let malformed: [(&str, Vec<u8>); 6] = [
        ("shorter than a header", alloc::vec![0u8; HEADER_SIZE - 8]),
        (
            "fixed part not a multiple of 8",
            raw(
                Header {
                    fixed_size: 4,
                    ..header(0, 0)
                },
                HEADER_SIZE + 4,
            ),
        ),
        (
            "header longer than the message",
            raw(
                Header {
                    arena_size: 64,
                    ..header(0, 0)
                },
                HEADER_SIZE,
            ),
        ),
        (
            "reserved flags",
            raw(
                Header {
                    flags: 0x10,
                    ..header(0, 0)
                },
                HEADER_SIZE,
            ),
        ),
        (
            "an error flag on a request",
            raw(
                Header {
                    flags: FLAG_ERROR,
                    ..header(0, 0)
                },
                HEADER_SIZE,
            ),
        ),
        (
            "garbage",
            (0..96u32)
                .map(|i| (i.wrapping_mul(151) ^ 0x5a) as u8)
                .collect(),
        ),
    ];
    let mut response = [0u8; 256];
    for (what, message) in &malformed {
        let result = sys::call(channel.handle, message, &mut response, TIMEOUT_FOREVER);
        println!("fastpath-client ({run}): {what}: {}", digest.status(result));
    }
    // A well-formed header with a body the server cannot decode: the kernel carries it
    // (this test module judges no IDL types), the server answers with an error response.
    let result = sys::call(
        channel.handle,
        &raw(
            Header {
                fixed_size: 8,
                ..header(0, 0)
            },
            HEADER_SIZE + 8,
        ),
        &mut response,
        TIMEOUT_FOREVER,
    );
    let flags = Header::read(&response).map_or(u32::MAX, |h| h.flags);
    digest.add(u64::from(flags));
    println!(
        "fastpath-client ({run}): an undecodable body: {}, error response {}",
        digest.status(result),
        flags & FLAG_ERROR != 0
    );

    // A handle in the message: the full path in both runs.
    let kept = sys::handles()
        .duplicate(
            Handle {
                handle: channel.handle,
                rights_and_mode: 0,
            },
            RIGHT_CALL | RIGHT_TRANSFER,
        )
        .map_err(sys::call_status)
        .and_then(|copy| {
            proxy
                .keep(Handle {
                    handle: copy.copy.handle,
                    rights_and_mode: (HANDLE_MOVE << 16) | RIGHT_CALL,
                })
                .map_err(|_| Status::InvalidArgument)
        });
    let channel_sid = sys::handles()
        .sid(Handle {
            handle: channel.handle,
            rights_and_mode: 0,
        })
        .map_or(0, |r| r.sid);
    let moved_right = kept.as_ref().is_ok_and(|r| r.sid == channel_sid);
    digest.add(u64::from(moved_right));
    println!("fastpath-client ({run}): a handle moved: {moved_right}");

    // A large message both ways: the full path in both runs.
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let large = match proxy.echo(7, data.clone()) {
        Ok(r) => {
            let mut expected = data;
            expected.reverse();
            r.next == 8 && r.back == expected && r.sender == my_sid
        }
        Err(_) => false,
    };
    digest.add(u64::from(large));
    println!("fastpath-client ({run}): a large echo: {large}");

    println!("fastpath-client ({run}): results {:#018x}", digest.0);
    0
}
