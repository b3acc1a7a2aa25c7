//! The kernel heap: one contiguous run of frames taken at boot, managed by
//! `linked_list_allocator` (a well-known first-fit allocator for `no_std` kernels).
//!
//! The heap does not grow yet. Kernel objects that user programs can create in numbers
//! (processes, channels, handles) will be accounted against per-process quotas, so that a
//! program cannot exhaust the heap for everyone.

use linked_list_allocator::LockedHeap;

use crate::arch;
use crate::mm::{frame, PAGE_SIZE};

/// Heap size in bytes.
pub const SIZE: usize = 8 * 1024 * 1024;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

#[allow(clippy::panic, reason = "the kernel cannot run without its heap")]
pub fn init() {
    let Some(base) = frame::alloc_contiguous(SIZE / PAGE_SIZE, 1) else {
        panic!(
            "not enough contiguous memory for a {} KiB kernel heap",
            SIZE / 1024
        );
    };
    // SAFETY: the frames were just allocated for the heap alone and are mapped read-write in
    // the direct map; the heap is initialised once, before the first allocation.
    unsafe {
        HEAP.lock().init(arch::phys_to_virt(base), SIZE);
    }
}

/// Bytes of the heap allocated now.
pub fn used() -> usize {
    HEAP.lock().used()
}
