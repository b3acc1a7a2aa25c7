//! Finding the virtio-net card: its transport, for [`crate::nic`].
//!
//! Kept apart so that discovery can move to a bus manager program without touching the
//! driver. Today the server finds the card itself, as the block driver does
//! (docs/devices.md):
//!
//! AArch64 `virt`: the board has 32 virtio-mmio slots of 0x200 bytes from 0x0a000000 (fixed
//! by QEMU's `virt` machine); the server maps them all with `io.MapMmio` and takes the first
//! slot that holds a network card.
//!
//! x86_64 `q35`: virtio-pci. The server reads PCI configuration space through the kernel
//! (`io.PciRead`/`io.PciWrite`), takes the first virtio network card on bus 0, whose memory
//! BARs the firmware has assigned, lets it master the bus and maps its registers.

use virtio_drivers::transport::SomeTransport;

#[cfg(target_arch = "aarch64")]
mod arch {
    use core::ptr::NonNull;

    use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
    use virtio_drivers::transport::{DeviceType, SomeTransport, Transport};

    use crate::hal::map_mmio;

    /// The virtio-mmio slots of QEMU's `virt`.
    const SLOTS: u64 = 0x0a00_0000;
    const SLOT_SIZE: usize = 0x200;
    const SLOT_COUNT: usize = 32;

    pub fn find_card() -> Result<SomeTransport<'static>, &'static str> {
        let base = map_mmio(SLOTS, SLOT_SIZE * SLOT_COUNT)
            .map_err(|_| "cannot map the virtio-mmio slots")?;
        for i in 0..SLOT_COUNT {
            let Some(header) = NonNull::new((base + i * SLOT_SIZE) as *mut VirtIOHeader) else {
                continue;
            };
            // SAFETY: `header` is the start of slot `i` of the slots just mapped (uncached,
            // writable) for this program alone; the slot's SLOT_SIZE bytes stay mapped for
            // the program's life, and each slot is given to at most one transport.
            let transport = match unsafe { MmioTransport::new(header, SLOT_SIZE) } {
                Ok(t) => t,
                Err(_) => continue,
            };
            if transport.device_type() == DeviceType::Network {
                return Ok(transport.into());
            }
        }
        Err("no virtio network card in the virtio-mmio slots")
    }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use ostrog_rt::idl::kl_core_core::riid;
    use ostrog_rt::idl::kl_core_io::IoProxy;
    use ostrog_rt::sys::CoreTransport;
    use virtio_drivers::transport::pci::bus::{
        Command, ConfigurationAccess, DeviceFunction, PciRoot,
    };
    use virtio_drivers::transport::pci::{virtio_device_type, PciTransport};
    use virtio_drivers::transport::{DeviceType, SomeTransport};

    use crate::hal::OstrogHal;

    /// PCI configuration space through the kernel (`io.PciRead`, `io.PciWrite`).
    struct KernelCam;

    fn io() -> IoProxy<CoreTransport> {
        IoProxy {
            transport: CoreTransport,
            riid: riid::IO,
        }
    }

    fn address(f: DeviceFunction, offset: u8) -> u32 {
        (u32::from(f.bus) << 16)
            | (u32::from(f.device) << 11)
            | (u32::from(f.function) << 8)
            | u32::from(offset)
    }

    impl ConfigurationAccess for KernelCam {
        fn read_word(&self, f: DeviceFunction, offset: u8) -> u32 {
            // A register the kernel does not give reads as no device does.
            io().pci_read(address(f, offset))
                .map_or(u32::MAX, |r| r.value)
        }

        fn write_word(&mut self, f: DeviceFunction, offset: u8, data: u32) {
            let _ = io().pci_write(address(f, offset), data);
        }

        unsafe fn unsafe_clone(&self) -> Self {
            KernelCam
        }
    }

    pub fn find_card() -> Result<SomeTransport<'static>, &'static str> {
        let mut root = PciRoot::new(KernelCam);
        let found = root
            .enumerate_bus(0)
            .find(|(_, info)| virtio_device_type(info) == Some(DeviceType::Network));
        let Some((function, _)) = found else {
            return Err("no virtio network card on PCI bus 0");
        };
        // The device reaches the driver's DMA memory only once it may master the bus.
        root.set_command(function, Command::MEMORY_SPACE | Command::BUS_MASTER);
        PciTransport::new::<OstrogHal, _>(&mut root, function)
            .map(SomeTransport::from)
            .map_err(|_| "the virtio PCI device is not usable (its BARs are not assigned?)")
    }
}

/// The transport of the first virtio network card.
pub fn find() -> Result<SomeTransport<'static>, &'static str> {
    arch::find_card()
}
