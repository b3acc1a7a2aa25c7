//! The server's IPv4 configuration: static (10.0.2.15/24, gateway 10.0.2.2, DNS server
//! 10.0.2.3: QEMU user networking's plan), or leased by DHCP when the server's arguments
//! (init.yaml `args: [--dhcp]`) ask for it, with smoltcp's DHCPv4 client socket. While no
//! lease is held the interface has no address but the loopback one: a socket can be bound
//! (to 0) and listen, but a connection or datagram to another host has no source address
//! (ENETUNREACH) and nothing reaches the server from outside. A lease lost (not renewed) takes the address away again.

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::dhcpv4;
use smoltcp::wire::{IpCidr, Ipv4Address, Ipv4Cidr};

use ostrog_rt::println;

/// The static configuration.
pub const STATIC_ADDRESS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
pub const STATIC_PREFIX: u8 = 24;
pub const STATIC_GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
pub const STATIC_DNS: Ipv4Address = Ipv4Address::new(10, 0, 2, 3);
/// The loopback address (127.0.0.0/8 is the interface's too).
pub const LOOPBACK: Ipv4Address = Ipv4Address::new(127, 0, 0, 1);

/// What the interface is configured with now.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Ipv4Config {
    pub cidr: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Address>,
    pub dns: Option<Ipv4Address>,
}

impl Ipv4Config {
    pub fn fixed() -> Self {
        Ipv4Config {
            cidr: Some(Ipv4Cidr::new(STATIC_ADDRESS, STATIC_PREFIX)),
            gateway: Some(STATIC_GATEWAY),
            dns: Some(STATIC_DNS),
        }
    }

    /// The interface's address, if it has one.
    pub fn address(&self) -> Option<Ipv4Address> {
        self.cidr.map(|c| c.address())
    }

    /// Gives the interface this configuration, and the loopback network 127.0.0.0/8
    /// (after it, so that the configured address is the source of other traffic; the card
    /// device keeps frames to the stack itself off the wire, see [`crate::nic`]).
    pub fn apply(&self, iface: &mut Interface) {
        iface.update_ip_addrs(|addrs| {
            addrs.clear();
            if let Some(cidr) = self.cidr {
                let _ = addrs.push(IpCidr::Ipv4(cidr));
            }
            let _ = addrs.push(IpCidr::Ipv4(Ipv4Cidr::new(LOOPBACK, 8)));
        });
        match self.gateway {
            Some(g) => {
                let _ = iface.routes_mut().add_default_ipv4_route(g);
            }
            None => {
                let _ = iface.routes_mut().remove_default_ipv4_route();
            }
        }
    }
}

impl core::fmt::Display for Ipv4Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.cidr {
            Some(c) => write!(f, "{c}")?,
            None => write!(f, "no address")?,
        }
        match self.gateway {
            Some(g) => write!(f, ", gateway {g}")?,
            None => write!(f, ", no gateway")?,
        }
        match self.dns {
            Some(d) => write!(f, ", DNS server {d}"),
            None => write!(f, ", no DNS server"),
        }
    }
}

/// Whether the server's arguments hold the word `flag`.
pub fn has_arg(flag: &[u8]) -> bool {
    crate::args().split(|&b| b == 0).any(|w| w == flag)
}

/// The DHCP client: its socket in the server's socket set.
pub struct Dhcp {
    handle: SocketHandle,
    /// Whether a lease is held.
    held: bool,
}

impl Dhcp {
    pub fn start(set: &mut SocketSet<'static>) -> Self {
        Dhcp {
            handle: set.add(dhcpv4::Socket::new()),
            held: false,
        }
    }

    /// Takes what the DHCP client learnt since the last poll of the stack: a new
    /// configuration when a lease was taken or lost.
    pub fn update(&mut self, set: &mut SocketSet<'static>) -> Option<Ipv4Config> {
        match set.get_mut::<dhcpv4::Socket>(self.handle).poll()? {
            dhcpv4::Event::Configured(c) => {
                self.held = true;
                let config = Ipv4Config {
                    cidr: Some(c.address),
                    gateway: c.router,
                    dns: c.dns_servers.first().copied(),
                };
                println!("VfsNet: DHCP lease from {}: {config}", c.server.address);
                Some(config)
            }
            dhcpv4::Event::Deconfigured => {
                if core::mem::take(&mut self.held) {
                    println!("VfsNet: DHCP: the lease is lost");
                }
                Some(Ipv4Config::default())
            }
        }
    }
}
