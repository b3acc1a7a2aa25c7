//! PCI configuration space for `io.PciRead`/`io.PciWrite`: not given on AArch64 (QEMU
//! `virt`'s devices for drivers are virtio-mmio; its ECAM stays reserved), so the requests
//! answer `NotSupported`.

/// Whether this machine has PCI configuration space the kernel reaches.
pub const PCI_CONFIG: bool = false;

/// Never called ([`PCI_CONFIG`] is false).
pub fn pci_config_read(_address: u32) -> u32 {
    u32::MAX
}

/// Never called ([`PCI_CONFIG`] is false).
pub fn pci_config_write(_address: u32, _value: u32) {}

/// Never called ([`PCI_CONFIG`] is false).
pub fn pci_bar_probe(_address: u32, _wide: bool) -> (u32, u32) {
    (0, 0)
}
