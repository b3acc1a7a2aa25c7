//! Kernel page tables on x86_64 (four levels, 4 KiB / 2 MiB pages).
//!
//! Layout of the kernel half of every address space:
//!
//! | virtual address | what |
//! |---|---|
//! | `0xffff_8000_0000_0000 + pa` | direct map of all RAM (read-write, never executable) |
//! | `0xffff_8000_0000_0000 + pa` | device registers mapped on demand, uncached |
//! | `0xffff_ffff_0000_0000` | [`KERNEL_STACKS`]: thread kernel stacks between unmapped guard pages ([`crate::mm::kstack`]) |
//! | `0xffff_ffff_8000_0000 + pa` | the kernel image: text RX, rodata R, data and bss RW |
//!
//! The lower half is left empty for user address spaces; in particular address 0 is never
//! mapped. The boot tables built by the 32-bit entry code (which identity-map the first
//! 4 GiB) are replaced here by tables built with frames from the frame allocator, using the
//! `x86_64` crate's mapper.

use ostrog_abi::layout::{USER_END, USER_MIN};
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::mapper::MapToError;
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame,
    Size2MiB, Size4KiB,
};
use x86_64::VirtAddr;

use crate::boot::{BootInfo, PhysAddr, RegionKind};
use crate::mm::{frame, Access, MapError, PAGE_SIZE};

/// Where the kernel image is linked: virtual = KERNEL_BASE + physical.
pub const KERNEL_BASE: u64 = 0xffff_ffff_8000_0000;
/// Base of the direct map of physical memory.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;

const SIZE_2M: u64 = 2 * 1024 * 1024;
const SIZE_4K: u64 = 4096;

/// Bits of a page-table entry the user half's walks read (the user half is mapped with
/// 4 KiB pages only, through tables this module made).
const ENTRY_ADDR: u64 = 0x000f_ffff_ffff_f000;
const ENTRY_PRESENT: u64 = 1;
const ENTRY_WRITABLE: u64 = 1 << 1;
const ENTRY_USER: u64 = 1 << 2;
const ENTRY_NO_CACHE: u64 = 1 << 4;
const ENTRY_HUGE: u64 = 1 << 7;
const ENTRY_NO_EXECUTE: u64 = 1 << 63;

/// The entries of a page table of a user address space, through the direct map.
fn entries(table: u64) -> &'static [u64; 512] {
    // SAFETY: `table` is a page-table frame of an address space, in the direct map.
    unsafe { &*(phys_to_virt(PhysAddr(table)) as *const [u64; 512]) }
}

/// What the leaf entry `l1` of a user page allows.
fn leaf_access(l1: u64) -> Access {
    Access {
        write: l1 & ENTRY_WRITABLE != 0,
        execute: l1 & ENTRY_NO_EXECUTE == 0,
        device: l1 & ENTRY_NO_CACHE != 0,
        none: l1 & ENTRY_USER == 0,
    }
}

pub fn phys_to_virt(addr: PhysAddr) -> *mut u8 {
    (PHYS_OFFSET + addr.0) as *mut u8
}

struct KernelFrames;

// SAFETY: frames come from the frame allocator, which hands each frame out once.
unsafe impl FrameAllocator<Size4KiB> for KernelFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        frame::alloc().map(|p| PhysFrame::containing_address(x86_64::PhysAddr::new(p.0)))
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

/// A mapper over the page table whose root is at `root` (physical).
///
/// # Safety
/// `root` must be a PML4 frame reachable through the direct map, and no other mapper may be
/// used on the same tables at the same time.
unsafe fn mapper_for(root: u64) -> OffsetPageTable<'static> {
    let table = phys_to_virt(PhysAddr(root)) as *mut PageTable;
    // SAFETY: guaranteed by the caller; the direct map covers all page-table frames.
    unsafe { OffsetPageTable::new(&mut *table, VirtAddr::new(PHYS_OFFSET)) }
}

/// Maps `[start, end)` of physical memory into the direct map, with 2 MiB pages where the
/// range allows it. Ranges already mapped (overlapping map entries) are left as they are.
fn map_direct(mapper: &mut OffsetPageTable, start: u64, end: u64, flags: Flags) {
    let mut addr = start & !(SIZE_4K - 1);
    while addr < end {
        let virt = VirtAddr::new(PHYS_OFFSET + addr);
        let phys = x86_64::PhysAddr::new(addr);
        if addr.is_multiple_of(SIZE_2M) && addr + SIZE_2M <= end {
            // SAFETY: maps RAM into the direct map, which nothing else uses for other data.
            let r = unsafe {
                mapper.map_to(
                    Page::<Size2MiB>::containing_address(virt),
                    PhysFrame::containing_address(phys),
                    flags | Flags::HUGE_PAGE,
                    &mut KernelFrames,
                )
            };
            if let Ok(flush) = r {
                flush.ignore();
            }
            addr += SIZE_2M;
        } else {
            // SAFETY: as above.
            let r = unsafe {
                mapper.map_to(
                    Page::<Size4KiB>::containing_address(virt),
                    PhysFrame::containing_address(phys),
                    flags,
                    &mut KernelFrames,
                )
            };
            if let Ok(flush) = r {
                flush.ignore();
            }
            addr += SIZE_4K;
        }
    }
}

#[allow(
    clippy::panic,
    reason = "boot: the kernel cannot run without its page tables"
)]
fn map_kernel_section(
    mapper: &mut OffsetPageTable,
    start: *const u8,
    end: *const u8,
    flags: Flags,
) {
    let (start, end) = (start as u64, end as u64);
    let mut virt = start;
    while virt < end {
        // SAFETY: maps the kernel's own image at the address it is linked at.
        let r = unsafe {
            mapper.map_to(
                Page::<Size4KiB>::containing_address(VirtAddr::new(virt)),
                PhysFrame::containing_address(x86_64::PhysAddr::new(virt - KERNEL_BASE)),
                flags,
                &mut KernelFrames,
            )
        };
        match r {
            Ok(flush) => flush.ignore(),
            Err(e) => panic!("cannot map the kernel image at {virt:#x}: {e:?}"),
        }
        virt += SIZE_4K;
    }
}

/// Builds the kernel's page tables and switches to them.
#[allow(
    clippy::panic,
    reason = "boot: the kernel cannot run without its page tables"
)]
pub fn init_paging(info: &BootInfo) {
    let Some(root) = frame::alloc() else {
        panic!("out of memory for the kernel page tables");
    };
    // SAFETY: the frame was just allocated (zeroed) and is used only through this mapper.
    let mut mapper = unsafe { mapper_for(root.0) };
    let ram = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
    for r in info.regions() {
        if matches!(
            r.kind,
            RegionKind::Usable | RegionKind::AcpiReclaimable | RegionKind::AcpiNvs
        ) {
            map_direct(&mut mapper, r.start, r.end(), ram);
        }
    }
    let sections = [
        (
            &raw const __text_start,
            &raw const __text_end,
            Flags::PRESENT | Flags::GLOBAL,
        ),
        (
            &raw const __rodata_start,
            &raw const __rodata_end,
            Flags::PRESENT | Flags::NO_EXECUTE | Flags::GLOBAL,
        ),
        (
            &raw const __data_start,
            &raw const __data_end,
            Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL,
        ),
    ];
    for (start, end, flags) in sections {
        map_kernel_section(&mut mapper, start, end, flags);
    }
    KERNEL_ROOT.store(root.0, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: the new tables map the kernel image (where this code, its stack and all
    // statics live) and the direct map at the same addresses as the boot tables, so
    // execution continues seamlessly; only the identity map disappears.
    unsafe {
        Cr3::write(
            PhysFrame::containing_address(x86_64::PhysAddr::new(root.0)),
            Cr3Flags::empty(),
        );
    }
    protect_kernel_from_user_pages();
}

/// Turns on SMEP (the kernel never executes user pages) and SMAP (the kernel never reads or
/// writes user pages; `usercopy` goes through the direct map instead) where the CPU has them.
fn protect_kernel_from_user_pages() {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    let features = core::arch::x86_64::__cpuid_count(7, 0).ebx;
    let mut flags = Cr4Flags::empty();
    if features & (1 << 7) != 0 {
        flags |= Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION;
    }
    if features & (1 << 20) != 0 {
        flags |= Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION;
    }
    // SAFETY: no kernel code executes or accesses user pages directly, so both protections
    // only turn kernel bugs into faults.
    unsafe { Cr4::update(|f| f.insert(flags)) };
}

/// Maps device registers at `[phys, phys + len)` uncached into the direct-map region and
/// returns their virtual address.
#[allow(
    clippy::panic,
    reason = "boot: the kernel's own devices must be mapped"
)]
pub fn map_mmio(phys: u64, len: u64) -> *mut u8 {
    let (root, _) = Cr3::read();
    // SAFETY: the active root is a page table built by init_paging; boot is single-threaded.
    let mut mapper = unsafe { mapper_for(root.start_address().as_u64()) };
    let flags = Flags::PRESENT
        | Flags::WRITABLE
        | Flags::NO_EXECUTE
        | Flags::GLOBAL
        | Flags::NO_CACHE
        | Flags::WRITE_THROUGH;
    let start = phys & !(SIZE_4K - 1);
    let mut addr = start;
    while addr < phys + len {
        // SAFETY: device pages are mapped where the direct map would put them; RAM is never
        // there, so no existing mapping changes meaning.
        let r = unsafe {
            mapper.map_to(
                Page::<Size4KiB>::containing_address(VirtAddr::new(PHYS_OFFSET + addr)),
                PhysFrame::containing_address(x86_64::PhysAddr::new(addr)),
                flags,
                &mut KernelFrames,
            )
        };
        match r {
            Ok(flush) => flush.flush(),
            Err(x86_64::structures::paging::mapper::MapToError::PageAlreadyMapped(_)) => {}
            Err(e) => panic!("cannot map device registers at {addr:#x}: {e:?}"),
        }
        addr += SIZE_4K;
    }
    phys_to_virt(PhysAddr(phys))
}

/// Where thread kernel stacks are mapped ([`crate::mm::kstack`]): 1 GiB under the same
/// top-level entry as the kernel image, which exists from boot, so every address space
/// (which copies the kernel's top-level entries) sees the stacks mapped later.
pub const KERNEL_STACKS: usize = 0xffff_ffff_0000_0000;

/// Maps `frame` read-write (never executable, global) at kernel address `va` in
/// [`KERNEL_STACKS`].
pub fn map_kernel_page(va: usize, frame: PhysAddr) -> Result<(), MapError> {
    let root = KERNEL_ROOT.load(core::sync::atomic::Ordering::Relaxed);
    if root == 0 || !(KERNEL_STACKS..KERNEL_STACKS + (1 << 30)).contains(&va) {
        return Err(MapError::OutOfRange);
    }
    let flags = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
    crate::arch::without_interrupts(|| {
        // SAFETY: the kernel's root; the kernel is not preemptible and interrupts are off,
        // so no other mapper works on these tables meanwhile.
        let mut mapper = unsafe { mapper_for(root) };
        // SAFETY: `va` is in the kernel-stack area, which nothing else maps; the frame is
        // the caller's.
        let r = unsafe {
            mapper.map_to(
                Page::<Size4KiB>::containing_address(VirtAddr::new(va as u64)),
                PhysFrame::containing_address(x86_64::PhysAddr::new(frame.0)),
                flags,
                &mut KernelFrames,
            )
        };
        match r {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(MapToError::FrameAllocationFailed) => Err(MapError::OutOfMemory),
            Err(_) => Err(MapError::AlreadyMapped),
        }
    })
}

/// Unmaps kernel address `va` (mapped by [`map_kernel_page`]) and flushes it from the TLB.
pub fn unmap_kernel_page(va: usize) {
    let root = KERNEL_ROOT.load(core::sync::atomic::Ordering::Relaxed);
    if root == 0 {
        return;
    }
    crate::arch::without_interrupts(|| {
        // SAFETY: as in `map_kernel_page`.
        let mut mapper = unsafe { mapper_for(root) };
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(va as u64));
        if let Ok((_, flush)) = mapper.unmap(page) {
            flush.flush();
        }
    })
}

/// Physical address of the kernel's own PML4 (set by `init_paging`).
static KERNEL_ROOT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Switches to the kernel's own tables (no user half), e.g. before freeing an address space.
pub fn activate_kernel_space() {
    let root = KERNEL_ROOT.load(core::sync::atomic::Ordering::Relaxed);
    if root != 0 {
        // SAFETY: the kernel tables map everything the kernel uses.
        unsafe {
            Cr3::write(
                PhysFrame::containing_address(x86_64::PhysAddr::new(root)),
                Cr3Flags::empty(),
            )
        };
    }
}

/// A user address space: its own PML4, whose upper half points at the kernel's tables.
///
/// The kernel half is shared by copying the kernel's top-level entries; every kernel mapping
/// lives under top-level entries that exist from boot (direct map, kernel image), so later
/// kernel mappings appear in every address space. User pages are always 4 KiB, user
/// accessible, and never writable and executable at once.
pub struct AddressSpace {
    root: u64,
}

fn user_page(va: usize) -> Result<Page<Size4KiB>, MapError> {
    if !va.is_multiple_of(PAGE_SIZE) || !(USER_MIN..USER_END).contains(&va) {
        return Err(MapError::OutOfRange);
    }
    Ok(Page::containing_address(VirtAddr::new(va as u64)))
}

fn leaf_flags(access: Access) -> Flags {
    if access.none {
        // Present (it keeps its frame) but neither user-accessible nor executable.
        return Flags::PRESENT | Flags::NO_EXECUTE;
    }
    let mut flags = Flags::PRESENT | Flags::USER_ACCESSIBLE;
    if access.write {
        flags |= Flags::WRITABLE;
    }
    if !access.execute || access.device {
        flags |= Flags::NO_EXECUTE;
    }
    if access.device {
        flags |= Flags::NO_CACHE | Flags::WRITE_THROUGH;
    }
    flags
}

impl AddressSpace {
    /// A new, empty user address space; None when out of memory.
    pub fn new() -> Option<AddressSpace> {
        let root = frame::alloc()?;
        let kernel = KERNEL_ROOT.load(core::sync::atomic::Ordering::Relaxed);
        let src = phys_to_virt(PhysAddr(kernel)) as *const u64;
        let dst = phys_to_virt(root) as *mut u64;
        // SAFETY: both are page-table frames in the direct map; the upper 256 entries of the
        // kernel's PML4 are copied into the fresh (zeroed) one.
        unsafe {
            core::ptr::copy_nonoverlapping(src.add(256), dst.add(256), 256);
        }
        Some(AddressSpace { root: root.0 })
    }

    fn mapper(&mut self) -> OffsetPageTable<'static> {
        // SAFETY: `root` is this address space's PML4, and `&mut self` makes this the only
        // mapper on it.
        unsafe { mapper_for(self.root) }
    }

    /// Maps the user page at `va` to `frame`.
    pub fn map(&mut self, va: usize, frame: PhysAddr, access: Access) -> Result<(), MapError> {
        let page = user_page(va)?;
        let table_flags = Flags::PRESENT | Flags::WRITABLE | Flags::USER_ACCESSIBLE;
        // SAFETY: the frame belongs to the caller's process; mapping it into the user half
        // cannot affect kernel memory.
        let result = unsafe {
            self.mapper().map_to_with_table_flags(
                page,
                PhysFrame::containing_address(x86_64::PhysAddr::new(frame.0)),
                leaf_flags(access),
                table_flags,
                &mut KernelFrames,
            )
        };
        match result {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(MapToError::FrameAllocationFailed) => Err(MapError::OutOfMemory),
            Err(_) => Err(MapError::AlreadyMapped),
        }
    }

    /// Unmaps the user page at `va`, returning the frame it mapped.
    pub fn unmap(&mut self, va: usize) -> Result<PhysAddr, MapError> {
        let page = user_page(va)?;
        match self.mapper().unmap(page) {
            Ok((frame, flush)) => {
                flush.flush();
                Ok(PhysAddr(frame.start_address().as_u64()))
            }
            Err(_) => Err(MapError::NotMapped),
        }
    }

    /// Changes the access rights of the user page at `va`.
    pub fn protect(&mut self, va: usize, access: Access) -> Result<(), MapError> {
        let page = user_page(va)?;
        // SAFETY: only user pages' flags change.
        match unsafe { self.mapper().update_flags(page, leaf_flags(access)) } {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(_) => Err(MapError::NotMapped),
        }
    }

    /// The frame and rights of the user page containing `va`, if it is mapped.
    pub fn translate(&self, va: usize) -> Option<(PhysAddr, Access)> {
        if !(USER_MIN..USER_END).contains(&va) {
            return None;
        }
        // Four loads on the message path: the user half has 4 KiB pages only (a larger
        // page there is not one this module made, and is refused).
        let mut entry = self.root | ENTRY_PRESENT;
        for shift in [39, 30, 21, 12] {
            let index = (va >> shift) & 511;
            entry = *entries(entry & ENTRY_ADDR).get(index)?;
            if entry & ENTRY_PRESENT == 0 || (shift != 12 && entry & ENTRY_HUGE != 0) {
                return None;
            }
        }
        let access = leaf_access(entry);
        if access.none {
            return None;
        }
        Some((
            PhysAddr((entry & ENTRY_ADDR) + (va as u64 & (SIZE_4K - 1))),
            access,
        ))
    }

    /// Calls `f` with every mapped user page in address order: its address, frame and
    /// rights (`none` for a page without user access); stops when `f` returns false.
    pub fn for_each_page(&self, mut f: impl FnMut(usize, PhysAddr, Access) -> bool) {
        const ADDR: u64 = ENTRY_ADDR;
        const PRESENT: u64 = ENTRY_PRESENT;
        for (i4, &l4) in entries(self.root).iter().enumerate().take(256) {
            if l4 & PRESENT == 0 {
                continue;
            }
            for (i3, &l3) in entries(l4 & ADDR).iter().enumerate() {
                if l3 & PRESENT == 0 {
                    continue;
                }
                for (i2, &l2) in entries(l3 & ADDR).iter().enumerate() {
                    if l2 & PRESENT == 0 {
                        continue;
                    }
                    for (i1, &l1) in entries(l2 & ADDR).iter().enumerate() {
                        if l1 & PRESENT == 0 {
                            continue;
                        }
                        let va = (i4 << 39) | (i3 << 30) | (i2 << 21) | (i1 << 12);
                        if !f(va, PhysAddr(l1 & ADDR), leaf_access(l1)) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Makes this the current address space.
    pub fn activate(&self) {
        // SAFETY: the upper half of every address space is the kernel's, so the kernel keeps
        // running unchanged.
        unsafe {
            Cr3::write(
                PhysFrame::containing_address(x86_64::PhysAddr::new(self.root)),
                Cr3Flags::empty(),
            )
        };
    }
}

impl Drop for AddressSpace {
    /// Frees every user page, every user page table and the root. The address space must not
    /// be active on any CPU.
    fn drop(&mut self) {
        const ADDR: u64 = ENTRY_ADDR;
        let present = |e: &&u64| **e & 1 != 0;
        for &l4 in entries(self.root).iter().take(256).filter(present) {
            for &l3 in entries(l4 & ADDR).iter().filter(present) {
                for &l2 in entries(l3 & ADDR).iter().filter(present) {
                    for &l1 in entries(l2 & ADDR).iter().filter(present) {
                        frame::free(PhysAddr(l1 & ADDR));
                    }
                    frame::free(PhysAddr(l2 & ADDR));
                }
                frame::free(PhysAddr(l3 & ADDR));
            }
            frame::free(PhysAddr(l4 & ADDR));
        }
        frame::free(PhysAddr(self.root));
    }
}
