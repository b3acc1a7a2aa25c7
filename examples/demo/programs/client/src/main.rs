//! The client: one addition the policy grants, one it denies (an operand above 1000).
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

use idl::demo_calc::CalcProxy;
use idl::demo_calculator::riid;

ostrog_rt::main!(main);

fn main() -> i32 {
    let Some(transport) = channel("client", "calc") else {
        return 1;
    };
    let mut calc = CalcProxy {
        transport,
        riid: riid::CALC,
    };
    for (a, b) in [(2, 3), (5000, 1)] {
        match calc.add(a, b) {
            Ok(r) => println!("client: {a} + {b} = {}", r.sum),
            // A denied request never reaches the calculator: the kernel answers for it.
            Err(e) => println!("client: {a} + {b} refused: {}", refuser(&e)),
        }
    }
    0
}
