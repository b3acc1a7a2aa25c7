//! The echo client: sends numbers and strings to the server and prints the answers, then
//! tries the method the policy denies.
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

use idl::echo_echo::EchoProxy;
use idl::echo_server::riid;

ostrog_rt::main!(main);

fn main() -> i32 {
    let Some(transport) = channel("client", "echo") else {
        return 1;
    };
    let mut echo = EchoProxy {
        transport,
        riid: riid::ECHO,
    };
    let mut failures = 0;
    for n in [0, 41, -7, i32::MAX] {
        match echo.increment(n) {
            Ok(r) => println!("client: Increment({n}) = {}", r.next),
            Err(e) => {
                failures += 1;
                println!("client: Increment({n}) failed: {e:?}");
            }
        }
    }
    for text in ["hello", "Ostrog", "a man a plan"] {
        match echo.reverse(text.into()) {
            Ok(r) => println!("client: Reverse({text:?}) = {:?}", r.reversed),
            Err(e) => {
                failures += 1;
                println!("client: Reverse({text:?}) failed: {e:?}");
            }
        }
    }
    // The policy has no rule for Wipe: the kernel refuses it and the server never sees it.
    match echo.wipe() {
        Ok(_) => {
            failures += 1;
            println!("client: BREACH: Wipe was allowed");
        }
        Err(e) => println!("client: Wipe refused: {}", refuser(&e)),
    }
    failures
}
