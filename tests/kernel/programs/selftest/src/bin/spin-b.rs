//! Spinner B of the preemption test.
#![no_std]
#![no_main]

ostrog_rt::main!(main);

fn main() -> i32 {
    selftest::spinner("spin-b", 12)
}
