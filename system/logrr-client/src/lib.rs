//! The `log` crate's logger for native Ostrog programs (docs/services.md, "Logging"):
//! `logrr_client::init()` looks up the channel `log` (to logrr.Server) and installs the
//! logger, after which `log::info!` and the other macros send records to the server. The
//! server names the sender from the kernel's stamp, so nothing here says who is logging.
//!
//! The `log` macros cannot return errors: a record the server or the policy refused is
//! counted ([`failures`]) with its reason kept ([`last_failure`]). [`send`] logs one record
//! and returns the outcome; [`losses`] asks the server how many records were dropped.
#![no_std]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod client;
#[cfg(target_os = "none")]
pub use client::*;

pub use log::LevelFilter;

/// Why a record was not logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The program has no channel `log`.
    NoChannel,
    /// The kernel refused the request: the policy denied it (audited), or it was malformed
    /// (a record over `RecordMax`).
    Denied,
    /// Over the program's quota: dropped, and counted by the server.
    Dropped,
    /// A level past Trace or text that is not UTF-8.
    Invalid,
    /// Anything else (the server's status or the kernel's).
    Other(i32),
}

/// The wire level (logrr.Log) of a `log` level. `log` has no Critical: `Error` is Error.
pub fn wire_level(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 1,
        log::Level::Warn => 2,
        log::Level::Info => 3,
        log::Level::Debug => 4,
        log::Level::Trace => 5,
    }
}
