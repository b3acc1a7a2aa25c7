//! The echo server: answers echo.Echo on its endpoint `echo` until its client is gone.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;

use ostrog_rt::println;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::echo_echo::{
    EchoServer, IncrementError, IncrementRequest, IncrementResponse, ReverseError, ReverseRequest,
    ReverseResponse, WipeError, WipeRequest, WipeResponse,
};
use idl::echo_server::{self, ServerEndpoints};

ostrog_rt::main!(main);

struct Echo;

impl EchoServer for Echo {
    fn increment(&mut self, r: IncrementRequest) -> Result<IncrementResponse, IncrementError> {
        Ok(IncrementResponse {
            next: r.n.wrapping_add(1),
        })
    }

    fn reverse(&mut self, r: ReverseRequest) -> Result<ReverseResponse, ReverseError> {
        Ok(ReverseResponse {
            reversed: r.text.chars().rev().collect::<String>(),
        })
    }

    fn wipe(&mut self, _r: WipeRequest) -> Result<WipeResponse, WipeError> {
        // Never runs: the policy denies every Wipe before it is delivered.
        println!("server: BREACH: Wipe was delivered");
        Ok(WipeResponse {})
    }
}

impl ServerEndpoints for Echo {
    fn echo(&mut self) -> &mut dyn EchoServer {
        self
    }
}

fn main() -> i32 {
    let mut echo = Echo;
    let status = ostrog_rt::server::serve("server", |_header, request| {
        echo_server::dispatch(&mut echo, request)
    });
    if status == 0 {
        println!("server: the client is gone; ending");
    }
    status
}
