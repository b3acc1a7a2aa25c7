//! A native program that logs through the `log` crate (logrr-client). Without arguments it
//! is the calm client: ten records at a steady pace, every level, and the hostile records
//! (a level past Trace, text that is not UTF-8, a record over RecordMax), each refused.
//! With `denied` it is a class the policy denies logging; with `manyN`, one of several
//! small clients.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec;

use logrr_client::{send, Failure};
use ostrog_rt::println;
use ostrog_rt::sys;

ostrog_rt::main!(main);

// Generated from sysroot/logrr.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

/// A transport that keeps the request instead of sending it.
struct Capture(alloc::vec::Vec<u8>);

impl ostrog_rt::idl::spec_rt::Transport for Capture {
    fn call(
        &mut self,
        request: &[u8],
        _: &mut [u8],
    ) -> Result<usize, ostrog_rt::idl::spec_rt::TransportError> {
        self.0 = request.to_vec();
        Err(ostrog_rt::idl::spec_rt::TransportError(-1))
    }
}

/// A Log request of 1025 bytes of text, which the proxy would not encode: a valid request
/// of 1024 bytes with its length raised by one and one more byte.
fn oversized() -> Option<alloc::vec::Vec<u8>> {
    use ostrog_abi::message::{Header, HEADER_SIZE};
    let mut proxy = idl::logrr_log::LogProxy {
        transport: Capture(alloc::vec::Vec::new()),
        riid: idl::logrr_server::riid::LOG,
    };
    let _ = proxy.log(3, vec![b'c'; 1024]);
    let mut bytes = proxy.transport.0;
    let mut header = Header::read(&bytes)?;
    let fixed = HEADER_SIZE..HEADER_SIZE + header.fixed_size as usize;
    let at = (fixed.start..fixed.end.saturating_sub(3))
        .find(|&i| bytes.get(i..i + 4) == Some(&1024u32.to_le_bytes()[..]))?;
    bytes
        .get_mut(at..at + 4)?
        .copy_from_slice(&1025u32.to_le_bytes());
    bytes.push(b'c');
    header.arena_size += 1;
    header.write(&mut bytes);
    Some(bytes)
}

fn first_arg() -> String {
    let args = sys::tasks().args().map(|a| a.args).unwrap_or_default();
    args.split(|&b| b == 0)
        .find(|a| !a.is_empty())
        .and_then(|a| core::str::from_utf8(a).ok())
        .map_or_else(String::new, String::from)
}

fn main() -> i32 {
    let mode = first_arg();
    if let Err(e) = logrr_client::init(log::LevelFilter::Trace) {
        println!("client: FAILED: no logger: {e:?}");
        return 1;
    }
    if mode == "denied" {
        // The policy denies this class: every record is refused by the kernel (audited).
        match send(3, b"a record the policy refuses") {
            Err(Failure::Denied) => println!("denied: logging refused: access denied"),
            other => println!("denied: FAILED: logging gave {other:?}"),
        }
        log::info!("denied: through the log crate");
        println!(
            "denied: the logger counted {} failure(s), the last {:?}",
            logrr_client::failures(),
            logrr_client::last_failure()
        );
        return 0;
    }
    if let Some(n) = mode.strip_prefix("many") {
        for k in 1..=3 {
            log::info!("many {n} record {k} of 3");
        }
        println!("many{n}: {} failure(s)", logrr_client::failures());
        return 0;
    }

    let mut failed = 0;
    // Calm records, spaced out while the flood goes on: none may be lost.
    for i in 1..=10 {
        log::info!("calm record {i} of 10");
        let _ = sys::sleep_ms(20);
    }
    log::error!("calm: an error record");
    log::warn!("calm: a warning record\nwith a second line");
    log::debug!("calm: a debug record");
    log::trace!("calm: a trace record the server filters");
    if logrr_client::failures() != 0 {
        println!(
            "client: FAILED: {} calm records not logged ({:?})",
            logrr_client::failures(),
            logrr_client::last_failure()
        );
        failed += 1;
    }
    match send(0, "critical: h\u{e9}llo in UTF-8".as_bytes()) {
        Ok(()) => println!("client: a critical record logged"),
        Err(e) => {
            println!("client: FAILED: critical record: {e:?}");
            failed += 1;
        }
    }

    // Hostile records.
    let cases: [(&str, u8, alloc::vec::Vec<u8>); 4] = [
        ("level 6", 6, b"past Trace".to_vec()),
        ("level 255", 255, b"past Trace".to_vec()),
        ("bad UTF-8", 3, vec![b'o', b'k', 0xff, 0xfe]),
        ("a record of 1025 bytes", 3, vec![b'a'; 1025]),
    ];
    for (what, level, text) in cases {
        match send(level, &text) {
            Ok(()) => {
                println!("client: FAILED: {what} was logged");
                failed += 1;
            }
            Err(e) => println!("client: {what} refused: {e:?}"),
        }
    }
    // The same, built by hand past the proxy: the kernel's message check refuses it
    // (audited) before the server sees it.
    match oversized() {
        Some(bytes) => {
            let handle = sys::Channel::lookup("log").map(|c| c.handle).unwrap_or(0);
            let mut answer = [0u8; 256];
            match sys::call(handle, &bytes, &mut answer, ostrog_abi::TIMEOUT_FOREVER) {
                Err(s) => println!(
                    "client: a hand-made record of 1025 bytes refused ({})",
                    s.name()
                ),
                Ok(_) => {
                    println!("client: FAILED: a hand-made record of 1025 bytes was answered");
                    failed += 1;
                }
            }
        }
        None => {
            println!("client: FAILED: cannot build the oversized request");
            failed += 1;
        }
    }
    match send(3, &[b'b'; 1024]) {
        Ok(()) => println!("client: a record of 1024 bytes logged"),
        Err(e) => {
            println!("client: FAILED: a record of 1024 bytes: {e:?}");
            failed += 1;
        }
    }
    match logrr_client::losses() {
        Ok((0, all)) => println!("client: none of its records dropped ({all} of all clients')"),
        other => {
            println!("client: FAILED: losses {other:?}");
            failed += 1;
        }
    }
    println!("client: done, {failed} failed");
    0
}
