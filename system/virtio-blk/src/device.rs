//! The virtio-blk device, found and set up through the shared virtio library
//! (system/virtio-support: virtio-mmio slots on AArch64 `virt`, the PCI bus manager on x86_64
//! `q35`).

use alloc::string::{String, ToString};

use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::SomeTransport;
use virtio_support::hal::OstrogHal;
use virtio_support::Kind;

pub use virtio_support::Place;

/// The driver's device.
pub type Blk = VirtIOBlk<OstrogHal, SomeTransport<'static>>;

/// Finds the device and sets it up; where it sits, for its interrupt line.
pub fn open() -> Result<(Blk, Place), String> {
    let (transport, place) = virtio_support::find(Kind::Block).map_err(|why| why.to_string())?;
    VirtIOBlk::new(transport)
        .map(|blk| (blk, place))
        .map_err(|_| String::from("the virtio block device did not initialise"))
}
