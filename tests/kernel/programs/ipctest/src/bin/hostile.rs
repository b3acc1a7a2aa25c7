//! A hostile program: it tries every way out of its channels and counts what got through.
//! Every attempt must fail; the kernel and the other programs must go on.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use ipctest::idl::ipctest_echo::{EchoProxy, EchoRequest, ForbiddenRequest, KeepRequest};
use ipctest::idl::ipctest_server::riid;
use ipctest::idl::spec_rt::{Handle, Message};
use ostrog_abi::handle::{RIGHT_CALL, RIGHT_TRANSFER};
use ostrog_abi::message::{HANDLE_COPY, HANDLE_MOVE, HEADER_SIZE};
use ostrog_abi::{Status, TIMEOUT_FOREVER};
use ostrog_rt::sys::{self, Channel};
use ostrog_rt::{call_refusal, println};

ostrog_rt::main!(main);

struct Tally {
    attempts: u32,
    got_through: u32,
}

impl Tally {
    fn refused(&mut self, what: &str, result: Result<usize, Status>, expected: &[Status]) {
        self.attempts += 1;
        match result {
            Err(e) if expected.contains(&e) => {}
            Err(e) => {
                // Refused, but not for the reason we expected: still refused, say so.
                println!("hostile: {what}: refused with {}", e.name());
            }
            Ok(n) => {
                self.got_through += 1;
                println!("hostile: BREACH: {what} succeeded ({n})");
            }
        }
    }
}

/// Moves copies of its `hoard` channel to the hoard server until the server's table is full.
fn fill_a_servers_table() -> Result<(), &'static str> {
    let hoard = Channel::lookup("hoard").map_err(|_| "no hoard channel")?;
    let mut proxy = EchoProxy {
        transport: hoard,
        riid: riid::IPC,
    };
    let own = Handle {
        handle: hoard.handle,
        rights_and_mode: 0,
    };
    let mut held = 0u32;
    let refused = loop {
        let copy = sys::handles()
            .duplicate(own, RIGHT_CALL | RIGHT_TRANSFER)
            .map_err(|_| "duplicate failed")?
            .copy;
        let moved = Handle {
            handle: copy.handle,
            rights_and_mode: (HANDLE_MOVE << 16) | RIGHT_CALL,
        };
        match proxy.hoard(moved) {
            Ok(r) => held = r.held,
            Err(e) if call_refusal(&e) == Some(Status::NoMemory) => break copy,
            Err(_) => return Err("Hoard failed otherwise"),
        }
        if held > 2048 {
            return Err("the server's table never filled");
        }
    };
    // Nothing was lost: the refused handle is ours again and works.
    sys::handles()
        .sid(refused)
        .map_err(|_| "the refused handle was lost")?;
    let _ = sys::handles().close(refused);
    // The server's Recv did not fail: it still answers, and its table empties.
    let echoed = proxy
        .echo(1, alloc::vec![7])
        .map_err(|_| "the server stopped")?;
    let released = proxy.release().map_err(|_| "Release failed")?.released;
    if echoed.next != 2 || released != held {
        return Err("the server answered wrongly");
    }
    println!(
        "hostile: the hoard server's table filled after {held} handles; the next was refused (no memory), stayed ours, and the server serves on"
    );
    Ok(())
}

fn main() -> i32 {
    let mut t = Tally {
        attempts: 0,
        got_through: 0,
    };
    let mut response = [0u8; 2048];
    let echo_request = EchoRequest {
        n: 1,
        data: alloc::vec![1, 2, 3],
    }
    .encode(riid::IPC)
    .unwrap_or_default();

    // 1. A server it has no channel to cannot even be named.
    let lookup = Channel::lookup("vault").map(|c| c.handle as usize);
    t.refused("lookup of another's channel", lookup, &[Status::NotFound]);

    // 2. Forged handle numbers: every slot index with several generations.
    for index in 1..=300u32 {
        for generation in [0u32, 1, 7, 0xffff] {
            let forged = (generation << 16) | index;
            let r = sys::call(forged, &echo_request, &mut response, TIMEOUT_FOREVER);
            if r != Err(Status::BadHandle) {
                // Our own channels sit at some of these numbers: that is no forgery.
                let own = |name| Channel::lookup(name).is_ok_and(|c| c.handle == forged);
                if own("echo") || own("hoard") {
                    continue;
                }
            }
            t.refused("call on a forged handle", r, &[Status::BadHandle]);
        }
    }

    let Ok(channel) = Channel::lookup("echo") else {
        println!("hostile: no echo channel");
        return 1;
    };

    // 3. The denied method, through a channel it does have.
    let forbidden = ForbiddenRequest {}.encode(riid::IPC).unwrap_or_default();
    for _ in 0..10 {
        let r = sys::call(channel.handle, &forbidden, &mut response, TIMEOUT_FOREVER);
        t.refused("Forbidden", r, &[Status::AccessDenied]);
    }

    // 4. Oversized, truncated and inconsistent messages.
    let mut too_long = echo_request.clone();
    too_long.extend_from_slice(&[0; 16]);
    let r = sys::call(channel.handle, &too_long, &mut response, TIMEOUT_FOREVER);
    t.refused(
        "message longer than its header",
        r,
        &[Status::InvalidArgument],
    );
    for cut in [0, 1, HEADER_SIZE - 1, HEADER_SIZE, echo_request.len() - 1] {
        let r = sys::call(
            channel.handle,
            echo_request.get(..cut).unwrap_or(&[]),
            &mut response,
            TIMEOUT_FOREVER,
        );
        t.refused("truncated message", r, &[Status::InvalidArgument]);
    }
    let huge: Vec<u8> = alloc::vec![0; 128 * 1024];
    let r = sys::call(channel.handle, &huge, &mut response, TIMEOUT_FOREVER);
    t.refused("oversized message", r, &[Status::InvalidArgument]);
    let mut lying = echo_request.clone();
    if let Some(b) = lying.get_mut(20..24) {
        // arena_size claims a gigabyte.
        b.copy_from_slice(&0x4000_0000u32.to_le_bytes());
    }
    let r = sys::call(channel.handle, &lying, &mut response, TIMEOUT_FOREVER);
    t.refused(
        "header claiming a huge arena",
        r,
        &[Status::InvalidArgument],
    );

    // 5. Handles in messages that are not ours.
    for forged in [3u32, 0x0005_0001, 0xffff_ffff] {
        let keep = KeepRequest {
            h: Handle {
                handle: forged,
                rights_and_mode: HANDLE_COPY << 16 | 0xffff,
            },
        }
        .encode(riid::IPC)
        .unwrap_or_default();
        let r = sys::call(channel.handle, &keep, &mut response, TIMEOUT_FOREVER);
        t.refused("message carrying a forged handle", r, &[Status::BadHandle]);
    }

    // 6. A closed handle stays closed, even after its slot is reused.
    let number = channel.handle;
    let closed = sys::handles().close(Handle {
        handle: number,
        rights_and_mode: 0,
    });
    if closed.is_err() {
        println!("hostile: could not close its own channel");
    }
    let r = sys::call(number, &echo_request, &mut response, TIMEOUT_FOREVER);
    t.refused("call on a closed handle", r, &[Status::BadHandle]);
    let _ = sys::task_info();
    let r = sys::call(number, &echo_request, &mut response, TIMEOUT_FOREVER);
    t.refused("call on a closed handle, again", r, &[Status::BadHandle]);

    // 7. A server whose handle table is full: the call that would overflow it is refused
    //    with `NoMemory`, the handle it moved is still ours, and the server serves on.
    t.attempts += 1;
    if let Err(why) = fill_a_servers_table() {
        t.got_through += 1;
        println!("hostile: BREACH: a full handle table: {why}");
    }

    // 8. All the memory it can get: its limit is init.yaml's `memory: 8M`, which Einit set;
    //    allocating beyond is refused with `NoMemory`, and everything is given back.
    t.attempts += 1;
    if let Err(why) = exhaust_memory() {
        t.got_through += 1;
        println!("hostile: BREACH: memory beyond its limit: {why}");
    }

    println!(
        "hostile: {} attempts, {} got through",
        t.attempts, t.got_through
    );
    if t.got_through == 0 {
        println!("hostile: every attempt was refused");
        0
    } else {
        1
    }
}

/// Allocates 256 KiB pieces until refused: the refusal must be `NoMemory` at the 8 MiB limit
/// init.yaml gives this program, with everything it holds within the limit.
fn exhaust_memory() -> Result<(), alloc::string::String> {
    use alloc::format;
    const PIECE: usize = 256 * 1024;
    let (_, limit) = sys::memory_usage().map_err(|e| format!("task.MemoryUsage: {}", e.name()))?;
    if limit != 8 << 20 {
        return Err(format!("its limit is {limit} bytes, not init.yaml's 8 MiB"));
    }
    let mut pieces = Vec::new();
    let refusal = loop {
        match sys::vmm().allocate(PIECE as u64, sys::VMM_WRITE) {
            Ok(r) => pieces.push(r.addr as usize),
            Err(e) => break sys::call_status(e),
        }
        if pieces.len() > 64 {
            return Err(format!("{} pieces of 256 KiB", pieces.len()));
        }
    };
    let (used, _) = sys::memory_usage().map_err(|e| format!("task.MemoryUsage: {}", e.name()))?;
    if refusal != Status::NoMemory || used > limit {
        return Err(format!(
            "refused with {} holding {used} of {limit} bytes",
            refusal.name()
        ));
    }
    println!(
        "hostile: vmm.Allocate refused ({}) after {} KiB, at its 8 MiB limit",
        refusal.name(),
        pieces.len() * PIECE / 1024
    );
    for addr in pieces {
        sys::free(addr, PIECE).map_err(|e| format!("vmm.Free: {}", e.name()))?;
    }
    Ok(())
}
