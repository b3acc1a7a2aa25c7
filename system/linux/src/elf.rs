//! The load plan of a static Linux executable: which pages to map with which rights, which
//! file bytes go where, the entry point and what the auxiliary vector says about the image.
//!
//! Accepted: ELF64 little-endian, `EM_X86_64` or `EM_AARCH64`, `ET_EXEC` or `ET_DYN` without
//! `PT_INTERP` (static-PIE, loaded at [`PIE_BASE`]). A dynamically linked executable
//! (`PT_INTERP`) is refused with [`Error::Dynamic`]: there is no dynamic linker. The parser is
//! written by hand for the same reasons as `ostrog-loader`'s (two fixed-layout structures,
//! every field checked anyway); that loader accepts only native absolute images inside the
//! user range, while a Linux image needs a load bias, `PT_PHDR`, `PT_TLS` and `PT_INTERP`.

use alloc::vec::Vec;
use core::fmt;

use crate::{page_down, page_up, Arch, PAGE_SIZE};

/// Where a static-PIE (`ET_DYN`) image is placed: its lowest segment's page.
pub const PIE_BASE: u64 = 0x1000_0000;
/// Most `PT_LOAD` segments accepted.
pub const MAX_SEGMENTS: usize = 16;
/// Lowest address a segment may use (nothing is mapped below it on Ostrog).
pub const USER_MIN: u64 = ostrog_abi::layout::USER_MIN as u64;
/// Exclusive upper end of the addresses an image may use: the personality itself is linked at
/// [`crate::PERSONALITY_BASE`].
pub const IMAGE_END: u64 = crate::PERSONALITY_BASE;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_TLS: u32 = 7;
const PT_GNU_STACK: u32 = 0x6474_e551;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

/// Access rights of a mapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rights {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Rights {
    pub const RW: Rights = Rights {
        read: true,
        write: true,
        exec: false,
    };
    pub const NONE: Rights = Rights {
        read: false,
        write: false,
        exec: false,
    };

    /// From Linux `PROT_*` bits (`PROT_READ` 1, `PROT_WRITE` 2, `PROT_EXEC` 4).
    pub fn from_prot(prot: u64) -> Rights {
        Rights {
            read: prot & 1 != 0,
            write: prot & 2 != 0,
            exec: prot & 4 != 0,
        }
    }

    fn union(self, other: Rights) -> Rights {
        Rights {
            read: self.read || other.read,
            write: self.write || other.write,
            exec: self.exec || other.exec,
        }
    }
}

/// Why an executable cannot be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than its headers say, or not an ELF64 little-endian file.
    NotElf,
    /// For another machine than the one asked for.
    WrongMachine,
    /// Neither `ET_EXEC` nor `ET_DYN`.
    NotExecutable,
    /// Has `PT_INTERP`: dynamically linked.
    Dynamic,
    /// No `PT_LOAD` segment, or more than [`MAX_SEGMENTS`].
    SegmentCount,
    /// A segment is malformed: file range outside the file, `filesz > memsz`, address and
    /// offset not congruent modulo the page size, or an address overflows.
    BadSegment,
    /// A segment lies outside `USER_MIN..IMAGE_END`, or segments overlap.
    BadAddress,
    /// Some page would be writable and executable at once (Ostrog keeps W^X).
    WriteAndExecute,
    /// The entry point is not in an executable segment.
    BadEntry,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::NotElf => "not an ELF64 little-endian file (or cut short)",
            Error::WrongMachine => "built for another machine",
            Error::NotExecutable => "not an executable (ELF type is neither EXEC nor DYN)",
            Error::Dynamic => {
                "dynamically linked (has PT_INTERP); only static executables run on Ostrog"
            }
            Error::SegmentCount => "no loadable segment, or too many",
            Error::BadSegment => "a malformed loadable segment",
            Error::BadAddress => "a segment outside the address range Linux programs may use",
            Error::WriteAndExecute => "a page would be writable and executable at once",
            Error::BadEntry => "the entry point is not in an executable segment",
        })
    }
}

/// One run of pages to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Page-aligned start (load bias applied).
    pub start: u64,
    /// Page-aligned exclusive end.
    pub end: u64,
    /// Final rights (the pages are mapped writable first, filled, then protected).
    pub rights: Rights,
}

/// File bytes to copy into the mapped pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copy {
    /// Destination address (load bias applied).
    pub addr: u64,
    /// Offset in the file.
    pub offset: usize,
    pub len: usize,
}

/// What the loader must do, and what the auxiliary vector reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    pub arch: Arch,
    /// Added to every address of the file (0 for `ET_EXEC`).
    pub bias: u64,
    /// Page runs to map, sorted, not overlapping (pages shared by two segments get the union
    /// of their rights).
    pub regions: Vec<Region>,
    /// File bytes to copy (the rest of each region stays zero: `.bss`).
    pub copies: Vec<Copy>,
    /// Entry point (bias applied): `AT_ENTRY` and the first program counter.
    pub entry: u64,
    /// Address of the program headers in memory (`AT_PHDR`), 0 if they are not loaded.
    pub phdr: u64,
    pub phnum: u16,
    pub phent: u16,
    /// Page-aligned end of the highest segment: where `brk` starts.
    pub brk: u64,
    /// `PT_GNU_STACK` asked for an executable stack (not granted: the stack is never
    /// executable on Ostrog).
    pub exec_stack: bool,
    /// The `PT_TLS` template (address with bias, file size, memory size, alignment), for
    /// information: the C library sets up TLS itself from `AT_PHDR`.
    pub tls: Option<(u64, u64, u64, u64)>,
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, Error> {
    let s = b.get(at..at + 2).ok_or(Error::NotElf)?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, Error> {
    let s = b.get(at..at + 4).ok_or(Error::NotElf)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, Error> {
    let s = b.get(at..at + 8).ok_or(Error::NotElf)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

struct Phdr {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

/// Computes the load plan of `bytes` for `arch`.
pub fn plan(bytes: &[u8], arch: Arch) -> Result<LoadPlan, Error> {
    if bytes.len() < EHDR_SIZE || bytes[..4] != [0x7f, b'E', b'L', b'F'] {
        return Err(Error::NotElf);
    }
    if bytes[4] != 2 || bytes[5] != 1 || bytes[6] != 1 {
        return Err(Error::NotElf);
    }
    let kind = u16_at(bytes, 16)?;
    let machine = u16_at(bytes, 18)?;
    let want = match arch {
        Arch::X86_64 => EM_X86_64,
        Arch::Aarch64 => EM_AARCH64,
    };
    if machine != want {
        return Err(Error::WrongMachine);
    }
    if kind != ET_EXEC && kind != ET_DYN {
        return Err(Error::NotExecutable);
    }
    let entry = u64_at(bytes, 24)?;
    let phoff = u64_at(bytes, 32)?;
    let phent = u16_at(bytes, 54)?;
    let phnum = u16_at(bytes, 56)?;
    if usize::from(phent) != PHDR_SIZE {
        return Err(Error::NotElf);
    }
    let phoff = usize::try_from(phoff).map_err(|_| Error::NotElf)?;
    let table_len = usize::from(phnum) * PHDR_SIZE;
    let table_end = phoff.checked_add(table_len).ok_or(Error::NotElf)?;
    if table_end > bytes.len() {
        return Err(Error::NotElf);
    }
    let mut loads: Vec<Phdr> = Vec::new();
    let mut phdr_vaddr = None;
    let mut tls = None;
    let mut exec_stack = false;
    for i in 0..usize::from(phnum) {
        let at = phoff + i * PHDR_SIZE;
        let p = Phdr {
            kind: u32_at(bytes, at)?,
            flags: u32_at(bytes, at + 4)?,
            offset: u64_at(bytes, at + 8)?,
            vaddr: u64_at(bytes, at + 16)?,
            filesz: u64_at(bytes, at + 32)?,
            memsz: u64_at(bytes, at + 40)?,
            align: u64_at(bytes, at + 48)?,
        };
        match p.kind {
            PT_INTERP => return Err(Error::Dynamic),
            PT_PHDR => phdr_vaddr = Some(p.vaddr),
            PT_TLS => tls = Some((p.vaddr, p.filesz, p.memsz, p.align)),
            PT_GNU_STACK => exec_stack = p.flags & PF_X != 0,
            PT_LOAD => {
                if loads.len() == MAX_SEGMENTS {
                    return Err(Error::SegmentCount);
                }
                if p.memsz > 0 {
                    loads.push(p);
                }
            }
            _ => {}
        }
    }
    if loads.is_empty() {
        return Err(Error::SegmentCount);
    }
    loads.sort_by_key(|p| p.vaddr);
    let lowest = page_down(loads[0].vaddr);
    let bias = if kind == ET_DYN {
        PIE_BASE.checked_sub(lowest).ok_or(Error::BadAddress)?
    } else {
        0
    };

    let mut regions: Vec<Region> = Vec::new();
    let mut copies = Vec::new();
    let mut brk = 0;
    for p in &loads {
        let file_end = p.offset.checked_add(p.filesz).ok_or(Error::BadSegment)?;
        if p.filesz > p.memsz || file_end > bytes.len() as u64 {
            return Err(Error::BadSegment);
        }
        if p.align > 1 && (p.vaddr % PAGE_SIZE) != (p.offset % PAGE_SIZE) {
            return Err(Error::BadSegment);
        }
        let vaddr = p.vaddr.checked_add(bias).ok_or(Error::BadSegment)?;
        let mem_end = vaddr.checked_add(p.memsz).ok_or(Error::BadSegment)?;
        if vaddr < USER_MIN || mem_end > IMAGE_END {
            return Err(Error::BadAddress);
        }
        let rights = Rights {
            read: p.flags & PF_R != 0,
            write: p.flags & PF_W != 0,
            exec: p.flags & PF_X != 0,
        };
        let (start, end) = (page_down(vaddr), page_up(mem_end));
        match regions.last_mut() {
            // Segments are sorted; the previous one may end in this one's first page.
            Some(last) if last.end > start => {
                if mem_end <= last.end || vaddr < last.end - PAGE_SIZE {
                    return Err(Error::BadAddress);
                }
                let shared = Region {
                    start,
                    end: start + PAGE_SIZE,
                    rights: last.rights.union(rights),
                };
                last.end = start;
                if last.end == last.start {
                    regions.pop();
                }
                regions.push(shared);
                if end > shared.end {
                    regions.push(Region {
                        start: shared.end,
                        end,
                        rights,
                    });
                }
            }
            _ => regions.push(Region { start, end, rights }),
        }
        if p.filesz > 0 {
            copies.push(Copy {
                addr: vaddr,
                offset: p.offset as usize,
                len: p.filesz as usize,
            });
        }
        brk = brk.max(end);
    }
    if regions.iter().any(|r| r.rights.write && r.rights.exec) {
        return Err(Error::WriteAndExecute);
    }
    let entry = entry.checked_add(bias).ok_or(Error::BadEntry)?;
    if !regions
        .iter()
        .any(|r| r.rights.exec && (r.start..r.end).contains(&entry))
    {
        return Err(Error::BadEntry);
    }
    // AT_PHDR: PT_PHDR if present, else the table's address inside the segment that maps it.
    let phdr = match phdr_vaddr {
        Some(v) => v.wrapping_add(bias),
        None => loads
            .iter()
            .find(|p| {
                p.offset <= phoff as u64 && (table_end as u64) <= p.offset.saturating_add(p.filesz)
            })
            .map_or(0, |p| p.vaddr + (phoff as u64 - p.offset) + bias),
    };
    Ok(LoadPlan {
        arch,
        bias,
        regions,
        copies,
        entry,
        phdr,
        phnum,
        phent,
        brk,
        exec_stack,
        tls: tls.map(|(v, f, m, a)| (v.wrapping_add(bias), f, m, a)),
    })
}
