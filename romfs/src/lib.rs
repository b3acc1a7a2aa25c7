//! The read-only file system packed into an Ostrog image: a cpio archive in the "newc"
//! format, read in place without allocating.
//!
//! Each member is a 110-byte header of ASCII text (the magic `070701` and thirteen
//! 8-digit hexadecimal fields), the member's name with a terminating NUL, padding to a
//! multiple of four bytes, the member's data, and padding again. The archive ends with a
//! member named `TRAILER!!!`; anything after it (block padding) is ignored.
//!
//! [`Archive::new`] checks the whole archive once, so later lookups cannot fail:
//! every header's magic and hexadecimal fields, that names and data lie within the
//! archive, that names are NUL-terminated UTF-8, that no two files have the same name, and
//! that the trailer is there. Only regular files are visible through [`Archive::find`]
//! and [`Archive::entries`]; directories and other kinds of member are skipped. Names are
//! compared and returned without any leading `./` or `/`.
//!
//! With the `std` feature, [`Writer`] builds an archive in memory.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(any(feature = "std", test))]
mod writer;
#[cfg(any(feature = "std", test))]
pub use writer::{Writer, FILE_MODE};

#[cfg(test)]
mod tests;

use core::fmt;

/// The magic number at the start of every newc header.
pub const MAGIC: &[u8; 6] = b"070701";
/// Size of a newc header.
pub const HEADER_LEN: usize = 110;
/// Name of the member that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;

/// The thirteen hexadecimal header fields, in order, after the magic.
const FIELDS: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];
const MODE: usize = 1;
const FILESIZE: usize = 6;
const NAMESIZE: usize = 11;

/// What is wrong with an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The header does not start with `070701`.
    BadMagic,
    /// Fewer than 110 bytes remain for a header.
    TruncatedHeader,
    /// A header field is not 8 hexadecimal digits.
    BadHex { field: &'static str },
    /// The name size is zero, or a regular file's name is empty once a leading `./` or
    /// `/` is removed.
    EmptyName,
    /// The name runs past the end of the archive.
    NameOutOfBounds,
    /// The name does not end with its only NUL byte.
    NameNotTerminated,
    /// The name is not UTF-8.
    NameNotUtf8,
    /// The data runs past the end of the archive.
    DataOutOfBounds,
    /// The archive ends without a `TRAILER!!!` member.
    MissingTrailer,
    /// A second regular file with a name already seen.
    DuplicateName,
    /// An offset or size overflows `usize`.
    Overflow,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::BadMagic => f.write_str("bad magic number (expected 070701)"),
            Reason::TruncatedHeader => f.write_str("truncated header"),
            Reason::BadHex { field } => {
                write!(f, "header field {field} is not 8 hexadecimal digits")
            }
            Reason::EmptyName => f.write_str("name is empty"),
            Reason::NameOutOfBounds => f.write_str("name runs past the end of the archive"),
            Reason::NameNotTerminated => f.write_str("name is not terminated by a single NUL byte"),
            Reason::NameNotUtf8 => f.write_str("name is not valid UTF-8"),
            Reason::DataOutOfBounds => f.write_str("file data runs past the end of the archive"),
            Reason::MissingTrailer => f.write_str("archive ends without a TRAILER!!! member"),
            Reason::DuplicateName => f.write_str("a file with this name appears earlier"),
            Reason::Overflow => f.write_str("offset or size overflows"),
        }
    }
}

/// Why a name was refused by [`Writer::add_file`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Empty (also after removing a leading `./` or `/`).
    Empty,
    /// Contains a NUL byte.
    Nul,
    /// Has a `..` component.
    ParentComponent,
    /// Has an empty or `.` component (`a//b`, `a/./b`, `a/`).
    EmptyComponent,
    /// Is `TRAILER!!!`, which would end the archive.
    Reserved,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::Empty => "name is empty",
            NameError::Nul => "name contains a NUL byte",
            NameError::ParentComponent => "name has a `..` component",
            NameError::EmptyComponent => "name has an empty or `.` component",
            NameError::Reserved => "name TRAILER!!! is reserved for the end of the archive",
        })
    }
}

/// An error reading or writing an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The archive is malformed at byte `offset` (the start of the member's header, or
    /// of the missing header).
    Format { offset: usize, reason: Reason },
    /// [`Writer::add_file`]: the name is not acceptable.
    BadName(NameError),
    /// [`Writer::add_file`]: a file with this name was already added.
    DuplicateName,
    /// [`Writer::add_file`]: the file (or name) is too large for newc's 32-bit sizes.
    TooLarge,
}

impl Error {
    /// The byte offset of a format error.
    pub fn offset(&self) -> Option<usize> {
        match self {
            Error::Format { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Format { offset, reason } => {
                write!(f, "romfs archive: at byte {offset}: {reason}")
            }
            Error::BadName(e) => write!(f, "romfs writer: {e}"),
            Error::DuplicateName => {
                f.write_str("romfs writer: a file with this name was already added")
            }
            Error::TooLarge => {
                f.write_str("romfs writer: file or name larger than 4 GiB - 1 bytes")
            }
        }
    }
}

impl core::error::Error for Error {}

/// A regular file in an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The name, without a leading `./` or `/`.
    pub name: &'a str,
    pub data: &'a [u8],
}

/// A validated archive.
#[derive(Clone, Copy, Debug)]
pub struct Archive<'a> {
    bytes: &'a [u8],
}

impl<'a> Archive<'a> {
    /// Checks the whole archive (see the crate documentation for what is checked).
    pub fn new(bytes: &'a [u8]) -> Result<Archive<'a>, Error> {
        let mut offset = 0;
        loop {
            let member = Member::parse(bytes, offset)?;
            if member.is_trailer() {
                return Ok(Archive { bytes });
            }
            if member.is_file() {
                if member.name.is_empty() {
                    return Err(Error::Format {
                        offset,
                        reason: Reason::EmptyName,
                    });
                }
                let earlier = Archive { bytes }.members_before(offset);
                for other in earlier {
                    let other = other?;
                    if other.is_file() && other.name == member.name {
                        return Err(Error::Format {
                            offset,
                            reason: Reason::DuplicateName,
                        });
                    }
                }
            }
            offset = member.next;
        }
    }

    /// The contents of the regular file `name` (a leading `./` or `/` is ignored).
    pub fn find(&self, name: &str) -> Option<&'a [u8]> {
        let name = normalize(name);
        self.entries()
            .flatten()
            .find(|e| e.name == name)
            .map(|e| e.data)
    }

    /// The regular files, in archive order. The archive was checked by [`Archive::new`],
    /// so no item is an error in practice.
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            bytes: self.bytes,
            offset: 0,
            done: false,
        }
    }

    /// The archive's bytes, as given to [`Archive::new`].
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// All members (of any kind) whose headers start before `end`.
    fn members_before(self, end: usize) -> impl Iterator<Item = Result<Member<'a>, Error>> {
        let mut offset = 0;
        core::iter::from_fn(move || {
            if offset >= end {
                return None;
            }
            let m = Member::parse(self.bytes, offset);
            match &m {
                Ok(m) => offset = m.next,
                Err(_) => offset = end,
            }
            Some(m)
        })
    }
}

/// Iterator over the regular files of an [`Archive`].
#[derive(Clone, Debug)]
pub struct Entries<'a> {
    bytes: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let member = match Member::parse(self.bytes, self.offset) {
                Ok(m) => m,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if member.is_trailer() {
                self.done = true;
                return None;
            }
            self.offset = member.next;
            if member.is_file() {
                return Some(Ok(Entry {
                    name: member.name,
                    data: member.data,
                }));
            }
        }
        None
    }
}

/// One parsed member of any kind.
struct Member<'a> {
    mode: u32,
    /// Normalized name.
    name: &'a str,
    /// Named exactly `TRAILER!!!` (before normalization).
    trailer: bool,
    data: &'a [u8],
    /// Offset of the next header.
    next: usize,
}

impl<'a> Member<'a> {
    fn parse(bytes: &'a [u8], offset: usize) -> Result<Member<'a>, Error> {
        let fail = |reason| Error::Format { offset, reason };
        if offset >= bytes.len() {
            return Err(fail(Reason::MissingTrailer));
        }
        let header_end = offset
            .checked_add(HEADER_LEN)
            .ok_or(fail(Reason::Overflow))?;
        let header = bytes
            .get(offset..header_end)
            .ok_or(fail(Reason::TruncatedHeader))?;
        if header.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(fail(Reason::BadMagic));
        }
        let mut fields = [0u32; FIELDS.len()];
        for (i, (value, field)) in fields.iter_mut().zip(FIELDS).enumerate() {
            let start = MAGIC.len() + 8 * i;
            let digits = header
                .get(start..start + 8)
                .ok_or(fail(Reason::TruncatedHeader))?;
            *value = parse_hex(digits).ok_or(fail(Reason::BadHex { field }))?;
        }
        let to_usize = |v: u32| usize::try_from(v).map_err(|_| fail(Reason::Overflow));
        let namesize = to_usize(fields[NAMESIZE])?;
        let filesize = to_usize(fields[FILESIZE])?;

        if namesize == 0 {
            return Err(fail(Reason::EmptyName));
        }
        let name_end = header_end
            .checked_add(namesize)
            .ok_or(fail(Reason::Overflow))?;
        let raw_name = bytes
            .get(header_end..name_end)
            .ok_or(fail(Reason::NameOutOfBounds))?;
        let (last, name) = raw_name.split_last().ok_or(fail(Reason::EmptyName))?;
        if *last != 0 || name.contains(&0) {
            return Err(fail(Reason::NameNotTerminated));
        }
        let name = core::str::from_utf8(name).map_err(|_| fail(Reason::NameNotUtf8))?;

        let data_start = align4(name_end).ok_or(fail(Reason::Overflow))?;
        let data_end = data_start
            .checked_add(filesize)
            .ok_or(fail(Reason::Overflow))?;
        let data = if filesize == 0 {
            // Nothing to read; the padding after the name may be cut off at the very end.
            &[][..]
        } else {
            bytes
                .get(data_start..data_end)
                .ok_or(fail(Reason::DataOutOfBounds))?
        };
        let next = align4(data_end).ok_or(fail(Reason::Overflow))?;
        Ok(Member {
            mode: fields[MODE],
            name: normalize(name),
            trailer: name == TRAILER,
            data,
            next,
        })
    }

    fn is_trailer(&self) -> bool {
        self.trailer
    }

    fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
}

/// Removes any leading `./` and `/`.
fn normalize(mut name: &str) -> &str {
    loop {
        if let Some(rest) = name.strip_prefix("./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix('/') {
            name = rest;
        } else {
            return name;
        }
    }
}

fn parse_hex(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = char::from(d).to_digit(16)?;
        acc.checked_mul(16)?.checked_add(v)
    })
}

fn align4(n: usize) -> Option<usize> {
    Some(n.checked_add(3)? & !3)
}
