//! The echo client: thousands of calls with arenas, handle transfers, a denied method.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use ipctest::idl::ipctest_approve::CheckRequest;
use ipctest::idl::ipctest_echo::EchoProxy;
use ipctest::idl::ipctest_server::riid;
use ipctest::idl::spec_rt::Message;
use ipctest::idl::spec_rt::{CallError, Handle};
use ostrog_abi::handle::{RIGHT_CALL, RIGHT_MAP_READ, RIGHT_MAP_WRITE, RIGHT_TRANSFER};
use ostrog_abi::message::{HANDLE_COPY, HANDLE_MOVE};
use ostrog_rt::println;
use ostrog_rt::sys::{self, Channel};

ostrog_rt::main!(main);

const ROUNDS: u32 = 2000;
const HANDLES: u32 = 100;

fn main() -> i32 {
    let Ok((my_sid, my_class)) = sys::task_info() else {
        println!("echo-client: cannot learn its own identity");
        return 1;
    };
    let Ok(channel) = Channel::lookup("echo") else {
        println!("echo-client: no channel named echo");
        return 1;
    };
    let mut proxy = EchoProxy {
        transport: channel,
        riid: riid::IPC,
    };
    let mut failures = 0;
    for n in 0..ROUNDS {
        let data: Vec<u8> = (0..n % 1024).map(|i| (i ^ n) as u8).collect();
        match proxy.echo(n, data.clone()) {
            Ok(r) => {
                let mut expected = data;
                expected.reverse();
                let sender_ok = r.sender == my_sid && r.cls == my_class;
                if r.next != n + 1 || r.back != expected || !sender_ok {
                    failures += 1;
                    if failures < 5 {
                        println!(
                            "echo-client: echo {n} wrong (sender {} class {})",
                            r.sender, r.cls
                        );
                    }
                }
            }
            Err(e) => {
                failures += 1;
                println!("echo-client: echo {n} failed: {e:?}");
            }
        }
    }
    println!(
        "echo-client: {ROUNDS} echoes, {failures} wrong; the server saw sid {my_sid} class {my_class}"
    );

    // Handles travel: a copy of our channel handle moves to the server, which reports the
    // SID of the object it received; it must be the channel's SID.
    let channel_sid = sys::handles()
        .sid(Handle {
            handle: channel.handle,
            rights_and_mode: 0,
        })
        .map_or(0, |r| r.sid);
    let mut handle_failures = 0;
    for _ in 0..HANDLES {
        let copy = match sys::handles().duplicate(
            Handle {
                handle: channel.handle,
                rights_and_mode: 0,
            },
            RIGHT_CALL | RIGHT_TRANSFER,
        ) {
            Ok(r) => r.copy,
            Err(e) => {
                println!("echo-client: duplicate failed: {e:?}");
                handle_failures += 1;
                continue;
            }
        };
        let moved = Handle {
            handle: copy.handle,
            rights_and_mode: (HANDLE_MOVE << 16) | RIGHT_CALL,
        };
        match proxy.keep(moved) {
            Ok(r) if r.sid == channel_sid => {}
            other => {
                handle_failures += 1;
                println!("echo-client: keep answered {other:?}, expected sid {channel_sid}");
            }
        }
        // The handle moved: our number for it is gone.
        if sys::handles().sid(copy).is_ok() {
            handle_failures += 1;
            println!("echo-client: a moved handle is still in our table");
        }
    }
    println!("echo-client: {HANDLES} handles moved, {handle_failures} wrong");

    // Shared memory: a region of ours, mapped by the server, which sees our bytes and
    // changes them.
    match share_and_touch(&mut proxy) {
        Ok(()) => println!("echo-client: shared memory seen and changed by the server"),
        Err(why) => {
            failures += 1;
            println!("echo-client: shared memory failed: {why}");
        }
    }

    match proxy.forbidden() {
        Err(CallError::Transport(t)) => println!(
            "echo-client: Forbidden refused: {}",
            ostrog_abi::Status::from_result(t.0 as isize)
                .err()
                .map_or("?", |s| s.name())
        ),
        other => {
            println!("echo-client: Forbidden was not refused: {other:?}");
            failures += 1;
        }
    }
    // The security interface: the policy answers, nothing is delivered.
    for (port, expected) in [(443u32, true), (22, false)] {
        let query = CheckRequest { port }.encode(0).unwrap_or_default();
        let granted = sys::security_query(&query).is_ok();
        println!(
            "echo-client: security query Check({port}): {}",
            if granted { "granted" } else { "denied" }
        );
        if granted != expected {
            failures += 1;
        }
    }
    if let Ok(vault) = Channel::lookup("vault") {
        let mut vault = EchoProxy {
            transport: vault,
            riid: riid::IPC,
        };
        match vault.echo(41, Vec::new()) {
            Ok(r) if r.next == 42 => println!("echo-client: the vault answers too"),
            other => {
                failures += 1;
                println!("echo-client: vault failed: {other:?}");
            }
        }
    }
    if failures == 0 && handle_failures == 0 {
        println!("echo-client: all calls behaved");
        0
    } else {
        1
    }
}

fn share_and_touch(proxy: &mut EchoProxy<Channel>) -> Result<(), &'static str> {
    const SIZE: u64 = 8192;
    let addr = sys::vmm().allocate(SIZE, 1).map_err(|_| "allocate")?.addr;
    // SAFETY: the kernel mapped SIZE writable bytes at `addr` for this process alone.
    let bytes = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, SIZE as usize) };
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i % 7) as u8;
    }
    let expected: u64 = bytes.iter().map(|&b| u64::from(b)).sum();
    let region = sys::vmm().share(addr, SIZE).map_err(|_| "share")?.region;
    // A read-only copy cannot be mapped writable by whoever receives it.
    let read_only = Handle {
        handle: region.handle,
        rights_and_mode: (HANDLE_COPY << 16) | RIGHT_MAP_READ,
    };
    if proxy.touch(read_only).map_err(|_| "touch")?.sum != u64::MAX {
        return Err("a read-only region handle was mapped writable");
    }
    let moved = Handle {
        handle: region.handle,
        rights_and_mode: (HANDLE_MOVE << 16) | RIGHT_TRANSFER | RIGHT_MAP_READ | RIGHT_MAP_WRITE,
    };
    let sum = proxy.touch(moved).map_err(|_| "touch")?.sum;
    if sum != expected {
        return Err("the server saw other bytes");
    }
    if bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b != (i % 7) as u8 + 1)
    {
        return Err("the server's writes did not reach us");
    }
    sys::vmm().free(addr, SIZE).map_err(|_| "free")?;
    Ok(())
}
