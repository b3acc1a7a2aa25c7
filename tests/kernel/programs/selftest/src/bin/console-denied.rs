//! A class the policy denies console input (`ScenarioPolicy`: `console.Read` and
//! `console.Poll` of `console-denied`): both are refused with `AccessDenied`, and the
//! denials are audited; output still works.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::println;
use ostrog_rt::sys;

ostrog_rt::main!(main);

fn main() -> i32 {
    let mut failed = 0;
    let mut buf = [0u8; 16];
    match sys::console_read(&mut buf, 0) {
        Err(Status::AccessDenied) => println!("console-denied: console.Read refused"),
        r => {
            println!("console-denied: FAILED console.Read gave {r:?}");
            failed += 1;
        }
    }
    match sys::console_poll(0) {
        Err(Status::AccessDenied) => println!("console-denied: console.Poll refused"),
        r => {
            println!("console-denied: FAILED console.Poll gave {r:?}");
            failed += 1;
        }
    }
    println!("console-denied: done, {failed} failed");
    failed
}
