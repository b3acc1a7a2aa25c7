//! The client: greets the server through the channel `greeter`.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_rt::client::{channel, refuser};
use ostrog_rt::println;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::app_greeter::GreeterProxy;
use idl::app_server::riid;

ostrog_rt::main!(main);

fn main() -> i32 {
    let Some(transport) = channel("client", "greeter") else {
        return 1;
    };
    let mut greeter = GreeterProxy {
        transport,
        riid: riid::GREETER,
    };
    match greeter.greet("Ostrog".into()) {
        Ok(r) => println!("client: {}", r.greeting),
        Err(e) => println!("client: Greet failed: {e:?}"),
    }
    // The policy denies this one: the call comes back refused and is never delivered.
    match greeter.shutdown() {
        Ok(_) => println!("client: Shutdown was allowed!"),
        Err(e) => println!("client: Shutdown refused: {}", refuser(&e)),
    }
    0
}
