//! Validation of ELF64 little-endian executables for the Ostrog program loader.
//!
//! [`Executable::parse`] checks everything the kernel relies on before it maps a program,
//! and hands back the entry point and the `PT_LOAD` segments. Nothing here touches memory
//! outside the given byte slice, and no input makes it panic.
//!
//! ## Why this parser is written by hand
//!
//! The loader reads two fixed-layout structures: the 64-byte ELF header and the 56-byte
//! program headers. Every field it reads is checked here anyway (bounds, overflow, the
//! user address range, W^X, page congruence), so a general ELF crate would add a
//! dependency, section and symbol parsing the kernel never uses, and its own notion of
//! what is valid, without removing any of the checks below. Parsing by hand keeps the
//! code small enough to review in one sitting and free of `unsafe`.
//!
//! ## What is accepted
//!
//! Only statically linked `ET_EXEC` images for the requested [`Machine`], with at most
//! [`MAX_LOAD_SEGMENTS`] `PT_LOAD` segments, each inside the user range
//! [`USER_MIN`]..[`USER_END`], none writable and executable at once, no two sharing a
//! page, and the entry point inside an executable segment. See [`Error`] for every
//! reason an image is refused.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests;

use core::fmt;

use ostrog_abi::layout::{USER_END, USER_MIN};

/// Page size the loader maps with; segment addresses and file offsets must agree modulo it.
pub const PAGE_SIZE: usize = 4096;

/// Most `PT_LOAD` segments an executable may have.
pub const MAX_LOAD_SEGMENTS: usize = 16;

const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;

const ELF_MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EV_CURRENT: u8 = 1;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

const PF_X: u32 = 1;
const PF_W: u32 = 2;

/// The processor an executable must be built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    X86_64,
    Aarch64,
}

impl Machine {
    /// The `e_machine` value of this processor.
    pub const fn elf_machine(self) -> u16 {
        match self {
            Machine::X86_64 => EM_X86_64,
            Machine::Aarch64 => EM_AARCH64,
        }
    }

    /// A short human-readable name.
    pub const fn name(self) -> &'static str {
        match self {
            Machine::X86_64 => "x86_64",
            Machine::Aarch64 => "AArch64",
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `PT_LOAD` segment: `memsz` bytes mapped at `vaddr`, of which the first `filesz`
/// come from the file at `offset` and the rest are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Segment {
    pub vaddr: usize,
    pub memsz: usize,
    pub offset: usize,
    pub filesz: usize,
    pub writable: bool,
    pub executable: bool,
}

/// Why an image was refused. Segment errors carry the index of the program header
/// (counting every program header, not only `PT_LOAD` ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The image does not start with the ELF magic number.
    NotElf,
    /// `EI_CLASS` is not 64-bit.
    WrongClass(u8),
    /// `EI_DATA` is not little-endian.
    NotLittleEndian(u8),
    /// `EI_VERSION` or `e_version` is not the current version (1).
    UnsupportedVersion,
    /// `e_machine` is not the processor asked for.
    WrongMachine { expected: Machine, found: u16 },
    /// `ET_DYN`: position-independent executables (and shared objects) are not supported.
    PositionIndependent,
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN`.
    NotExecutable(u16),
    /// The image is shorter than the ELF header.
    HeaderOutOfBounds,
    /// `e_phentsize` is not the size of an ELF64 program header.
    BadProgramHeaderSize(u16),
    /// The program header table does not lie within the image.
    ProgramHeadersOutOfBounds,
    /// A `PT_INTERP` or `PT_DYNAMIC` header: the program needs dynamic linking.
    DynamicallyLinked { index: usize },
    /// More than [`MAX_LOAD_SEGMENTS`] `PT_LOAD` segments.
    TooManySegments,
    /// No `PT_LOAD` segment at all.
    NoLoadSegments,
    /// A segment has more bytes in the file than in memory.
    FileSizeExceedsMemSize { index: usize },
    /// A segment's bytes in the file lie (partly) outside the image.
    SegmentOutOfFile { index: usize },
    /// A segment lies (partly) outside the user address range.
    SegmentOutsideUserRange { index: usize },
    /// A segment's address and file offset differ modulo the page size.
    Misaligned { index: usize },
    /// A segment is both writable and executable.
    WritableAndExecutable { index: usize },
    /// Two segments overlap (in the same page).
    SegmentsOverlap { first: usize, second: usize },
    /// The entry point is not inside an executable segment.
    EntryNotExecutable { entry: u64 },
    /// An address or size overflowed (or does not fit in `usize`).
    Overflow,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NotElf => f.write_str("not an ELF file (bad magic number)"),
            Error::WrongClass(c) => {
                write!(f, "not a 64-bit ELF file (EI_CLASS is {c}, expected 2)")
            }
            Error::NotLittleEndian(d) => {
                write!(f, "not a little-endian ELF file (EI_DATA is {d}, expected 1)")
            }
            Error::UnsupportedVersion => f.write_str("unsupported ELF version (expected 1)"),
            Error::WrongMachine { expected, found } => write!(
                f,
                "built for the wrong processor (e_machine {found}, expected {} for {expected})",
                expected.elf_machine()
            ),
            Error::PositionIndependent => f.write_str(
                "position-independent executables (ET_DYN) are not supported: \
                 link a static executable at a fixed address",
            ),
            Error::NotExecutable(t) => {
                write!(f, "not an executable (e_type {t}, expected ET_EXEC)")
            }
            Error::HeaderOutOfBounds => f.write_str("file too short for the ELF header"),
            Error::BadProgramHeaderSize(s) => {
                write!(f, "program header entry size is {s}, expected {PHDR_SIZE}")
            }
            Error::ProgramHeadersOutOfBounds => {
                f.write_str("program header table lies outside the file")
            }
            Error::DynamicallyLinked { index } => write!(
                f,
                "program header {index} asks for dynamic linking; only static executables are supported"
            ),
            Error::TooManySegments => {
                write!(f, "more than {MAX_LOAD_SEGMENTS} loadable segments")
            }
            Error::NoLoadSegments => f.write_str("no loadable segments"),
            Error::FileSizeExceedsMemSize { index } => write!(
                f,
                "segment {index}: size in file is larger than size in memory"
            ),
            Error::SegmentOutOfFile { index } => {
                write!(f, "segment {index}: file contents lie outside the file")
            }
            Error::SegmentOutsideUserRange { index } => write!(
                f,
                "segment {index}: lies outside the user address range {USER_MIN:#x}..{USER_END:#x}"
            ),
            Error::Misaligned { index } => write!(
                f,
                "segment {index}: address and file offset differ modulo the page size ({PAGE_SIZE})"
            ),
            Error::WritableAndExecutable { index } => {
                write!(f, "segment {index}: both writable and executable (W^X)")
            }
            Error::SegmentsOverlap { first, second } => {
                write!(f, "segments {first} and {second} overlap (share a page)")
            }
            Error::EntryNotExecutable { entry } => write!(
                f,
                "entry point {entry:#x} is not inside an executable segment"
            ),
            Error::Overflow => {
                f.write_str("an address or size overflows (or does not fit in usize)")
            }
        }
    }
}

impl core::error::Error for Error {}

/// Iterator over the loadable segments of an [`Executable`].
pub type Segments<'s> = core::iter::Copied<core::slice::Iter<'s, Segment>>;

/// A validated executable image.
#[derive(Clone, Debug)]
pub struct Executable<'a> {
    bytes: &'a [u8],
    entry: usize,
    segments: [Segment; MAX_LOAD_SEGMENTS],
    count: usize,
}

impl<'a> Executable<'a> {
    /// Validates `bytes` as a static ELF64 little-endian executable for `machine`.
    pub fn parse(bytes: &'a [u8], machine: Machine) -> Result<Executable<'a>, Error> {
        if bytes.get(..4) != Some(&ELF_MAGIC[..]) {
            return Err(Error::NotElf);
        }
        if bytes.len() < EHDR_SIZE {
            return Err(Error::HeaderOutOfBounds);
        }
        let byte = |off: usize| bytes.get(off).copied().ok_or(Error::HeaderOutOfBounds);
        let class = byte(4)?;
        if class != ELFCLASS64 {
            return Err(Error::WrongClass(class));
        }
        let data = byte(5)?;
        if data != ELFDATA2LSB {
            return Err(Error::NotLittleEndian(data));
        }
        if byte(6)? != EV_CURRENT || read_u32(bytes, 20)? != u32::from(EV_CURRENT) {
            return Err(Error::UnsupportedVersion);
        }
        let found = read_u16(bytes, 18)?;
        if found != machine.elf_machine() {
            return Err(Error::WrongMachine {
                expected: machine,
                found,
            });
        }
        match read_u16(bytes, 16)? {
            ET_EXEC => {}
            ET_DYN => return Err(Error::PositionIndependent),
            other => return Err(Error::NotExecutable(other)),
        }
        let raw_entry = read_u64(bytes, 24)?;
        let phoff = to_usize(read_u64(bytes, 32)?)?;
        let phentsize = read_u16(bytes, 54)?;
        let phnum = usize::from(read_u16(bytes, 56)?);

        if phnum != 0 && usize::from(phentsize) != PHDR_SIZE {
            return Err(Error::BadProgramHeaderSize(phentsize));
        }
        let table_end = phnum
            .checked_mul(PHDR_SIZE)
            .and_then(|size| phoff.checked_add(size))
            .ok_or(Error::Overflow)?;
        if table_end > bytes.len() {
            return Err(Error::ProgramHeadersOutOfBounds);
        }

        let mut segments = [Segment::default(); MAX_LOAD_SEGMENTS];
        let mut indices = [0usize; MAX_LOAD_SEGMENTS];
        let mut count = 0;
        for index in 0..phnum {
            let base = index
                .checked_mul(PHDR_SIZE)
                .and_then(|o| phoff.checked_add(o))
                .ok_or(Error::Overflow)?;
            let p_type = read_u32(bytes, base).map_err(|_| Error::ProgramHeadersOutOfBounds)?;
            match p_type {
                PT_LOAD => {}
                PT_INTERP | PT_DYNAMIC => return Err(Error::DynamicallyLinked { index }),
                _ => continue,
            }
            if count == MAX_LOAD_SEGMENTS {
                return Err(Error::TooManySegments);
            }
            let segment = read_segment(bytes, base, index)?;
            segments[count] = segment;
            indices[count] = index;
            count += 1;
        }
        if count == 0 {
            return Err(Error::NoLoadSegments);
        }
        let loaded = &segments[..count];

        // Segments are mapped page by page, so two segments sharing a page would need
        // that page mapped twice (possibly with different permissions): refuse it.
        for (i, a) in loaded.iter().enumerate() {
            for (j, b) in loaded.iter().enumerate().skip(i + 1) {
                if let (Some(ra), Some(rb)) = (page_range(a)?, page_range(b)?) {
                    if ra.0 < rb.1 && rb.0 < ra.1 {
                        return Err(Error::SegmentsOverlap {
                            first: indices[i],
                            second: indices[j],
                        });
                    }
                }
            }
        }

        let entry = usize::try_from(raw_entry)
            .map_err(|_| Error::EntryNotExecutable { entry: raw_entry })?;
        let inside = loaded
            .iter()
            .any(|s| s.executable && entry >= s.vaddr && entry - s.vaddr < s.memsz);
        if !inside {
            return Err(Error::EntryNotExecutable { entry: raw_entry });
        }

        Ok(Executable {
            bytes,
            entry,
            segments,
            count,
        })
    }

    /// The address of the first instruction.
    pub fn entry(&self) -> usize {
        self.entry
    }

    /// The `PT_LOAD` segments, in program header order.
    pub fn segments(&self) -> Segments<'_> {
        self.segments[..self.count].iter().copied()
    }

    /// The whole image.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes of `segment` in the file (`filesz` bytes at `offset`); `None` only for a
    /// segment that does not come from this executable and lies outside the file.
    pub fn segment_data(&self, segment: &Segment) -> Option<&'a [u8]> {
        let end = segment.offset.checked_add(segment.filesz)?;
        self.bytes.get(segment.offset..end)
    }
}

/// Reads and checks the `PT_LOAD` program header at `base` (known to be in bounds).
fn read_segment(bytes: &[u8], base: usize, index: usize) -> Result<Segment, Error> {
    let field = |off: usize| -> Result<u64, Error> {
        base.checked_add(off)
            .ok_or(Error::Overflow)
            .and_then(|at| read_u64(bytes, at))
            .map_err(|_| Error::ProgramHeadersOutOfBounds)
    };
    let flags = read_u32(bytes, base.checked_add(4).ok_or(Error::Overflow)?)
        .map_err(|_| Error::ProgramHeadersOutOfBounds)?;
    let offset = to_usize(field(8)?)?;
    let vaddr = to_usize(field(16)?)?;
    let filesz = to_usize(field(32)?)?;
    let memsz = to_usize(field(40)?)?;

    if filesz > memsz {
        return Err(Error::FileSizeExceedsMemSize { index });
    }
    let file_end = offset.checked_add(filesz).ok_or(Error::Overflow)?;
    if file_end > bytes.len() {
        return Err(Error::SegmentOutOfFile { index });
    }
    let mem_end = vaddr.checked_add(memsz).ok_or(Error::Overflow)?;
    if vaddr < USER_MIN || mem_end > USER_END {
        return Err(Error::SegmentOutsideUserRange { index });
    }
    if vaddr % PAGE_SIZE != offset % PAGE_SIZE {
        return Err(Error::Misaligned { index });
    }
    let writable = flags & PF_W != 0;
    let executable = flags & PF_X != 0;
    if writable && executable {
        return Err(Error::WritableAndExecutable { index });
    }
    Ok(Segment {
        vaddr,
        memsz,
        offset,
        filesz,
        writable,
        executable,
    })
}

/// The pages a segment occupies, as `[start, end)`; `None` for an empty segment.
fn page_range(s: &Segment) -> Result<Option<(usize, usize)>, Error> {
    if s.memsz == 0 {
        return Ok(None);
    }
    let end = s
        .vaddr
        .checked_add(s.memsz)
        .and_then(|e| e.checked_add(PAGE_SIZE - 1))
        .ok_or(Error::Overflow)?;
    Ok(Some((s.vaddr & !(PAGE_SIZE - 1), end & !(PAGE_SIZE - 1))))
}

fn to_usize(v: u64) -> Result<usize, Error> {
    usize::try_from(v).map_err(|_| Error::Overflow)
}

fn read_array<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], Error> {
    let end = at.checked_add(N).ok_or(Error::Overflow)?;
    bytes
        .get(at..end)
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::HeaderOutOfBounds)
}

fn read_u16(bytes: &[u8], at: usize) -> Result<u16, Error> {
    read_array(bytes, at).map(u16::from_le_bytes)
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32, Error> {
    read_array(bytes, at).map(u32::from_le_bytes)
}

fn read_u64(bytes: &[u8], at: usize) -> Result<u64, Error> {
    read_array(bytes, at).map(u64::from_le_bytes)
}
