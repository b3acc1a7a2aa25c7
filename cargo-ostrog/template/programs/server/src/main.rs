//! The server: answers app.Greeter on its endpoint `greeter` until its client is gone.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;

use ostrog_rt::println;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::app_greeter::{
    GreetError, GreetRequest, GreetResponse, GreeterServer, ShutdownError, ShutdownRequest,
    ShutdownResponse,
};
use idl::app_server::{self, ServerEndpoints};

ostrog_rt::main!(main);

struct Greeter;

impl GreeterServer for Greeter {
    fn greet(&mut self, r: GreetRequest) -> Result<GreetResponse, GreetError> {
        Ok(GreetResponse {
            greeting: format!("Hello, {}!", r.name),
        })
    }

    fn shutdown(&mut self, _r: ShutdownRequest) -> Result<ShutdownResponse, ShutdownError> {
        println!("server: shutting down (the policy should never let this through)");
        Ok(ShutdownResponse {})
    }
}

impl ServerEndpoints for Greeter {
    fn greeter(&mut self) -> &mut dyn GreeterServer {
        self
    }
}

fn main() -> i32 {
    let mut greeter = Greeter;
    ostrog_rt::server::serve("server", |_header, request| {
        app_server::dispatch(&mut greeter, request)
    })
}
