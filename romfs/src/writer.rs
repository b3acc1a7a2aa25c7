//! Building an archive in memory (feature `std`).

use std::collections::BTreeSet;
use std::string::String;
use std::vec::Vec;

use crate::{align4, normalize, Error, NameError, HEADER_LEN, MAGIC, TRAILER};

/// Mode of every file written: a regular file, `rwxr-xr-x`.
pub const FILE_MODE: u32 = 0o100755;

/// Builds a newc archive of regular files in memory.
///
/// Names are stored without a leading `./` or `/`. Owner, group and modification time are
/// zero, so the same files always give the same bytes.
#[derive(Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
    names: BTreeSet<String>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    /// Appends a regular file (mode [`FILE_MODE`]). Refuses empty names, names with a NUL byte, `..`, `.` or
    /// empty components, the name `TRAILER!!!`, a name already added, and files of 4 GiB
    /// or more.
    pub fn add_file(&mut self, name: &str, data: &[u8]) -> Result<(), Error> {
        if name.contains('\0') {
            return Err(Error::BadName(NameError::Nul));
        }
        let name = normalize(name);
        if name.is_empty() {
            return Err(Error::BadName(NameError::Empty));
        }
        for component in name.split('/') {
            match component {
                ".." => return Err(Error::BadName(NameError::ParentComponent)),
                "" | "." => return Err(Error::BadName(NameError::EmptyComponent)),
                _ => {}
            }
        }
        if name == TRAILER {
            return Err(Error::BadName(NameError::Reserved));
        }
        if self.names.contains(name) {
            return Err(Error::DuplicateName);
        }
        let ino = u32::try_from(self.names.len() + 1).map_err(|_| Error::TooLarge)?;
        self.member(ino, FILE_MODE, name, data)?;
        self.names.insert(String::from(name));
        Ok(())
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        // The trailer's name and size are constants that always fit.
        let _ = self.member(0, 0, TRAILER, &[]);
        self.bytes
    }

    fn member(&mut self, ino: u32, mode: u32, name: &str, data: &[u8]) -> Result<(), Error> {
        let namesize = u32::try_from(name.len() + 1).map_err(|_| Error::TooLarge)?;
        let filesize = u32::try_from(data.len()).map_err(|_| Error::TooLarge)?;
        // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
        // rdevminor, namesize, check
        let fields = [ino, mode, 0, 0, 1, 0, filesize, 0, 0, 0, 0, namesize, 0];
        self.bytes.reserve(HEADER_LEN + name.len() + data.len() + 8);
        self.bytes.extend_from_slice(MAGIC);
        for value in fields {
            push_hex(&mut self.bytes, value);
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
        Ok(())
    }

    /// Pads with NULs to a multiple of four bytes.
    fn pad(&mut self) {
        let len = self.bytes.len();
        let target = align4(len).unwrap_or(len);
        self.bytes.resize(target, 0);
    }
}

/// Appends `value` as 8 upper-case hexadecimal digits.
fn push_hex(out: &mut Vec<u8>, value: u32) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for shift in (0..8).rev() {
        out.push(DIGITS[((value >> (shift * 4)) & 0xf) as usize]);
    }
}
