//! The table of device ranges no process may have on AArch64 (QEMU `virt` and boards
//! described by a device tree): what `io.MapMmio` refuses whatever the policy grants.
//!
//! A range is here when holding it amounts to kernel privilege: the devices the kernel
//! drives itself (the PL011 console, see [`super::console`]; every register frame of the GIC: distributor, CPU
//! interface, virtualization control and virtual CPU interface, redistributors), the
//! firmware configuration device (QEMU fw_cfg, which can also DMA), PCIe configuration space
//! (ECAM: every PCI device's BARs and bus mastering; one day the PCI manager's), MSI
//! doorbell frames (a write there is an interrupt), the IOMMU, and the firmware flash. The
//! device-tree `compatible` strings of those nodes are listed in [`RESERVED_COMPATIBLE`];
//! every `reg` range of every node that matches is recorded at boot ([`read_device_tree`]).
//! The generic timer and PSCI have no registers in the physical address space.
//!
//! Everything the boot memory map describes (RAM, reserved) is refused by `io.MapMmio` as
//! well, see [`crate::mm::overlaps_memory`].

use fdt::Fdt;
use spin::Mutex;

/// Device-tree `compatible` strings of nodes whose registers no process may map, and why.
pub const RESERVED_COMPATIBLE: [(&str, &str); 13] = [
    (
        "arm,cortex-a15-gic",
        "GICv2: the kernel's interrupt controller",
    ),
    ("arm,gic-400", "GICv2"),
    ("arm,cortex-a9-gic", "GICv2"),
    ("arm,gic-v3", "GICv3 distributor and redistributors"),
    ("arm,gic-v2m-frame", "MSI doorbell frame"),
    ("arm,gic-v3-its", "MSI translation service"),
    (
        "qemu,fw-cfg-mmio",
        "QEMU fw_cfg: firmware configuration and its DMA",
    ),
    ("pci-host-ecam-generic", "PCIe configuration space (ECAM)"),
    ("pci-host-cam-generic", "PCI configuration space"),
    ("arm,smmu-v3", "IOMMU: decides what every device may reach"),
    ("arm,mmu-500", "IOMMU"),
    ("cfi-flash", "firmware flash"),
    ("syscon-reboot", "reset controller"),
];

/// Ranges recorded at boot.
const SLOTS: usize = 32;

struct Recorded {
    ranges: [(u64, u64); SLOTS],
    len: usize,
}

static RECORDED: Mutex<Recorded> = Mutex::new(Recorded {
    ranges: [(0, 0); SLOTS],
    len: 0,
});

/// Records every `reg` range of every device-tree node compatible with one of
/// [`RESERVED_COMPATIBLE`]. A range that does not fit the table stops the boot: a device
/// the table cannot hold would silently become mappable.
#[allow(
    clippy::panic,
    reason = "boot: a device range left out would become mappable by drivers"
)]
pub fn read_device_tree(fdt: &Fdt) {
    let mut recorded = RECORDED.lock();
    for node in fdt.all_nodes() {
        let reserved = node.compatible().is_some_and(|c| {
            c.all()
                .any(|name| RESERVED_COMPATIBLE.iter().any(|&(r, _)| r == name))
        });
        if !reserved {
            continue;
        }
        for region in node.reg().into_iter().flatten() {
            let start = region.starting_address as u64;
            let end = start.saturating_add(region.size.unwrap_or(0x1000) as u64);
            let index = recorded.len;
            match recorded.ranges.get_mut(index) {
                Some(slot) => *slot = (start, end),
                None => panic!(
                    "the device tree names more than {SLOTS} reserved device ranges ({})",
                    node.name
                ),
            }
            recorded.len += 1;
        }
    }
}

/// Every physical range no process may map, as `(start, end)`: the devices the kernel maps
/// for itself and the ranges recorded from the device tree.
pub fn kernel_devices() -> impl Iterator<Item = (u64, u64)> {
    let recorded = RECORDED.lock();
    let ranges = recorded.ranges;
    let len = recorded.len;
    drop(recorded);
    super::paging::kernel_mmio()
        .map(|(base, len)| (base, base.saturating_add(len)))
        .chain(ranges.into_iter().take(len))
}

/// AArch64 has no I/O ports: `io.ClaimPorts` answers `NotSupported`.
pub fn ports_claimable(_first: u16, _last: u16) -> Result<(), ostrog_abi::Status> {
    Err(ostrog_abi::Status::NotSupported)
}
