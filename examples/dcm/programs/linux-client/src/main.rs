//! The Linux client of the dcm example (class dcm.LinuxClient): an unmodified Rust std
//! program that finds the server through kl.core.DCM with a service socket
//! (docs/linux.md, "Services"): an `AF_UNIX` socket connected to
//! `/kl.core.DCM/NAME/ENDPOINT`, whose every message is one request on the channel the
//! manager made, and every message read its answer. The policy lets this class connect to
//! `echo2` only: `echo` is refused (`EACCES`, audited). `echo2` is published once client A
//! has called the server, so the program asks again while it is not found.

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::thread::sleep;
use std::time::{Duration, Instant};

use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};

/// The server's endpoint `echo` (its only one, index 0 of dcm.Server) and `Ping`, the
/// first method of dcm.Echo.
const ECHO_RIID: u32 = 0;
const PING: u32 = 0;

/// A service socket connected to the service `name` at the endpoint `echo`. (Closing the
/// last socket to a service closes its channel: the server, which ends when no client can
/// reach it, may be gone then.)
fn connect(name: &str) -> std::io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(format!("/kl.core.DCM/{name}/echo"))?;
    Ok(socket)
}

/// `Ping(value)` encoded by hand: the header, then the fixed part (a `UInt32`, padded to
/// 8 bytes).
fn ping(socket: &UnixDatagram, value: u32) -> std::io::Result<u32> {
    let mut request = vec![0u8; HEADER_SIZE + 8];
    Header {
        riid: ECHO_RIID,
        mid: PING,
        fixed_size: 8,
        ..Header::default()
    }
    .write(&mut request);
    request[HEADER_SIZE..HEADER_SIZE + 4].copy_from_slice(&value.to_le_bytes());
    socket.send(&request)?;
    let mut answer = [0u8; 256];
    let n = socket.recv(&mut answer)?;
    let header = Header::read(&answer[..n]).ok_or(ErrorKind::InvalidData)?;
    if header.flags & FLAG_ERROR != 0 || n < HEADER_SIZE + 4 {
        return Err(ErrorKind::InvalidData.into());
    }
    let mut next = [0u8; 4];
    next.copy_from_slice(&answer[HEADER_SIZE..HEADER_SIZE + 4]);
    Ok(u32::from_le_bytes(next))
}

fn errno(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(13) => "EACCES".into(),
        Some(2) => "ENOENT".into(),
        Some(n) => format!("errno {n}"),
        None => e.to_string(),
    }
}

fn main() {
    let mut failed = 0;
    // echo2 appears once client A has called the server.
    let mut tries = 0;
    let (socket, connect_time) = loop {
        let start = Instant::now();
        match connect("echo2") {
            Ok(s) => break (s, start.elapsed()),
            Err(e) if e.kind() == ErrorKind::NotFound && tries < 1000 => {
                tries += 1;
                sleep(Duration::from_millis(10));
            }
            Err(e) => {
                println!("linux: FAILED: connecting to echo2: {}", errno(&e));
                std::process::exit(1);
            }
        }
    };
    let start = Instant::now();
    match ping(&socket, 6) {
        Ok(n) => {
            let call_time = start.elapsed();
            println!("linux: found echo2 through kl.core.DCM: Ping(6) = {n}");
            // Timed: the connect that found it (the manager's judged Connect, the kernel's
            // link) and the first call (a judged request on the new channel).
            println!(
                "linux: timing: connect {} us, first call {} us",
                connect_time.as_micros(),
                call_time.as_micros()
            );
        }
        Err(e) => {
            println!("linux: FAILED: Ping on echo2: {}", errno(&e));
            failed += 1;
        }
    }
    match connect("echo") {
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            println!("linux: connecting to echo: refused ({})", errno(&e))
        }
        other => {
            println!("linux: FAILED: connecting to echo gave {other:?}");
            failed += 1;
        }
    }
    // No AF_UNIX address but the manager's exists.
    let elsewhere = UnixDatagram::unbound().and_then(|s| s.connect("/tmp/echo"));
    match elsewhere {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            println!("linux: an address outside /kl.core.DCM: {}", errno(&e))
        }
        other => {
            println!("linux: FAILED: connecting to /tmp/echo gave {other:?}");
            failed += 1;
        }
    }
    drop(socket);
    println!("linux: done, {failed} failed");
}
