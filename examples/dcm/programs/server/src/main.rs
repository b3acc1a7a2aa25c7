//! The server of the dcm example (class dcm.Server): publishes its endpoint `echo` through
//! kl.core.DCM, checks the manager's refusals (a name twice, an endpoint the policy does not
//! allow, a full table), then serves dcm.Echo. It waits for calls and notices at once: its
//! `Recv` ends with `Interrupted` when a client is connected (the notice it asked for when
//! publishing) or a client posts a notice to it. After the first call it publishes `echo2`
//! and tells its clients so with a notice; a client's goodbye notice is answered with another.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;

use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};
use ostrog_abi::{handle, Status, TIMEOUT_FOREVER};
use ostrog_rt::sys::{self, Channel};
use ostrog_rt::{dcm, println};

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::dcm_echo::{EchoServer, PingError, PingRequest, PingResponse};
use idl::dcm_server::{self, ServerEndpoints};

ostrog_rt::main!(main);

/// Posted by the kernel when a client is connected to a service of this server.
const CONNECTED: u32 = 3;
/// Posted by a client over its channel when it is done.
const GOODBYE: u32 = 4;
/// Posted to the clients: something happened (`echo2` published, goodbye heard).
const EVENT: u32 = 1;

struct Echo {
    pings: u32,
}

impl EchoServer for Echo {
    fn ping(&mut self, r: PingRequest) -> Result<PingResponse, PingError> {
        self.pings += 1;
        Ok(PingResponse {
            next: r.value.wrapping_add(1),
        })
    }
}

impl ServerEndpoints for Echo {
    fn echo(&mut self) -> &mut dyn EchoServer {
        self
    }
}

fn mask(bit: u32) -> u64 {
    1 << (bit - 1)
}

/// Posts EVENT to every client of the endpoint named `echo`; how many got it.
fn tell_clients() -> Result<u32, Status> {
    dcm::notify(Channel::lookup("echo")?.handle, EVENT)
}

fn main() -> i32 {
    let mut failed = 0;
    let mut expect = |what: &str, got: Result<(), Status>, want: Status| match got {
        Err(s) if s == want => println!("server: {what}: {}", s.name()),
        other => {
            println!(
                "server: FAILED: {what} gave {other:?}, expected {}",
                want.name()
            );
            failed += 1;
        }
    };
    if let Err(e) = dcm::publish("echo", "echo", CONNECTED) {
        println!("server: FAILED: cannot publish echo: {}", e.name());
        return 1;
    }
    println!("server: published echo");
    expect(
        "publishing echo twice",
        dcm::publish("echo", "echo", 0),
        Status::Busy,
    );
    expect(
        "publishing at endpoint admin",
        dcm::publish("admin", "admin", 0),
        Status::AccessDenied,
    );
    // Exhaustion: the manager's share per server is bounded.
    let mut spares = 0;
    let full = loop {
        match dcm::publish(&format!("spare{spares}"), "echo", 0) {
            Ok(()) => spares += 1,
            Err(e) => break e,
        }
        if spares > 64 {
            break Status::InvalidArgument;
        }
    };
    expect(
        &format!("the table after {spares} more services"),
        Err(full),
        Status::NoMemory,
    );
    let withdrawn = (0..spares)
        .filter(|i| dcm::withdraw(&format!("spare{i}")).is_ok())
        .count();
    println!("server: withdrew {withdrawn} spare services");
    expect(
        "withdrawing a name it does not publish",
        dcm::withdraw("spare0"),
        Status::NotFound,
    );
    if let Err(e) = dcm::accept(mask(CONNECTED) | mask(GOODBYE)) {
        println!("server: FAILED: cannot accept notices: {}", e.name());
        return 1;
    }

    let mut echo = Echo { pings: 0 };
    let mut published_echo2 = false;
    let mut buffer = [0u8; 512];
    loop {
        match sys::recv(handle::ANY, &mut buffer, TIMEOUT_FOREVER) {
            Ok((len, _)) => {
                let request = buffer.get(..len).unwrap_or(&[]);
                let answer = dcm_server::dispatch(&mut echo, request).unwrap_or_else(|_| {
                    let header = Header::read(request).unwrap_or_default();
                    let mut empty = alloc::vec![0u8; HEADER_SIZE];
                    Header {
                        riid: header.riid,
                        mid: header.mid,
                        flags: FLAG_ERROR,
                        ..Header::default()
                    }
                    .write(&mut empty);
                    empty
                });
                if let Err(e) = sys::reply(handle::ANY, &answer) {
                    println!("server: reply failed: {}", e.name());
                }
                if echo.pings == 1 && !published_echo2 {
                    published_echo2 = true;
                    match dcm::publish("echo2", "echo", 0).and_then(|()| tell_clients()) {
                        Ok(n) => println!("server: published echo2, told {n} client(s)"),
                        Err(e) => {
                            println!("server: FAILED: echo2: {}", e.name());
                            failed += 1;
                        }
                    }
                }
            }
            Err(Status::Interrupted) => {
                let bits = dcm::take().unwrap_or(0);
                if bits & mask(CONNECTED) != 0 {
                    let who = dcm::sender(CONNECTED).unwrap_or(0);
                    println!("server: Recv interrupted: a client was connected (sid {who})");
                }
                if bits & mask(GOODBYE) != 0 {
                    // The answer goes to the one who said goodbye, not to every client.
                    let who = dcm::sender(GOODBYE).unwrap_or(0);
                    let answer = Channel::lookup("echo")
                        .and_then(|e| dcm::notify_client(e.handle, who, EVENT));
                    match answer {
                        Ok(()) => println!(
                            "server: Recv interrupted: goodbye from sid {who}; answered it alone"
                        ),
                        Err(e) => {
                            println!("server: FAILED: notice: {}", e.name());
                            failed += 1;
                        }
                    }
                }
            }
            // No client can call: before the first one, wait for the kernel's notice.
            Err(Status::Disconnected) if echo.pings == 0 => {
                let _ = sys::sleep_ms(1000);
            }
            Err(Status::Disconnected) => break,
            Err(e) => {
                println!("server: FAILED: Recv: {}", e.name());
                return 1;
            }
        }
    }
    println!("server: no client left; done, {failed} failed");
    0
}
