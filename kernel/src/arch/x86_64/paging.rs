//! Kernel page tables on x86_64 (four levels, 4 KiB / 2 MiB pages).
//!
//! Layout of the kernel half of every address space:
//!
//! | virtual address | what |
//! |---|---|
//! | `0xffff_8000_0000_0000 + pa` | direct map of all RAM (read-write, never executable) |
//! | `0xffff_8000_0000_0000 + pa` | device registers mapped on demand, uncached |
//! | `0xffff_ffff_8000_0000 + pa` | the kernel image: text RX, rodata R, data and bss RW |
//!
//! The lower half is left empty for user address spaces; in particular address 0 is never
//! mapped. The boot tables built by the 32-bit entry code (which identity-map the first
//! 4 GiB) are replaced here by tables built with frames from the frame allocator, using the
//! `x86_64` crate's mapper.

use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame,
    Size2MiB, Size4KiB,
};
use x86_64::VirtAddr;

use crate::boot::{BootInfo, PhysAddr, RegionKind};
use crate::mm::frame;

/// Where the kernel image is linked: virtual = KERNEL_BASE + physical.
pub const KERNEL_BASE: u64 = 0xffff_ffff_8000_0000;
/// Base of the direct map of physical memory.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;

const SIZE_2M: u64 = 2 * 1024 * 1024;
const SIZE_4K: u64 = 4096;

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
    // SAFETY: the new tables map the kernel image (where this code, its stack and all
    // statics live) and the direct map at the same addresses as the boot tables, so
    // execution continues seamlessly; only the identity map disappears.
    unsafe {
        Cr3::write(
            PhysFrame::containing_address(x86_64::PhysAddr::new(root.0)),
            Cr3Flags::empty(),
        );
    }
}

/// Maps device registers at `[phys, phys + len)` uncached into the direct-map region and
/// returns their virtual address.
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
