//! `cargo xtask`: the repository's own tasks.
//!
//! - `cargo xtask test [--only NAME]`: everything CI checks: formatting, lints, host unit
//!   tests, and the QEMU scenario tests on both architectures. Ends with `N passed, N failed`.
//! - `cargo xtask bench NAME`: benchmarks that print figures (see [`bench`]).
//! - `cargo xtask fuzz TARGET [--time SECS]` and `cargo xtask fuzz kernel [--arch A]
//!   [--calls N] [--seed S]`: the fuzzers (see [`fuzz`]).

mod bench;
mod busybox;
mod conformance;
mod coverage;
mod files;
mod fuzz;
mod linux;
mod net;
mod power;
mod scenarios;
mod test;
mod tutorial;

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask test [--only NAME] | cargo xtask bench NAME | cargo xtask linux-coverage \
         | cargo xtask fuzz list|TARGET|kernel\n\
         benchmarks: {}",
        bench::NAMES.join(", ")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(args.get(1..).unwrap_or(&[])),
        Some("linux-coverage") => coverage::run(),
        Some("fuzz") => fuzz::run(args.get(1..).unwrap_or(&[])),
        Some("bench") => match args.get(1) {
            Some(name) => bench::run(name),
            None => return usage(),
        },
        _ => return usage(),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
