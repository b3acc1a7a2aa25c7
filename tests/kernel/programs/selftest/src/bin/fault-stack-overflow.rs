//! Overflows a thread's stack: the guard page below it must stop the thread with a fault
//! report instead of letting it write over other memory.
#![no_std]
#![no_main]

use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

/// Recurses with a frame the compiler cannot remove, until the stack runs out (the depth
/// limit is never reached: 64 KiB of stack hold far fewer frames).
fn deeper(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 64]);
    if core::hint::black_box(depth) > 1 << 40 {
        return frame[0];
    }
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
