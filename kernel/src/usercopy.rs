//! The only place where the kernel touches user memory.
//!
//! User memory is named by a [`UserSlice`]: an address and a length a process *alleges* are
//! its memory, decoded from its registers or a request and not checked yet. Nothing but the
//! functions of this module turns one into bytes, so every user pointer the type checker sees
//! flows here. Every access names the address space and a `UserSlice`. The range is checked
//! to lie inside the user half without overflow, then each page is translated through the
//! process's own page tables and must be mapped user-accessible (and writable, for writes).
//! The bytes are then copied through the kernel's direct map of physical memory, so the
//! kernel never dereferences a user pointer and can never fault on one: a bad pointer is an
//! error status for the caller, never a kernel crash. (This also keeps SMAP/PAN on at all
//! times: the kernel has no reason to access user mappings directly.)
//!
//! The kernel is not preemptible and runs on one CPU, so a page cannot be unmapped between
//! the check and the copy.

use ostrog_abi::layout::{USER_END, USER_MIN};
use ostrog_abi::Status;

use crate::arch::{self, AddressSpace};
use crate::boot::PhysAddr;
use crate::mm::PAGE_SIZE;

/// A user range as a process alleges it: `len` bytes at user address `addr`, unchecked.
///
/// Holding one proves nothing; it can only be given to [`copy_from_user`], [`copy_to_user`]
/// or [`check`], which check it against the process's address space first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSlice {
    addr: usize,
    len: usize,
}

impl UserSlice {
    /// The allegation `len` bytes at `addr` (not checked here).
    pub fn new(addr: usize, len: usize) -> UserSlice {
        UserSlice { addr, len }
    }

    /// How many bytes it alleges.
    pub fn len(self) -> usize {
        self.len
    }

    /// True if it alleges no bytes at all.
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// Its first `len` bytes (all of it if it is shorter).
    pub fn prefix(self, len: usize) -> UserSlice {
        UserSlice {
            addr: self.addr,
            len: self.len.min(len),
        }
    }
}

/// Checks that `[addr, addr + len)` is a range of user addresses.
fn check_range(addr: usize, len: usize) -> Result<(), Status> {
    let end = addr.checked_add(len).ok_or(Status::BadAddress)?;
    if addr < USER_MIN || end > USER_END {
        return Err(Status::BadAddress);
    }
    Ok(())
}

/// Pages of a range whose frames a walk remembers for the copy that follows it (a message
/// on the fast path spans at most two); the pages beyond are translated again.
const REMEMBERED: usize = 2;

/// The frames of a range's first [`REMEMBERED`] pages.
type Frames = [Option<PhysAddr>; REMEMBERED];

/// Checks every page of the range before anything is touched (so a failed copy changes
/// nothing): mapped user-accessible, writable for `write`, not device memory. Returns the
/// frames of the first pages.
fn walk(space: &AddressSpace, range: UserSlice, write: bool) -> Result<Frames, Status> {
    let UserSlice { addr, len } = range;
    check_range(addr, len)?;
    let mut frames = [None; REMEMBERED];
    let mut done = 0;
    let mut page = 0;
    while done < len {
        let va = addr + done;
        let chunk = (PAGE_SIZE - va % PAGE_SIZE).min(len - done);
        match space.translate(va) {
            // Device registers are not memory the kernel can copy through.
            Some((pa, access)) if (!write || access.write) && !access.device => {
                if let Some(frame) = frames.get_mut(page) {
                    *frame = Some(pa);
                }
            }
            _ => return Err(Status::BadAddress),
        }
        done += chunk;
        page += 1;
    }
    Ok(frames)
}

/// Visits a range [`walk`] checked, page by page: `(offset in range, pointer into the direct
/// map, chunk length)`.
fn visit(
    space: &AddressSpace,
    range: UserSlice,
    frames: &Frames,
    mut f: impl FnMut(usize, *mut u8, usize),
) -> Result<(), Status> {
    let UserSlice { addr, len } = range;
    let mut done = 0;
    let mut page = 0;
    while done < len {
        let va = addr + done;
        let chunk = (PAGE_SIZE - va % PAGE_SIZE).min(len - done);
        let pa = match frames.get(page).copied().flatten() {
            Some(pa) => pa,
            None => space.translate(va).ok_or(Status::BadAddress)?.0,
        };
        f(done, arch::phys_to_virt(pa), chunk);
        done += chunk;
        page += 1;
    }
    Ok(())
}

/// Visits the range page by page: `(offset in range, physical pointer, chunk length)`.
fn for_each_chunk(
    space: &AddressSpace,
    range: UserSlice,
    write: bool,
    f: impl FnMut(usize, *mut u8, usize),
) -> Result<(), Status> {
    let frames = walk(space, range, write)?;
    visit(space, range, &frames, f)
}

/// Fills `dst` from the start of the user range `src` (`BadAddress` if `src` is shorter).
pub fn copy_from_user(space: &AddressSpace, dst: &mut [u8], src: UserSlice) -> Result<(), Status> {
    if src.len < dst.len() {
        return Err(Status::BadAddress);
    }
    for_each_chunk(space, src.prefix(dst.len()), false, |offset, from, n| {
        if let Some(to) = dst.get_mut(offset..offset + n) {
            // SAFETY: `from` points at `n` bytes of a mapped user frame in the direct map
            // (checked above); `to` is kernel memory of the same length.
            unsafe { core::ptr::copy_nonoverlapping(from, to.as_mut_ptr(), n) };
        }
    })
}

/// Copies `src` to the start of the user range `dst` (`BufferTooSmall` if it does not fit).
pub fn copy_to_user(space: &AddressSpace, dst: UserSlice, src: &[u8]) -> Result<(), Status> {
    if dst.len < src.len() {
        return Err(Status::BufferTooSmall);
    }
    for_each_chunk(space, dst.prefix(src.len()), true, |offset, to, n| {
        if let Some(from) = src.get(offset..offset + n) {
            // SAFETY: `to` points at `n` writable bytes of a user frame in the direct map.
            unsafe { core::ptr::copy_nonoverlapping(from.as_ptr(), to, n) };
        }
    })
}

/// Checks that the user range is mapped for the given access, without copying.
pub fn check(space: &AddressSpace, range: UserSlice, write: bool) -> Result<(), Status> {
    walk(space, range, write).map(|_| ())
}

/// A user range checked writable, with the frames of its first pages: written later by
/// [`Writable::write`] without walking the page tables again. It borrows the address space,
/// so nothing can be unmapped between the check and the write.
pub struct Writable<'s> {
    space: &'s AddressSpace,
    range: UserSlice,
    frames: Frames,
}

/// Checks that the user range is mapped writable, for a write that comes later.
pub fn writable(space: &AddressSpace, range: UserSlice) -> Result<Writable<'_>, Status> {
    let frames = walk(space, range, true)?;
    Ok(Writable {
        space,
        range,
        frames,
    })
}

impl Writable<'_> {
    /// Copies `src` to the start of the range (`BufferTooSmall` if it does not fit).
    pub fn write(&self, src: &[u8]) -> Result<(), Status> {
        if self.range.len < src.len() {
            return Err(Status::BufferTooSmall);
        }
        visit(
            self.space,
            self.range.prefix(src.len()),
            &self.frames,
            |offset, to, n| {
                if let Some(from) = src.get(offset..offset + n) {
                    // SAFETY: `to` points at `n` writable bytes of a user frame in the
                    // direct map, checked when `self` was made; the address space is
                    // borrowed from the task table under its lock, and the kernel is not
                    // preemptible, so nothing was unmapped since.
                    unsafe { core::ptr::copy_nonoverlapping(from.as_ptr(), to, n) };
                }
            },
        )
    }
}
