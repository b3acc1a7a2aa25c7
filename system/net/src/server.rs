//! The kl.Net server and its loop.
//!
//! The loop waits for a request for at most the time smoltcp asks to be polled again
//! (between 1 and [`IDLE_MS`] ms, the kernel rounding up to its tick; [`IDLE_IRQ_MS`] once
//! the card's interrupt is known to work), then answers the request, if one came, and polls
//! the card and the stack. A second thread waits on the card's interrupt and polls when a
//! frame comes ([`crate::irq`]); both reach the server through one lock ([`Shared`]).
//! Without the interrupt a frame waits at most one wait of the loop. Nothing a client asks
//! waits for the network: an operation that would wait answers WouldBlock (see
//! sysroot/kl/Net.idl).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};
use ostrog_abi::{handle, Status};
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_time::TimeProxy;
use ostrog_rt::println;
use ostrog_rt::sys::{self, CoreTransport};
use smoltcp::iface::{Config, Interface};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress};

use crate::config::{has_arg, Dhcp, Ipv4Config};
use crate::idl::kl_net::*;
use crate::irq::Irq;
use crate::nic::Nic;
use crate::sockets::Sockets;

/// Longest wait for a request when the stack has nothing due, while the loop polls the card.
const IDLE_MS: u64 = 10;
/// The same once the card's interrupt brings frames (the interrupt thread takes them).
const IDLE_IRQ_MS: u64 = 100;
/// Longest wait for closed connections to finish once every client has gone (ms, counted
/// in sleeps of at least 1 ms).
const DRAIN_MS: u32 = 2000;
/// Longest wait for a DHCP lease before the server serves its clients (ms): a solution's
/// programs start with the server, and a connection made before the lease has no source
/// address (ENETUNREACH), so their first requests wait (queued by the kernel) for it.
const DHCP_WAIT_MS: u64 = 10_000;
/// How often the server looks for clients that ended (ms).
const RECLAIM_MS: u64 = 1000;

/// Lets a waiting thread give its time slice away instead of spinning.
pub struct Yield;

impl spin::relax::RelaxStrategy for Yield {
    fn relax() {
        sys::yield_now();
    }
}

/// The server, shared by the loop and the interrupt thread.
pub type Shared = spin::mutex::SpinMutex<Server, Yield>;

pub struct Server {
    nic: Nic,
    iface: Interface,
    sockets: Sockets,
    /// The SID of the sender of the request being served.
    sid: u64,
    /// When the server last looked for clients that ended.
    reclaimed_at: Instant,
    /// The interface's configuration now.
    config: Ipv4Config,
    /// The DHCP client, when the arguments ask for one.
    dhcp: Option<Dhcp>,
}

fn now() -> Instant {
    let mut time = TimeProxy {
        transport: CoreTransport,
        riid: riid::TIME,
    };
    let ns = time.now().map_or(0, |r| r.ns);
    Instant::from_micros((ns / 1000) as i64)
}

impl Server {
    /// Acknowledges the card's interrupt (before polling: see [`crate::irq`]).
    pub fn ack_interrupt(&mut self) {
        self.nic.ack_interrupt();
    }

    /// Polls the card and the stack; how many frames came.
    pub fn poll(&mut self) -> u64 {
        let now = now();
        let before = self.nic.received;
        self.iface.poll(now, &mut self.nic, &mut self.sockets.set);
        if let Some(config) = self
            .dhcp
            .as_mut()
            .and_then(|d| d.update(&mut self.sockets.set))
        {
            self.configure(config);
        }
        if let Some(count) = self.nic.injected() {
            println!(
                "VfsNet: {count} malformed frames taken by the stack, heap in use {} bytes",
                ostrog_rt::heap_used()
            );
        }
        self.sockets.reap();
        if (now - self.reclaimed_at).total_millis() >= RECLAIM_MS {
            self.reclaimed_at = now;
            self.sockets.reclaim();
        }
        self.nic.received - before
    }

    /// Gives the interface (and the sockets' checks) a new configuration.
    fn configure(&mut self, config: Ipv4Config) {
        config.apply(&mut self.iface);
        self.sockets.address = config.address();
        self.config = config;
    }

    /// Closes what the clients left open, lets the connections closed by their clients
    /// finish (their last data and FIN sent), for at most [`DRAIN_MS`] (then resets those
    /// left), and gives the tables' memory back, before the server ends.
    fn drain(&mut self) {
        self.sockets.drop_all();
        let mut waited = 0;
        while self.sockets.lingering() > 0 && waited < DRAIN_MS {
            let _ = self.poll();
            let _ = sys::sleep_ms(1);
            waited += 1;
        }
        // Connections that did not finish in time (a peer that neither reads nor closes:
        // over the loopback address, another client that has gone) are reset.
        let aborted = self.sockets.abort_lingering();
        if aborted > 0 {
            println!("VfsNet: {aborted} closed connections reset at the end");
        }
        let _ = self.poll();
        // The DHCP client's socket goes with the socket set: nothing polls after this.
        self.dhcp = None;
        self.sockets.compact();
        self.nic.compact();
    }

    /// How long to wait for a request before the stack must be polled again (ms).
    fn wait_ms(&mut self, interrupts: bool) -> usize {
        if self.nic.has_frame() {
            return 0;
        }
        let idle = if interrupts { IDLE_IRQ_MS } else { IDLE_MS };
        let delay = self
            .iface
            .poll_delay(now(), &self.sockets.set)
            .map_or(idle, |d| d.total_millis());
        delay.clamp(1, idle) as usize
    }
}

impl NetServer for Server {
    fn socket(&mut self, r: SocketRequest) -> Result<SocketResponse, SocketError> {
        let sock = self
            .sockets
            .open(self.sid, r.kind)
            .map_err(|status| SocketError { status })?;
        Ok(SocketResponse { sock })
    }

    fn bind(&mut self, r: BindRequest) -> Result<BindResponse, BindError> {
        self.sockets
            .bind(self.sid, r.sock, r.addr, r.port)
            .map_err(|status| BindError { status })?;
        Ok(BindResponse {})
    }

    fn listen(&mut self, r: ListenRequest) -> Result<ListenResponse, ListenError> {
        self.sockets
            .listen(self.sid, r.sock, r.backlog)
            .map_err(|status| ListenError { status })?;
        Ok(ListenResponse {})
    }

    fn accept(&mut self, r: AcceptRequest) -> Result<AcceptResponse, AcceptError> {
        let (conn, addr, port) = self
            .sockets
            .accept(self.sid, r.sock)
            .map_err(|status| AcceptError { status })?;
        Ok(AcceptResponse { conn, addr, port })
    }

    fn connect(&mut self, r: ConnectRequest) -> Result<ConnectResponse, ConnectError> {
        self.sockets
            .connect(&mut self.iface, self.sid, r.sock, r.addr, r.port)
            .map_err(|status| ConnectError { status })?;
        Ok(ConnectResponse {})
    }

    fn send(&mut self, r: SendRequest) -> Result<SendResponse, SendError> {
        let sent = self
            .sockets
            .send(self.sid, r.sock, &r.data)
            .map_err(|status| SendError { status })?;
        Ok(SendResponse { sent })
    }

    fn send_to(&mut self, r: SendToRequest) -> Result<SendToResponse, SendToError> {
        self.sockets
            .send_to(self.sid, r.sock, r.addr, r.port, &r.data)
            .map_err(|status| SendToError { status })?;
        Ok(SendToResponse {})
    }

    fn recv(&mut self, r: RecvRequest) -> Result<RecvResponse, RecvError> {
        let data = self
            .sockets
            .recv(self.sid, r.sock, r.max)
            .map_err(|status| RecvError { status })?;
        Ok(RecvResponse { data })
    }

    fn recv_from(&mut self, r: RecvFromRequest) -> Result<RecvFromResponse, RecvFromError> {
        let (data, addr, port) = self
            .sockets
            .recv_from(self.sid, r.sock, r.max)
            .map_err(|status| RecvFromError { status })?;
        Ok(RecvFromResponse { data, addr, port })
    }

    fn shutdown(&mut self, r: ShutdownRequest) -> Result<ShutdownResponse, ShutdownError> {
        self.sockets
            .shutdown(self.sid, r.sock, r.how)
            .map_err(|status| ShutdownError { status })?;
        Ok(ShutdownResponse {})
    }

    fn close(&mut self, r: CloseRequest) -> Result<CloseResponse, CloseError> {
        self.sockets
            .close(self.sid, r.sock)
            .map_err(|status| CloseError { status })?;
        Ok(CloseResponse {})
    }

    fn get_sock_name(
        &mut self,
        r: GetSockNameRequest,
    ) -> Result<GetSockNameResponse, GetSockNameError> {
        let (addr, port) = self
            .sockets
            .sock_name(self.sid, r.sock)
            .map_err(|status| GetSockNameError { status })?;
        Ok(GetSockNameResponse { addr, port })
    }

    fn get_peer_name(
        &mut self,
        r: GetPeerNameRequest,
    ) -> Result<GetPeerNameResponse, GetPeerNameError> {
        let (addr, port) = self
            .sockets
            .peer_name(self.sid, r.sock)
            .map_err(|status| GetPeerNameError { status })?;
        Ok(GetPeerNameResponse { addr, port })
    }

    fn config(&mut self, _r: ConfigRequest) -> Result<ConfigResponse, ConfigError> {
        let c = self.config;
        Ok(ConfigResponse {
            addr: c.address().map_or(0, u32::from),
            prefix: c.cidr.map_or(0, |c| u32::from(c.prefix_len())),
            gateway: c.gateway.map_or(0, u32::from),
            dns: c.dns.map_or(0, u32::from),
        })
    }
}

impl crate::idl::kl_vfs_net::VfsNetEndpoints for Server {
    fn net(&mut self) -> &mut dyn NetServer {
        self
    }
}

/// An empty error response, for a request the dispatcher rejects (malformed).
fn rejection(header: &Header) -> Vec<u8> {
    let mut empty = alloc::vec![0u8; HEADER_SIZE];
    Header {
        riid: header.riid,
        mid: header.mid,
        flags: FLAG_ERROR,
        ..Header::default()
    }
    .write(&mut empty);
    empty
}

/// Polls the stack until the DHCP client holds a lease, at most [`DHCP_WAIT_MS`].
fn wait_for_lease(shared: &Shared) {
    let start = now();
    loop {
        let wait = {
            let mut server = shared.lock();
            let _ = server.poll();
            if server.config.cidr.is_some() {
                return;
            }
            if (now() - start).total_millis() >= DHCP_WAIT_MS {
                println!(
                    "VfsNet: DHCP: no lease after {DHCP_WAIT_MS} ms; serving without an address"
                );
                return;
            }
            server.wait_ms(false)
        };
        let _ = sys::sleep_ms(wait);
    }
}

pub fn main() -> i32 {
    virtio_support::hal::init("VfsNet");
    let (mut nic, place) = match Nic::open() {
        Ok(opened) => opened,
        Err(why) => {
            println!("VfsNet: {why}");
            return 1;
        }
    };
    let mac = nic.mac();
    let malformed = crate::malformed::requested();
    if malformed > 0 {
        let mut seed = [0u8; 8];
        let _ = sys::random_bytes(&mut seed);
        nic.inject(crate::malformed::Malformed::new(
            malformed,
            mac,
            u64::from_le_bytes(seed),
        ));
        println!("VfsNet: test mode: {malformed} malformed frames before the card's");
    }
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    let mut seed = [0u8; 8];
    let _ = sys::random_bytes(&mut seed);
    config.random_seed = u64::from_le_bytes(seed);
    let iface = Interface::new(config, &mut nic, now());
    let mut sockets = Sockets::new();
    let dhcp = has_arg(b"--dhcp").then(|| Dhcp::start(&mut sockets.set));
    let mut server = Server {
        nic,
        iface,
        sockets,
        sid: 0,
        reclaimed_at: now(),
        config: Ipv4Config::default(),
        dhcp: None,
    };
    let config = match dhcp {
        Some(d) => {
            server.dhcp = Some(d);
            Ipv4Config::default()
        }
        None => Ipv4Config::fixed(),
    };
    server.configure(config);
    println!(
        "VfsNet: card {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, {}",
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5],
        match server.dhcp {
            Some(_) => alloc::string::String::from("asking DHCP for an address"),
            None => alloc::format!("static {config}"),
        }
    );
    let shared = Arc::new(Shared::new(server));
    let mut buffer = alloc::vec![0u8; ostrog_rt::server::MAX_REQUEST];
    // The heap before any client: what it must come back to once every client has gone.
    let baseline = ostrog_rt::heap_used();
    println!("VfsNet: heap in use at start: {baseline} bytes");
    let irq = Irq::start(place, &shared);
    // The interrupt thread runs meanwhile, so the card's line is acknowledged from the
    // first frame on.
    if shared.lock().dhcp.is_some() {
        wait_for_lease(&shared);
    }
    loop {
        let interrupts = irq
            .as_ref()
            .is_some_and(|i| i.state.works.load(Ordering::Acquire));
        let wait = {
            let mut server = shared.lock();
            let _ = server.poll();
            server.wait_ms(interrupts)
        };
        let len = match sys::recv(handle::ANY, &mut buffer, wait) {
            Ok((len, _)) => len,
            Err(Status::TimedOut | Status::WouldBlock) => continue,
            Err(Status::Disconnected) => {
                println!(
                    "VfsNet: {}",
                    irq.map_or_else(|| alloc::string::String::from("polling"), Irq::stop)
                );
                let mut server = shared.lock();
                server.drain();
                let end = ostrog_rt::heap_used();
                println!(
                    "VfsNet: {} frames received, {} sent, {} dropped; {} ended clients reclaimed",
                    server.nic.received,
                    server.nic.sent,
                    server.nic.dropped,
                    server.sockets.reclaimed()
                );
                println!(
                    "VfsNet: {} frames looped back to the stack; {} frames claiming a loopback address dropped",
                    server.nic.looped_count, server.nic.martians
                );
                println!("VfsNet: heap in use at the end: {end} bytes (at start {baseline})");
                return 0;
            }
            Err(e) => {
                println!("VfsNet: {}", e.name());
                return 1;
            }
        };
        let request = buffer.get(..len).unwrap_or(&[]);
        let header = Header::read(request).unwrap_or_default();
        let answer = {
            let mut server = shared.lock();
            server.sid = header.src_sid;
            crate::idl::kl_vfs_net::dispatch(&mut *server, request)
                .unwrap_or_else(|_| rejection(&header))
        };
        if let Err(e) = sys::reply(handle::ANY, &answer) {
            println!("VfsNet: reply failed: {}", e.name());
        }
    }
}
