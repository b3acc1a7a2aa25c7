//! Hello: prints a greeting and ends. Printing is a request to the kernel's `console`
//! endpoint and ending one to its `task` endpoint; the policy grants exactly those.
#![no_std]
#![no_main]

use ostrog_rt::println;

ostrog_rt::main!(main);

fn main() -> i32 {
    println!("Hello, world!");
    println!("hello: this line went through the security module like every request");
    0
}
