//! Which interrupt line a device raises, from where it sits.
//!
//! These are QEMU's board wiring, fixed like the virtio-mmio addresses of [`crate::find`];
//! other boards would give the driver its line.
//!
//! AArch64 `virt`: virtio-mmio slot `i` is wired to SPI 16 + `i`, GIC INTID 48 + `i`.
//!
//! x86_64 `q35`: a device on the root bus raises its legacy INTx pin (configuration byte
//! 0x3d, 1 = INTA) through the ICH9's interrupt router to one of PIRQ A-H, which reach the
//! I/O APIC as GSI 16-23: slots 0-24 go to PIRQ E-H rotated by slot (GSI 20 + ((slot +
//! pin - 1) mod 4)); slots 25-31 (the chipset's own functions) follow their DxxIR registers, whose
//! reset value sends INTA-INTD to PIRQ A-D (GSI 16 + (pin - 1)), except slot 30 (the
//! DMI-to-PCI bridge), wired to PIRQ E-H.

use crate::Place;

/// The interrupt line of the device in virtio-mmio slot `slot` of AArch64 `virt`.
#[cfg(target_arch = "aarch64")]
pub fn line(slot: Place) -> Option<u32> {
    // 32 slots, SPIs 16..48: INTIDs 48..80.
    u32::try_from(slot).ok().filter(|&s| s < 32).map(|s| 48 + s)
}

/// The I/O APIC input (GSI) of the device in `slot` of `q35`'s root bus raising INTx `pin`.
#[cfg(target_arch = "x86_64")]
pub fn line(place: Place) -> Option<u32> {
    let Place { slot, pin } = place;
    // Pin 0: the device uses no INTx; above 4: not a pin.
    if !(1..=4).contains(&pin) || slot > 31 {
        return None;
    }
    let (slot, pin) = (u32::from(slot), u32::from(pin) - 1);
    Some(match slot {
        0..=24 => 20 + ((slot + pin) & 3),
        30 => 20 + pin,
        _ => 16 + pin,
    })
}
