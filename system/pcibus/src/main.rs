//! PciBus: the PCI bus manager. At start it walks every PCI bus reachable from bus 0
//! (following PCI-to-PCI bridges) through the kernel's configuration access (`io.PciRead`,
//! `io.PciBarSize`), then serves kl.drivers.Pci on its endpoint `pci`: a driver claims a
//! function by vendor and device id (which the policy judges), learns its BARs, and reads and
//! writes the harmless part of its configuration space. See docs/devices.md.

#![no_std]
#![no_main]

extern crate alloc;

mod bus;
mod config;
mod server;

ostrog_rt::main!(server::main);
