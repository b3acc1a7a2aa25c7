//! spawn-std: processes as a Rust `std` program for Linux sees them. It starts itself
//! (`./spawn-std`, the same relative name on Linux, where the test runs it in the folder
//! holding it, and on Ostrog, where it is the ROMFS file `spawn-std`) with
//! `std::process::Command`:
//!
//! - a child that prints its arguments and an environment variable and exits with 7: the
//!   parent sees exit status 7;
//! - a program that does not exist: `NotFound`;
//! - a child that sleeps: `try_wait` says it runs, `kill` ends it, `wait` reports `SIGKILL`;
//! - two silent children at once, waited for in the opposite order.
//!
//! With the argument `refused` it only tries to start a child and prints the error: the
//! test runs it as a class whose starts the policy denies (`PermissionDenied`).
//!
//! Nothing printed depends on the run (no pids).

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

const ME: &str = "./spawn-std";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("child") => child(&args[1..]),
        Some("sleep") => {
            std::thread::sleep(Duration::from_secs(60));
            println!("spawn-std: sleeper was not killed");
            std::process::exit(1);
        }
        Some("refused") => refused(),
        // Ends with the status given, silently (children that run side by side).
        Some("quiet") => std::process::exit(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0)),
        _ => parent(),
    }
}

fn child(args: &[String]) {
    println!("spawn-std: child: {} argument(s): {args:?}", args.len());
    match std::env::var("GREETING") {
        Ok(v) => println!("spawn-std: child: GREETING = {v}"),
        Err(e) => println!("spawn-std: child: GREETING: {e}"),
    }
    let code = args.last().and_then(|a| a.parse().ok()).unwrap_or(0);
    println!("spawn-std: child: exiting with {code}");
    std::process::exit(code);
}

fn parent() {
    println!("spawn-std: parent starts");

    let status = Command::new(ME)
        .args(["child", "one two", "7"])
        .env_clear()
        .env("GREETING", "from the parent")
        .status();
    match status {
        Ok(s) => println!(
            "spawn-std: child 7: code {:?}, signal {:?}",
            s.code(),
            s.signal()
        ),
        Err(e) => println!("spawn-std: child 7: cannot start: {e}"),
    }

    match Command::new("./no-such-program").status() {
        Ok(s) => println!("spawn-std: missing program ran: {s}"),
        Err(e) => println!("spawn-std: missing program: {:?}", e.kind()),
    }

    match Command::new(ME).arg("sleep").spawn() {
        Ok(mut c) => {
            match c.try_wait() {
                Ok(None) => println!("spawn-std: sleeper is running"),
                other => println!("spawn-std: sleeper try_wait: {other:?}"),
            }
            match c.kill() {
                Ok(()) => println!("spawn-std: sleeper killed"),
                Err(e) => println!("spawn-std: cannot kill the sleeper: {e}"),
            }
            match c.wait() {
                Ok(s) => println!(
                    "spawn-std: sleeper: code {:?}, signal {:?}",
                    s.code(),
                    s.signal()
                ),
                Err(e) => println!("spawn-std: sleeper wait: {e}"),
            }
        }
        Err(e) => println!("spawn-std: sleeper: cannot start: {e}"),
    }

    let first = Command::new(ME).args(["quiet", "1"]).spawn();
    let second = Command::new(ME).args(["quiet", "2"]).spawn();
    match (first, second) {
        (Ok(mut a), Ok(mut b)) => {
            let sb = b.wait().map(|s| s.code());
            let sa = a.wait().map(|s| s.code());
            println!("spawn-std: two children: {sa:?} {sb:?}");
        }
        (a, b) => println!("spawn-std: two children: {:?} {:?}", a.err(), b.err()),
    }

    println!("spawn-std: parent ends");
}

fn refused() {
    match Command::new(ME).args(["child", "0"]).status() {
        Ok(s) => println!("spawn-std: refused: the child ran: {s}"),
        Err(e) => println!("spawn-std: refused: {:?}", e.kind()),
    }
}
