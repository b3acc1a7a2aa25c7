//! Kernel page tables on AArch64 (4 KiB granule, 48-bit virtual addresses, four levels).
//!
//! The upper half (TTBR1) belongs to the kernel:
//!
//! | virtual address | what |
//! |---|---|
//! | `0xffff_0000_0000_0000 + pa` | direct map of all RAM (read-write, never executable) |
//! | `0xffff_0000_0000_0000 + pa` | device registers mapped on demand (device memory) |
//! | `0xffff_ff80_0000_0000 + pa` | the kernel image: text RX, rodata R, data and bss RW |
//!
//! The lower half (TTBR0) is for user address spaces and is empty while the kernel runs on
//! its own. The table walker is written here rather than taken from a crate: the kernel's
//! tables are built before the heap exists (so a walker that allocates its tables through
//! the global allocator, as `aarch64-paging` does, cannot be used), and the walk itself is a
//! few dozen lines over the architecture's descriptor format.

use core::sync::atomic::{AtomicU64, Ordering};

use ostrog_abi::layout::{USER_END, USER_MIN};
use spin::Mutex;

use crate::boot::{BootInfo, PhysAddr, RegionKind};
use crate::mm::{frame, Access, MapError, PAGE_SIZE};

/// Where the kernel image is linked: virtual = KERNEL_BASE + physical.
pub const KERNEL_BASE: u64 = 0xffff_ff80_0000_0000;
/// Base of the direct map of physical memory.
pub const PHYS_OFFSET: u64 = 0xffff_0000_0000_0000;

/// `MAIR_EL1`: attribute 0 device nGnRnE, 1 normal write-back, 2 normal non-cacheable.
pub const MAIR: u64 = 0x00_44_ff_00;
const ATTR_DEVICE: u64 = 0 << 2;
const ATTR_NORMAL: u64 = 1 << 2;
/// The MAIR index field of a descriptor.
const ATTR_MASK: u64 = 7 << 2;

/// `TCR_EL1` without IPS (filled in from the CPU): 48-bit regions for both halves, 4 KiB
/// granules, write-back cacheable, inner-shareable walks.
pub const TCR: u64 = 16 | (1 << 8) | (1 << 10) | (3 << 12) // TTBR0
    | (16 << 16) | (1 << 24) | (1 << 26) | (3 << 28) | (2 << 30); // TTBR1

/// `SCTLR_EL1`: MMU, data and instruction caches on, plus the bits that read as one.
pub const SCTLR: u64 = 0x30d0_0800 | (1 << 0) | (1 << 2) | (1 << 12);

// Descriptor bits.
const VALID: u64 = 1 << 0;
const TABLE: u64 = 1 << 1; // in levels 0-2: next-level table; in level 3: page
const AP_EL0: u64 = 1 << 6; // accessible from EL0
const AP_RO: u64 = 1 << 7; // read-only
const SH_INNER: u64 = 3 << 8;
const AF: u64 = 1 << 10;
const NG: u64 = 1 << 11; // not global: tagged with the ASID
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

/// Boot block descriptors (1 GiB, used by the entry code).
pub const BOOT_DEVICE_BLOCK: u64 = VALID | ATTR_DEVICE | AF | PXN | UXN;
pub const BOOT_NORMAL_BLOCK: u64 = VALID | ATTR_NORMAL | SH_INNER | AF | UXN;

const SIZE_4K: u64 = 4096;
const SIZE_2M: u64 = 2 * 1024 * 1024;

/// Physical address of the kernel's level-0 table (TTBR1).
static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);
/// Physical address of the empty level-0 table used for TTBR0 when no user space is active.
static EMPTY_ROOT: AtomicU64 = AtomicU64::new(0);

pub fn phys_to_virt(addr: PhysAddr) -> *mut u8 {
    (PHYS_OFFSET + addr.0) as *mut u8
}

fn table(pa: u64) -> *mut u64 {
    phys_to_virt(PhysAddr(pa)) as *mut u64
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (39 - 9 * level)) & 511) as usize
}

/// Why a kernel mapping could not be made.
#[derive(Debug)]
enum WalkError {
    OutOfMemory,
    BlockInTheWay,
}

/// The descriptor slot for `va` at `level` (1: 1 GiB, 2: 2 MiB, 3: 4 KiB) under `root`,
/// creating intermediate tables as needed (with `table_bits` added to them).
fn slot(root: u64, va: u64, level: u32, table_bits: u64) -> Result<*mut u64, WalkError> {
    let mut current = root;
    for l in 0..level {
        // SAFETY: `current` is a page-table frame (the root or one created below), reachable
        // through the direct map; the index is below 512.
        let entry = unsafe { table(current).add(index(va, l)) };
        // SAFETY: as above; page tables are only changed with the owning lock held or during
        // single-threaded boot.
        let value = unsafe { entry.read_volatile() };
        if value & VALID == 0 {
            let next = frame::alloc().ok_or(WalkError::OutOfMemory)?;
            // SAFETY: as above; the new table is zeroed.
            unsafe { entry.write_volatile(next.0 | VALID | TABLE | table_bits) };
            current = next.0;
        } else if value & TABLE == 0 {
            return Err(WalkError::BlockInTheWay);
        } else {
            current = value & ADDR_MASK;
        }
    }
    // SAFETY: `current` is the table of the requested level.
    Ok(unsafe { table(current).add(index(va, level)) })
}

/// Maps `[start, end)` of physical memory at `base + pa`, with 2 MiB blocks where the range
/// allows. Slots already in use are left alone.
#[allow(
    clippy::panic,
    reason = "boot: the kernel cannot run without its page tables"
)]
fn map_range(root: u64, base: u64, start: u64, end: u64, attrs: u64) {
    let mut pa = start & !(SIZE_4K - 1);
    while pa < end {
        let va = base + pa;
        let (level, size, kind) = if pa.is_multiple_of(SIZE_2M) && pa + SIZE_2M <= end {
            (2, SIZE_2M, 0)
        } else {
            (3, SIZE_4K, TABLE)
        };
        match slot(root, va, level, 0) {
            Ok(entry) => {
                // SAFETY: the slot belongs to the table being built.
                unsafe {
                    if entry.read_volatile() & VALID == 0 {
                        entry.write_volatile(pa | VALID | kind | attrs);
                    }
                }
            }
            Err(WalkError::BlockInTheWay) => {}
            Err(WalkError::OutOfMemory) => panic!("out of memory for the kernel page tables"),
        }
        pa += size;
    }
}

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
}

/// Builds the kernel's page tables and switches to them.
#[allow(
    clippy::panic,
    reason = "boot: the kernel cannot run without its page tables"
)]
pub fn init_paging(info: &BootInfo) {
    let (Some(root), Some(empty)) = (frame::alloc(), frame::alloc()) else {
        panic!("out of memory for the kernel page tables");
    };
    let ram = VALID | ATTR_NORMAL | SH_INNER | AF | PXN | UXN;
    for r in info.regions() {
        if r.kind == RegionKind::Usable {
            map_range(root.0, PHYS_OFFSET, r.start, r.end(), ram);
        }
    }
    let image = VALID | ATTR_NORMAL | SH_INNER | AF | UXN;
    let sections = [
        (
            &raw const __text_start,
            &raw const __text_end,
            image | AP_RO,
        ),
        (
            &raw const __rodata_start,
            &raw const __rodata_end,
            image | AP_RO | PXN,
        ),
        (&raw const __data_start, &raw const __data_end, image | PXN),
    ];
    for (start, end, attrs) in sections {
        let (start, end) = (start as u64 - KERNEL_BASE, end as u64 - KERNEL_BASE);
        let mut pa = start;
        while pa < end {
            match slot(root.0, KERNEL_BASE + pa, 3, 0) {
                // SAFETY: the slot belongs to the table being built.
                Ok(entry) => unsafe { entry.write_volatile(pa | VALID | TABLE | attrs) },
                Err(e) => panic!("cannot map the kernel image at {pa:#x}: {e:?}"),
            }
            pa += SIZE_4K;
        }
    }
    for (base, len) in kernel_mmio() {
        map_device(root.0, base, len);
    }
    KERNEL_ROOT.store(root.0, Ordering::Relaxed);
    EMPTY_ROOT.store(empty.0, Ordering::Relaxed);
    // SAFETY: the new tables map the kernel image, the direct map and the devices in use at
    // the same addresses as the boot tables, so execution continues; only the identity map
    // and the unused parts of the first gigabyte disappear.
    unsafe {
        core::arch::asm!(
            "dsb ishst",
            "msr ttbr1_el1, {root}",
            "msr ttbr0_el1, {empty}",
            "isb",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            root = in(reg) root.0,
            empty = in(reg) empty.0,
        );
    }
    if enable_pan() {
        println!("paging: PAN on (the kernel cannot touch user memory directly)");
    } else {
        println!("paging: this CPU has no PAN (ARMv8.0); user memory is reached only via usercopy");
    }
}

/// Turns on Privileged Access Never where the CPU has it (ARMv8.1 and later): the kernel
/// then faults on any access to user memory through user addresses. It never makes one
/// (`usercopy` goes through the direct map), so PAN stays on for good: SCTLR_EL1.SPAN is
/// cleared, which sets PSTATE.PAN on every exception taken to EL1. Returns whether PAN is on.
pub fn enable_pan() -> bool {
    let mmfr1: u64;
    // SAFETY: reading an ID register has no effect.
    unsafe {
        core::arch::asm!("mrs {0}, id_aa64mmfr1_el1", out(reg) mmfr1, options(nomem, nostack))
    };
    if (mmfr1 >> 20) & 0xf == 0 {
        return false;
    }
    // SAFETY: SPAN (bit 23) only chooses whether exceptions set PSTATE.PAN; `msr pan, #1`
    // (encoded, for assemblers without ARMv8.1) sets it now. The kernel never touches user
    // addresses directly, so nothing that ran before faults now.
    unsafe {
        core::arch::asm!(
            "mrs {tmp}, sctlr_el1",
            "bic {tmp}, {tmp}, #(1 << 23)",
            "msr sctlr_el1, {tmp}",
            "isb",
            ".inst 0xd500419f",
            tmp = out(reg) _,
            options(nostack),
        );
    }
    true
}

#[allow(
    clippy::panic,
    reason = "boot: the kernel's own devices must be mapped"
)]
fn map_device(root: u64, phys: u64, len: u64) {
    let attrs = VALID | TABLE | ATTR_DEVICE | AF | PXN | UXN;
    let mut pa = phys & !(SIZE_4K - 1);
    while pa < phys.saturating_add(len) {
        match slot(root, PHYS_OFFSET + pa, 3, 0) {
            // SAFETY: device pages go where the direct map would put them; RAM is never
            // there, so no existing mapping changes meaning.
            Ok(entry) => unsafe { entry.write_volatile(pa | attrs) },
            Err(e) => panic!("cannot map device registers at {pa:#x}: {e:?}"),
        }
        pa += SIZE_4K;
    }
}

/// Maps device registers at `[phys, phys + len)` into the direct-map region of the running
/// kernel and returns their virtual address. Before [`init_paging`] the boot tables already
/// map the first gigabyte as device memory.
pub fn map_mmio(phys: u64, len: u64) -> *mut u8 {
    let root = KERNEL_ROOT.load(Ordering::Relaxed);
    if root != 0 {
        map_device(root, phys, len);
        // SAFETY: barriers only: make the new descriptors visible to the table walker.
        unsafe { core::arch::asm!("dsb ishst", "isb") };
    }
    phys_to_virt(PhysAddr(phys))
}

/// Where thread kernel stacks are mapped ([`crate::mm::kstack`]): TTBR1 is shared by every
/// address space, so stacks mapped here are seen everywhere.
pub const KERNEL_STACKS: usize = 0xffff_fe00_0000_0000;

/// Maps `frame` read-write for EL1 only (never executable, global) at kernel address `va`
/// in [`KERNEL_STACKS`].
pub fn map_kernel_page(va: usize, frame: PhysAddr) -> Result<(), MapError> {
    let root = KERNEL_ROOT.load(Ordering::Relaxed);
    if root == 0 || !(KERNEL_STACKS..KERNEL_STACKS + (1 << 30)).contains(&va) {
        return Err(MapError::OutOfRange);
    }
    let entry = match slot(root, va as u64, 3, 0) {
        Ok(entry) => entry,
        Err(WalkError::OutOfMemory) => return Err(MapError::OutOfMemory),
        Err(WalkError::BlockInTheWay) => return Err(MapError::AlreadyMapped),
    };
    // SAFETY: the slot is a level-3 entry of the kernel's tables in the kernel-stack area,
    // which only this function and `unmap_kernel_page` change (kernel not preemptible).
    unsafe {
        if entry.read_volatile() & VALID != 0 {
            return Err(MapError::AlreadyMapped);
        }
        entry.write_volatile(frame.0 | VALID | TABLE | ATTR_NORMAL | SH_INNER | AF | PXN | UXN);
        core::arch::asm!("dsb ishst", "isb");
    }
    Ok(())
}

/// Unmaps kernel address `va` (mapped by [`map_kernel_page`]) and flushes it from the TLB.
pub fn unmap_kernel_page(va: usize) {
    let root = KERNEL_ROOT.load(Ordering::Relaxed);
    if root == 0 {
        return;
    }
    if let Ok(entry) = slot(root, va as u64, 3, 0) {
        // SAFETY: as in `map_kernel_page`; then TLB maintenance for that address in every
        // ASID.
        unsafe {
            entry.write_volatile(0);
            core::arch::asm!(
                "dsb ishst",
                "tlbi vaae1is, {0}",
                "dsb ish",
                "isb",
                in(reg) (va as u64 >> 12) & ((1 << 44) - 1),
            );
        }
    }
}

/// Makes the kernel's own (empty) lower half current: no user mappings are reachable.
pub fn activate_kernel_space() {
    let empty = EMPTY_ROOT.load(Ordering::Relaxed);
    // SAFETY: the empty table maps nothing; the kernel lives in the upper half (TTBR1).
    unsafe { core::arch::asm!("msr ttbr0_el1, {0}", "isb", in(reg) empty) };
}

/// Address-space identifiers in use (8-bit ASIDs; 0 is shared by spaces that found none free,
/// which are then flushed from the TLB whenever they are activated).
static ASIDS: Mutex<[u64; 4]> = Mutex::new([1, 0, 0, 0]);

fn alloc_asid() -> u16 {
    let mut used = ASIDS.lock();
    for (word_index, word) in used.iter_mut().enumerate() {
        if *word != u64::MAX {
            let bit = word.trailing_ones();
            *word |= 1 << bit;
            return (word_index as u32 * 64 + bit) as u16;
        }
    }
    0
}

fn free_asid(asid: u16) {
    if asid != 0 {
        if let Some(word) = ASIDS.lock().get_mut(usize::from(asid / 64)) {
            *word &= !(1 << (asid % 64));
        }
    }
}

/// A user address space: its own level-0 table for TTBR0, tagged with an ASID so that
/// switching spaces needs no TLB flush. User pages are 4 KiB, not global, never executable by
/// the kernel (PXN), and never writable and executable at once.
pub struct AddressSpace {
    root: u64,
    asid: u16,
}

fn check_user(va: usize) -> Result<u64, MapError> {
    if !va.is_multiple_of(PAGE_SIZE) || !(USER_MIN..USER_END).contains(&va) {
        return Err(MapError::OutOfRange);
    }
    Ok(va as u64)
}

fn leaf(frame: PhysAddr, access: Access) -> u64 {
    let memory = if access.device {
        ATTR_DEVICE | UXN
    } else {
        ATTR_NORMAL | SH_INNER
    };
    if access.none {
        // Valid (it keeps its frame) but without EL0 access, read-only and never
        // executable at any level: EL0 can neither read, write nor execute it.
        return frame.0 | VALID | TABLE | memory | AF | NG | AP_RO | PXN | UXN;
    }
    let mut bits = frame.0 | VALID | TABLE | memory | AF | NG | AP_EL0 | PXN;
    if !access.write {
        bits |= AP_RO;
    }
    if !access.execute {
        bits |= UXN;
    }
    bits
}

impl AddressSpace {
    /// A new, empty user address space; None when out of memory.
    pub fn new() -> Option<AddressSpace> {
        let root = frame::alloc()?;
        Some(AddressSpace {
            root: root.0,
            asid: alloc_asid(),
        })
    }

    /// The level-3 slot of `va`, if its tables exist.
    fn find(&self, va: u64) -> Option<*mut u64> {
        let mut current = self.root;
        for level in 0..3 {
            // SAFETY: `current` is a table of this address space, in the direct map.
            let value = unsafe { table(current).add(index(va, level)).read_volatile() };
            if value & (VALID | TABLE) != VALID | TABLE {
                return None;
            }
            current = value & ADDR_MASK;
        }
        // SAFETY: as above; the index is below 512.
        Some(unsafe { table(current).add(index(va, 3)) })
    }

    fn flush(&self, va: u64) {
        let operand = (u64::from(self.asid) << 48) | (va >> 12);
        // SAFETY: TLB maintenance for one page of this ASID; no memory is accessed.
        unsafe {
            core::arch::asm!("dsb ishst", "tlbi vae1is, {0}", "dsb ish", "isb", in(reg) operand)
        };
    }

    /// Maps the user page at `va` to `frame`.
    pub fn map(&mut self, va: usize, frame: PhysAddr, access: Access) -> Result<(), MapError> {
        let va = check_user(va)?;
        let entry = slot(self.root, va, 3, 0).map_err(|e| match e {
            WalkError::OutOfMemory => MapError::OutOfMemory,
            WalkError::BlockInTheWay => MapError::AlreadyMapped,
        })?;
        // SAFETY: the slot belongs to this address space's tables; `&mut self` excludes
        // concurrent changes.
        unsafe {
            if entry.read_volatile() & VALID != 0 {
                return Err(MapError::AlreadyMapped);
            }
            entry.write_volatile(leaf(frame, access));
            // An invalid entry is never cached, so a barrier is all the TLB needs.
            core::arch::asm!("dsb ishst", "isb");
        }
        Ok(())
    }

    /// Unmaps the user page at `va`, returning the frame it mapped.
    pub fn unmap(&mut self, va: usize) -> Result<PhysAddr, MapError> {
        let va = check_user(va)?;
        let entry = self.find(va).ok_or(MapError::NotMapped)?;
        // SAFETY: as in `map`.
        let value = unsafe { entry.read_volatile() };
        if value & VALID == 0 {
            return Err(MapError::NotMapped);
        }
        // SAFETY: as in `map`.
        unsafe { entry.write_volatile(0) };
        self.flush(va);
        Ok(PhysAddr(value & ADDR_MASK))
    }

    /// Changes the access rights of the user page at `va`.
    pub fn protect(&mut self, va: usize, access: Access) -> Result<(), MapError> {
        let va = check_user(va)?;
        let entry = self.find(va).ok_or(MapError::NotMapped)?;
        // SAFETY: as in `map`.
        let value = unsafe { entry.read_volatile() };
        if value & VALID == 0 {
            return Err(MapError::NotMapped);
        }
        // SAFETY: as in `map`.
        unsafe { entry.write_volatile(leaf(PhysAddr(value & ADDR_MASK), access)) };
        self.flush(va);
        Ok(())
    }

    /// The frame and rights of the user page containing `va`, if it is mapped.
    pub fn translate(&self, va: usize) -> Option<(PhysAddr, Access)> {
        if !(USER_MIN..USER_END).contains(&va) {
            return None;
        }
        let page = (va as u64) & !(SIZE_4K - 1);
        // SAFETY: read-only access to this address space's tables.
        let value = unsafe { self.find(page)?.read_volatile() };
        if value & (VALID | AP_EL0) != VALID | AP_EL0 {
            return None;
        }
        Some((
            PhysAddr((value & ADDR_MASK) + (va as u64 & (SIZE_4K - 1))),
            Access {
                write: value & AP_RO == 0,
                execute: value & UXN == 0,
                device: value & ATTR_MASK == ATTR_DEVICE,
                none: false,
            },
        ))
    }

    /// Calls `f` with every mapped user page in address order: its address, frame and
    /// rights (`none` for a page without EL0 access); stops when `f` returns false.
    pub fn for_each_page(&self, mut f: impl FnMut(usize, PhysAddr, Access) -> bool) {
        fn entries(table_pa: u64) -> &'static [u64; 512] {
            // SAFETY: `table_pa` is a table of this address space, in the direct map.
            unsafe { &*(phys_to_virt(PhysAddr(table_pa)) as *const [u64; 512]) }
        }
        let table_entry = |e: u64| e & (VALID | TABLE) == VALID | TABLE;
        for (i0, &l0) in entries(self.root).iter().enumerate() {
            if !table_entry(l0) {
                continue;
            }
            for (i1, &l1) in entries(l0 & ADDR_MASK).iter().enumerate() {
                if !table_entry(l1) {
                    continue;
                }
                for (i2, &l2) in entries(l1 & ADDR_MASK).iter().enumerate() {
                    if !table_entry(l2) {
                        continue;
                    }
                    for (i3, &l3) in entries(l2 & ADDR_MASK).iter().enumerate() {
                        if l3 & VALID == 0 {
                            continue;
                        }
                        let va = (i0 << 39) | (i1 << 30) | (i2 << 21) | (i3 << 12);
                        let access = Access {
                            write: l3 & AP_RO == 0,
                            execute: l3 & UXN == 0,
                            device: l3 & ATTR_MASK == ATTR_DEVICE,
                            none: l3 & AP_EL0 == 0,
                        };
                        if !f(va, PhysAddr(l3 & ADDR_MASK), access) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Makes this the current user address space.
    pub fn activate(&self) {
        let ttbr = self.root | (u64::from(self.asid) << 48);
        // SAFETY: only the lower half changes; the kernel runs in the upper half. ASID 0 is
        // shared, so its stale entries are dropped before use.
        unsafe {
            core::arch::asm!("msr ttbr0_el1, {0}", "isb", in(reg) ttbr);
            if self.asid == 0 {
                core::arch::asm!("tlbi aside1, xzr", "dsb nsh", "isb");
            }
        }
    }
}

impl Drop for AddressSpace {
    /// Frees every user page, every table and the root, and the ASID's TLB entries. The
    /// address space must not be active.
    fn drop(&mut self) {
        fn entries(table_pa: u64) -> &'static [u64; 512] {
            // SAFETY: `table_pa` is a table of this address space, in the direct map.
            unsafe { &*(phys_to_virt(PhysAddr(table_pa)) as *const [u64; 512]) }
        }
        let valid = |e: &&u64| **e & VALID != 0;
        for &l0 in entries(self.root).iter().filter(valid) {
            for &l1 in entries(l0 & ADDR_MASK).iter().filter(valid) {
                for &l2 in entries(l1 & ADDR_MASK).iter().filter(valid) {
                    for &l3 in entries(l2 & ADDR_MASK).iter().filter(valid) {
                        frame::free(PhysAddr(l3 & ADDR_MASK));
                    }
                    frame::free(PhysAddr(l2 & ADDR_MASK));
                }
                frame::free(PhysAddr(l1 & ADDR_MASK));
            }
            frame::free(PhysAddr(l0 & ADDR_MASK));
        }
        frame::free(PhysAddr(self.root));
        let operand = u64::from(self.asid) << 48;
        // SAFETY: TLB maintenance only.
        unsafe {
            core::arch::asm!("dsb ishst", "tlbi aside1is, {0}", "dsb ish", "isb", in(reg) operand)
        };
        free_asid(self.asid);
    }
}

/// Device register ranges the kernel page tables must map: console and interrupt controller.
pub fn kernel_mmio() -> impl Iterator<Item = (u64, u64)> {
    core::iter::once(super::console::mmio_range())
        .chain(super::intc::mmio_ranges())
        .flatten()
}
