//! The personality's clients of the system services (docs/services.md): kl.EntropyEntity
//! through a channel `entropy` (for `getrandom`) and kl.RtcClock through a channel `clock`
//! (for `CLOCK_REALTIME`, `gettimeofday`, `time`), each found on first use
//! (`handle.Lookup`). A channel `log` (logrr.Server) takes standard error, a record per line. Without the channel the kernel's generator and time since boot serve
//! instead; with it, the service answers, and a refusal (the policy's, audited) is the
//! program's error, not a silent fallback. A program marked `dynamic_connection_manager`
//! reaches the services published through kl.core.DCM with service sockets
//! (`linux::sys::service`): [`dcm_connect`] and [`channel_call`].

use core::sync::atomic::{AtomicU32, Ordering};

use linux::errno::*;
use ostrog_abi::Status;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::sys as rt;

// Generated from sysroot/kl (this module uses kl.Entropy and kl.WallClock).
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_entropy::{EntropyProxy, GET_RANDOM_MAX};
use idl::kl_wall_clock::WallClockProxy;
use idl::logrr_log::{LogProxy, DROPPED, INFO, RECORD_MAX};

const UNKNOWN: u32 = u32::MAX;
const NONE: u32 = u32::MAX - 1;

static ENTROPY: AtomicU32 = AtomicU32::new(UNKNOWN);
static CLOCK: AtomicU32 = AtomicU32::new(UNKNOWN);
static LOG: AtomicU32 = AtomicU32::new(UNKNOWN);

/// The handle of channel `name`, looked up once into `cache`.
fn channel(cache: &AtomicU32, name: &str) -> Option<u32> {
    let mut handle = cache.load(Ordering::Acquire);
    if handle == UNKNOWN {
        handle = rt::Channel::lookup(name).map_or(NONE, |c| c.handle);
        cache.store(handle, Ordering::Release);
    }
    (handle != NONE).then_some(handle)
}

/// The errno of a failed request: the server's, or the kernel's refusal (a request the
/// policy denied is `EACCES`).
fn errno<E>(e: CallError<E>, status: impl Fn(&E) -> i32) -> i64 {
    match e {
        CallError::Remote(e) => i64::from(status(&e)),
        CallError::Transport(t) => match Status::from_result(t.0 as isize) {
            Err(Status::AccessDenied) => EACCES,
            Err(Status::NoMemory) => ENOMEM,
            _ => EIO,
        },
        CallError::Encode(_) | CallError::Decode(_) => EIO,
    }
}

/// Fills `buf` from kl.EntropyEntity; `None` when the program has no channel to it.
pub fn random(buf: &mut [u8]) -> Option<Result<(), i64>> {
    let handle = channel(&ENTROPY, "entropy")?;
    let mut proxy = EntropyProxy {
        transport: rt::Channel { handle },
        riid: idl::kl_entropy_entity::riid::ENTROPY,
    };
    for piece in buf.chunks_mut(GET_RANDOM_MAX as usize) {
        let data = match proxy.get_random(piece.len() as u32) {
            Ok(r) => r.data,
            Err(e) => return Some(Err(errno(e, |e| e.status))),
        };
        if data.len() != piece.len() {
            return Some(Err(EIO));
        }
        piece.copy_from_slice(&data);
    }
    Some(Ok(()))
}

/// Nanoseconds since 1970-01-01 UTC from kl.RtcClock; `None` when the program has no
/// channel to it; `Some(Err)` when it refused.
pub fn realtime_ns() -> Option<Result<u64, i64>> {
    let handle = channel(&CLOCK, "clock")?;
    let mut proxy = WallClockProxy {
        transport: rt::Channel { handle },
        riid: idl::kl_rtc_clock::riid::CLOCK,
    };
    Some(
        proxy
            .get_time()
            .map_err(|e| errno(e, |e| e.status))
            .map(|t| {
                (t.seconds.max(0) as u64)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(u64::from(t.nanoseconds))
            }),
    )
}

/// Whether the program has a channel `log` (to logrr.Server): then its standard error goes
/// there, a record per line.
pub fn log_available() -> bool {
    channel(&LOG, "log").is_some()
}

/// Sends one line of standard error to logrr.Server at level Info (text that is not UTF-8
/// is sent with U+FFFD in place of the bad bytes, which the server would refuse).
pub fn log_line(line: &[u8]) -> Result<(), i64> {
    let Some(handle) = channel(&LOG, "log") else {
        return Err(EBADF);
    };
    let mut proxy = LogProxy {
        transport: rt::Channel { handle },
        riid: idl::logrr_server::riid::LOG,
    };
    let text = alloc::string::String::from_utf8_lossy(line);
    let mut rest: &str = &text;
    // U+FFFD can make a line longer than a record holds: the rest goes as further records.
    // An empty line is a record too.
    loop {
        let mut end = rest.len().min(RECORD_MAX as usize);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        match proxy.log(INFO, piece.as_bytes().to_vec()) {
            Ok(_) => {}
            // Over its quota: dropped and counted by the server, which reports it; the
            // program's write still succeeds.
            Err(CallError::Remote(e)) if e.status == DROPPED => {}
            Err(e) => return Err(errno(e, |e| e.status)),
        }
        rest = tail;
        if rest.is_empty() {
            break;
        }
    }
    Ok(())
}

/// A channel to the service `name` at `endpoint` from kl.core.DCM (`linux::sys::service`).
/// A second socket to the same service shares the channel the first got (the manager
/// makes one channel of a name per client: `Busy`).
pub fn dcm_connect(name: &str, endpoint: &str) -> Result<u32, i64> {
    if rt::Channel::lookup(ostrog_rt::dcm::CHANNEL).is_err() {
        return Err(ECONNREFUSED);
    }
    match ostrog_rt::dcm::connect(name, endpoint) {
        Ok((channel, _)) => Ok(channel.handle),
        Err(Status::Busy) => rt::Channel::lookup(name)
            .map(|c| c.handle)
            .map_err(|_| EADDRINUSE),
        Err(Status::AccessDenied) => Err(EACCES),
        Err(Status::NotFound) => Err(ENOENT),
        Err(Status::NoMemory) => Err(ENOMEM),
        Err(_) => Err(EIO),
    }
}

/// One native call on channel `handle`: the request's verdict is the policy's (`EACCES`,
/// audited); a server that ended is `ECONNRESET`.
pub fn channel_call(handle: u32, request: &[u8], answer: &mut [u8]) -> Result<usize, i64> {
    rt::call(handle, request, answer, ostrog_abi::TIMEOUT_FOREVER).map_err(|s| match s {
        Status::AccessDenied => EACCES,
        Status::Disconnected => ECONNRESET,
        Status::InvalidArgument => EINVAL,
        Status::BadAddress => EFAULT,
        Status::NoMemory => ENOBUFS,
        Status::BadHandle => ENOTCONN,
        _ => EIO,
    })
}
