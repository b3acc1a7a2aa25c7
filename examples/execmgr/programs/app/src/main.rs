//! The app the installer installs: says it runs and with which arguments, then ends with
//! status 7, or with the argument `wait` waits until it is stopped.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use ostrog_rt::println;
use ostrog_rt::sys as rt;

ostrog_rt::main!(main);

fn main() -> i32 {
    let args: Vec<String> = match rt::tasks().args() {
        Ok(a) => a
            .args
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    println!("app: running from the VFS with arguments {args:?}");
    if args.iter().any(|a| a == "wait") {
        loop {
            let _ = rt::sleep_ms(1000);
        }
    }
    7
}
