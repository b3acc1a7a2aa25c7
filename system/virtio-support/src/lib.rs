//! What every virtio driver of Ostrog shares, so that each driver is only its device.
//!
//! A virtio driver (the block driver `VirtioBlk`, the network server `VfsNet`, the entropy
//! server's random-number device) needs the same three things before its device-specific
//! code starts, and they were written once per driver before this library:
//!
//! - **Finding the device** ([`find`]): on AArch64 `virt` by looking through the virtio-mmio
//!   slots, on x86_64 `q35` by claiming the function from the PCI bus manager
//!   kl.drivers.PciBus (channel `pci`), whose configuration space `virtio-drivers` then
//!   reaches only through the bus manager. The result is a transport for `virtio-drivers`
//!   and the device's [`Place`].
//! - **Its interrupt line** ([`line`]): from the place, as QEMU's boards wire it.
//! - **The HAL** ([`hal`]): DMA memory from `io.AllocDma`, registers from `io.MapMmio`, and
//!   the two ways a driver shares buffers with its device (buffers carved from DMA regions
//!   of its own, or copies through one bounce buffer).
//!
//! Each driver calls [`hal::init`] with its name first (the HAL's fatal errors name it).
//! The library holds no device: two drivers in one program (the entropy server uses only
//! one) would each find their own.

#![no_std]

extern crate alloc;

pub mod find;
pub mod hal;
mod line;

// Generated from sysroot/kl/drivers: only the PCI bus manager's client is used.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

pub use find::{find, Kind, Place};
pub use line::line;
