//! An HTTP client written for Linux with nothing but Rust's std: fetches `/` from
//! HOST:PORT (default hostweb.test:80, which the solution's /etc/hosts names 10.0.2.100,
//! where QEMU's guestfwd puts a server of the host's loopback) and prints the status line
//! and the body. First it resolves `localhost` (getaddrinfo, through /etc/hosts), shows
//! the name server /etc/resolv.conf names, and resolves a name by DNS, asking a DNS server
//! it runs itself on 127.0.0.1:53 (musl's default with no name server configured). Run as `denied`, it shows a program
//! the policy keeps off the network: every socket it tries is refused (EACCES).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

fn denied() -> i32 {
    let tries: [(&str, std::io::Result<()>); 3] = [
        ("connect", TcpStream::connect(("10.0.2.100", 80)).map(drop)),
        ("listen", TcpListener::bind(("0.0.0.0", 8080)).map(drop)),
        ("udp", UdpSocket::bind(("0.0.0.0", 0)).map(drop)),
    ];
    let mut status = 0;
    for (what, r) in tries {
        match r {
            Err(e) if e.raw_os_error() == Some(13) => println!("denied: {what}: EACCES"),
            other => {
                println!("denied: {what}: FAILED: {other:?} (expected EACCES)");
                status = 1;
            }
        }
    }
    status
}

/// The response to `GET /` from `to`: its head, then as many bytes of body as its
/// Content-Length says (or up to the end of the stream without one).
fn fetch(to: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(to)?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: host\r\n\r\n")?;
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|l| l.trim().parse::<usize>().ok());
            if length.is_some_and(|n| response.len() >= end + 4 + n) {
                break;
            }
        }
        match stream.read(&mut buf)? {
            0 => break,
            n => response.extend_from_slice(&buf[..n]),
        }
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// The name the client's own DNS server answers, and its address.
const DNS_NAME: &str = "web.dns.test";
const DNS_ADDR: [u8; 4] = [10, 0, 2, 100];

/// The answer to one DNS query (RFC 1035): an A record of [`DNS_ADDR`] for [`DNS_NAME`],
/// no record for another type of it, NXDOMAIN for any other name; `None` for what is no
/// query of one question.
fn dns_answer(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || query[4..6] != [0, 1] {
        return None;
    }
    // The question: labels up to the empty one, then its type and class.
    let mut at = 12;
    let mut name = Vec::new();
    loop {
        let len = usize::from(*query.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        name.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = query.get(at..at + 2)?;
    let question = &query[12..at + 4];
    let known = name.join(".") == DNS_NAME;
    let a_record = known && qtype == [0, 1];
    let mut answer = Vec::new();
    answer.extend_from_slice(&query[..2]);
    // A response, recursion desired and available; NXDOMAIN for an unknown name.
    answer.extend_from_slice(&[0x81, if known { 0x80 } else { 0x83 }]);
    answer.extend_from_slice(&[0, 1, 0, u8::from(a_record), 0, 0, 0, 0]);
    answer.extend_from_slice(question);
    if a_record {
        // The question's name (a pointer to offset 12), A, IN, a TTL of 60 s, 4 bytes.
        answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        answer.extend_from_slice(&DNS_ADDR);
    }
    Some(answer)
}

/// A DNS server on 127.0.0.1:53 answering [`dns_answer`] in a thread of its own: with no
/// `nameserver` line in /etc/resolv.conf, musl asks 127.0.0.1.
fn start_dns_server() -> std::io::Result<()> {
    let socket = UdpSocket::bind("127.0.0.1:53")?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if let Some(answer) = dns_answer(&buf[..n]) {
                let _ = socket.send_to(&answer, from);
            }
        }
    });
    Ok(())
}

/// What getaddrinfo makes of `name` (through /etc/hosts, then DNS).
fn resolve(name: &str, port: u16) -> String {
    match (name, port).to_socket_addrs() {
        Ok(addrs) => addrs.map(|a| a.to_string()).collect::<Vec<_>>().join(" "),
        Err(e) => format!("not resolved ({e})"),
    }
}

fn main() {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("denied") {
        std::process::exit(denied());
    }
    println!(
        "client: localhost resolves to {}",
        resolve("localhost", 8080)
    );
    match std::fs::read_to_string("/etc/resolv.conf") {
        Ok(text) => match text.lines().find(|l| l.starts_with("nameserver")) {
            Some(line) => println!("client: /etc/resolv.conf: {line}"),
            None => println!("client: /etc/resolv.conf names no name server"),
        },
        Err(e) => println!("client: FAILED: /etc/resolv.conf: {e}"),
    }
    match start_dns_server() {
        Ok(()) => {
            println!(
                "client: {DNS_NAME} resolves to {} (DNS)",
                resolve(DNS_NAME, 80)
            );
            println!(
                "client: nosuch.dns.test resolves to {}",
                match ("nosuch.dns.test", 80).to_socket_addrs() {
                    Ok(_) => "something",
                    Err(_) => "nothing",
                }
            );
        }
        Err(e) => println!("client: FAILED: a DNS server on 127.0.0.1:53: {e}"),
    }
    let to = arg.unwrap_or_else(|| "hostweb.test:80".into());
    match fetch(&to) {
        Ok(r) => {
            let status = r.lines().next().unwrap_or("");
            let body = r.split_once("\r\n\r\n").map_or("", |b| b.1);
            println!(
                "client: {status}; {} bytes of body: {}",
                body.len(),
                body.trim()
            );
        }
        Err(e) => {
            println!("client: FAILED: {to}: {e}");
            std::process::exit(1);
        }
    }
}
