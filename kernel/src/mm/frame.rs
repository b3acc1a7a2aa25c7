//! The physical frame allocator: one bit per 4 KiB frame, from address 0 up to the end of
//! usable RAM.
//!
//! A bitmap is the simplest structure that also serves contiguous allocations (the heap, DMA
//! buffers later) and costs 32 KiB per GiB of RAM. The bitmap itself lives in the first usable
//! run of RAM large enough to hold it, reached through the direct map. A set bit means "not
//! available": used, reserved, or not RAM at all. Allocation scans from a hint so that the
//! common case does not rescan the low, already-used part of memory.

use spin::Mutex;

use crate::arch;
use crate::boot::{BootInfo, PhysAddr, RegionKind};
use crate::mm::PAGE_SIZE;

const FRAME: u64 = PAGE_SIZE as u64;

struct Bitmap {
    /// Words of the bitmap, in the direct map.
    words: &'static mut [u64],
    frames: u64,
    free: u64,
    total: u64,
    hint: u64,
}

impl Bitmap {
    fn is_used(&self, frame: u64) -> bool {
        match self.words.get((frame / 64) as usize) {
            Some(word) => word & (1 << (frame % 64)) != 0,
            None => true,
        }
    }

    fn set(&mut self, frame: u64, used: bool) {
        if let Some(word) = self.words.get_mut((frame / 64) as usize) {
            let bit = 1u64 << (frame % 64);
            let was_used = *word & bit != 0;
            if used && !was_used {
                *word |= bit;
                self.free -= 1;
            } else if !used && was_used {
                *word &= !bit;
                self.free += 1;
            }
        }
    }

    /// Finds `count` free frames starting at a multiple of `align` frames.
    fn find_run(&self, count: u64, align: u64, from: u64) -> Option<u64> {
        let mut start = from.next_multiple_of(align);
        while start.checked_add(count)? <= self.frames {
            match (start..start + count).find(|&f| self.is_used(f)) {
                None => return Some(start),
                Some(used) => start = (used + 1).next_multiple_of(align),
            }
        }
        None
    }
}

static FRAMES: Mutex<Option<Bitmap>> = Mutex::new(None);

/// Frame counts for the boot banner and benchmarks.
pub struct Stats {
    pub total: u64,
    pub free: u64,
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Builds the bitmap from the boot memory map. Called once, before anything allocates.
#[allow(clippy::panic, reason = "boot cannot go on without a frame allocator")]
pub fn init(info: &BootInfo) {
    let frames = info.ram_end() / FRAME;
    let bitmap_bytes = frames.div_ceil(64) * 8;
    let bitmap_len = bitmap_bytes.next_multiple_of(FRAME);

    // Place the bitmap in the first usable, page-aligned stretch that avoids every reserved
    // range.
    let mut place = None;
    'regions: for r in info
        .regions()
        .iter()
        .filter(|r| r.kind == RegionKind::Usable)
    {
        let mut start = r.start.next_multiple_of(FRAME);
        while start + bitmap_len <= r.end() {
            match info
                .reserved()
                .iter()
                .find(|&&res| overlaps(res, (start, start + bitmap_len)))
            {
                Some(&(_, res_end)) => start = res_end.next_multiple_of(FRAME),
                None => {
                    place = Some(start);
                    break 'regions;
                }
            }
        }
    }
    let Some(bitmap_phys) = place else {
        panic!("no usable memory for the frame bitmap ({bitmap_len} bytes)");
    };

    let words_ptr = arch::phys_to_virt(PhysAddr(bitmap_phys)) as *mut u64;
    // SAFETY: the range lies in usable RAM covered by the direct map, avoids every reserved
    // range, and nothing else uses it: the allocator marks it used below before any frame is
    // handed out. Alignment: page aligned.
    let words = unsafe { core::slice::from_raw_parts_mut(words_ptr, (bitmap_bytes / 8) as usize) };
    words.fill(u64::MAX);

    let mut bitmap = Bitmap {
        words,
        frames,
        free: 0,
        total: 0,
        hint: 0,
    };
    for r in info
        .regions()
        .iter()
        .filter(|r| r.kind == RegionKind::Usable)
    {
        let first = r.start.div_ceil(FRAME);
        let last = r.end() / FRAME;
        for f in first..last {
            bitmap.set(f, false);
        }
    }
    // Frame 0 is never handed out: a physical address of 0 is too easy to mistake for "none".
    bitmap.set(0, true);
    let reserved = info
        .reserved()
        .iter()
        .copied()
        .chain(core::iter::once((bitmap_phys, bitmap_phys + bitmap_len)));
    for (start, end) in reserved {
        for f in start / FRAME..end.div_ceil(FRAME) {
            bitmap.set(f, true);
        }
    }
    bitmap.total = bitmap.free;
    *FRAMES.lock() = Some(bitmap);
}

/// Allocates `count` physically contiguous frames aligned to `align` frames, zeroed.
pub fn alloc_contiguous(count: usize, align: usize) -> Option<PhysAddr> {
    let (count, align) = (count as u64, (align as u64).max(1));
    let mut guard = FRAMES.lock();
    let bitmap = guard.as_mut()?;
    let start = bitmap
        .find_run(count, align, bitmap.hint)
        .or_else(|| bitmap.find_run(count, align, 0))?;
    for f in start..start + count {
        bitmap.set(f, true);
    }
    if count == 1 {
        bitmap.hint = start + 1;
    }
    drop(guard);
    let addr = PhysAddr(start * FRAME);
    // SAFETY: the frames were free, are now owned by the caller, and lie in RAM covered by
    // the direct map.
    unsafe {
        core::ptr::write_bytes(arch::phys_to_virt(addr), 0, (count * FRAME) as usize);
    }
    Some(addr)
}

/// Allocates one zeroed frame.
pub fn alloc() -> Option<PhysAddr> {
    alloc_contiguous(1, 1)
}

/// Returns a frame to the allocator. Freeing a frame that is not allocated is ignored.
pub fn free(addr: PhysAddr) {
    if let Some(bitmap) = FRAMES.lock().as_mut() {
        let f = addr.0 / FRAME;
        bitmap.set(f, false);
        bitmap.hint = bitmap.hint.min(f);
    }
}

pub fn stats() -> Stats {
    match FRAMES.lock().as_ref() {
        Some(b) => Stats {
            total: b.total,
            free: b.free,
        },
        None => Stats { total: 0, free: 0 },
    }
}
