//! The loaded size of a kernel image: its ELF64 sections that take memory, by kind.

use anyhow::{bail, Result};

/// Bytes of the allocated sections of an image, by kind.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    /// Executable.
    pub text: u64,
    /// Read-only data (an embedded ROMFS is here).
    pub rodata: u64,
    /// Writable data with contents in the file.
    pub data: u64,
    /// Writable data without (zeroed at boot).
    pub bss: u64,
}

impl Sizes {
    pub fn total(&self) -> u64 {
        self.text + self.rodata + self.data + self.bss
    }
}

const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;
const SHT_NOBITS: u32 = 8;

/// The sizes of the `SHF_ALLOC` sections of a little-endian ELF64 file.
pub fn sections(elf: &[u8]) -> Result<Sizes> {
    let u16_at = |at: usize| -> Option<u64> {
        Some(u64::from(u16::from_le_bytes(
            elf.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?))
    };
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?))
    };
    if elf.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1][..]) {
        bail!("not a little-endian ELF64 file");
    }
    let (Some(shoff), Some(shentsize), Some(shnum)) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c))
    else {
        bail!("truncated ELF header");
    };
    let mut sizes = Sizes::default();
    for i in 0..shnum {
        let at = (shoff + i * shentsize) as usize;
        let (Some(kind), Some(flags), Some(size)) =
            (u32_at(at + 4), u64_at(at + 8), u64_at(at + 32))
        else {
            bail!("truncated section header {i}");
        };
        if flags & SHF_ALLOC == 0 {
            continue;
        }
        let slot = if flags & SHF_EXECINSTR != 0 {
            &mut sizes.text
        } else if kind == SHT_NOBITS {
            &mut sizes.bss
        } else if flags & SHF_WRITE != 0 {
            &mut sizes.data
        } else {
            &mut sizes.rodata
        };
        *slot += size;
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ELF64 header and `sections` as (type, flags, size).
    fn elf(sections: &[(u32, u64, u64)]) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
        f[0x28..0x30].copy_from_slice(&64u64.to_le_bytes());
        f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        f[0x3c..0x3e].copy_from_slice(&(sections.len() as u16).to_le_bytes());
        for &(kind, flags, size) in sections {
            let mut h = vec![0u8; 64];
            h[4..8].copy_from_slice(&kind.to_le_bytes());
            h[8..16].copy_from_slice(&flags.to_le_bytes());
            h[32..40].copy_from_slice(&size.to_le_bytes());
            f.extend(h);
        }
        f
    }

    #[test]
    fn sections_are_counted_by_kind_and_unallocated_ones_left_out() {
        let image = elf(&[
            (1, SHF_ALLOC | SHF_EXECINSTR, 100),
            (1, SHF_ALLOC, 20),
            (1, SHF_ALLOC | SHF_WRITE, 3),
            (SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 4000),
            (1, 0, 99_999),
        ]);
        let sizes = sections(&image).unwrap();
        assert_eq!(
            sizes,
            Sizes {
                text: 100,
                rodata: 20,
                data: 3,
                bss: 4000
            }
        );
        assert_eq!(sizes.total(), 4123);
    }

    #[test]
    fn a_truncated_file_is_an_error() {
        let image = elf(&[(1, SHF_ALLOC, 1)]);
        assert!(sections(&image[..100]).is_err());
        assert!(sections(b"MZ").is_err());
    }
}
