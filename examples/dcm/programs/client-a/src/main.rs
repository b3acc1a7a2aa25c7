//! Client A of the dcm example (class dcm.ClientA): finds the server through kl.core.DCM
//! (after malformed requests refused by the kernel, the manager's refusals of an unknown name, a wrong endpoint, a second channel of
//! one name, a name not yet published), calls it, waits for its notice and connects to the
//! name it published meanwhile, which it subscribed to (woken by the manager's notice, it
//! reads the publication); subscribes to a name already published (told at once), meets
//! the bound of subscriptions; takes over the name `temp` once the program that published
//! it has ended (the manager reclaims it); says goodbye with a notice and waits for the answer.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;

use ostrog_abi::message::{Header, HEADER_SIZE};
use ostrog_abi::{Status, TIMEOUT_FOREVER};
use ostrog_rt::sys::Channel;
use ostrog_rt::{dcm, println, sys};

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::dcm_echo::EchoProxy;

ostrog_rt::main!(main);

/// The server's notice to its clients.
const EVENT: u32 = 1;
/// This client's goodbye to the server.
const GOODBYE: u32 = 4;
/// The manager's notice of a publication this client subscribed to.
const PUBLISHED: u32 = 5;

const fn bit(n: u32) -> u64 {
    1 << (n - 1)
}

/// Waits up to 10 s until every notification of `want` came; those that did.
fn wait_bits(want: u64) -> u64 {
    let mut got = 0;
    for _ in 0..100 {
        if got & want == want {
            break;
        }
        if sys::sleep_ms(100) == Err(Status::Interrupted) {
            got |= dcm::take().unwrap_or(0);
        }
    }
    got & want
}

/// Waits up to 10 s for the server's notice; its sender.
fn wait_notice() -> Option<u64> {
    (wait_bits(bit(EVENT)) != 0)
        .then(|| dcm::sender(EVENT).ok())
        .flatten()
}

/// A request to the manager by hand: header and fixed part, nothing else.
fn message(mid: u32, fixed: &[u8]) -> Vec<u8> {
    let header = Header {
        riid: ostrog_rt::idl::kl_core_dcm::riid::DCM,
        mid,
        fixed_size: fixed.len() as u32,
        ..Header::default()
    };
    let mut bytes = alloc::vec![0u8; HEADER_SIZE];
    header.write(&mut bytes);
    bytes.extend_from_slice(fixed);
    bytes
}

fn ping(channel: Channel, value: u32) -> Result<u32, Status> {
    EchoProxy {
        transport: channel,
        riid: idl::dcm_server::riid::ECHO,
    }
    .ping(value)
    .map(|r| r.next)
    .map_err(|e| ostrog_rt::call_refusal(&e).unwrap_or(Status::InvalidArgument))
}

fn main() -> i32 {
    let failed = core::cell::Cell::new(0);
    let expect = |what: &str, got: Result<(), Status>, want: Status| match got {
        Err(s) if s == want => println!("clientA: {what}: {}", s.name()),
        other => {
            println!(
                "clientA: FAILED: {what} gave {other:?}, expected {}",
                want.name()
            );
            failed.set(failed.get() + 1);
        }
    };
    if let Err(e) = dcm::accept(bit(EVENT) | bit(PUBLISHED)) {
        println!("clientA: FAILED: cannot accept notices: {}", e.name());
        return 1;
    }
    expect(
        "unknown name",
        dcm::connect("nothing", "echo").map(|_| ()),
        Status::NotFound,
    );
    // Malformed requests to the manager (no fixed part; a method the interface lacks; a
    // fixed part of the wrong size): refused by the kernel's message check before the manager
    // sees them; the manager goes on serving (the connections below).
    let manager = Channel::lookup(dcm::CHANNEL).map_or(0, |c| c.handle);
    let malformed = [
        ("Connect without its fixed part", message(2, &[])),
        ("a method the manager lacks", message(9, &[0; 8])),
        ("Publish with a 4-byte fixed part", message(0, &[0; 4])),
    ];
    for (what, bytes) in &malformed {
        let mut answer = [0u8; 256];
        match sys::call(manager, bytes, &mut answer, TIMEOUT_FOREVER) {
            Err(s) => println!("clientA: {what}: refused ({})", s.name()),
            // The scenario rejects any FAILED line.
            Ok(_) => println!("clientA: FAILED: {what} was answered"),
        }
    }
    // The server publishes `echo` at once; until then the manager does not know it.
    let mut tries = 0;
    let (echo, server) = loop {
        match dcm::connect("echo", "echo") {
            Ok(found) => break found,
            Err(Status::NotFound) if tries < 500 => {
                tries += 1;
                let _ = sys::sleep_ms(10);
            }
            Err(e) => {
                println!("clientA: FAILED: connecting to echo: {}", e.name());
                return 1;
            }
        }
    };
    println!("clientA: connected to echo (server sid {server})");
    expect(
        "echo at another endpoint",
        dcm::connect("echo", "admin").map(|_| ()),
        Status::NotFound,
    );
    expect(
        "connecting to echo twice",
        dcm::connect("echo", "echo").map(|_| ()),
        Status::Busy,
    );
    // The server publishes echo2 only after this client's first call.
    expect(
        "echo2 before it is published",
        dcm::connect("echo2", "echo").map(|_| ()),
        Status::NotFound,
    );
    // Instead of asking again and again, it subscribes to echo2 (the manager keeps no
    // publication for it yet), within the bound of subscriptions.
    expect(
        "reading publications before any",
        dcm::read_pub_queue().map(|_| ()),
        Status::NotFound,
    );
    expect(
        "subscribing with notice 65",
        dcm::subscribe("echo2", 65),
        Status::InvalidArgument,
    );
    expect(
        "ending a subscription it does not have",
        dcm::subscribe("echo2", 0),
        Status::NotFound,
    );
    let subscribed = dcm::subscribe("echo2", PUBLISHED);
    let spares = (0..3).map(|i| dcm::subscribe(&format!("spare{i}"), PUBLISHED));
    match spares.fold(subscribed, Result::and) {
        Ok(()) => println!("clientA: subscribed to echo2 and 3 more names"),
        Err(e) => {
            println!("clientA: FAILED: subscribing: {}", e.name());
            failed.set(failed.get() + 1);
        }
    }
    expect(
        "a fifth subscription",
        dcm::subscribe("spare3", PUBLISHED),
        Status::NoMemory,
    );
    for i in 0..3 {
        let _ = dcm::subscribe(&format!("spare{i}"), 0);
    }
    match ping(echo, 41) {
        Ok(n) => println!("clientA: echo.Ping(41) = {n}"),
        Err(e) => {
            println!("clientA: FAILED: echo.Ping: {}", e.name());
            failed.set(failed.get() + 1);
        }
    }
    // The server publishes echo2, then notices its clients: both wake this client.
    let got = wait_bits(bit(EVENT) | bit(PUBLISHED));
    match dcm::sender(EVENT) {
        Ok(sid) if sid == server && got & bit(EVENT) != 0 => {
            println!("clientA: notice {EVENT} from the server while waiting")
        }
        other => {
            println!("clientA: FAILED: no notice from the server ({other:?})");
            failed.set(failed.get() + 1);
        }
    }
    match (got & bit(PUBLISHED) != 0, dcm::read_pub_queue()) {
        (true, Ok((name, endpoint, sid))) if sid == server => {
            println!("clientA: woken by its subscription: {name} published at endpoint {endpoint} by the server")
        }
        other => {
            println!("clientA: FAILED: no publication of echo2 ({other:?})");
            failed.set(failed.get() + 1);
        }
    }
    // Timed: a connection through the manager (two judged requests, the kernel's link) and
    // the first call on it.
    let start = sys::now_ns().unwrap_or(0);
    let linked = dcm::connect("echo2", "echo");
    let connected = sys::now_ns().unwrap_or(0);
    match linked.and_then(|(c, _)| ping(c, 1)) {
        Ok(n) => {
            let called = sys::now_ns().unwrap_or(0);
            println!("clientA: echo2.Ping(1) = {n}");
            println!(
                "clientA: timing: connect through kl.core.DCM {} us, first call {} us",
                connected.saturating_sub(start) / 1000,
                called.saturating_sub(connected) / 1000
            );
        }
        Err(e) => {
            println!("clientA: FAILED: echo2: {}", e.name());
            failed.set(failed.get() + 1);
        }
    }
    // A subscription to a name published already is told at once.
    match dcm::subscribe("echo", PUBLISHED).map(|()| wait_bits(bit(PUBLISHED))) {
        Ok(b)
            if b != 0
                && dcm::read_pub_queue().is_ok_and(|(n, _, s)| n == "echo" && s == server) =>
        {
            println!("clientA: subscribed to echo, published already: told at once")
        }
        other => {
            println!("clientA: FAILED: subscribing to echo: {other:?}");
            failed.set(failed.get() + 1);
        }
    }
    // `temp` is the transient program's until it ends; then the manager reclaims it.
    let mut busy = 0;
    loop {
        match dcm::publish("temp", "echo", 0) {
            Ok(()) => break,
            Err(Status::Busy) if busy < 500 => {
                busy += 1;
                let _ = sys::sleep_ms(10);
            }
            Err(e) => {
                println!("clientA: FAILED: publishing temp: {}", e.name());
                return 1;
            }
        }
    }
    // Whether it was still running (busy) or had ended already, the name is reclaimed: the
    // manager says so on the console (`withdrew temp ... of ended sid`).
    println!("clientA: published temp, which its first publisher held ({busy} busy tries)");
    match dcm::notify(echo.handle, GOODBYE) {
        Ok(1) => println!("clientA: said goodbye"),
        other => {
            println!("clientA: FAILED: goodbye: {other:?}");
            failed.set(failed.get() + 1);
        }
    }
    match wait_notice() {
        Some(sid) if sid == server => println!("clientA: the server answered the goodbye"),
        other => {
            println!("clientA: FAILED: no answer to the goodbye ({other:?})");
            failed.set(failed.get() + 1);
        }
    }
    println!("clientA: done, {} failed", failed.get());
    0
}
