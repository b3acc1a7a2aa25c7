//! Thread kernel stacks with guard pages.
//!
//! A kernel stack is not taken from the direct map, where the frames below it are some
//! other thread's stack or kernel data that an overflow would silently overwrite. Each stack
//! has a slot of its own in a separate virtual area ([`crate::arch::KERNEL_STACKS`], mapped
//! in every address space): the upper [`KERNEL_STACK_PAGES`] pages of the slot are the
//! stack, the lower [`GUARD_PAGES`] are never mapped, so running off the bottom of a stack
//! faults (a crash report, see [`crate::crash`]) instead of corrupting memory. The frames
//! behind a stack need not be contiguous; they are still in the direct map as well, where
//! nothing else uses them.
//!
//! The boot stack (which runs `kernel_main` and the scheduler's idle loop) and the
//! architectures' fault stacks are statics in the kernel image and have no guard.

use spin::Mutex;

use crate::boot::PhysAddr;
use crate::mm::{frame, PAGE_SIZE};
use crate::task::KERNEL_STACK_PAGES;

/// Unmapped pages below every stack: as many as the stack has, so that a function with a
/// large frame cannot step over the guard into the next slot's stack.
pub const GUARD_PAGES: usize = KERNEL_STACK_PAGES;
const SLOT_BYTES: usize = (GUARD_PAGES + KERNEL_STACK_PAGES) * PAGE_SIZE;
/// Stacks that can exist at once (the area is 1 GiB; this uses 128 MiB of it).
const SLOTS: usize = 4096;

/// One bit per slot, set while in use.
static USED: Mutex<[u64; SLOTS / 64]> = Mutex::new([0; SLOTS / 64]);

/// Bytes of the area one last-level page table maps (512 entries of 4 KiB on both arches).
const TABLE_SPAN: usize = 512 * PAGE_SIZE;

/// Builds the page tables of the whole area once, at boot: a table is made by mapping a
/// page into its span and kept when the page is unmapped. So the area's tables never grow
/// while programs run: creating a stack never fails for want of a table, and the frames in
/// use at power-off can be compared with those at boot (the soak scenario does). It costs
/// one table per 2 MiB of slots (65 frames with today's 4096 slots).
pub fn init() {
    let Some(frame) = frame::alloc() else {
        println!("kstack: no frame to build the stack area's tables; they grow on demand");
        return;
    };
    let area = SLOTS.saturating_mul(SLOT_BYTES);
    for offset in (0..area).step_by(TABLE_SPAN) {
        let va = crate::arch::KERNEL_STACKS.saturating_add(offset);
        if crate::arch::map_kernel_page(va, frame).is_ok() {
            crate::arch::unmap_kernel_page(va);
        }
    }
    frame::free(frame);
}

/// A kernel stack: its slot and frames. Dropping it unmaps and frees them.
pub struct KernelStack {
    slot: usize,
    frames: [PhysAddr; KERNEL_STACK_PAGES],
}

impl KernelStack {
    /// A new, zeroed stack; `None` without a free slot or memory.
    pub fn new() -> Option<KernelStack> {
        let slot = {
            let mut used = USED.lock();
            let (index, word) = used.iter_mut().enumerate().find(|(_, w)| **w != u64::MAX)?;
            let bit = word.trailing_ones() as usize;
            *word |= 1 << bit;
            index * 64 + bit
        };
        let mut stack = KernelStack {
            slot,
            frames: [PhysAddr(0); KERNEL_STACK_PAGES],
        };
        // On failure the stack is dropped with the pages mapped so far.
        for i in 0..KERNEL_STACK_PAGES {
            let frame = frame::alloc()?;
            crate::arch::map_kernel_page(stack.page(i), frame)
                .map_err(|_| frame::free(frame))
                .ok()?;
            if let Some(f) = stack.frames.get_mut(i) {
                *f = frame;
            }
        }
        Some(stack)
    }

    /// Lowest address of the slot: the bottom of the guard.
    pub fn guard(&self) -> usize {
        crate::arch::KERNEL_STACKS + self.slot * SLOT_BYTES
    }

    /// Address of stack page `i` (0 is the lowest).
    fn page(&self, i: usize) -> usize {
        self.guard() + (GUARD_PAGES + i) * PAGE_SIZE
    }

    /// The initial stack pointer: just above the stack's highest byte.
    pub fn top(&self) -> usize {
        self.guard() + SLOT_BYTES
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        for (i, frame) in self.frames.iter().enumerate() {
            if frame.0 != 0 {
                crate::arch::unmap_kernel_page(self.page(i));
                frame::free(*frame);
            }
        }
        if let Some(word) = USED.lock().get_mut(self.slot / 64) {
            *word &= !(1 << (self.slot % 64));
        }
    }
}
