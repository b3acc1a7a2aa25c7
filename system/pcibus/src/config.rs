//! Configuration space through the kernel: `io.PciRead`, `io.PciWrite`, `io.PciBarSize`,
//! one dword at `bus << 16 | device << 11 | function << 8 | offset`.

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::sys::{call_status, CoreTransport};

fn io() -> IoProxy<CoreTransport> {
    IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    }
}

/// Configuration dword `address`.
pub fn read(address: u32) -> Result<u32, Status> {
    io().pci_read(address).map(|r| r.value).map_err(call_status)
}

/// Writes configuration dword `address` (the kernel refuses BARs, ROM and bridges).
pub fn write(address: u32, value: u32) -> Result<(), Status> {
    io().pci_write(address, value)
        .map(|_| ())
        .map_err(call_status)
}

/// The size of the region BAR dword `address` decodes.
pub fn bar_size(address: u32) -> Result<u64, Status> {
    io().pci_bar_size(address)
        .map(|r| r.size)
        .map_err(call_status)
}
