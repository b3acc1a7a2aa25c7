//! The Linux program's address space as the personality sees it: every mapping it made
//! (image, stack, `brk`, `mmap`), with rights, so that `munmap`/`mprotect` split them like
//! Linux does, pointers the program passes are checked (`EFAULT` instead of a fault in the
//! personality), and fixed mappings never land on the personality itself.

use alloc::vec::Vec;

use crate::elf::Rights;
use crate::errno::*;
use crate::{page_up, PAGE_SIZE};

/// Most mappings tracked (the kernel has a similar bound per process).
pub const MAX_MAPPINGS: usize = 1024;
/// Largest `brk` heap.
pub const MAX_BRK: u64 = 512 * 1024 * 1024;

/// What the kernel does for the address space. Errors are Linux errnos (positive).
pub trait Memory {
    /// Maps fresh zeroed pages at `addr` (page-aligned) with `rights`.
    fn allocate_at(&mut self, addr: u64, len: u64, rights: Rights) -> Result<(), i64>;
    /// Maps fresh zeroed pages where the kernel chooses; their address.
    fn allocate(&mut self, len: u64, rights: Rights) -> Result<u64, i64>;
    /// Unmaps pages.
    fn free(&mut self, addr: u64, len: u64) -> Result<(), i64>;
    /// Changes the rights of mapped pages.
    fn protect(&mut self, addr: u64, len: u64, rights: Rights) -> Result<(), i64>;
}

/// Who made a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A segment of the executable (file-backed: `MADV_DONTNEED` cannot restore it).
    Image,
    /// The main thread's stack.
    Stack,
    /// The `brk` heap.
    Brk,
    /// Anonymous `mmap`.
    Anon,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub rights: Rights,
    pub kind: Kind,
}

/// The tracked address space.
#[derive(Debug, Default)]
pub struct Space {
    /// Sorted by start, not overlapping.
    maps: Vec<Mapping>,
    /// Ranges no Linux mapping may touch (below `USER_MIN`, the personality's image and
    /// native stack, above the user range).
    reserved: Vec<(u64, u64)>,
    brk_start: u64,
    brk: u64,
}

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_TYPE: u64 = 0x0f;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;

pub const MADV_NORMAL: u64 = 0;
pub const MADV_RANDOM: u64 = 1;
pub const MADV_SEQUENTIAL: u64 = 2;
pub const MADV_WILLNEED: u64 = 3;
pub const MADV_DONTNEED: u64 = 4;
pub const MADV_FREE: u64 = 8;

impl Space {
    pub fn new() -> Space {
        Space::default()
    }

    /// Marks `start..end` as never to be mapped by the program.
    pub fn reserve(&mut self, start: u64, end: u64) {
        self.reserved.push((start, end));
    }

    /// Ends a reservation made with [`Space::reserve`] (exactly `start..end`).
    pub fn unreserve(&mut self, start: u64, end: u64) {
        if let Some(i) = self.reserved.iter().position(|&r| r == (start, end)) {
            self.reserved.remove(i);
        }
    }

    /// Records a mapping made outside these methods (the image, the stack).
    pub fn record(&mut self, start: u64, end: u64, rights: Rights, kind: Kind) {
        let at = self.maps.partition_point(|m| m.start < start);
        self.maps.insert(
            at,
            Mapping {
                start,
                end,
                rights,
                kind,
            },
        );
    }

    /// Sets where `brk` starts (the page-aligned end of the image).
    pub fn set_brk_start(&mut self, at: u64) {
        self.brk_start = at;
        self.brk = at;
    }

    pub fn mappings(&self) -> &[Mapping] {
        &self.maps
    }

    fn hits_reserved(&self, start: u64, end: u64) -> bool {
        self.reserved.iter().any(|&(s, e)| start < e && s < end)
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.maps.iter().any(|m| start < m.end && m.start < end)
    }

    /// Whether every byte of `addr..addr+len` is mapped readable (and writable if `write`).
    pub fn accessible(&self, addr: u64, len: u64, write: bool) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        let mut at = addr;
        while at < end {
            let Some(m) = self.maps.iter().find(|m| m.start <= at && at < m.end) else {
                return false;
            };
            if !m.rights.read || (write && !m.rights.write) {
                return false;
            }
            at = m.end;
        }
        true
    }

    /// Splits mappings so that `at` is a boundary.
    fn split_at(&mut self, at: u64) {
        if let Some(i) = self.maps.iter().position(|m| m.start < at && at < m.end) {
            let mut upper = self.maps[i];
            upper.start = at;
            self.maps[i].end = at;
            self.maps.insert(i + 1, upper);
        }
    }

    /// Forgets `start..end` and unmaps what was mapped there.
    fn unmap(&mut self, start: u64, end: u64, mem: &mut dyn Memory) -> Result<(), i64> {
        self.split_at(start);
        self.split_at(end);
        let mut i = 0;
        while i < self.maps.len() {
            let m = self.maps[i];
            if m.start >= start && m.end <= end {
                mem.free(m.start, m.end - m.start)?;
                self.maps.remove(i);
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    /// Maps fresh pages at a fixed place and records them.
    fn map_at(
        &mut self,
        start: u64,
        end: u64,
        rights: Rights,
        kind: Kind,
        mem: &mut dyn Memory,
    ) -> Result<(), i64> {
        if self.maps.len() + 2 >= MAX_MAPPINGS {
            return Err(ENOMEM);
        }
        mem.allocate_at(start, end - start, rights)?;
        self.record(start, end, rights, kind);
        Ok(())
    }

    /// `mmap(addr, len, prot, flags, fd, offset)`: returns the address or `-errno`.
    pub fn mmap(&mut self, args: [u64; 6], mem: &mut dyn Memory) -> i64 {
        let [addr, len, prot, flags, _fd, offset] = args;
        let kind = flags & MAP_TYPE;
        if len == 0 || (kind != MAP_PRIVATE && kind != MAP_SHARED && kind != 3) {
            return -EINVAL;
        }
        if offset % PAGE_SIZE != 0 {
            return -EINVAL;
        }
        if flags & MAP_ANONYMOUS == 0 {
            // File mappings need files (a file server); none yet.
            return -ENODEV;
        }
        if prot & !7 != 0 {
            return -EINVAL;
        }
        let rights = Rights::from_prot(prot);
        if rights.write && rights.exec {
            return -EACCES;
        }
        let size = page_up(len);
        if size == !(PAGE_SIZE - 1) {
            return -ENOMEM;
        }
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
        if fixed {
            if addr % PAGE_SIZE != 0 {
                return -EINVAL;
            }
            let Some(end) = addr.checked_add(size) else {
                return -ENOMEM;
            };
            if self.hits_reserved(addr, end) {
                return -ENOMEM;
            }
            if self.overlaps(addr, end) {
                if flags & MAP_FIXED == 0 {
                    return -EEXIST;
                }
                if let Err(e) = self.unmap(addr, end, mem) {
                    return -e;
                }
            }
            return match self.map_at(addr, end, rights, Kind::Anon, mem) {
                Ok(()) => addr as i64,
                Err(e) => -e,
            };
        }
        // A hint is honoured when the range is free, as on Linux.
        if addr != 0 && addr % PAGE_SIZE == 0 {
            if let Some(end) = addr.checked_add(size) {
                if !self.hits_reserved(addr, end)
                    && !self.overlaps(addr, end)
                    && self.map_at(addr, end, rights, Kind::Anon, mem).is_ok()
                {
                    return addr as i64;
                }
            }
        }
        if self.maps.len() + 2 >= MAX_MAPPINGS {
            return -ENOMEM;
        }
        match mem.allocate(size, rights) {
            Ok(at) => {
                self.record(at, at + size, rights, Kind::Anon);
                at as i64
            }
            Err(e) => -e,
        }
    }

    /// Unmaps every mapping of the program (its image, stack, heap and `mmap`s) but the one
    /// holding `keep` (the stack the personality runs on: a forked copy's thread runs on
    /// the program's stack): a process whose program an `execve` replaced never runs it
    /// again, and only waits. What cannot be freed stays recorded.
    pub fn unmap_all_but(&mut self, keep: u64, mem: &mut dyn Memory) {
        /// What is kept below `keep`: room for the calls the personality still makes.
        const MARGIN: u64 = 64 * 1024;
        let maps = core::mem::take(&mut self.maps);
        for mut m in maps {
            if (m.start..m.end).contains(&keep) {
                // A stack grows down: the pages well below `keep` are not in use.
                let low = (keep & !(PAGE_SIZE - 1)).saturating_sub(MARGIN);
                if low > m.start && mem.free(m.start, low - m.start).is_ok() {
                    m.start = low;
                }
                self.maps.push(m);
            } else if mem.free(m.start, m.end - m.start).is_err() {
                self.maps.push(m);
            }
        }
    }

    /// `munmap`.
    pub fn munmap(&mut self, addr: u64, len: u64, mem: &mut dyn Memory) -> i64 {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
            return -EINVAL;
        }
        let Some(end) = addr.checked_add(page_up(len)) else {
            return -EINVAL;
        };
        if self.hits_reserved(addr, end) {
            return -EINVAL;
        }
        match self.unmap(addr, end, mem) {
            Ok(()) => 0,
            Err(e) => -e,
        }
    }

    /// `mprotect`: every page must be mapped.
    pub fn mprotect(&mut self, addr: u64, len: u64, prot: u64, mem: &mut dyn Memory) -> i64 {
        if !addr.is_multiple_of(PAGE_SIZE) || prot & !7 != 0 {
            return -EINVAL;
        }
        let Some(end) = addr.checked_add(page_up(len)) else {
            return -ENOMEM;
        };
        if len == 0 {
            return 0;
        }
        let rights = Rights::from_prot(prot);
        if rights.write && rights.exec {
            return -EACCES;
        }
        if !self.covered(addr, end) {
            return -ENOMEM;
        }
        self.split_at(addr);
        self.split_at(end);
        for m in self
            .maps
            .iter_mut()
            .filter(|m| m.start >= addr && m.end <= end)
        {
            if m.rights != rights {
                if let Err(e) = mem.protect(m.start, m.end - m.start, rights) {
                    return -e;
                }
                m.rights = rights;
            }
        }
        0
    }

    /// Whether `start..end` is mapped without a hole.
    fn covered(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        while at < end {
            match self.maps.iter().find(|m| m.start <= at && at < m.end) {
                Some(m) => at = m.end,
                None => return false,
            }
        }
        true
    }

    /// `madvise`: hints succeed; `MADV_DONTNEED` really replaces anonymous pages with zeroed
    /// ones (free and map again); other advice is refused with `EINVAL`.
    pub fn madvise(&mut self, addr: u64, len: u64, advice: u64, mem: &mut dyn Memory) -> i64 {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return -EINVAL;
        }
        let Some(end) = addr.checked_add(page_up(len)) else {
            return -EINVAL;
        };
        match advice {
            MADV_NORMAL | MADV_RANDOM | MADV_SEQUENTIAL | MADV_WILLNEED | MADV_FREE => {
                if self.covered(addr, end) {
                    0
                } else {
                    -ENOMEM
                }
            }
            MADV_DONTNEED => {
                if !self.covered(addr, end) {
                    return -ENOMEM;
                }
                self.split_at(addr);
                self.split_at(end);
                let pieces: Vec<Mapping> = self
                    .maps
                    .iter()
                    .filter(|m| m.start >= addr && m.end <= end)
                    .copied()
                    .collect();
                if pieces.iter().any(|m| m.kind == Kind::Image) {
                    // Would have to bring back the file's bytes.
                    return -EINVAL;
                }
                for m in pieces {
                    let len = m.end - m.start;
                    if let Err(e) = mem.free(m.start, len) {
                        return -e;
                    }
                    if let Err(e) = mem.allocate_at(m.start, len, m.rights) {
                        // The pages are gone; forget them rather than pretend.
                        self.maps.retain(|x| x.start != m.start);
                        return -e;
                    }
                }
                0
            }
            _ => -EINVAL,
        }
    }

    /// `brk`: the new break, or the old one when it cannot move.
    pub fn brk(&mut self, want: u64, mem: &mut dyn Memory) -> i64 {
        let old = self.brk;
        if want < self.brk_start || want - self.brk_start > MAX_BRK {
            return old as i64;
        }
        let (have, need) = (page_up(old), page_up(want));
        if need > have {
            if self.hits_reserved(have, need) || self.overlaps(have, need) {
                return old as i64;
            }
            if self.map_at(have, need, Rights::RW, Kind::Brk, mem).is_err() {
                return old as i64;
            }
        } else if need < have && self.unmap(need, have, mem).is_err() {
            return old as i64;
        }
        self.brk = want;
        want as i64
    }
}
