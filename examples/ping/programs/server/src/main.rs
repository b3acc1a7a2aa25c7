//! The ping server: answers Ping with `value + 1` and Pong with `value - 1`. It does not
//! track the order itself: the policy delivers only the calls its state machine allows.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_rt::println;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::ping_ping::{
    PingError, PingRequest, PingResponse, PingServer, PongError, PongRequest, PongResponse,
};
use idl::ping_server::{self, ServerEndpoints};

ostrog_rt::main!(main);

struct Server;

impl PingServer for Server {
    fn ping(&mut self, r: PingRequest) -> Result<PingResponse, PingError> {
        println!("server: got Ping({})", r.value);
        Ok(PingResponse {
            result: r.value.wrapping_add(1),
        })
    }

    fn pong(&mut self, r: PongRequest) -> Result<PongResponse, PongError> {
        println!("server: got Pong({})", r.value);
        Ok(PongResponse {
            result: r.value.wrapping_sub(1),
        })
    }
}

impl ServerEndpoints for Server {
    fn ping(&mut self) -> &mut dyn PingServer {
        self
    }
}

fn main() -> i32 {
    let mut server = Server;
    ostrog_rt::server::serve("server", |_header, request| {
        ping_server::dispatch(&mut server, request)
    })
}
