//! Finding a virtio device: its transport for `virtio-drivers`, and where it sits (for its
//! interrupt line, [`crate::line`]).
//!
//! AArch64 `virt`: the board has 32 virtio-mmio slots of 0x200 bytes from 0x0a000000 (fixed
//! by QEMU's `virt` machine); the driver maps them all with `io.MapMmio` and takes the first
//! slot that holds a device of its kind. (The kernel keeps the device tree to itself; a
//! driver that should work on other boards would be given its slot instead.)
//!
//! x86_64 `q35`: virtio-pci. The driver claims the first virtio function of its kind (vendor
//! 0x1af4, [`Kind::pci_devices`]: modern, then transitional) from the PCI bus manager
//! kl.drivers.PciBus (channel `pci`), which tells its BARs as the firmware assigned them;
//! `virtio-drivers` reads and writes its configuration space through the bus manager (which
//! refuses BARs: a BAR probe is answered from the sizes the claim returned), and the driver
//! maps its registers (`io.MapMmio`, through [`crate::hal`]). The policy says which device
//! each driver may claim (sysroot/kl/drivers/PciBus.psl).

use core::fmt;

use virtio_drivers::transport::{DeviceType, SomeTransport};

/// The kinds of virtio device Ostrog has drivers for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Block,
    Network,
    /// A random-number generator (virtio-rng, "entropy source").
    Entropy,
}

impl Kind {
    /// The virtio device type a virtio-mmio slot reports.
    pub fn device_type(self) -> DeviceType {
        match self {
            Kind::Block => DeviceType::Block,
            Kind::Network => DeviceType::Network,
            Kind::Entropy => DeviceType::EntropySource,
        }
    }

    /// Its PCI device IDs (vendor 0x1af4): modern (0x1040 + type), then transitional.
    pub fn pci_devices(self) -> [u16; 2] {
        match self {
            Kind::Block => [0x1042, 0x1001],
            Kind::Network => [0x1041, 0x1000],
            Kind::Entropy => [0x1044, 0x1005],
        }
    }

    /// What a person calls it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Block => "block device",
            Kind::Network => "network card",
            Kind::Entropy => "random-number device",
        }
    }
}

/// Why no device was found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Missing {
    /// AArch64: `io.MapMmio` of the slots was refused or failed.
    SlotsUnmapped,
    /// AArch64: no slot holds a device of the kind.
    NotInSlots(Kind),
    /// x86_64: the program has no channel `pci`.
    NoBusManager,
    /// x86_64: the bus manager gave no such function (none there, taken, or the policy
    /// refused the claim).
    NotClaimed(Kind),
    /// x86_64: the function was claimed but `virtio-drivers` cannot use it.
    Unusable,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::SlotsUnmapped => write!(f, "cannot map the virtio-mmio slots"),
            Missing::NotInSlots(k) => write!(f, "no virtio {} in the virtio-mmio slots", k.name()),
            Missing::NoBusManager => write!(
                f,
                "no PCI bus manager (the program has no channel `pci` to kl.drivers.PciBus)"
            ),
            Missing::NotClaimed(k) => {
                write!(f, "no virtio {} claimed from the PCI bus manager", k.name())
            }
            Missing::Unusable => write!(
                f,
                "the virtio PCI device is not usable (its BARs are not assigned?)"
            ),
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    use core::ptr::NonNull;

    use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
    use virtio_drivers::transport::{SomeTransport, Transport};

    use super::{Kind, Missing};
    use crate::hal::map_mmio;

    /// The virtio-mmio slots of QEMU's `virt`.
    const SLOTS: u64 = 0x0a00_0000;
    const SLOT_SIZE: usize = 0x200;
    const SLOT_COUNT: usize = 32;

    /// The device's virtio-mmio slot.
    pub type Place = usize;

    pub fn find(kind: Kind) -> Result<(SomeTransport<'static>, Place), Missing> {
        let base = map_mmio(SLOTS, SLOT_SIZE * SLOT_COUNT).map_err(|_| Missing::SlotsUnmapped)?;
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
            if transport.device_type() == kind.device_type() {
                return Ok((transport.into(), i));
            }
        }
        Err(Missing::NotInSlots(kind))
    }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use core::cell::{Cell, RefCell};

    use ostrog_rt::sys::Channel;
    use virtio_drivers::transport::pci::bus::{
        Command, ConfigurationAccess, DeviceFunction, PciRoot,
    };
    use virtio_drivers::transport::pci::PciTransport;
    use virtio_drivers::transport::SomeTransport;

    use super::{Kind, Missing};
    use crate::hal::OstrogHal;
    use crate::idl::kl_drivers_pci::{Bar, PciProxy, BAR_IO, BAR_MEM32, BAR_MEM64, BAR_UNUSED};
    use crate::idl::kl_drivers_pci_bus::riid;

    const VIRTIO_VENDOR: u16 = 0x1af4;
    const BAR0: u8 = 0x10;

    /// Configuration space of the one function claimed from the bus manager.
    ///
    /// `virtio-drivers` sizes a BAR by writing all ones and reading back, which the bus
    /// manager refuses (only the kernel may: `io.PciBarSize`); this access answers such a
    /// probe from the BAR sizes the claim returned, so the library sees the real sizes and
    /// the BARs never move.
    struct BusCam {
        pci: RefCell<PciProxy<Channel>>,
        function: u32,
        bars: [Bar; 6],
        /// BAR dwords (bit i: dword 0x10 + 4i) written all ones and not yet restored.
        probing: Cell<u8>,
    }

    /// The BAR dword index of `offset`, if it is one.
    fn bar_dword(offset: u8) -> Option<usize> {
        (BAR0..BAR0 + 24)
            .contains(&offset)
            .then_some(usize::from((offset - BAR0) / 4))
    }

    impl BusCam {
        /// What BAR dword `i` reads while all ones is written to it: its size mask, with
        /// its type bits.
        fn probe_value(&self, i: usize, current: u32) -> u32 {
            let mask = |size: u64| (!size.wrapping_sub(1)).wrapping_mul(u64::from(size != 0));
            let Some(bar) = self.bars.get(i) else {
                return 0;
            };
            match bar.kind {
                BAR_MEM32 => (mask(bar.size) as u32 & !0xf) | (current & 0xf),
                BAR_MEM64 => (mask(bar.size) as u32 & !0xf) | (current & 0xf),
                BAR_IO => (mask(bar.size) as u32 & !0x3) | (current & 0x3),
                BAR_UNUSED => match i.checked_sub(1).and_then(|p| self.bars.get(p)) {
                    // The upper half of a 64-bit BAR.
                    Some(lower) if lower.kind == BAR_MEM64 => (mask(lower.size) >> 32) as u32,
                    _ => 0,
                },
                _ => 0,
            }
        }
    }

    impl ConfigurationAccess for BusCam {
        fn read_word(&self, _f: DeviceFunction, offset: u8) -> u32 {
            let value = self
                .pci
                .borrow_mut()
                .read(self.function, u32::from(offset))
                .map_or(u32::MAX, |r| r.value);
            match bar_dword(offset) {
                Some(i) if self.probing.get() & (1 << i) != 0 => self.probe_value(i, value),
                _ => value,
            }
        }

        fn write_word(&mut self, _f: DeviceFunction, offset: u8, data: u32) {
            if let Some(i) = bar_dword(offset) {
                // A BAR probe starts (all ones) or ends (the value restored); nothing moves.
                let bit = 1 << i;
                let probing = self.probing.get();
                self.probing.set(if data == u32::MAX {
                    probing | bit
                } else {
                    probing & !bit
                });
                return;
            }
            let _ = self
                .pci
                .borrow_mut()
                .write(self.function, u32::from(offset), data);
        }

        unsafe fn unsafe_clone(&self) -> Self {
            BusCam {
                pci: RefCell::new(PciProxy {
                    transport: self.pci.borrow().transport,
                    riid: riid::PCI,
                }),
                function: self.function,
                bars: self.bars.clone(),
                probing: Cell::new(self.probing.get()),
            }
        }
    }

    /// The device's slot and its INTx pin (1 = INTA, 0 = none), from which
    /// [`crate::line`] finds its interrupt line.
    #[derive(Clone, Copy, Debug)]
    pub struct Place {
        pub slot: u8,
        pub pin: u8,
    }

    pub fn find(kind: Kind) -> Result<(SomeTransport<'static>, Place), Missing> {
        let channel = Channel::lookup("pci").map_err(|_| Missing::NoBusManager)?;
        let mut pci = PciProxy {
            transport: channel,
            riid: riid::PCI,
        };
        let claimed = kind
            .pci_devices()
            .iter()
            .find_map(|&device| pci.claim(VIRTIO_VENDOR, device, 0).ok())
            .ok_or(Missing::NotClaimed(kind))?;
        let function = DeviceFunction {
            bus: (claimed.function >> 16) as u8,
            device: ((claimed.function >> 11) & 0x1f) as u8,
            function: ((claimed.function >> 8) & 0x7) as u8,
        };
        let mut root = PciRoot::new(BusCam {
            pci: RefCell::new(pci),
            function: claimed.function,
            bars: claimed.bars,
            probing: Cell::new(0),
        });
        // The device reaches the driver's DMA memory only once it may master the bus.
        root.set_command(function, Command::MEMORY_SPACE | Command::BUS_MASTER);
        // The interrupt pin, as the bus manager read it.
        let place = Place {
            slot: function.device,
            pin: claimed.pin,
        };
        PciTransport::new::<OstrogHal, _>(&mut root, function)
            .map(|t| (SomeTransport::from(t), place))
            .map_err(|_| Missing::Unusable)
    }
}

pub use arch::Place;

/// The transport of the first virtio device of `kind`, and where it sits.
pub fn find(kind: Kind) -> Result<(SomeTransport<'static>, Place), Missing> {
    arch::find(kind)
}
