//! The network test (docs/net.md): `examples/net` booted with `--forward HOST:80` (a free
//! port of 127.0.0.1), per architecture (`cargo xtask test --example net`, and part of the
//! whole `cargo xtask test`). While the machine runs, a plain TCP client (std::net) on the
//! host fetches the page from 127.0.0.1:HOST; then opens a flood of [`FLOOD`] connections
//! at once and closes them without a request; then fetches the page again, and `/quit`.
//! Each answer must be a whole HTTP 200 response with the page and its request number, the
//! flood changing nothing but the count of connections dropped. The console must show
//! the web server's refusals as expected (a bind to another port and a UDP socket denied by
//! the policy, EACCES; a socket number never given, EBADF; a socket too many, EMFILE),
//! net.Other's four socket requests denied (EACCES) and audited, the 9th client refused
//! (ENFILE) and 16 clients that end with open sockets served one after another (the server
//! reclaims ended clients: at least 16 reported), the 2000 malformed frames of the server's
//! test mode taken, the card's interrupt line firing, the server's heap at its end no larger
//! than at its start, and the machine powering off with status 0, every frame free again.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{self, Ending, Forward, Machine, Net};
use cargo_ostrog::solution::{self, Solution};

/// Requests the host makes, the last one `/quit`.
const REQUESTS: u32 = 4;
/// Connections the host opens at once, then closes without a request.
const FLOOD: usize = 32;
/// How long a boot may take.
const TIMEOUT: Duration = Duration::from_secs(600);

/// One HTTP GET of `/` from 127.0.0.1:`port`; the whole response.
pub fn fetch(port: u16, path: &str, timeout: Duration) -> Result<String> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: ostrog\r\n\r\n").as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// Fetches until the server answers (QEMU accepts the host's connection before the guest
/// listens, and then closes it); the response.
/// Gives up once `boot` (the thread running QEMU) has ended.
fn fetch_when_up<T>(
    port: u16,
    path: &str,
    deadline: Instant,
    boot: &std::thread::JoinHandle<T>,
) -> Result<String> {
    loop {
        match fetch(port, path, Duration::from_secs(30)) {
            Ok(r) if !r.is_empty() => return Ok(r),
            Ok(_) | Err(_) if boot.is_finished() => bail!("the machine has ended"),
            Ok(_) | Err(_) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(500))
            }
            Ok(_) => bail!("the server closed every connection without answering"),
            Err(e) => return Err(e).context("no answer from the web server"),
        }
    }
}

/// Opens [`FLOOD`] connections at once, holds them a moment, and closes them all without
/// a request.
fn flood(port: u16) {
    let streams: Vec<_> = (0..FLOOD)
        .filter_map(|_| {
            TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(5)).ok()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    drop(streams);
    std::thread::sleep(Duration::from_millis(500));
}

/// The checks of one response, the `n`-th.
fn check_response(response: &str, n: u32) -> Result<()> {
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        bail!("response {n} has no end of header: {response:?}");
    };
    if !head.starts_with("HTTP/1.0 200 OK\r\n") {
        bail!("response {n} is not 200 OK: {head:?}");
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|l| l.trim().parse::<usize>().ok());
    if length != Some(body.len()) {
        bail!(
            "response {n}: Content-Length {length:?}, body of {} bytes",
            body.len()
        );
    }
    if !body.contains("Hello from Ostrog") || !body.contains(&format!("request {n}<")) {
        bail!("response {n} is not the page: {body:?}");
    }
    Ok(())
}

/// What the console must show.
const EXPECTED: &[&str] = &[
    ", static 10.0.2.15/24, gateway 10.0.2.2, DNS server 10.0.2.3",
    "web: bind to port 8080 (the policy allows 80 only): errno 13, as expected",
    "web: UDP socket (the policy allows TCP only): errno 13, as expected",
    "web: listen on a socket number never given: errno 9, as expected",
    "web: one socket too many: errno 24, as expected",
    "web: client 9 refused with 8 clients served: errno 23, as expected",
    "web: 16 clients served one after another, each ended with 3 sockets open",
    "VfsNet: heap in use at start: ",
    "VfsNet: 2000 malformed frames taken by the stack",
    // The card's interrupt line works (claimed, fired and brought frames).
    " fires for the card",
    "[audit] denied request net.Web(",
    "other: Socket denied: EACCES",
    "other: Bind denied: EACCES",
    "other: Listen denied: EACCES",
    "other: Connect denied: EACCES",
    "net.Socket (no binding covers the event)",
    "web: served 4 requests (",
    "), 0 failed",
    "memory: every frame the programs used is free again",
];

/// The network server's heap once every client has gone must be back at what it was before
/// the first client (it prints both when it ends).
fn check_heap(console: &str) -> Result<()> {
    let line = console
        .lines()
        .find(|l| l.contains("VfsNet: heap in use at the end: "))
        .ok_or_else(|| anyhow::anyhow!("the network server did not print its heap at the end"))?;
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers.as_slice() {
        [end, start] if end <= start => Ok(()),
        [end, start] => bail!("the network server's heap grew from {start} to {end} bytes"),
        _ => bail!("cannot read the heap figures in {line:?}"),
    }
}

/// The number the console's first line holding `what` gives just before it.
fn count_before(console: &str, what: &str) -> Option<u64> {
    let line = console.lines().find(|l| l.contains(what))?;
    let before = line.split(what).next()?;
    before.rsplit(' ').next()?.parse().ok()
}

/// How many ended clients the network server says it reclaimed.
fn reclaimed(console: &str) -> Option<u64> {
    count_before(console, " ended clients reclaimed")
}

/// How many frames claiming a loopback address the network server dropped (it says so when
/// it ends).
fn martians(console: &str) -> Option<u64> {
    count_before(console, " frames claiming a loopback address dropped")
}

fn run_arch(arch: Arch) -> Result<String> {
    let dir = cargo_ostrog::source_root().join("examples/net");
    let solution = Solution::open(&dir)?;
    let image = solution::build(&solution, arch)?;
    let port = qemu::free_port()?;
    let mut machine = Machine::new(arch, solution::accel(arch), &image);
    machine.net = Some(Net {
        forwards: vec![Forward {
            host: port,
            guest: 80,
        }],
        ..Net::default()
    });
    let started = Instant::now();
    let boot = std::thread::spawn(move || machine.run_captured(TIMEOUT, false));
    let mut fetched = Vec::new();
    let mut errors = Vec::new();
    let mut first = None;
    for n in 1..=REQUESTS {
        if n == 2 {
            flood(port);
        }
        let asked = Instant::now();
        let path = if n == REQUESTS { "/quit" } else { "/" };
        match fetch_when_up(port, path, started + TIMEOUT, &boot) {
            Ok(response) => {
                if n == 1 {
                    first = Some(started.elapsed());
                } else {
                    fetched.push(asked.elapsed());
                }
                if let Err(e) = check_response(&response, n) {
                    errors.push(format!("{e:#}"));
                }
            }
            Err(e) => {
                errors.push(format!("request {n}: {e:#}"));
                break;
            }
        }
    }
    let run = boot
        .join()
        .map_err(|_| anyhow::anyhow!("the QEMU thread panicked"))??;
    for text in EXPECTED {
        if !run.console.contains(text) {
            errors.push(format!("the console does not show {text:?}"));
        }
    }
    for bad in ["FAILED", "panicked at", "KERNEL", "malformed request"] {
        if run.console.contains(bad) {
            errors.push(format!("the console shows {bad:?}"));
        }
    }
    if run.ending != Ending::PoweredOff(0) {
        errors.push(format!("the machine {} (expected status 0)", run.ending));
    }
    if let Err(e) = check_heap(&run.console) {
        errors.push(format!("{e:#}"));
    }
    match reclaimed(&run.console) {
        // The copies of the web server that ended with sockets open: 7 holders and 16
        // short-lived ones; at most 8 clients at once, so most were reclaimed.
        Some(n) if n >= 16 => {}
        other => errors.push(format!(
            "the server reclaimed {other:?} ended clients, expected at least 16"
        )),
    }
    // About one malformed frame in eight claims a loopback address: each must be dropped.
    match martians(&run.console) {
        Some(n) if n >= 100 => {}
        other => errors.push(format!(
            "the server dropped {other:?} frames claiming a loopback address, expected at least 100 of the 2000"
        )),
    }
    if !errors.is_empty() {
        bail!(
            "{}\n---- console ----\n{}----",
            errors.join("\n"),
            run.console
        );
    }
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let served = run
        .console
        .lines()
        .find(|l| l.starts_with("web: served"))
        .unwrap_or("");
    let said = |what: &str| {
        run.console
            .lines()
            .find(|l| l.contains(what))
            .map_or("", |l| l.trim_start_matches("VfsNet: "))
    };
    Ok(format!(
        "{served}; {}; {}; {}; {}; first page {:.0} ms after QEMU start, then {} ms per request",
        said("ended clients reclaimed"),
        said("looped back"),
        said("heap in use at the end"),
        said("wake-ups"),
        first.map_or(0.0, |d| ms(&d)),
        fetched
            .iter()
            .map(|d| format!("{:.0}", ms(d)))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

pub fn run() -> Vec<(String, bool, String)> {
    Arch::ALL
        .into_iter()
        .map(|arch| {
            let name = format!(
                "net::{arch}: the host fetches the page of examples/net through --forward, before and after a flood of {FLOOD} connections; only net.Web may listen, only on port 80, net.Other's socket requests denied (EACCES) and audited"
            );
            match run_arch(arch) {
                Ok(detail) => (name, true, detail),
                Err(e) => (name, false, format!("{e:#}")),
            }
        })
        .collect()
}

/// The address QEMU's DHCP server leases kl.VfsNet in the examples/linuxweb test.
const LEASED: [u8; 4] = [10, 0, 2, 50];

/// What the console of examples/linuxweb must show.
const LINUX_EXPECTED: &[&str] = &[
    "server: bind to port 9090 (the policy allows 8080 only): errno 13, as expected",
    "server: UDP socket (the policy allows TCP only): errno 13, as expected",
    "server: copies of the listening socket: errno 24, as expected",
    // QEMU's restricted user networking leases an address but names no router or DNS
    // server (the guest may reach nothing outside).
    "VfsNet: DHCP lease from 10.0.2.2: 10.0.2.50/24, no gateway, no DNS server",
    "server: listening on 10.0.2.50:8080",
    "client: localhost resolves to 127.0.0.1:8080",
    "client: /etc/resolv.conf names no name server",
    // musl's resolver over UDP on the loopback address, to the client's own DNS server.
    "client: web.dns.test resolves to 10.0.2.100:80 (DNS)",
    "client: nosuch.dns.test resolves to nothing",
    "denied: connect: EACCES",
    "denied: listen: EACCES",
    "denied: udp: EACCES",
    "[audit] denied request lxweb.Denied(",
    "[audit] denied request lxweb.Server(",
    "client: HTTP/1.0 200 OK; ",
    "Hello from the host's loopback",
    "server: served 4 requests, 0 failed",
    // The card's interrupt works with DHCP too (its thread starts before the lease).
    " fires for the card",
];

/// A server on the host's loopback for the guest's client (through QEMU's guestfwd,
/// which connects to it when QEMU starts): answers the one connection with a page; its
/// port.
fn loopback_page_server() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let _ = stream.set_read_timeout(Some(TIMEOUT));
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(k) => request.extend_from_slice(&buf[..k]),
            }
        }
        let body = "<p>Hello from the host's loopback</p>";
        let _ = stream.write_all(
            format!(
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    });
    Ok(port)
}

/// The checks of the `n`-th response of the Linux web server.
fn check_linux_response(response: &str, n: u32) -> Result<()> {
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        bail!("response {n} has no end of header: {response:?}");
    };
    if !head.starts_with("HTTP/1.0 200 OK\r\n") {
        bail!("response {n} is not 200 OK: {head:?}");
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|l| l.trim().parse::<usize>().ok());
    if length != Some(body.len()) {
        bail!(
            "response {n}: Content-Length {length:?}, body of {} bytes",
            body.len()
        );
    }
    if !body.contains("Hello from Ostrog") || !body.contains(&format!("request {n}<")) {
        bail!("response {n} is not the page: {body:?}");
    }
    Ok(())
}

fn run_linux_arch(arch: Arch) -> Result<String> {
    let dir = cargo_ostrog::source_root().join("examples/linuxweb");
    let solution = Solution::open(&dir)?;
    let image = solution::build(&solution, arch)?;
    let page_port = loopback_page_server()?;
    let port = qemu::free_port()?;
    let mut machine = Machine::new(arch, solution::accel(arch), &image);
    machine.net = Some(Net {
        forwards: vec![Forward {
            host: port,
            guest: 8080,
        }],
        guest_forwards: vec![qemu::GuestForward {
            guest: 80,
            host: page_port,
        }],
        // Not QEMU's first address (10.0.2.15, the server's static one): the forward
        // reaches the web server only if kl.VfsNet took the address DHCP leased it.
        dhcp_start: Some(LEASED),
    });
    let started = Instant::now();
    let boot = std::thread::spawn(move || machine.run_captured(TIMEOUT, false));
    let mut errors = Vec::new();
    let mut times = Vec::new();
    for n in 1..=REQUESTS {
        let asked = Instant::now();
        let path = if n == REQUESTS { "/quit" } else { "/" };
        match fetch_when_up(port, path, started + TIMEOUT, &boot) {
            Ok(response) => {
                times.push(asked.elapsed());
                if let Err(e) = check_linux_response(&response, n) {
                    errors.push(format!("{e:#}"));
                }
            }
            Err(e) => {
                errors.push(format!("request {n}: {e:#}"));
                break;
            }
        }
    }
    let run = boot
        .join()
        .map_err(|_| anyhow::anyhow!("the QEMU thread panicked"))??;
    for text in LINUX_EXPECTED {
        if !run.console.contains(text) {
            errors.push(format!("the console does not show {text:?}"));
        }
    }
    for bad in ["FAILED", "panicked at", "KERNEL", "malformed request"] {
        if run.console.contains(bad) {
            errors.push(format!("the console shows {bad:?}"));
        }
    }
    if run.ending != Ending::PoweredOff(0) {
        errors.push(format!("the machine {} (expected status 0)", run.ending));
    }
    if let Err(e) = check_heap(&run.console) {
        errors.push(format!("{e:#}"));
    }
    let sockets = match sockets_reference(&solution, arch) {
        Ok(host) => crate::conformance::compare("sockets", &host, &run.console, &[], &[])
            .map_err(|e| errors.push(format!("lxweb.Sockets: {e:#}")))
            .map_or(0, |t| t.passed),
        Err(e) => {
            errors.push(format!("lxweb.Sockets on the host: {e:#}"));
            0
        }
    };
    if !errors.is_empty() {
        bail!(
            "{}\n---- console ----\n{}----",
            errors.join("\n"),
            run.console
        );
    }
    let ms = |d: &Duration| format!("{:.0}", d.as_secs_f64() * 1000.0);
    Ok(format!(
        "4 pages served by the Linux program, ms per request (the first waits for the boot): {}; {sockets} socket cases as on Linux",
        times.iter().map(ms).collect::<Vec<_>>().join(", ")
    ))
}

/// What `linuxweb-sockets` (lxweb.Sockets) prints on the host: the same executable, run
/// on Linux (through qemu-user for the other architecture), over the host's loopback.
fn sockets_reference(solution: &Solution, arch: Arch) -> Result<String> {
    let described = ostrog_init::load(&solution.init_yaml, &ostrog_init::Options::default())
        .map_err(|d| anyhow::anyhow!("{} error(s) in init.yaml", d.len()))?;
    let elf = crate::linux::build_one(solution, arch, "linuxweb-sockets")?;
    Ok(crate::linux::run_on_host(&described, "lxweb.Sockets", &elf, arch)?.stdout)
}

/// The Linux web server test (examples/linuxweb), per architecture.
pub fn run_linux() -> Vec<(String, bool, String)> {
    Arch::ALL
        .into_iter()
        .map(|arch| {
            let name = format!(
                "linuxweb::{arch}: an unmodified Rust std web server (a Linux program) serves the host through --forward; a Linux client fetches a page of the host's loopback (guestfwd); only lxweb.Server may listen, only on 8080; lxweb.Denied's sockets denied (EACCES) and audited; DHCP lease used, names from /etc/hosts; socket time-outs and SIGPIPE over 127.0.0.1 as on Linux"
            );
            match run_linux_arch(arch) {
                Ok(detail) => (name, true, detail),
                Err(e) => (name, false, format!("{e:#}")),
            }
        })
        .collect()
}

/// Requests of the benchmark, made one after the other.
const BENCH_REQUESTS: u32 = 200;

/// A page like the web server's, for the same load under Linux on the host.
fn host_page(n: u32) -> String {
    let body = format!("<html><body><h1>Hello from Ostrog</h1><p>request {n}</p></body></html>\n");
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The same web server as a Linux program on the host (std::net, one connection at a time,
/// on 127.0.0.1), serving until `/quit`; its port.
fn host_server() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for (n, stream) in (1..).zip(listener.incoming()) {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => request.extend_from_slice(&buf[..k]),
                }
            }
            if request.starts_with(b"GET /big ") {
                let mut r = format!(
                    "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {BIG}\r\nConnection: close\r\n\r\n"
                )
                .into_bytes();
                r.extend((0..BIG).map(|i| i as u8));
                let _ = stream.write_all(&r);
                continue;
            }
            let _ = stream.write_all(host_page(n).as_bytes());
            if request.starts_with(b"GET /quit ") {
                break;
            }
        }
    });
    Ok(port)
}

/// Bytes of `GET /big`'s body (the web server's BIG), and how many the benchmark fetches.
const BIG: usize = 1 << 20;
const BIG_FETCHES: u32 = 4;

/// Bytes per second of [`BIG_FETCHES`] fetches of `/big`, each body checked.
fn throughput(port: u16) -> Result<f64> {
    let started = Instant::now();
    for n in 0..BIG_FETCHES {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        stream.write_all(b"GET /big HTTP/1.0\r\n\r\n")?;
        let mut r = Vec::new();
        stream.read_to_end(&mut r)?;
        let body = r
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .and_then(|at| r.get(at + 4..))
            .unwrap_or(&[]);
        if body.len() != BIG || body.iter().enumerate().any(|(i, &b)| b != i as u8) {
            bail!("fetch {n} of /big: {} bytes, not the body sent", body.len());
        }
    }
    Ok((BIG as f64) * f64::from(BIG_FETCHES) / started.elapsed().as_secs_f64())
}

/// Requests per second of [`BENCH_REQUESTS`] sequential fetches from 127.0.0.1:`port`.
fn request_rate(port: u16) -> Result<f64> {
    let started = Instant::now();
    for n in 0..BENCH_REQUESTS {
        let r = fetch(port, "/", Duration::from_secs(30))?;
        if !r.starts_with("HTTP/1.0 200 OK") {
            bail!("request {n}: not 200 OK: {r:?}");
        }
    }
    Ok(f64::from(BENCH_REQUESTS) / started.elapsed().as_secs_f64())
}

/// `cargo xtask bench net`: the request rate (sequential HTTP/1.0 requests, a new
/// connection each) and TCP throughput of examples/net's web server from the host, and the
/// request rate of examples/linuxweb's (a Linux program), loopback only, per architecture,
/// beside the same server under Linux on the host, as ratios.
pub fn bench() -> Result<bool> {
    let host_port = host_server()?;
    let linux = request_rate(host_port)?;
    let linux_bytes = throughput(host_port)?;
    let _ = fetch(host_port, "/quit", Duration::from_secs(5));
    let mib = |b: f64| b / f64::from(1u32 << 20);
    println!(
        "net: Linux on the host: {linux:.0} requests/s ({BENCH_REQUESTS} sequential HTTP/1.0 requests), {:.1} MiB/s TCP ({BIG_FETCHES} fetches of 1 MiB)",
        mib(linux_bytes)
    );
    let mut ok = true;
    for arch in Arch::ALL {
        let dir = cargo_ostrog::source_root().join("examples/net");
        let solution = Solution::open(&dir)?;
        let image = solution::build(&solution, arch)?;
        let port = qemu::free_port()?;
        let accel = solution::accel(arch);
        let mut machine = Machine::new(arch, accel, &image);
        machine.net = Some(Net {
            forwards: vec![Forward {
                host: port,
                guest: 80,
            }],
            ..Net::default()
        });
        let started = Instant::now();
        let boot = std::thread::spawn(move || machine.run_captured(TIMEOUT, false));
        let rate = fetch_when_up(port, "/", started + TIMEOUT, &boot)
            .and_then(|_| Ok((request_rate(port)?, throughput(port)?)));
        let _ = fetch_when_up(port, "/quit", started + TIMEOUT, &boot);
        let run = boot
            .join()
            .map_err(|_| anyhow::anyhow!("the QEMU thread panicked"))??;
        match rate {
            Ok((rate, bytes)) if run.ending == Ending::PoweredOff(0) => println!(
                "net {arch} ({}): {rate:.0} requests/s, {:.3} of Linux on the host; {:.2} MiB/s TCP, {:.4} of Linux",
                accel.name(),
                rate / linux,
                mib(bytes),
                bytes / linux_bytes
            ),
            Ok(_) => {
                ok = false;
                println!("net {arch}: the machine {}\n{}", run.ending, run.console);
            }
            Err(e) => {
                ok = false;
                println!("net {arch}: {e:#}\n{}", run.console);
            }
        }
    }
    // The Linux web server (examples/linuxweb; its client needs a page server on the
    // host's loopback when QEMU starts): the request rate.
    for arch in Arch::ALL {
        let dir = cargo_ostrog::source_root().join("examples/linuxweb");
        let solution = Solution::open(&dir)?;
        let image = solution::build(&solution, arch)?;
        let port = qemu::free_port()?;
        let accel = solution::accel(arch);
        let mut machine = Machine::new(arch, accel, &image);
        machine.net = Some(Net {
            forwards: vec![Forward {
                host: port,
                guest: 8080,
            }],
            guest_forwards: vec![qemu::GuestForward {
                guest: 80,
                host: loopback_page_server()?,
            }],
            ..Net::default()
        });
        let started = Instant::now();
        let boot = std::thread::spawn(move || machine.run_captured(TIMEOUT, false));
        let rate =
            fetch_when_up(port, "/", started + TIMEOUT, &boot).and_then(|_| request_rate(port));
        let _ = fetch_when_up(port, "/quit", started + TIMEOUT, &boot);
        let run = boot
            .join()
            .map_err(|_| anyhow::anyhow!("the QEMU thread panicked"))??;
        match rate {
            Ok(rate) if run.ending == Ending::PoweredOff(0) => println!(
                "net linuxweb {arch} ({}): {rate:.0} requests/s, {:.3} of Linux on the host",
                accel.name(),
                rate / linux
            ),
            Ok(_) => {
                ok = false;
                println!(
                    "net linuxweb {arch}: the machine {}\n{}",
                    run.ending, run.console
                );
            }
            Err(e) => {
                ok = false;
                println!("net linuxweb {arch}: {e:#}\n{}", run.console);
            }
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_is_checked_whole() {
        let body = "<html><body><h1>Hello from Ostrog</h1><p>request 2</p></body></html>\n";
        let ok = format!(
            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        assert!(check_response(&ok, 2).is_ok());
        assert!(check_response(&ok, 1).is_err());
        assert!(check_response(&ok[..ok.len() - 3], 2).is_err());
        assert!(check_response(&ok.replace("200 OK", "404 Not Found"), 2).is_err());
        assert!(check_response("HTTP/1.0 200 OK\r\n", 2).is_err());
    }

    #[test]
    fn the_heap_and_reclaim_figures_are_read() {
        let ok = "x\nVfsNet: heap in use at the end: 67488 bytes (at start 67488)\n";
        assert!(check_heap(ok).is_ok());
        let grew = "VfsNet: heap in use at the end: 67856 bytes (at start 67488)\n";
        assert!(check_heap(grew).is_err());
        assert!(check_heap("VfsNet: heap in use at start: 67488 bytes\n").is_err());
        let line = "VfsNet: 73 frames received, 66 sent, 0 dropped; 23 ended clients reclaimed\n";
        assert_eq!(reclaimed(line), Some(23));
        assert_eq!(reclaimed("VfsNet: 73 frames received\n"), None);
        let line = "VfsNet: 40 frames looped back to the stack; 285 frames claiming a loopback address dropped\n";
        assert_eq!(martians(line), Some(285));
        assert_eq!(martians("VfsNet: 40 frames looped back\n"), None);
    }
}
