//! A web server written for Linux with nothing but Rust's std: it listens on
//! 0.0.0.0:8080 and answers each HTTP request with a page naming its number (HTTP/1.0,
//! one connection at a time), until `GET /quit`. On Ostrog it runs unmodified through the
//! Linux personality, its sockets served by kl.VfsNet. First it checks the refusals its
//! policy owes it: another port and a UDP socket are denied (EACCES), and copies of its
//! listening socket run out at the descriptor limit (EMFILE).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};

const PORT: u16 = 8080;

/// Prints what an operation that must fail with `errno` did.
fn expect_errno<T>(what: &str, r: std::io::Result<T>, errno: i32) -> bool {
    match r {
        Err(e) if e.raw_os_error() == Some(errno) => {
            println!("server: {what}: errno {errno}, as expected");
            true
        }
        Err(e) => {
            println!("server: {what}: FAILED: {e} (expected errno {errno})");
            false
        }
        Ok(_) => {
            println!("server: {what}: FAILED: it worked (expected errno {errno})");
            false
        }
    }
}

fn page(n: u32) -> String {
    let body = format!(
        "<html><body><h1>Hello from Ostrog</h1><p>a Linux program, request {n}</p></body></html>\n"
    );
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Reads one request's head; whether it asks for `/quit`.
fn serve(mut stream: TcpStream, n: u32) -> std::io::Result<bool> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        match stream.read(&mut buf)? {
            0 => break,
            k => request.extend_from_slice(&buf[..k]),
        }
    }
    stream.write_all(page(n).as_bytes())?;
    Ok(request.starts_with(b"GET /quit "))
}

fn main() {
    let mut ok = true;
    ok &= expect_errno(
        "bind to port 9090 (the policy allows 8080 only)",
        TcpListener::bind(("0.0.0.0", 9090)),
        13,
    );
    ok &= expect_errno(
        "UDP socket (the policy allows TCP only)",
        UdpSocket::bind(("0.0.0.0", 0)),
        13,
    );
    let listener = match TcpListener::bind(("0.0.0.0", PORT)) {
        Ok(l) => l,
        Err(e) => {
            println!("server: FAILED: cannot listen on port {PORT}: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "server: listening on {}",
        listener.local_addr().map_or("?".into(), |a| a.to_string())
    );
    // Copies of the listening socket (dup) until the descriptor limit: EMFILE, and all
    // of them close again.
    let mut copies = Vec::new();
    let full = loop {
        match listener.try_clone() {
            Ok(c) => copies.push(c),
            Err(e) => break Err::<(), _>(e),
        }
        if copies.len() > 1024 {
            break Ok(());
        }
    };
    ok &= expect_errno("copies of the listening socket", full, 24);
    drop(copies);
    let mut served = 0;
    let mut failed = 0;
    for stream in listener.incoming() {
        match stream {
            Ok(s) => {
                served += 1;
                match serve(s, served) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed += 1;
                        println!("server: request {served}: {e}");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                println!("server: accept: {e}");
            }
        }
    }
    println!("server: served {served} requests, {failed} failed");
    std::process::exit(if ok { 0 } else { 1 });
}
