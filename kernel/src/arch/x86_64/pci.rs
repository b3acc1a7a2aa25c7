//! PCI configuration space for the kernel's `io.PciRead`/`io.PciWrite`: configuration
//! mechanism #1 (ports 0xCF8/0xCFC, kept from processes by [`super::reserved`]), which
//! reaches the first 256 bytes of every function's space. [`pci_bar_probe`] is the one
//! place a BAR ever holds something other than what the firmware assigned, and only until
//! it returns.

use x86_64::instructions::port::Port;

const ADDRESS: u16 = 0xcf8;
const DATA: u16 = 0xcfc;

/// Whether this machine has PCI configuration space the kernel reaches.
pub const PCI_CONFIG: bool = true;

/// The selector of dword `address` (`bus << 16 | device << 11 | function << 8 | offset`,
/// checked by the caller: 24 bits, offset a multiple of 4).
fn select(address: u32) {
    // SAFETY: 0xCF8 is the configuration address register, which only the kernel uses (the
    // ports are reserved); selecting a register has no effect on memory.
    unsafe { Port::<u32>::new(ADDRESS).write(0x8000_0000 | address) }
}

/// Reads configuration dword `address`; called with interrupts disabled (system calls
/// run so), so the address and data accesses are not split.
pub fn pci_config_read(address: u32) -> u32 {
    select(address);
    // SAFETY: 0xCFC is the configuration data register; reading a configuration register
    // has no side effects.
    unsafe { Port::<u32>::new(DATA).read() }
}

/// Writes configuration dword `address` (the caller has refused the registers whose
/// holder would have the kernel's power); interrupts disabled as for [`pci_config_read`].
pub fn pci_config_write(address: u32, value: u32) {
    select(address);
    // SAFETY: as above; which registers may be written is decided by the caller.
    unsafe { Port::<u32>::new(DATA).write(value) }
}

/// The command register's memory and I/O space decoding bits.
const DECODE: u32 = 0b11;

/// What BAR dword `address` (and, if `wide`, the next dword too: the upper half of a 64-bit
/// BAR) reads back after all ones is written to it: the sizing probe of a BAR. The device's
/// decoding is off meanwhile and the command register, the BAR(s) and the interrupt flag
/// are restored before returning, so no other code, and no device access of this CPU, ever
/// sees the BAR at its probe value. The caller has checked `address` (a type-0 header's
/// BAR, 24 bits, dword-aligned).
pub fn pci_bar_probe(address: u32, wide: bool) -> (u32, u32) {
    let were_enabled = super::cpu::disable_interrupts();
    let function = address & !0xff;
    let command = pci_config_read(function | 0x04);
    // Bits 16-31 are the status register, whose bits are cleared by writing ones: write 0s.
    pci_config_write(function | 0x04, command & 0xffff & !DECODE);
    let high_address = address.wrapping_add(4);
    let low = pci_config_read(address);
    let high = if wide {
        pci_config_read(high_address)
    } else {
        0
    };
    pci_config_write(address, u32::MAX);
    let low_probe = pci_config_read(address);
    pci_config_write(address, low);
    let high_probe = if wide {
        pci_config_write(high_address, u32::MAX);
        let probe = pci_config_read(high_address);
        pci_config_write(high_address, high);
        probe
    } else {
        0
    };
    pci_config_write(function | 0x04, command & 0xffff);
    if were_enabled {
        super::cpu::enable_interrupts();
    }
    (low_probe, high_probe)
}
