//! What the architecture's entry code learned about the machine, in one arch-independent
//! structure: the physical memory map, ranges that must not be handed out, and the command
//! line.
//!
//! Everything is copied into fixed-capacity arrays owned by the kernel before the frame
//! allocator starts, so the boot protocol's own structures (Multiboot2 or PVH info on x86, the
//! device tree on AArch64) may be overwritten afterwards unless the arch code reserves them.

use core::fmt;

/// A physical address. Always 64 bits wide, also on 32-bit CPUs with PAE/LPAE.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PhysAddr(pub u64);

impl fmt::Debug for PhysAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// What a range of physical memory is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// RAM the kernel may allocate.
    Usable,
    /// Firmware or device memory; never allocated.
    Reserved,
    /// ACPI tables; reclaimable once parsed (kept for now).
    AcpiReclaimable,
    /// ACPI non-volatile storage.
    AcpiNvs,
    /// Memory reported defective.
    Unusable,
}

/// A range of physical memory reported by the boot protocol.
#[derive(Clone, Copy, Debug)]
pub struct MemoryRegion {
    pub start: u64,
    pub len: u64,
    pub kind: RegionKind,
}

impl MemoryRegion {
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }
}

/// Maximum number of memory-map entries kept; firmware maps beyond this are truncated with a
/// warning (real PCs report a few dozen).
pub const MAX_REGIONS: usize = 64;
/// Maximum number of reserved ranges (kernel image, boot structures, device tree, firmware
/// reservations, ...). One more stops the boot (see [`BootInfo::reserve`]).
pub const MAX_RESERVED: usize = 32;
/// Maximum command-line length kept.
pub const MAX_CMDLINE: usize = 512;

/// The machine as the entry code found it.
pub struct BootInfo {
    regions: [MemoryRegion; MAX_REGIONS],
    region_count: usize,
    reserved: [(u64, u64); MAX_RESERVED],
    reserved_count: usize,
    cmdline: [u8; MAX_CMDLINE],
    cmdline_len: usize,
    /// Name of the boot protocol, for the banner.
    pub protocol: &'static str,
    truncated: bool,
}

impl BootInfo {
    pub const fn new(protocol: &'static str) -> Self {
        const EMPTY: MemoryRegion = MemoryRegion {
            start: 0,
            len: 0,
            kind: RegionKind::Reserved,
        };
        BootInfo {
            regions: [EMPTY; MAX_REGIONS],
            region_count: 0,
            reserved: [(0, 0); MAX_RESERVED],
            reserved_count: 0,
            cmdline: [0; MAX_CMDLINE],
            cmdline_len: 0,
            protocol,
            truncated: false,
        }
    }

    /// Records a memory-map entry. Empty entries are ignored. A usable entry beyond
    /// [`MAX_REGIONS`] is dropped with a warning (that memory stays unused); any other kind
    /// stops the boot, because forgetting firmware or device memory would let it be
    /// allocated or mapped by a driver.
    #[allow(
        clippy::panic,
        reason = "boot: a reservation that cannot be kept must stop the boot"
    )]
    pub fn add_region(&mut self, start: u64, len: u64, kind: RegionKind) {
        if len == 0 {
            return;
        }
        match self.regions.get_mut(self.region_count) {
            Some(slot) => {
                *slot = MemoryRegion { start, len, kind };
                self.region_count += 1;
            }
            None if kind == RegionKind::Usable => self.truncated = true,
            None => panic!(
                "boot: memory map has more than {MAX_REGIONS} entries; cannot record \
                 {kind:?} [{start:#x}+{len:#x}]"
            ),
        }
    }

    /// Marks `[start, end)` as never to be allocated (even if inside a usable region). A
    /// reservation that does not fit stops the boot: skipping it would let the frame
    /// allocator hand out the kernel image, the device tree or firmware memory.
    #[allow(
        clippy::panic,
        reason = "boot: a reservation that cannot be kept must stop the boot"
    )]
    pub fn reserve(&mut self, start: u64, end: u64) {
        match self.reserved.get_mut(self.reserved_count) {
            Some(slot) => {
                *slot = (start, end);
                self.reserved_count += 1;
            }
            None => panic!(
                "boot: more than {MAX_RESERVED} reserved ranges; cannot honour \
                 [{start:#x}-{end:#x})"
            ),
        }
    }

    /// Stores the command line (truncated to [`MAX_CMDLINE`] bytes, cut at a UTF-8 boundary).
    pub fn set_cmdline(&mut self, bytes: &[u8]) {
        let bytes = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
        let mut len = bytes.len().min(MAX_CMDLINE);
        while core::str::from_utf8(bytes.get(..len).unwrap_or(&[])).is_err() && len > 0 {
            len -= 1;
        }
        if let (Some(dst), Some(src)) = (self.cmdline.get_mut(..len), bytes.get(..len)) {
            dst.copy_from_slice(src);
            self.cmdline_len = len;
        }
    }

    pub fn regions(&self) -> &[MemoryRegion] {
        self.regions.get(..self.region_count).unwrap_or(&[])
    }

    pub fn reserved(&self) -> &[(u64, u64)] {
        self.reserved.get(..self.reserved_count).unwrap_or(&[])
    }

    pub fn cmdline(&self) -> &str {
        let bytes = self.cmdline.get(..self.cmdline_len).unwrap_or(&[]);
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// Highest address of usable RAM.
    pub fn ram_end(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind == RegionKind::Usable)
            .map(MemoryRegion::end)
            .max()
            .unwrap_or(0)
    }
}

/// Prints the memory map the way the boot banner shows it.
pub fn print_memory_map(info: &BootInfo) {
    println!("boot protocol: {}", info.protocol);
    println!("physical memory map:");
    let mut usable = 0u64;
    for r in info.regions() {
        println!(
            "  [{:#014x}-{:#014x}] {:>9} KiB  {:?}",
            r.start,
            r.end().saturating_sub(1),
            r.len / 1024,
            r.kind
        );
        if r.kind == RegionKind::Usable {
            usable = usable.saturating_add(r.len);
        }
    }
    for &(start, end) in info.reserved() {
        println!("  reserved for the kernel: [{:#014x}-{:#014x}]", start, end);
    }
    if info.truncated {
        println!("  warning: usable memory beyond the first {MAX_REGIONS} map entries is unused");
    }
    println!("usable memory: {} MiB", usable / (1024 * 1024));
}
