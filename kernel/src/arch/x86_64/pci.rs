//! PCI configuration space for the kernel's `io.PciRead`/`io.PciWrite`: configuration
//! mechanism #1 (ports 0xCF8/0xCFC, kept from processes by [`super::reserved`]), which
//! reaches the first 256 bytes of every function's space.

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
