//! VirtioBlk: the virtio-blk driver. Finds the device (virtio-mmio on AArch64 `virt`,
//! virtio-pci on x86_64 `q35`), sets it up with the `virtio-drivers` library over the
//! kernel's DMA memory and device registers, and serves kl.drivers.Block on its endpoint
//! `blk` to one client. See docs/devices.md.

#![no_std]
#![no_main]

extern crate alloc;

mod device;
// Generated from sysroot/kl/drivers: this program uses only part of it.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}
mod irq;
mod server;

ostrog_rt::main!(server::main);
