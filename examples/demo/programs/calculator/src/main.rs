//! The calculator: answers demo.Calc on its endpoint `calc` until its client is gone.
//! It trusts the policy to keep the operands small: a request it sees was granted.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_rt::println;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::demo_calc::{AddError, AddRequest, AddResponse, CalcServer};
use idl::demo_calculator::{self, CalculatorEndpoints};

ostrog_rt::main!(main);

struct Calculator;

impl CalcServer for Calculator {
    fn add(&mut self, r: AddRequest) -> Result<AddResponse, AddError> {
        println!("calculator: {} + {}", r.a, r.b);
        Ok(AddResponse {
            sum: r.a.saturating_add(r.b),
        })
    }
}

impl CalculatorEndpoints for Calculator {
    fn calc(&mut self) -> &mut dyn CalcServer {
        self
    }
}

fn main() -> i32 {
    let mut calculator = Calculator;
    ostrog_rt::server::serve("calculator", |_header, request| {
        demo_calculator::dispatch(&mut calculator, request)
    })
}
