//! Memory management: physical frames and the kernel heap.
//!
//! Physical memory is reachable through the architecture's *direct map*
//! ([`crate::arch::phys_to_virt`]), which covers all RAM. Frames are handed out by a bitmap
//! allocator ([`frame`]); the kernel heap ([`heap`]) is one contiguous run of frames taken at
//! boot and managed by a general-purpose allocator.

pub mod frame;
pub mod heap;

use crate::boot::BootInfo;

/// Access rights of a user page (always readable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub write: bool,
    pub execute: bool,
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

/// Size of a physical frame and of the smallest page on every supported architecture.
pub const PAGE_SIZE: usize = 4096;

/// Brings up physical memory management and the heap, then lets the architecture replace the
/// boot page tables with the kernel's own.
pub fn init(info: &BootInfo) {
    frame::init(info);
    crate::arch::init_paging(info);
    heap::init();
    let stats = frame::stats();
    println!(
        "frames: {} free of {} ({} MiB free); heap: {} KiB",
        stats.free,
        stats.total,
        stats.free * PAGE_SIZE as u64 / (1024 * 1024),
        heap::SIZE / 1024
    );
}
