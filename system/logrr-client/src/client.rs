//! The logger and the direct calls, over the generated proxy of logrr.Log.

use alloc::string::String;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ostrog_abi::Status;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::sys::Channel;

use crate::{wire_level, Failure};

// Generated from sysroot/logrr.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::logrr_log::{LogProxy, DROPPED, INVALID_ARGUMENT, RECORD_MAX};

/// Most bytes of text in one record; the logger cuts longer ones (at a character boundary).
pub const RECORD_MAX_BYTES: usize = RECORD_MAX as usize;

const NONE: u32 = u32::MAX;
static CHANNEL: AtomicU32 = AtomicU32::new(NONE);
static FAILURES: AtomicU64 = AtomicU64::new(0);
/// The last failure, encoded: 0 none, 1 no channel, 2 denied, 3 dropped, 4 invalid,
/// otherwise 16 + the status.
static LAST: AtomicU64 = AtomicU64::new(0);

fn proxy() -> Result<LogProxy<Channel>, Failure> {
    let handle = CHANNEL.load(Ordering::Acquire);
    if handle == NONE {
        return Err(Failure::NoChannel);
    }
    Ok(LogProxy {
        transport: Channel { handle },
        riid: idl::logrr_server::riid::LOG,
    })
}

fn failure<E>(e: CallError<E>, status: impl Fn(&E) -> i32) -> Failure {
    match e {
        CallError::Remote(e) => match status(&e) {
            DROPPED => Failure::Dropped,
            INVALID_ARGUMENT => Failure::Invalid,
            s => Failure::Other(s),
        },
        CallError::Transport(t) => match Status::from_result(t.0 as isize) {
            Err(Status::AccessDenied) => Failure::Denied,
            Err(s) => Failure::Other(s as i32),
            Ok(_) => Failure::Other(0),
        },
        _ => Failure::Other(-1),
    }
}

fn note(f: Failure) {
    FAILURES.fetch_add(1, Ordering::Relaxed);
    let code = match f {
        Failure::NoChannel => 1,
        Failure::Denied => 2,
        Failure::Dropped => 3,
        Failure::Invalid => 4,
        Failure::Other(s) => 16 + i64::from(s) as u64,
    };
    LAST.store(code, Ordering::Relaxed);
}

/// Sends one record: `level` as logrr.Log numbers it (0 Critical .. 5 Trace) and its text.
/// Raw on purpose: a level past Trace or bytes that are not UTF-8 reach the server, which
/// refuses them.
pub fn send(level: u8, text: &[u8]) -> Result<(), Failure> {
    let mut p = proxy()?;
    p.log(level, text.into())
        .map(|_| ())
        .map_err(|e| failure(e, |e| e.status))
}

/// Records of this program the server dropped since it started, and of all its clients.
pub fn losses() -> Result<(u64, u64), Failure> {
    let mut p = proxy()?;
    p.losses()
        .map(|r| (r.mine, r.all))
        .map_err(|e| failure(e, |e| e.status))
}

/// Records the logger could not log.
pub fn failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// Why the last of them failed.
pub fn last_failure() -> Option<Failure> {
    Some(match LAST.load(Ordering::Relaxed) {
        0 => return None,
        1 => Failure::NoChannel,
        2 => Failure::Denied,
        3 => Failure::Dropped,
        4 => Failure::Invalid,
        n => Failure::Other((n as i64 - 16) as i32),
    })
}

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let mut text = String::new();
        let _ = write!(text, "{}", record.args());
        if text.len() > RECORD_MAX_BYTES {
            let mut end = RECORD_MAX_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        if let Err(f) = send(wire_level(record.level()), text.as_bytes()) {
            note(f);
        }
    }

    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Looks up the channel `log` and makes this the `log` crate's logger, passing records up
/// to `max`. Without the channel, `Err(NoChannel)` and nothing is installed.
pub fn init(max: log::LevelFilter) -> Result<(), Failure> {
    let channel = Channel::lookup("log").map_err(|_| Failure::NoChannel)?;
    CHANNEL.store(channel.handle, Ordering::Release);
    log::set_logger(&LOGGER).map_err(|_| Failure::Other(-1))?;
    log::set_max_level(max);
    Ok(())
}
