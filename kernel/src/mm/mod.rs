//! Memory management: physical frames and the kernel heap.
//!
//! Physical memory is reachable through the architecture's *direct map*
//! ([`crate::arch::phys_to_virt`]), which covers all RAM. Frames are handed out by a bitmap
//! allocator ([`frame`]); the kernel heap ([`heap`]) is one contiguous run of frames taken at
//! boot and managed by a general-purpose allocator.

pub mod frame;
pub mod heap;
pub mod kstack;

use crate::boot::BootInfo;

/// Access rights of a user page (readable unless `none`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub write: bool,
    pub execute: bool,
    /// Device registers: mapped uncached and never executable. Such a page is outside RAM,
    /// so the kernel never copies through it (`usercopy` refuses it).
    pub device: bool,
    /// No user access at all (a guard page, `vmm` flag `NONE`): the page keeps its frame
    /// but user mode cannot touch it, and `translate` does not report it, so `usercopy`
    /// refuses it too. `write` and `execute` are ignored then.
    pub none: bool,
}

/// Why a page could not be mapped, unmapped or changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No memory for a page table.
    OutOfMemory,
    /// Something is already mapped there.
    AlreadyMapped,
    /// Nothing is mapped there.
    NotMapped,
    /// The address is not a page-aligned user address.
    OutOfRange,
}

/// Every physical range the boot memory map describes (RAM, reserved, firmware tables) and
/// the ranges reserved for the kernel: what a process may never map as device registers.
/// Recorded at boot, before the heap exists, hence the fixed capacity.
static MEMORY_MAP: spin::Once<Ranges> = spin::Once::new();

/// At most this many ranges are kept (boot maps have a few dozen).
const MAX_RANGES: usize = 128;
const _: () = assert!(crate::boot::MAX_REGIONS + crate::boot::MAX_RESERVED <= MAX_RANGES);

struct Ranges {
    items: [(u64, u64); MAX_RANGES],
    len: usize,
}

#[allow(
    clippy::panic,
    reason = "boot: a range left out would become mappable by drivers"
)]
fn record_memory_map(info: &BootInfo) -> Ranges {
    let mut ranges = Ranges {
        items: [(0, 0); MAX_RANGES],
        len: 0,
    };
    let described = info.regions().iter().map(|r| (r.start, r.end()));
    for r in described.chain(info.reserved().iter().copied()) {
        match ranges.items.get_mut(ranges.len) {
            Some(slot) => *slot = r,
            // Cannot happen with today's limits (regions and reservations together fit);
            // a range left out would become mappable by drivers.
            None => panic!("boot: more than {MAX_RANGES} memory ranges to keep from drivers"),
        }
        ranges.len += 1;
    }
    ranges
}

/// True if `[start, end)` overlaps anything the boot memory map describes or the kernel
/// reserved: such a range is memory, never device registers a process may map.
pub fn overlaps_memory(start: u64, end: u64) -> bool {
    MEMORY_MAP.get().is_none_or(|m| {
        m.items
            .iter()
            .take(m.len)
            .any(|&(s, e)| start < e && s < end)
    })
}

/// Size of a physical frame and of the smallest page on every supported architecture.
pub const PAGE_SIZE: usize = 4096;

/// Brings up physical memory management and the heap, then lets the architecture replace the
/// boot page tables with the kernel's own.
pub fn init(info: &BootInfo) {
    MEMORY_MAP.call_once(|| record_memory_map(info));
    frame::init(info);
    crate::arch::init_paging(info);
    heap::init();
    kstack::init();
    let stats = frame::stats();
    println!(
        "frames: {} free of {} ({} MiB free); heap: {} KiB",
        stats.free,
        stats.total,
        stats.free * PAGE_SIZE as u64 / (1024 * 1024),
        heap::SIZE / 1024
    );
}

/// Kernel memory in use: heap bytes and physical frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub heap: usize,
    pub frames: u64,
}

/// What the kernel holds now.
pub fn usage() -> Usage {
    let frames = frame::stats();
    Usage {
        heap: heap::used(),
        frames: frames.total.saturating_sub(frames.free),
    }
}
