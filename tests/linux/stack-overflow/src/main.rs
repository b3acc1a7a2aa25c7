//! stack-overflow: a thread recurses until it runs into the guard page below its stack.
//! Rust's runtime catches the `SIGSEGV` on its alternate signal stack, prints "thread
//! '<unknown>' (TID) has overflowed its stack" and aborts: the process ends killed by
//! `SIGABRT` on Linux, with status 134 on Ostrog. Without the fault reaching the handler
//! it would end otherwise (killed by `SIGSEGV`, or by the kernel).
//!
//! With the argument `main` the main thread recurses instead: Rust knows no guard page of
//! musl's main thread, so its handler restores the default action and returns, and the
//! fault, made again, ends the process with `SIGSEGV` (139).

fn recurse(n: u64) -> u64 {
    let frame = [n; 256];
    std::hint::black_box(&frame);
    if n == u64::MAX {
        return 0;
    }
    recurse(n + 1).wrapping_add(frame[7])
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("main") {
        println!("stack-overflow: the main thread recurses without end");
        let r = recurse(0);
        println!("stack-overflow: SURVIVED: {r}");
        return;
    }
    println!("stack-overflow: a thread recurses without end");
    let t = std::thread::spawn(|| recurse(0));
    let r = t.join();
    println!("stack-overflow: SURVIVED: the thread ended ({})", r.is_ok());
}
