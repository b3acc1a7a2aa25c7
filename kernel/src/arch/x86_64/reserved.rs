//! The table of device ranges no process may have on x86_64 (`q35` and PCs): what
//! `io.ClaimPorts` and `io.MapMmio` refuse whatever the policy grants.
//!
//! A range is here when holding it amounts to kernel privilege: the devices the kernel
//! drives itself (console, timers, interrupt controllers), those that reset, power off or
//! reconfigure the machine, those that reach all of memory or every device (ISA DMA, PCI
//! configuration space, firmware configuration), and the address window whose writes are
//! interrupt messages. Fixed ranges are listed below; the PCIe configuration window (ACPI
//! MCFG) and the ACPI power-management and reset registers (ACPI FADT) are read from the
//! firmware's tables at boot ([`read_acpi`]), with QEMU `q35`'s values as a fallback.
//!
//! Everything the boot memory map describes (RAM, firmware, reserved) is refused by
//! `io.MapMmio` as well, see [`crate::mm::overlaps_memory`].

use spin::Mutex;

use ostrog_abi::Status;

use super::boot::read_phys;

/// I/O ports no process may claim (inclusive ranges), and why.
pub const RESERVED_PORTS: [(u16, u16, &str); 15] = [
    (0x00, 0x1f, "ISA DMA controller 1 (DMA to low memory)"),
    (0x20, 0x21, "8259 PIC 1 (kept masked by the kernel)"),
    (0x40, 0x43, "PIT (timer calibration)"),
    (0x61, 0x61, "PIT gate and NMI status"),
    (0x64, 0x64, "i8042 command port (pulses the CPU reset line)"),
    (0x80, 0x8f, "ISA DMA page registers"),
    (0x92, 0x92, "system control port A (fast reset, A20)"),
    (0xa0, 0xa1, "8259 PIC 2"),
    (0xb2, 0xb3, "APM/SMI command (enters firmware SMM code)"),
    (0xc0, 0xdf, "ISA DMA controller 2"),
    (0xf4, 0xf7, "isa-debug-exit (ends the machine under QEMU)"),
    (0x3f8, 0x3ff, "COM1, the kernel console"),
    (
        0x510,
        0x51b,
        "QEMU fw_cfg (firmware configuration and its DMA)",
    ),
    (
        0x600,
        0x67f,
        "ICH9 ACPI power management (q35 PMBASE: power off, sleep)",
    ),
    (
        0xcf8,
        0xcff,
        "PCI configuration ports and reset control 0xcf9",
    ),
];

/// QEMU `q35`'s PCIe configuration window (MMCONFIG), used when ACPI names none.
const Q35_ECAM: (u64, u64) = (0xb000_0000, 0xc000_0000);

/// Physical ranges no process may map, besides the local APIC (wherever IA32_APIC_BASE
/// puts it) and what ACPI names: `[start, end)` and why.
pub const RESERVED_MMIO: [(u64, u64, &str); 3] = [
    (0xfec0_0000, 0xfed0_0000, "I/O APIC window"),
    (
        0xfee0_0000,
        0xfef0_0000,
        "local APIC and MSI window (a write here is an interrupt message)",
    ),
    (
        0xff00_0000,
        0x1_0000_0000,
        "firmware flash and reset vector",
    ),
];

/// Ranges read from ACPI at boot: at most this many of each kind.
const ACPI_SLOTS: usize = 12;

struct Learned {
    mmio: [(u64, u64); ACPI_SLOTS],
    mmio_len: usize,
    ports: [(u16, u16); ACPI_SLOTS],
    ports_len: usize,
    /// Whether an MCFG table was found (else [`Q35_ECAM`] is reserved).
    mcfg: bool,
}

static LEARNED: Mutex<Learned> = Mutex::new(Learned {
    mmio: [(0, 0); ACPI_SLOTS],
    mmio_len: 0,
    ports: [(0, 0); ACPI_SLOTS],
    ports_len: 0,
    mcfg: false,
});

impl Learned {
    #[allow(
        clippy::panic,
        reason = "boot: a device range left out would become mappable by drivers"
    )]
    fn add_mmio(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        match self.mmio.get_mut(self.mmio_len) {
            Some(slot) => {
                *slot = (start, end);
                self.mmio_len += 1;
            }
            None => panic!("ACPI names more than {ACPI_SLOTS} reserved device ranges"),
        }
    }

    #[allow(
        clippy::panic,
        reason = "boot: a device range left out would become mappable by drivers"
    )]
    fn add_ports(&mut self, first: u64, len: u64) {
        if first == 0 || len == 0 || first > 0xffff {
            return;
        }
        let last = (first + len - 1).min(0xffff);
        match self.ports.get_mut(self.ports_len) {
            Some(slot) => {
                *slot = (first as u16, last as u16);
                self.ports_len += 1;
            }
            None => panic!("ACPI names more than {ACPI_SLOTS} reserved port ranges"),
        }
    }
}

/// Whether a process may claim ports `first..=last`: `AccessDenied` if any is reserved.
pub fn ports_claimable(first: u16, last: u16) -> Result<(), Status> {
    let hit = |&(s, e): &(u16, u16)| first <= e && s <= last;
    let learned = LEARNED.lock();
    let acpi = learned.ports.iter().take(learned.ports_len);
    if RESERVED_PORTS
        .iter()
        .map(|&(s, e, _)| (s, e))
        .any(|r| hit(&r))
        || acpi.clone().any(hit)
    {
        return Err(Status::AccessDenied);
    }
    Ok(())
}

/// Every physical range no process may map, as `(start, end)`: the fixed table, the local
/// APIC, and the PCIe configuration window(s).
pub fn kernel_devices() -> impl Iterator<Item = (u64, u64)> {
    let learned = LEARNED.lock();
    let mut acpi = [(0u64, 0u64); ACPI_SLOTS + 1];
    for (slot, &range) in acpi
        .iter_mut()
        .zip(learned.mmio.iter().take(learned.mmio_len))
    {
        *slot = range;
    }
    if !learned.mcfg {
        acpi[ACPI_SLOTS] = Q35_ECAM;
    }
    drop(learned);
    let lapic = super::intc::lapic_phys();
    RESERVED_MMIO
        .into_iter()
        .map(|(s, e, _)| (s, e))
        .chain(core::iter::once((lapic, lapic + 4096)))
        .chain(acpi.into_iter().filter(|&(s, e)| s < e))
}

/// Largest ACPI table read (MCFG and FADT are a few hundred bytes).
const MAX_TABLE: u32 = 64 * 1024;

/// Reads a `T` at `phys` if it lies in the first 4 GiB (what the boot tables map).
fn peek<T: Copy>(phys: u64) -> Option<T> {
    let end = phys.checked_add(core::mem::size_of::<T>() as u64)?;
    if end > 1 << 32 {
        return None;
    }
    // SAFETY: the boot page tables map the first 4 GiB in the direct map; ACPI tables are in
    // firmware memory there and only read.
    Some(unsafe { read_phys(phys) })
}

/// Learns the PCIe configuration windows (MCFG) and the ACPI power-management, reset and
/// SMI ports (FADT) from the ACPI tables whose root pointer (RSDP) is at `rsdp`. Called by
/// the boot code while the boot page tables map the first 4 GiB. Malformed or missing
/// tables leave the fixed table and the `q35` fallback in force.
pub fn read_acpi(rsdp: u64) {
    if peek::<[u8; 8]>(rsdp) != Some(*b"RSD PTR ") {
        return;
    }
    let revision: u8 = peek(rsdp + 15).unwrap_or(0);
    let (root, entry_size) = match peek::<u64>(rsdp + 24) {
        Some(xsdt) if revision >= 2 && xsdt != 0 => (xsdt, 8),
        _ => (u64::from(peek::<u32>(rsdp + 16).unwrap_or(0)), 4),
    };
    let root_len = peek::<u32>(root + 4).unwrap_or(0).min(MAX_TABLE);
    let entries = u64::from(root_len.saturating_sub(36)) / entry_size;
    let mut learned = LEARNED.lock();
    for i in 0..entries {
        let at = root + 36 + i * entry_size;
        let table = if entry_size == 8 {
            peek::<u64>(at)
        } else {
            peek::<u32>(at).map(u64::from)
        };
        let Some(table) = table else { continue };
        let (Some(signature), Some(len)) = (peek::<[u8; 4]>(table), peek::<u32>(table + 4)) else {
            continue;
        };
        let len = u64::from(len.min(MAX_TABLE));
        match &signature {
            b"MCFG" => {
                // 16-byte entries after the header and 8 reserved bytes: base of bus 0,
                // segment, first and last bus.
                let mut e = table + 44;
                while e + 16 <= table + len {
                    if let (Some(base), Some(first), Some(last)) =
                        (peek::<u64>(e), peek::<u8>(e + 10), peek::<u8>(e + 11))
                    {
                        let start = base.saturating_add(u64::from(first) << 20);
                        let end = base.saturating_add((u64::from(last) + 1) << 20);
                        learned.add_mmio(start, end);
                        learned.mcfg = true;
                    }
                    e += 16;
                }
            }
            b"FACP" => {
                let byte = |off: u64| {
                    (off < len)
                        .then(|| peek::<u8>(table + off))
                        .flatten()
                        .unwrap_or(0)
                };
                let word = |off: u64| {
                    (off + 4 <= len)
                        .then(|| peek::<u32>(table + off))
                        .flatten()
                        .unwrap_or(0)
                };
                // SMI command port (one byte), PM1a/b event and control, PM2 control,
                // PM timer, GPE0/1 blocks with their lengths.
                learned.add_ports(u64::from(word(48)), 1);
                for (block, len_at) in [(56, 88), (60, 88), (64, 89), (68, 89), (72, 90)] {
                    learned.add_ports(u64::from(word(block)), u64::from(byte(len_at)));
                }
                learned.add_ports(u64::from(word(76)), u64::from(byte(91)));
                learned.add_ports(u64::from(word(80)), u64::from(byte(92)));
                learned.add_ports(u64::from(word(84)), u64::from(byte(93)));
                // RESET_REG, a generic address: system I/O (1) or memory (0).
                if len >= 129 {
                    let space = byte(116);
                    let addr = peek::<u64>(table + 120).unwrap_or(0);
                    match space {
                        1 => learned.add_ports(addr, 1),
                        0 if addr != 0 => learned.add_mmio(addr & !0xfff, (addr & !0xfff) + 4096),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}
