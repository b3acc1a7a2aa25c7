//! The physical frame allocator: one bit per 4 KiB frame, from address 0 up to the end of
//! usable RAM.
//!
//! A bitmap is the simplest structure that also serves contiguous allocations (the heap, DMA
//! buffers later) and costs 32 KiB per GiB of RAM. The bitmap itself lives in the first usable
//! run of RAM large enough to hold it, reached through the direct map. A set bit means "not
//! available": used, reserved, or not RAM at all. Allocation scans from a hint so that the
//! common case does not rescan the low, already-used part of memory.
//!
//! Every frame also records the [`AccountId`] it is charged to (two bytes per frame, next to
//! the bitmap): the frames a process makes the kernel allocate (its program image and
//! stacks, `vmm` allocations, regions it creates, `romfs.Read` copies, its page tables, its
//! threads' kernel stacks) are charged to that process's account while the kernel acts for
//! it ([`charge_to`]), and released when the frame is freed, whoever frees it and whenever:
//! a region outliving its creator stays charged to the creator's account until its last
//! frame is freed. An allocation that would take an account, or any account it is nested
//! in (the account of the process that created it), over its limit fails like an empty
//! pool: `None`, `NoMemory` to the process.

use core::sync::atomic::{AtomicU16, Ordering};

use spin::Mutex;

use crate::arch;
use crate::boot::{BootInfo, PhysAddr, RegionKind};
use crate::mm::PAGE_SIZE;

const FRAME: u64 = PAGE_SIZE as u64;

/// A frame account: its number (0 is the kernel's own, never limited).
pub type AccountId = u16;
/// The kernel's account: frames allocated not on any process's behalf.
pub const KERNEL: AccountId = 0;
/// Accounts that can exist at once (a process has one while it lives, and as long as frames
/// are charged to it).
pub const ACCOUNTS: usize = 1024;
/// A limit that never refuses.
pub const UNLIMITED: u64 = u64::MAX;

#[derive(Clone, Copy)]
struct Account {
    /// Frames charged to it (its own and those of the accounts nested in it).
    used: u64,
    /// Most frames it may hold.
    limit: u64,
    /// The account it is nested in ([`KERNEL`]: none).
    parent: AccountId,
    /// Accounts nested in it that still exist.
    children: u32,
    /// Exists: opened and not yet both closed and empty.
    exists: bool,
    /// Its owner still lives (not yet [`close_account`]ed).
    open: bool,
    /// Bytes of kernel objects charged to it ([`charge_bytes`]); counted in `used` as
    /// whole frames (rounded up).
    object_bytes: u64,
}

const NO_ACCOUNT: Account = Account {
    used: 0,
    limit: 0,
    parent: KERNEL,
    children: 0,
    exists: false,
    open: false,
    object_bytes: 0,
};

/// The account frames are charged to now (see [`charge_to`]).
static CHARGING: AtomicU16 = AtomicU16::new(KERNEL);

struct Bitmap {
    /// Words of the bitmap, in the direct map.
    words: &'static mut [u64],
    /// The account each frame is charged to, in the direct map after the bitmap.
    owners: &'static mut [AccountId],
    /// The accounts, in the direct map after the owners.
    accounts: &'static mut [Account],
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

impl Bitmap {
    fn account(&mut self, id: AccountId) -> Option<&mut Account> {
        self.accounts.get_mut(id as usize).filter(|a| a.exists)
    }

    /// Whether `count` more frames fit `id` and every account it is nested in.
    fn may_charge(&self, mut id: AccountId, count: u64) -> bool {
        // Nesting is at most ACCOUNTS deep; the bound only guards against a broken chain.
        for _ in 0..ACCOUNTS {
            if id == KERNEL {
                return true;
            }
            let Some(a) = self.accounts.get(id as usize).filter(|a| a.exists) else {
                return true;
            };
            if a.used.saturating_add(count) > a.limit {
                return false;
            }
            id = a.parent;
        }
        true
    }

    /// Charges (`charge`) or releases `count` frames to `id` and the accounts it is nested
    /// in; an account closed and emptied goes away.
    fn add(&mut self, mut id: AccountId, count: u64, charge: bool) {
        for _ in 0..ACCOUNTS {
            if id == KERNEL {
                return;
            }
            let Some(a) = self.account(id) else {
                return;
            };
            a.used = if charge {
                a.used.saturating_add(count)
            } else {
                a.used.saturating_sub(count)
            };
            let parent = a.parent;
            self.retire(id);
            id = parent;
        }
    }

    /// Charges (`charge`) or releases `bytes` of kernel objects to `id`: its frames count
    /// grows or shrinks by the whole frames the bytes round up to, against its limit and
    /// those of the accounts it is nested in. False (nothing charged) past a limit, or for
    /// an account that does not exist; [`KERNEL`] is never limited.
    fn add_bytes(&mut self, id: AccountId, bytes: u64, charge: bool) -> bool {
        if id == KERNEL {
            return true;
        }
        let Some(a) = self.account(id) else {
            return !charge;
        };
        let before = a.object_bytes;
        let after = match charge {
            true => match before.checked_add(bytes) {
                Some(after) => after,
                None => return false,
            },
            false => before.saturating_sub(bytes),
        };
        let (old, new) = (before.div_ceil(FRAME), after.div_ceil(FRAME));
        if new > old && !self.may_charge(id, new - old) {
            return false;
        }
        if let Some(a) = self.account(id) {
            a.object_bytes = after;
        }
        match new.cmp(&old) {
            core::cmp::Ordering::Greater => self.add(id, new - old, true),
            core::cmp::Ordering::Less => self.add(id, old - new, false),
            core::cmp::Ordering::Equal => {}
        }
        true
    }

    /// Removes account `id` if it is closed, empty and has no nested account left, then its
    /// parent if that is left the same way.
    fn retire(&mut self, mut id: AccountId) {
        for _ in 0..ACCOUNTS {
            if id == KERNEL {
                return;
            }
            let Some(a) = self.account(id) else {
                return;
            };
            if a.open || a.used != 0 || a.children != 0 {
                return;
            }
            let parent = a.parent;
            *a = NO_ACCOUNT;
            let Some(p) = self.account(parent) else {
                return;
            };
            p.children = p.children.saturating_sub(1);
            id = parent;
        }
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
    let owners_bytes = frames * core::mem::size_of::<AccountId>() as u64;
    let accounts_at = (bitmap_bytes + owners_bytes).next_multiple_of(8);
    let accounts_bytes = (ACCOUNTS * core::mem::size_of::<Account>()) as u64;
    let bitmap_len = (accounts_at + accounts_bytes).next_multiple_of(FRAME);

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
    // SAFETY: as above; the owners follow the words in the same reserved range (8-byte
    // aligned after them), which holds both.
    let owners = unsafe {
        core::slice::from_raw_parts_mut(
            arch::phys_to_virt(PhysAddr(bitmap_phys + bitmap_bytes)) as *mut AccountId,
            frames as usize,
        )
    };
    owners.fill(KERNEL);
    let accounts_ptr = arch::phys_to_virt(PhysAddr(bitmap_phys + accounts_at)) as *mut Account;
    for i in 0..ACCOUNTS {
        // SAFETY: as above; the accounts follow the owners, 8-byte aligned, in the same
        // reserved range; each is written before the slice below is made.
        unsafe { accounts_ptr.add(i).write(NO_ACCOUNT) };
    }
    // SAFETY: every element was initialised just above; the range is ours alone.
    let accounts = unsafe { core::slice::from_raw_parts_mut(accounts_ptr, ACCOUNTS) };

    let mut bitmap = Bitmap {
        words,
        owners,
        accounts,
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
    let account = CHARGING.load(Ordering::Relaxed);
    if !bitmap.may_charge(account, count) {
        return None;
    }
    let start = bitmap
        .find_run(count, align, bitmap.hint)
        .or_else(|| bitmap.find_run(count, align, 0))?;
    for f in start..start + count {
        bitmap.set(f, true);
        if let Some(owner) = bitmap.owners.get_mut(f as usize) {
            *owner = account;
        }
    }
    bitmap.add(account, count, true);
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

/// Runs `f` on the bytes of frame `addr`, which the caller holds (allocated by it and not
/// freed, e.g. a pipe's ring), through the direct map.
pub fn with_contents<R>(addr: PhysAddr, f: impl FnOnce(&mut [u8]) -> R) -> R {
    // SAFETY: the caller holds the frame, so nothing else uses it; it lies in RAM, which the
    // direct map covers, and the slice lives only for the call of `f`.
    let bytes = unsafe { core::slice::from_raw_parts_mut(arch::phys_to_virt(addr), PAGE_SIZE) };
    f(bytes)
}

/// Allocates one zeroed frame.
pub fn alloc() -> Option<PhysAddr> {
    alloc_contiguous(1, 1)
}

/// Returns a frame to the allocator. Freeing a frame that is not allocated is ignored.
pub fn free(addr: PhysAddr) {
    if let Some(bitmap) = FRAMES.lock().as_mut() {
        let f = addr.0 / FRAME;
        if !bitmap.is_used(f) {
            return;
        }
        bitmap.set(f, false);
        if let Some(owner) = bitmap.owners.get_mut(f as usize) {
            let account = core::mem::replace(owner, KERNEL);
            bitmap.add(account, 1, false);
        }
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

/// Opens an account of at most `limit` frames nested in `parent` (whose limit also bounds
/// it; [`KERNEL`]: none). `None` when every account is in use.
pub fn open_account(parent: AccountId, limit: u64) -> Option<AccountId> {
    let mut guard = FRAMES.lock();
    let bitmap = guard.as_mut()?;
    let parent = if bitmap.account(parent).is_some() {
        parent
    } else {
        KERNEL
    };
    let index = bitmap
        .accounts
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, a)| !a.exists)
        .map(|(i, _)| i)?;
    let id = AccountId::try_from(index).ok()?;
    if let Some(a) = bitmap.accounts.get_mut(index) {
        *a = Account {
            used: 0,
            limit,
            parent,
            children: 0,
            exists: true,
            open: true,
            object_bytes: 0,
        };
    }
    if let Some(p) = bitmap.account(parent) {
        p.children += 1;
    }
    Some(id)
}

/// The owner of account `id` is gone: the account goes away once its last frame is freed.
pub fn close_account(id: AccountId) {
    if let Some(bitmap) = FRAMES.lock().as_mut() {
        if let Some(a) = bitmap.account(id) {
            a.open = false;
        }
        bitmap.retire(id);
    }
}

/// Sets the limit of account `id` (frames already charged stay; only new ones are refused).
pub fn set_limit(id: AccountId, limit: u64) {
    if let Some(a) = FRAMES.lock().as_mut().and_then(|b| b.account(id)) {
        a.limit = limit;
    }
}

/// Frames charged to account `id` and its limit: `(used, limit)` ([`KERNEL`]: unlimited).
pub fn usage(id: AccountId) -> (u64, u64) {
    FRAMES
        .lock()
        .as_mut()
        .and_then(|b| b.account(id))
        .map_or((0, UNLIMITED), |a| (a.used, a.limit))
}

/// Charges `bytes` of kernel heap objects a process made the kernel create (run-time
/// channels and endpoints, [`crate::quota::ObjectCharge`]) to account `id`, counted against
/// its limit in whole frames: false, and nothing charged, past the limit of `id` or of an
/// account it is nested in. The heap is not made of these frames; the charge bounds what
/// the objects may take by the same limit as the process's memory.
pub fn charge_bytes(id: AccountId, bytes: u64) -> bool {
    FRAMES
        .lock()
        .as_mut()
        .is_some_and(|b| b.add_bytes(id, bytes, true))
}

/// Returns a charge of [`charge_bytes`].
pub fn release_bytes(id: AccountId, bytes: u64) {
    if let Some(b) = FRAMES.lock().as_mut() {
        b.add_bytes(id, bytes, false);
    }
}

/// While the returned guard lives, frames are charged to account `id`; the account charged
/// before is charged again when it is dropped.
#[must_use = "frames are charged to the account only while the guard lives"]
pub fn charge_to(id: AccountId) -> Charging {
    Charging {
        after: CHARGING.swap(id, Ordering::Relaxed),
    }
}

/// Like [`charge_to`] for a system call that may block: other threads run meanwhile and set
/// their own accounts, so when the guard is dropped the kernel's account is charged again
/// (nothing runs on a process's behalf between its system calls). A call that blocks
/// allocates no frames after it wakes (none does: they block only to wait for an event).
#[must_use = "frames are charged to the account only while the guard lives"]
pub fn charge_call(id: AccountId) -> Charging {
    CHARGING.store(id, Ordering::Relaxed);
    Charging { after: KERNEL }
}

/// See [`charge_to`].
pub struct Charging {
    after: AccountId,
}

impl Drop for Charging {
    fn drop(&mut self) {
        CHARGING.store(self.after, Ordering::Relaxed);
    }
}

/// The frame limit of a process that is given none: a quarter of the RAM the allocator
/// manages (64 MiB of QEMU's default 256 MiB), so that no one process can starve the rest.
pub fn default_limit() -> u64 {
    (stats().total / 4).max(1)
}

/// A process's account, closed when it is dropped (with the process).
pub struct OwnedAccount(AccountId);

impl OwnedAccount {
    /// Opens an account nested in the one charged now (the creating process's, or none
    /// when the kernel acts for itself), of at most `limit` frames and never more than the
    /// enclosing account's limit.
    pub fn open(limit: u64) -> Option<OwnedAccount> {
        let parent = CHARGING.load(Ordering::Relaxed);
        let limit = limit.min(usage(parent).1);
        open_account(parent, limit).map(OwnedAccount)
    }

    pub fn id(&self) -> AccountId {
        self.0
    }
}

impl Drop for OwnedAccount {
    fn drop(&mut self) {
        close_account(self.0);
    }
}
