//! The transient program of the dcm example (class dcm.Transient): publishes `temp`,
//! connects to `echo`, is refused a notice by the policy, and ends. The manager withdraws `temp` when someone wants the name
//! (its publisher has ended), and the kernel removes its channel, so the server's notices
//! no longer count it.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::{dcm, println, sys};

ostrog_rt::main!(main);

fn main() -> i32 {
    match dcm::publish("temp", "echo", 0) {
        Ok(()) => println!("transient: published temp"),
        Err(e) => {
            println!("transient: FAILED: publishing temp: {}", e.name());
            return 1;
        }
    }
    for _ in 0..500 {
        match dcm::connect("echo", "echo") {
            Ok((echo, _)) => {
                println!("transient: connected to echo");
                // The policy does not let this class post notices: refused and audited.
                match dcm::notify(echo.handle, 1) {
                    Err(Status::AccessDenied) => println!("transient: notice refused; ending"),
                    other => {
                        println!("transient: FAILED: notice gave {other:?}");
                        return 1;
                    }
                }
                return 0;
            }
            Err(Status::NotFound) => {
                let _ = sys::sleep_ms(10);
            }
            Err(e) => {
                println!("transient: FAILED: connecting: {}", e.name());
                return 1;
            }
        }
    }
    println!("transient: FAILED: echo was never published");
    1
}
