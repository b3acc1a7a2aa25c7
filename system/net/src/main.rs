//! VfsNet: the network server. Drives the virtio-net card (virtio-mmio on AArch64 `virt`,
//! virtio-pci on x86_64 `q35`) with the `virtio-drivers` library, runs the `smoltcp` TCP/IP
//! stack on it (IPv4 10.0.2.15/24, gateway 10.0.2.2, as QEMU's user networking expects, or
//! an address leased by DHCP; answers ICMP echo), and serves kl.Net sockets on its endpoint `net`. See docs/net.md.

#![no_std]
#![no_main]

extern crate alloc;

mod config;
mod irq;
mod malformed;
mod nic;
mod server;
mod sockets;

// Generated from sysroot/kl: this program uses only part of it.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

/// The server's arguments (init.yaml `args`), NUL-separated; none if `task.Args` fails.
fn args() -> alloc::vec::Vec<u8> {
    ostrog_rt::sys::tasks()
        .args()
        .map(|a| a.args)
        .unwrap_or_default()
}

ostrog_rt::main!(server::main);
