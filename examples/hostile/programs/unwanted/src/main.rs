//! A program the policy does not allow to start: if this line is ever printed, the
//! `execute` binding that denies hostile.Unwanted did not work.
#![no_std]
#![no_main]

use ostrog_rt::println;

ostrog_rt::main!(main);

fn main() -> i32 {
    println!("unwanted: BREACH: started although the policy denies it");
    1
}
