//! The runtime of native Ostrog programs (`no_std` + `alloc`).
//!
//! A program is an ordinary Cargo binary crate:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use ostrog_rt::println;
//!
//! ostrog_rt::main!(main);
//!
//! fn main() -> i32 {
//!     println!("Hello from Ostrog");
//!     0
//! }
//! ```
//!
//! The runtime provides the entry point `_start` (the kernel starts the main thread there
//! with the stack pointer at the top of the stack it mapped), a heap for `alloc`, a panic
//! handler that reports the panic and exits with status 101, the `print!`/`println!` macros
//! (over the kernel's `console` core endpoint), the three system calls and the core services
//! built on them ([`sys`]: `Call`/`Recv`/`Reply`, channels by name, security queries,
//! threads, memory), the client proxies of the core endpoints generated from
//! `sysroot/kl/core` ([`idl`], whose `spec_rt` is also the transport runtime of every
//! program's generated code), the server loop ([`server`]) and the helpers of client
//! programs ([`client`]). It is built for `x86_64-unknown-none` and `aarch64-unknown-none`.

#![no_std]

extern crate alloc;

pub mod client;
pub mod dcm;
mod entry;
mod heap;
pub use heap::used as heap_used;
pub mod idl;
pub mod io;
pub mod server;
pub mod sys;
pub mod thread;

pub use ostrog_abi::Status;

/// Why the kernel refused a proxy call (e.g. [`Status::AccessDenied`] when the policy
/// denied the request or its response), or `None` when the call failed otherwise: the
/// server answered with its error parameters (`CallError::Remote`), or the request could
/// not be encoded, or the answer did not decode.
pub fn call_refusal<E>(error: &idl::spec_rt::CallError<E>) -> Option<Status> {
    match error {
        idl::spec_rt::CallError::Transport(t) => Status::from_result(t.0 as isize).err(),
        _ => None,
    }
}

/// Status a program exits with when it panics.
pub const PANIC_STATUS: isize = 101;

/// Declares the program's main function: `fn() -> i32`, its return value the exit status.
#[macro_export]
macro_rules! main {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "Rust" fn __ostrog_main() -> i32 {
            $main()
        }
    };
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(at) => println!(
            "panic: {} at {}:{}:{}",
            info.message(),
            at.file(),
            at.line(),
            at.column()
        ),
        None => println!("panic: {}", info.message()),
    }
    sys::exit(PANIC_STATUS)
}
