//! The smallest Ostrog program: prints a greeting and exits.

#![no_std]
#![no_main]

use ostrog_rt::println;

ostrog_rt::main!(main);

fn main() -> i32 {
    println!("Hello from Ostrog user space!");
    0
}
