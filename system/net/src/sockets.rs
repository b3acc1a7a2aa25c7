//! Clients' sockets over the smoltcp socket set: the bounded tables and every kl.Net
//! operation, checked before smoltcp sees it.
//!
//! Each client (a SID) has a table of at most [`SOCKETS_MAX`] sockets; at most
//! [`CLIENTS_MAX`] clients are served. A listening TCP socket holds its backlog as smoltcp
//! sockets listening on its port, each counted in the client's budget; Accept hands an
//! established one out as a new socket and puts a fresh listener in its place, so it needs
//! room for one more socket (else TooManySockets). Closing a TCP connection lets it finish
//! in the background (its FIN sent and acknowledged, or the peer silent for
//! [`LINGER_TIMEOUT`]), at most [`LINGER_MAX`] at a time in the whole server; past that it
//! is dropped at once. Everything a client can make the server allocate is thus bounded:
//! (SOCKETS_MAX * CLIENTS_MAX + LINGER_MAX) sockets of [`TCP_BUFFER`] bytes each way.
//!
//! A client that ends sends no notice: the server asks the kernel (`task.Alive`) whether the
//! SIDs it keeps still name live processes, when a new client needs a slot and the table is
//! full, and periodically ([`Sockets::reclaim`]); an ended client's sockets are closed as
//! `Close` would (connections finish in the background) and its slot freed.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address};

use crate::idl::kl_net as api;

pub const SOCKETS_MAX: usize = api::SOCKETS_MAX as usize;
pub const CLIENTS_MAX: usize = api::CLIENTS_MAX as usize;
pub const LINGER_MAX: usize = 32;
/// How long a closed connection may go without hearing from its peer before it is dropped.
const LINGER_TIMEOUT: smoltcp::time::Duration = smoltcp::time::Duration::from_secs(10);
const BACKLOG_MAX: usize = api::BACKLOG_MAX as usize;
const TCP_BUFFER: usize = 8192;
const UDP_PACKETS: usize = 8;
const UDP_BUFFER: usize = 8192;
/// The largest UDP payload in one unfragmented IPv4 packet on Ethernet.
const UDP_PAYLOAD_MAX: usize = 1472;
const EPHEMERAL_FIRST: u16 = 49152;

pub type Errno = i32;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
}

struct Socket {
    kind: Kind,
    handle: SocketHandle,
    /// The local port, once bound or connected.
    port: Option<u16>,
    /// The local address it was bound to (none: any of the server's).
    addr: Option<Ipv4Address>,
    /// Listeners of the backlog besides `handle` (TCP, listening).
    backlog: Vec<SocketHandle>,
    listening: bool,
    connecting: bool,
}

#[derive(Default)]
struct Client {
    sockets: Vec<Option<Socket>>,
}

impl Client {
    /// smoltcp sockets this client holds.
    fn held(&self) -> usize {
        self.sockets
            .iter()
            .flatten()
            .map(|s| 1 + s.backlog.len())
            .sum()
    }
}

/// Every client's sockets.
pub struct Sockets {
    pub set: SocketSet<'static>,
    clients: BTreeMap<u64, Client>,
    lingering: Vec<SocketHandle>,
    next_port: u16,
    reclaimed: u64,
    /// The interface's address (none while a DHCP lease is awaited).
    pub address: Option<Ipv4Address>,
}

/// Whether the process with SID `sid` has not ended (`task.Alive`, granted by
/// sysroot/kl/VfsNet.psl). A failure counts as alive: nothing is reclaimed on a guess.
fn alive(sid: u64) -> bool {
    ostrog_rt::sys::tasks()
        .alive(sid)
        .map_or(true, |r| r.live != 0)
}

fn v4(addr: u32) -> IpAddress {
    IpAddress::Ipv4(Ipv4Address::from(addr))
}

/// Where a socket bound to `addr` (none: any of the server's addresses) and `port` takes
/// datagrams or connections.
fn listen_endpoint(addr: Option<Ipv4Address>, port: u16) -> IpListenEndpoint {
    IpListenEndpoint {
        addr: addr.map(IpAddress::Ipv4),
        port,
    }
}

fn endpoint_parts(e: Option<IpEndpoint>) -> (u32, u16) {
    match e {
        Some(IpEndpoint {
            addr: IpAddress::Ipv4(a),
            port,
        }) => (u32::from(a), port),
        None => (0, 0),
    }
}

fn tcp_socket() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
    )
}

fn udp_socket() -> udp::Socket<'static> {
    let buffer = || {
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
            vec![0; UDP_BUFFER],
        )
    };
    udp::Socket::new(buffer(), buffer())
}

impl Sockets {
    pub fn new() -> Self {
        Sockets {
            set: SocketSet::new(Vec::new()),
            clients: BTreeMap::new(),
            lingering: Vec::new(),
            next_port: EPHEMERAL_FIRST,
            reclaimed: 0,
            address: None,
        }
    }

    fn client(&mut self, sid: u64) -> Result<&mut Client, Errno> {
        if !self.clients.contains_key(&sid)
            && self.clients.len() >= CLIENTS_MAX
            && (self.reclaim() == 0 || self.clients.len() >= CLIENTS_MAX)
        {
            return Err(api::TOO_MANY_CLIENTS);
        }
        Ok(self.clients.entry(sid).or_default())
    }

    fn socket(&mut self, sid: u64, sock: u32) -> Result<&mut Socket, Errno> {
        self.clients
            .get_mut(&sid)
            .and_then(|c| c.sockets.get_mut(sock as usize))
            .and_then(Option::as_mut)
            .ok_or(api::BAD_SOCKET)
    }

    /// Whether a socket of `kind` has local port `port`.
    fn port_used(&self, kind: Kind, port: u16) -> bool {
        self.clients
            .values()
            .flat_map(|c| c.sockets.iter().flatten())
            .any(|s| s.kind == kind && s.port == Some(port))
    }

    /// A free local port from 49152 up.
    fn ephemeral(&mut self, kind: Kind) -> Result<u16, Errno> {
        for _ in 0..(u16::MAX - EPHEMERAL_FIRST) {
            let port = self.next_port;
            self.next_port = match port {
                u16::MAX => EPHEMERAL_FIRST,
                p => p + 1,
            };
            if !self.port_used(kind, port) {
                return Ok(port);
            }
        }
        Err(api::ADDRESS_IN_USE)
    }

    /// Frees what clients that ended left: their sockets (closed as `Close` does) and their
    /// slots. How many clients were dropped.
    pub fn reclaim(&mut self) -> usize {
        let ended: Vec<u64> = self
            .clients
            .keys()
            .copied()
            .filter(|&sid| !alive(sid))
            .collect();
        for &sid in &ended {
            self.drop_client(sid);
        }
        self.reclaimed += ended.len() as u64;
        ended.len()
    }

    /// Clients whose slots [`Sockets::reclaim`] has freed since the server started.
    pub fn reclaimed(&self) -> u64 {
        self.reclaimed
    }

    /// Closes every socket of client `sid` and frees its slot.
    fn drop_client(&mut self, sid: u64) {
        let count = self.clients.get(&sid).map_or(0, |c| c.sockets.len());
        for sock in 0..count {
            let _ = self.close(sid, sock as u32);
        }
        self.clients.remove(&sid);
    }

    /// Closes every client's sockets (every client has gone: the server ends).
    pub fn drop_all(&mut self) {
        let sids: Vec<u64> = self.clients.keys().copied().collect();
        for sid in sids {
            self.drop_client(sid);
        }
    }

    /// With no socket left at all, gives back the memory the tables grew to (the socket
    /// set's storage keeps its largest size otherwise, the client map its root node), so the heap returns to what it was
    /// before the first client.
    pub fn compact(&mut self) {
        if self.clients.is_empty() && self.lingering.is_empty() {
            self.set = SocketSet::new(Vec::new());
            self.lingering = Vec::new();
            // An emptied map keeps its root node.
            self.clients = BTreeMap::new();
        }
    }

    /// Resets the closed connections still finishing; how many. The resets go out with the
    /// next poll, which frees them ([`Sockets::reap`]: they are closed).
    pub fn abort_lingering(&mut self) -> usize {
        for &h in &self.lingering {
            self.set.get_mut::<tcp::Socket>(h).abort();
        }
        self.lingering.len()
    }

    /// Closed connections still finishing.
    pub fn lingering(&self) -> usize {
        self.lingering.len()
    }

    /// Frees the slots of lingering connections that have finished.
    pub fn reap(&mut self) {
        let set = &mut self.set;
        self.lingering.retain(|&h| {
            let done = matches!(
                set.get::<tcp::Socket>(h).state(),
                tcp::State::Closed | tcp::State::TimeWait
            );
            if done {
                set.remove(h);
            }
            !done
        });
    }

    pub fn open(&mut self, sid: u64, kind: u32) -> Result<u32, Errno> {
        let kind = match kind {
            api::TCP => Kind::Tcp,
            api::UDP => Kind::Udp,
            _ => return Err(api::NOT_SUPPORTED),
        };
        let client = self.client(sid)?;
        if client.held() >= SOCKETS_MAX {
            return Err(api::TOO_MANY_SOCKETS);
        }
        let slot = match client.sockets.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                client.sockets.push(None);
                client.sockets.len() - 1
            }
        };
        let handle = match kind {
            Kind::Tcp => self.set.add(tcp_socket()),
            Kind::Udp => self.set.add(udp_socket()),
        };
        if let Some(c) = self
            .clients
            .get_mut(&sid)
            .and_then(|c| c.sockets.get_mut(slot))
        {
            *c = Some(Socket {
                kind,
                handle,
                port: None,
                addr: None,
                backlog: Vec::new(),
                listening: false,
                connecting: false,
            });
        }
        Ok(slot as u32)
    }

    pub fn bind(&mut self, sid: u64, sock: u32, addr: u32, port: u16) -> Result<(), Errno> {
        let (kind, bound) = {
            let s = self.socket(sid, sock)?;
            (s.kind, s.port.is_some())
        };
        if bound {
            return Err(api::INVALID);
        }
        let local = Ipv4Address::from(addr);
        if addr != 0 && Some(local) != self.address && !local.is_loopback() {
            return Err(api::ADDRESS_NOT_AVAILABLE);
        }
        let port = match port {
            0 => self.ephemeral(kind)?,
            p if self.port_used(kind, p) => return Err(api::ADDRESS_IN_USE),
            p => p,
        };
        let s = self.socket(sid, sock)?;
        s.port = Some(port);
        s.addr = (addr != 0).then_some(local);
        let (handle, endpoint) = (s.handle, listen_endpoint(s.addr, port));
        if kind == Kind::Udp {
            self.set
                .get_mut::<udp::Socket>(handle)
                .bind(endpoint)
                .map_err(|_| api::INVALID)?;
        }
        Ok(())
    }

    pub fn listen(&mut self, sid: u64, sock: u32, backlog: u32) -> Result<(), Errno> {
        let s = self.socket(sid, sock)?;
        let (Kind::Tcp, Some(port), false, false) = (s.kind, s.port, s.listening, s.connecting)
        else {
            return Err(api::INVALID);
        };
        let (handle, port) = (s.handle, listen_endpoint(s.addr, port));
        if !self.set.get::<tcp::Socket>(handle).is_open() {
            self.set
                .get_mut::<tcp::Socket>(handle)
                .listen(port)
                .map_err(|_| api::INVALID)?;
        }
        let want = (backlog as usize).clamp(1, BACKLOG_MAX) - 1;
        let mut extra = Vec::new();
        let room = SOCKETS_MAX.saturating_sub(self.clients.get(&sid).map_or(0, Client::held));
        for _ in 0..want.min(room) {
            let mut t = tcp_socket();
            if t.listen(port).is_ok() {
                extra.push(self.set.add(t));
            }
        }
        let s = self.socket(sid, sock)?;
        s.listening = true;
        s.backlog = extra;
        Ok(())
    }

    pub fn accept(&mut self, sid: u64, sock: u32) -> Result<(u32, u32, u16), Errno> {
        let s = self.socket(sid, sock)?;
        if !s.listening {
            return Err(api::INVALID);
        }
        let port = listen_endpoint(s.addr, s.port.unwrap_or(0));
        let candidates: Vec<SocketHandle> = core::iter::once(s.handle)
            .chain(s.backlog.iter().copied())
            .collect();
        let ready = candidates.into_iter().find(|&h| {
            let t = self.set.get::<tcp::Socket>(h);
            !matches!(
                t.state(),
                tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed
            )
        });
        let Some(ready) = ready else {
            return Err(api::WOULD_BLOCK);
        };
        let client = self.clients.get_mut(&sid).ok_or(api::BAD_SOCKET)?;
        // The connection and the listener that replaces it in the backlog.
        if client.held() >= SOCKETS_MAX {
            return Err(api::TOO_MANY_SOCKETS);
        }
        let slot = match client.sockets.iter().position(Option::is_none) {
            Some(i) => i,
            None if client.sockets.len() < SOCKETS_MAX => {
                client.sockets.push(None);
                client.sockets.len() - 1
            }
            None => return Err(api::TOO_MANY_SOCKETS),
        };
        // The listener loses the connected socket; a fresh one takes its place.
        let mut fresh = tcp_socket();
        fresh.listen(port).map_err(|_| api::INVALID)?;
        let fresh = self.set.add(fresh);
        let client = self.clients.get_mut(&sid).ok_or(api::BAD_SOCKET)?;
        if let Some(Some(l)) = client.sockets.get_mut(sock as usize) {
            if l.handle == ready {
                l.handle = fresh;
            } else if let Some(b) = l.backlog.iter_mut().find(|b| **b == ready) {
                *b = fresh;
            }
        }
        let (addr, peer_port) =
            endpoint_parts(self.set.get::<tcp::Socket>(ready).remote_endpoint());
        if let Some(c) = client.sockets.get_mut(slot) {
            *c = Some(Socket {
                kind: Kind::Tcp,
                handle: ready,
                port: None,
                addr: None,
                backlog: Vec::new(),
                listening: false,
                connecting: false,
            });
        }
        Ok((slot as u32, addr, peer_port))
    }

    pub fn connect(
        &mut self,
        iface: &mut Interface,
        sid: u64,
        sock: u32,
        addr: u32,
        port: u16,
    ) -> Result<(), Errno> {
        let s = self.socket(sid, sock)?;
        if s.kind != Kind::Tcp || s.listening {
            return Err(api::INVALID);
        }
        let handle = s.handle;
        if s.connecting {
            let t = self.set.get::<tcp::Socket>(handle);
            return match t.state() {
                tcp::State::SynSent | tcp::State::SynReceived => Err(api::IN_PROGRESS),
                tcp::State::Closed => Err(api::CONNECTION_REFUSED),
                _ => Ok(()),
            };
        }
        if addr == 0 || port == 0 {
            return Err(api::INVALID);
        }
        let local = match s.port {
            Some(p) => p,
            None => self.ephemeral(Kind::Tcp)?,
        };
        if self.address.is_none() && !Ipv4Address::from(addr).is_loopback() {
            return Err(api::NETWORK_UNREACHABLE);
        }
        self.set
            .get_mut::<tcp::Socket>(handle)
            .connect(iface.context(), (v4(addr), port), local)
            .map_err(|_| api::INVALID)?;
        let s = self.socket(sid, sock)?;
        s.port = Some(local);
        s.connecting = true;
        Err(api::IN_PROGRESS)
    }

    fn connected_tcp(&mut self, sid: u64, sock: u32) -> Result<SocketHandle, Errno> {
        let s = self.socket(sid, sock)?;
        match (s.kind, s.listening) {
            (Kind::Tcp, false) => Ok(s.handle),
            (Kind::Tcp, true) => Err(api::NOT_CONNECTED),
            (Kind::Udp, _) => Err(api::NOT_SUPPORTED),
        }
    }

    pub fn send(&mut self, sid: u64, sock: u32, data: &[u8]) -> Result<u32, Errno> {
        let h = self.connected_tcp(sid, sock)?;
        let t = self.set.get_mut::<tcp::Socket>(h);
        if !t.may_send() {
            return Err(match t.state() {
                tcp::State::SynSent | tcp::State::SynReceived => api::WOULD_BLOCK,
                tcp::State::Closed => api::NOT_CONNECTED,
                _ => api::BROKEN_PIPE,
            });
        }
        match t.send_slice(data) {
            Ok(0) if !data.is_empty() => Err(api::WOULD_BLOCK),
            Ok(n) => Ok(n as u32),
            Err(_) => Err(api::BROKEN_PIPE),
        }
    }

    pub fn recv(&mut self, sid: u64, sock: u32, max: u32) -> Result<Vec<u8>, Errno> {
        let h = self.connected_tcp(sid, sock)?;
        let t = self.set.get_mut::<tcp::Socket>(h);
        let mut data = vec![0u8; (max as usize).min(api::DATA_MAX as usize)];
        if data.is_empty() {
            return Err(api::INVALID);
        }
        match t.recv_slice(&mut data) {
            Ok(0) => Err(api::WOULD_BLOCK),
            Ok(n) => {
                data.truncate(n);
                Ok(data)
            }
            Err(tcp::RecvError::Finished) => Ok(Vec::new()),
            Err(tcp::RecvError::InvalidState) => match t.state() {
                tcp::State::SynSent | tcp::State::SynReceived => Err(api::WOULD_BLOCK),
                _ => Err(api::NOT_CONNECTED),
            },
        }
    }

    fn udp(&mut self, sid: u64, sock: u32) -> Result<SocketHandle, Errno> {
        let s = self.socket(sid, sock)?;
        match s.kind {
            Kind::Udp => Ok(s.handle),
            Kind::Tcp => Err(api::NOT_SUPPORTED),
        }
    }

    pub fn send_to(
        &mut self,
        sid: u64,
        sock: u32,
        addr: u32,
        port: u16,
        data: &[u8],
    ) -> Result<(), Errno> {
        let h = self.udp(sid, sock)?;
        if data.len() > UDP_PAYLOAD_MAX {
            return Err(api::MESSAGE_SIZE);
        }
        if addr == 0 || port == 0 {
            return Err(api::INVALID);
        }
        if self.address.is_none() && !Ipv4Address::from(addr).is_loopback() {
            return Err(api::NETWORK_UNREACHABLE);
        }
        if self.socket(sid, sock)?.port.is_none() {
            self.bind(sid, sock, 0, 0)?;
        }
        let u = self.set.get_mut::<udp::Socket>(h);
        match u.send_slice(data, IpEndpoint::new(v4(addr), port)) {
            Ok(()) => Ok(()),
            Err(udp::SendError::BufferFull) => Err(api::WOULD_BLOCK),
            Err(_) => Err(api::INVALID),
        }
    }

    pub fn recv_from(
        &mut self,
        sid: u64,
        sock: u32,
        max: u32,
    ) -> Result<(Vec<u8>, u32, u16), Errno> {
        let h = self.udp(sid, sock)?;
        let u = self.set.get_mut::<udp::Socket>(h);
        let mut data = vec![0u8; UDP_BUFFER];
        match u.recv_slice(&mut data) {
            Ok((n, meta)) => {
                data.truncate(n.min(max as usize).min(api::DATA_MAX as usize));
                let (addr, port) = endpoint_parts(Some(meta.endpoint));
                Ok((data, addr, port))
            }
            Err(_) => Err(api::WOULD_BLOCK),
        }
    }

    pub fn shutdown(&mut self, sid: u64, sock: u32, how: u32) -> Result<(), Errno> {
        let h = self.connected_tcp(sid, sock)?;
        match how {
            api::SHUT_READ => Ok(()),
            api::SHUT_WRITE | api::SHUT_BOTH => {
                self.set.get_mut::<tcp::Socket>(h).close();
                Ok(())
            }
            _ => Err(api::INVALID),
        }
    }

    pub fn close(&mut self, sid: u64, sock: u32) -> Result<(), Errno> {
        let s = self
            .clients
            .get_mut(&sid)
            .and_then(|c| c.sockets.get_mut(sock as usize))
            .and_then(Option::take)
            .ok_or(api::BAD_SOCKET)?;
        for b in s.backlog {
            self.set.remove(b);
        }
        match s.kind {
            Kind::Udp => {
                self.set.remove(s.handle);
            }
            Kind::Tcp => {
                let t = self.set.get_mut::<tcp::Socket>(s.handle);
                if s.listening || !t.is_active() {
                    self.set.remove(s.handle);
                } else if self.lingering.len() < LINGER_MAX {
                    // A peer that never acknowledges does not hold the slot for ever.
                    t.set_timeout(Some(LINGER_TIMEOUT));
                    t.close();
                    self.lingering.push(s.handle);
                } else {
                    t.abort();
                    // The reset goes out only if the socket stays for one more poll; it is
                    // dropped instead: the peer times out.
                    self.set.remove(s.handle);
                }
            }
        }
        Ok(())
    }

    pub fn sock_name(&mut self, sid: u64, sock: u32) -> Result<(u32, u16), Errno> {
        let s = self.socket(sid, sock)?;
        let (port, s_addr) = (s.port, s.addr);
        let (kind, h) = (s.kind, s.handle);
        let local = match kind {
            Kind::Tcp => self.set.get::<tcp::Socket>(h).local_endpoint(),
            Kind::Udp => None,
        };
        match (local, port) {
            (Some(e), _) => Ok(endpoint_parts(Some(e))),
            (None, Some(p)) => Ok((s_addr.or(self.address).map_or(0, u32::from), p)),
            (None, None) => Ok((0, 0)),
        }
    }

    pub fn peer_name(&mut self, sid: u64, sock: u32) -> Result<(u32, u16), Errno> {
        let h = self.connected_tcp(sid, sock)?;
        match self.set.get::<tcp::Socket>(h).remote_endpoint() {
            Some(e) => Ok(endpoint_parts(Some(e))),
            None => Err(api::NOT_CONNECTED),
        }
    }
}
