//! Overflows a thread's stack: the guard page below it must stop the thread with a fault
//! report instead of letting it write over other memory.
#![no_std]
#![no_main]

use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

/// Recurses with a frame the compiler cannot remove, until the stack runs out.
fn deeper(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 64]);
    frame[0] + deeper(core::hint::black_box(depth + 1))
}

fn main() -> i32 {
    match thread::spawn(16, || deeper(0) as isize) {
        Ok(t) => {
            let _ = t.join();
            println!("fault-stack-overflow: SURVIVED");
        }
        Err(e) => println!("fault-stack-overflow: no thread: {}", e.name()),
    }
    0
}
