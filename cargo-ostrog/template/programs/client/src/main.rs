//! The client: greets the server through the channel `greeter`.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_rt::sys::Channel;
use ostrog_rt::{call_refusal, println};

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::app_greeter::GreeterProxy;
use idl::app_server::riid;

ostrog_rt::main!(main);

fn main() -> i32 {
    let Ok(channel) = Channel::lookup("greeter") else {
        println!("client: no channel named greeter");
        return 1;
    };
    let mut greeter = GreeterProxy {
        transport: channel,
        riid: riid::GREETER,
    };
    match greeter.greet("Ostrog".into()) {
        Ok(r) => println!("client: {}", r.greeting),
        Err(e) => println!("client: Greet failed: {e:?}"),
    }
    // The policy denies this one: the call comes back refused and is never delivered.
    match greeter.shutdown() {
        Ok(_) => println!("client: Shutdown was allowed!"),
        Err(e) => println!(
            "client: Shutdown refused: {}",
            call_refusal(&e).map_or("(not by the kernel)", |s| s.name())
        ),
    }
    0
}
