//! The hostile program. It has one channel, `store`, on which the policy grants it Get, and
//! tries every other way out: names it was not given, forged handle numbers, methods the
//! policy denies, forged handles inside messages, malformed messages, and the kernel's
//! endpoints. It prints one line per kind of attempt and who refused it: "access denied"
//! is the security module (and an `[audit]` line), "bad handle" the kernel, which refuses a
//! handle that names nothing before there is any event to judge. Then it tries to starve
//! the system with a thread at the highest priority, and to flush the audit log with
//! thousands of denied calls, so that the denials of others are lost before Klog reads
//! them.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use ostrog_abi::message::{Header, HANDLE_COPY, HANDLE_MOVE, HEADER_SIZE};
use ostrog_abi::{Status, TIMEOUT_FOREVER};
use ostrog_rt::idl::kl_core_channel::ChannelProxy;
use ostrog_rt::idl::kl_core_core::riid as core_riid;
use ostrog_rt::idl::kl_core_handle::HandleProxy;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::idl::kl_core_task::TaskProxy;
use ostrog_rt::sys::{self, Channel, CoreTransport};
use ostrog_rt::{call_refusal, println};

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::hostile_server::riid;
use idl::hostile_store::{GetRequest, ShareRequest, StoreProxy, TEXT_MAX};
use idl::spec_rt::{CallError, Handle, Message};

ostrog_rt::main!(main);

/// Denied calls of the audit flood: many times the log's 512 records.
const FLOOD: u32 = 3000;

/// The stack of the thread it asks for at priority 31 (it has no memory of its own to
/// allocate: the policy denies it `vmm.Allocate`).
#[repr(C, align(16))]
struct Stack([u8; 4096]);
static mut STACK: Stack = Stack([0; 4096]);

/// The thread at priority 31, were it created: it would starve everything else for as long
/// as it runs; it ends at once, so that even a breach does not hang the test.
extern "C" fn greedy(_: usize) -> ! {
    sys::thread_exit(0)
}

/// Counts the attempts and the ones that got through.
#[derive(Default)]
struct Tally {
    attempts: u32,
    breaches: u32,
}

impl Tally {
    /// Records one attempt; `Err` says who refused it.
    fn attempt(&mut self, what: &str, result: Result<(), String>) {
        self.attempts += 1;
        match result {
            Ok(()) => {
                self.breaches += 1;
                println!("attacker: BREACH: {what} got through");
            }
            Err(why) => println!("attacker: {what}: refused ({why})"),
        }
    }
}

/// A raw call's outcome, for [`Tally::attempt`].
fn raw(result: Result<usize, Status>) -> Result<(), String> {
    result.map(|_| ()).map_err(|s| String::from(s.name()))
}

/// A proxy call's outcome, for [`Tally::attempt`].
fn proxied<T, E: core::fmt::Debug>(result: Result<T, CallError<E>>) -> Result<(), String> {
    result.map(|_| ()).map_err(|e| match call_refusal(&e) {
        Some(s) => String::from(s.name()),
        None => format!("{e:?}"),
    })
}

/// A request to the store's endpoint built by hand: `mid`, handle slots, fixed part and
/// arena, with a header that adds up (so that only the contents are wrong).
fn message(mid: u32, slots: &[(u32, u32)], fixed: &[u8], arena: &[u8]) -> Vec<u8> {
    let header = Header {
        riid: riid::STORE,
        mid,
        handle_count: slots.len() as u32,
        fixed_size: fixed.len() as u32,
        arena_size: arena.len() as u32,
        ..Header::default()
    };
    let mut bytes = alloc::vec![0u8; HEADER_SIZE];
    header.write(&mut bytes);
    for (handle, rights_and_mode) in slots {
        bytes.extend_from_slice(&handle.to_le_bytes());
        bytes.extend_from_slice(&rights_and_mode.to_le_bytes());
    }
    bytes.extend_from_slice(fixed);
    bytes.extend_from_slice(arena);
    bytes
}

/// An arena reference (offset, length) as it sits in a fixed part.
fn arena_ref(offset: u32, len: u32) -> [u8; 8] {
    let mut r = [0u8; 8];
    r[..4].copy_from_slice(&offset.to_le_bytes());
    r[4..].copy_from_slice(&len.to_le_bytes());
    r
}

/// Calls `get` on forged handle numbers: slot indices with several generations. None names
/// an object of this process (other than `store`), so the kernel refuses each before any
/// event exists.
fn forged_handles(t: &mut Tally, store: u32, get: &[u8], response: &mut [u8], what: &str) {
    let mut forged = 0;
    let mut refused = 0;
    for index in 1..=64u32 {
        for generation in [0u32, 1, 7, 0xffff] {
            let number = generation << 16 | index;
            if number == store {
                continue;
            }
            forged += 1;
            match sys::call(number, get, response, TIMEOUT_FOREVER) {
                Err(Status::BadHandle) => refused += 1,
                other => t.attempt(&format!("a call on handle {number:#x}"), raw(other)),
            }
        }
    }
    // Each refusal is an attempt too (the others were counted as they happened).
    t.attempts += refused;
    println!("attacker: {forged} calls on {what}: {refused} refused (bad handle)");
}

/// Messages of the granted method Get that carry what the policy would not see: a handle
/// no parameter names, arena bytes no parameter uses, one handle moved twice.
fn unseen_cargo(t: &mut Tally, store: u32, response: &mut [u8]) {
    for (what, result) in unseen_cargo_results(store, response) {
        t.attempt(what, raw(result));
    }
}

/// [`unseen_cargo`] without a line for each refusal (the soak repeats it many times).
fn unseen_cargo_quietly(t: &mut Tally, store: u32, response: &mut [u8]) {
    for (what, result) in unseen_cargo_results(store, response) {
        t.attempts += 1;
        if result.is_ok() {
            t.breaches += 1;
            println!("attacker: BREACH: {what} got through");
        }
    }
}

fn unseen_cargo_results(
    store: u32,
    response: &mut [u8],
) -> [(&'static str, Result<usize, Status>); 3] {
    let get_mid = <GetRequest as Message>::MID;
    let copy = HANDLE_COPY << 16 | 0xffff;
    let moves = HANDLE_MOVE << 16 | 0xffff;
    let mut padded = Vec::from(&b"pin"[..]);
    padded.resize(60 * 1024, 0);
    let cargo: [(&str, Vec<u8>); 3] = [
        (
            "Get carrying a handle no parameter names",
            message(get_mid, &[(store, copy)], &arena_ref(0, 3), b"pin"),
        ),
        (
            "Get padded with 60 KiB no parameter uses",
            message(get_mid, &[], &arena_ref(0, 3), &padded),
        ),
        (
            "Get moving its channel in two slots",
            message(
                get_mid,
                &[(store, moves), (store, moves)],
                &arena_ref(0, 3),
                b"pin",
            ),
        ),
    ];
    cargo.map(|(what, bytes)| (what, sys::call(store, &bytes, response, TIMEOUT_FOREVER)))
}

/// Rounds of the soak: `OSTROG_SOAK_ROUNDS` when the program is built (`cargo xtask test
/// --long` builds it with 100,000), a short run otherwise.
pub fn soak_rounds() -> u32 {
    option_env!("OSTROG_SOAK_ROUNDS")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

/// The soak: the attacks that once leaked kernel memory or slipped past the policy, again
/// and again, next to the client's honest work. Every one must be refused every time, and
/// Get must keep working.
fn soak(store: u32, response: &mut [u8]) -> Tally {
    let mut t = Tally::default();
    let rounds = soak_rounds();
    let get = GetRequest { key: "pin".into() }
        .encode(riid::STORE)
        .unwrap_or_default();
    let mut proxy = StoreProxy {
        transport: Channel { handle: store },
        riid: riid::STORE,
    };
    for round in 0..rounds {
        let mut quiet = Tally::default();
        unseen_cargo_quietly(&mut quiet, store, response);
        let forged = (round % 0xffff + 2) << 16 | 7;
        if sys::call(forged, &get, response, TIMEOUT_FOREVER) != Err(Status::BadHandle) {
            quiet.breaches += 1;
        }
        if proxy.get("record-0".into()).is_err() {
            println!("attacker: soak round {round}: Get failed");
            t.breaches += 1;
        }
        t.attempts += quiet.attempts + 1;
        t.breaches += quiet.breaches;
    }
    println!(
        "attacker: soak of {rounds} rounds of the attacks above: {} attempts, {} got through",
        t.attempts, t.breaches
    );
    t
}

fn main() -> i32 {
    let mut t = Tally::default();
    let mut response = [0u8; 1024];

    // 1. Names it was not given: the policy lets it look up `store` only.
    t.attempt(
        "looking up the vault's channel",
        raw(Channel::lookup("vault").map(|c| c.handle as usize)),
    );

    let Ok(store) = Channel::lookup("store") else {
        println!("attacker: no store channel");
        return 1;
    };

    // 2. Forged handle numbers: slot indices with several generations. None names an
    //    object of this process, so the kernel refuses each before any event exists.
    let get = GetRequest { key: "pin".into() }
        .encode(riid::STORE)
        .unwrap_or_default();
    forged_handles(
        &mut t,
        store.handle,
        &get,
        &mut response,
        "forged handle numbers",
    );

    // 3. Methods the policy denies, on the channel it does have.
    let mut proxy = StoreProxy {
        transport: store,
        riid: riid::STORE,
    };
    t.attempt(
        "Put on the store",
        proxied(proxy.put("record-0".into(), "mine now".into())),
    );
    t.attempt("Erase on the store", proxied(proxy.erase()));
    let own = Handle {
        handle: store.handle,
        rights_and_mode: HANDLE_COPY << 16 | 0xffff,
    };
    t.attempt("Share of its own channel", proxied(proxy.share(own)));

    // 4. A handle in a message that is not its own.
    let share_forged = ShareRequest {
        h: Handle {
            handle: 0x0007_0009,
            rights_and_mode: HANDLE_COPY << 16 | 0xffff,
        },
    }
    .encode(riid::STORE)
    .unwrap_or_default();
    t.attempt(
        "Share of a forged handle",
        raw(sys::call(
            store.handle,
            &share_forged,
            &mut response,
            TIMEOUT_FOREVER,
        )),
    );

    // 5. Malformed requests of the granted method Get (and two of Share): the header adds
    //    up, the contents do not. The policy's validator checks them against the IDL types
    //    before any rule runs. Padding must be zero: bytes there would reach the server
    //    without any rule reading them.
    let get_mid = <GetRequest as Message>::MID;
    let share_mid = <ShareRequest as Message>::MID;
    let long = [b'a'; TEXT_MAX as usize + 8];
    let own_copy = (store.handle, HANDLE_COPY << 16 | 0xffff);
    let malformed: [(&str, Vec<u8>); 7] = [
        (
            "Get with its key outside the arena",
            message(get_mid, &[], &arena_ref(4096, 4), b"pin\0\0\0\0\0"),
        ),
        (
            "Get with a garbage fixed part",
            message(get_mid, &[], &[0xa5; 8], &[0xa5; 8]),
        ),
        (
            "Get with a fixed part of the wrong size",
            message(get_mid, &[], &[0; 16], b"pin\0\0\0\0\0"),
        ),
        (
            "Get with a key that is not UTF-8",
            message(
                get_mid,
                &[],
                &arena_ref(0, 4),
                &[0xff, 0xfe, 0xfd, 0xfc, 0, 0, 0, 0],
            ),
        ),
        (
            "Get with a key longer than its bound",
            message(get_mid, &[], &arena_ref(0, long.len() as u32), &long),
        ),
        (
            "Share naming a handle slot the message lacks",
            message(share_mid, &[], &[0; 8], &[]),
        ),
        (
            "Share with padding carrying data",
            message(
                share_mid,
                &[own_copy],
                &[0, 0, 0, 0, b'l', b'e', b'a', b'k'],
                &[],
            ),
        ),
    ];
    for (what, bytes) in &malformed {
        t.attempt(
            what,
            raw(sys::call(
                store.handle,
                bytes,
                &mut response,
                TIMEOUT_FOREVER,
            )),
        );
    }
    unseen_cargo(&mut t, store.handle, &mut response);
    let unknown = message(9, &[], &[], &[]);
    t.attempt(
        "a method the store does not have",
        raw(sys::call(
            store.handle,
            &unknown,
            &mut response,
            TIMEOUT_FOREVER,
        )),
    );

    // 6. The kernel's endpoints the policy does not grant it.
    let mut vmm = sys::vmm();
    t.attempt("vmm.Allocate", proxied(vmm.allocate(1 << 20, 1)));
    let mut io = IoProxy {
        transport: CoreTransport,
        riid: core_riid::IO,
    };
    t.attempt("io.MapMmio", proxied(io.map_mmio(0x0900_0000, 4096)));
    t.attempt("io.ClaimIrq", proxied(io.claim_irq(1)));
    let mut task = TaskProxy {
        transport: CoreTransport,
        riid: core_riid::TASK,
    };
    t.attempt(
        "task.Create",
        proxied(task.create(
            "evil".into(),
            "hostile.Client".into(),
            "Client".into(),
            Vec::new(),
            Vec::new(),
            31,
        )),
    );
    let mut channels = ChannelProxy {
        transport: CoreTransport,
        riid: core_riid::CHANNEL,
    };
    let copy = Handle {
        handle: store.handle,
        rights_and_mode: HANDLE_COPY << 16 | 0xffff,
    };
    t.attempt(
        "channel.Connect",
        proxied(channels.connect(copy, copy, "vault".into())),
    );

    // 6b. A kernel answer the policy withholds: handle.Duplicate is granted, its response
    //     denied. The copy the kernel made for the answer is closed again, so no handle
    //     number but `store`'s reaches the store afterwards.
    let mut handles = HandleProxy {
        transport: CoreTransport,
        riid: core_riid::HANDLE,
    };
    t.attempt(
        "handle.Duplicate, its answer withheld",
        proxied(handles.duplicate(copy, 0xffff)),
    );
    forged_handles(
        &mut t,
        store.handle,
        &get,
        &mut response,
        "handle numbers after the withheld copy",
    );

    // 7. A thread above its priority ceiling (the default, 16, below Einit's 20): the policy
    //    grants thread.Create, the kernel refuses the priority.
    let top = core::ptr::addr_of!(STACK) as usize + core::mem::size_of::<Stack>();
    t.attempt(
        "a thread at priority 31",
        raw(sys::thread_create(greedy, top, 0, 31)),
    );

    // 8. An audit flood: thousands of denied calls (vmm.Allocate, which no binding covers,
    //    so each is recorded; a request to the kernel is judged at once, so the flood is as
    //    fast as it gets), to push the records of others out of the log before Klog reads
    //    them.
    let mut flooded = 0;
    for _ in 0..FLOOD {
        match vmm.allocate(1 << 20, 1) {
            Err(e) if call_refusal(&e) == Some(Status::AccessDenied) => flooded += 1,
            other => t.attempt("vmm.Allocate in the flood", proxied(other)),
        }
    }
    t.attempts += flooded;
    println!(
        "attacker: {FLOOD} denied calls to flood the audit log: {flooded} refused (access denied)"
    );

    // What it may do still works: reading the store.
    match proxy.get("record-0".into()) {
        Ok(_) => println!("attacker: Get on the store is granted, as the policy says"),
        Err(e) => println!("attacker: even Get failed: {e:?}"),
    }

    let soaked = soak(store.handle, &mut response);

    if t.breaches == 0 && soaked.breaches == 0 {
        println!("attacker: {} attempts, none got through", t.attempts);
        0
    } else {
        println!(
            "attacker: {} attempts, {} got through",
            t.attempts, t.breaches
        );
        1
    }
}
