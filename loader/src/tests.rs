//! Host tests: small ELF images are built field by field by [`Image`].

use super::*;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

const PF_R: u32 = 4;
const RX: u32 = PF_R | PF_X;
const RW: u32 = PF_R | PF_W;
const PT_NOTE: u32 = 4;

#[derive(Clone, Copy)]
struct Ph {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
    Ph {
        p_type: PT_LOAD,
        flags,
        offset,
        vaddr,
        filesz,
        memsz,
    }
}

/// The fields of an ELF image; `build` lays them out.
#[derive(Clone)]
struct Image {
    class: u8,
    data: u8,
    ident_version: u8,
    e_type: u16,
    machine: u16,
    version: u32,
    entry: u64,
    phoff: u64,
    phentsize: u16,
    /// `e_phnum`; defaults to `phdrs.len()`.
    phnum: Option<u16>,
    phdrs: Vec<Ph>,
    len: usize,
}

const TEXT_VADDR: u64 = 0x40_00b0;
const DATA_VADDR: u64 = 0x40_10d0;

impl Image {
    /// A valid executable: headers (0xb0 bytes), then 0x20 bytes of code at 0x4000b0
    /// (read/execute) and 0x10 bytes of data at 0x4010d0 followed by 0xf0 bytes of
    /// zero-filled memory (read/write).
    fn valid() -> Image {
        Image {
            class: ELFCLASS64,
            data: ELFDATA2LSB,
            ident_version: 1,
            e_type: ET_EXEC,
            machine: EM_X86_64,
            version: 1,
            entry: TEXT_VADDR,
            phoff: 64,
            phentsize: 56,
            phnum: None,
            phdrs: vec![
                load(RX, 0xb0, TEXT_VADDR, 0x20, 0x20),
                load(RW, 0xd0, DATA_VADDR, 0x10, 0x100),
            ],
            len: 0xe0,
        }
    }

    fn with_segment(mut self, index: usize, ph: Ph) -> Image {
        self.phdrs[index] = ph;
        self
    }

    fn build(&self) -> Vec<u8> {
        let mut b = vec![0xccu8; self.len];
        let mut put = |at: usize, v: &[u8]| {
            let end = at.saturating_add(v.len());
            if let Some(dst) = b.get_mut(at..end) {
                dst.copy_from_slice(v);
            }
        };
        put(0, &ELF_MAGIC);
        put(4, &[self.class, self.data, self.ident_version, 0]);
        put(8, &[0; 8]);
        put(16, &self.e_type.to_le_bytes());
        put(18, &self.machine.to_le_bytes());
        put(20, &self.version.to_le_bytes());
        put(24, &self.entry.to_le_bytes());
        put(32, &self.phoff.to_le_bytes());
        put(40, &0u64.to_le_bytes());
        put(48, &0u32.to_le_bytes());
        put(52, &64u16.to_le_bytes());
        put(54, &self.phentsize.to_le_bytes());
        let phnum = self.phnum.unwrap_or(self.phdrs.len() as u16);
        put(56, &phnum.to_le_bytes());
        put(58, &[0; 6]);
        // Program headers are written only where they fit in the image.
        if let Some(phoff) = usize::try_from(self.phoff).ok().filter(|p| *p < self.len) {
            for (i, ph) in self.phdrs.iter().enumerate() {
                let base = phoff.saturating_add(i * 56);
                put(base, &ph.p_type.to_le_bytes());
                put(base + 4, &ph.flags.to_le_bytes());
                put(base + 8, &ph.offset.to_le_bytes());
                put(base + 16, &ph.vaddr.to_le_bytes());
                put(base + 24, &ph.vaddr.to_le_bytes());
                put(base + 32, &ph.filesz.to_le_bytes());
                put(base + 40, &ph.memsz.to_le_bytes());
                put(base + 48, &(PAGE_SIZE as u64).to_le_bytes());
            }
        }
        b
    }

    fn parse(&self) -> Result<(), Error> {
        Executable::parse(&self.build(), Machine::X86_64).map(|_| ())
    }
}

#[test]
fn valid_two_segment_executable() {
    let bytes = Image::valid().build();
    let exe = Executable::parse(&bytes, Machine::X86_64).expect("valid image");
    assert_eq!(exe.entry(), TEXT_VADDR as usize);
    let segments: Vec<Segment> = exe.segments().collect();
    assert_eq!(
        segments,
        vec![
            Segment {
                vaddr: 0x40_00b0,
                memsz: 0x20,
                offset: 0xb0,
                filesz: 0x20,
                writable: false,
                executable: true,
            },
            Segment {
                vaddr: 0x40_10d0,
                memsz: 0x100,
                offset: 0xd0,
                filesz: 0x10,
                writable: true,
                executable: false,
            },
        ]
    );
    assert_eq!(exe.segment_data(&segments[0]), Some(&bytes[0xb0..0xd0]));
    assert_eq!(exe.segment_data(&segments[1]), Some(&bytes[0xd0..0xe0]));
    assert_eq!(exe.bytes().len(), 0xe0);
}

#[test]
fn valid_aarch64_executable_and_machine_check() {
    let mut image = Image::valid();
    image.machine = EM_AARCH64;
    let bytes = image.build();
    assert!(Executable::parse(&bytes, Machine::Aarch64).is_ok());
    assert_eq!(
        Executable::parse(&bytes, Machine::X86_64).err(),
        Some(Error::WrongMachine {
            expected: Machine::X86_64,
            found: EM_AARCH64
        })
    );
}

#[test]
fn non_load_headers_are_skipped() {
    let mut image = Image::valid();
    image.phdrs.insert(
        0,
        Ph {
            p_type: PT_NOTE,
            flags: PF_R,
            offset: 0,
            vaddr: 0,
            filesz: 0,
            memsz: 0,
        },
    );
    image.phdrs[1].offset = 0xe8;
    image.phdrs[1].vaddr = 0x40_00e8;
    image.phdrs[2].offset = 0x108;
    image.phdrs[2].vaddr = 0x40_1108;
    image.entry = 0x40_00e8;
    image.len = 0x118;
    let bytes = image.build();
    let exe = Executable::parse(&bytes, Machine::X86_64).expect("valid image");
    assert_eq!(exe.segments().len(), 2);
}

#[test]
fn not_elf() {
    for bytes in [&b""[..], b"\x7fEL", b"MZ\x90\x00", &[0u8; 64]] {
        assert_eq!(
            Executable::parse(bytes, Machine::X86_64).err(),
            Some(Error::NotElf)
        );
    }
}

#[test]
fn truncated_header() {
    let bytes = Image::valid().build();
    assert_eq!(
        Executable::parse(&bytes[..40], Machine::X86_64).err(),
        Some(Error::HeaderOutOfBounds)
    );
}

#[test]
fn wrong_class() {
    let mut image = Image::valid();
    image.class = 1;
    assert_eq!(image.parse(), Err(Error::WrongClass(1)));
}

#[test]
fn big_endian() {
    let mut image = Image::valid();
    image.data = 2;
    assert_eq!(image.parse(), Err(Error::NotLittleEndian(2)));
}

#[test]
fn wrong_version() {
    let mut image = Image::valid();
    image.ident_version = 0;
    assert_eq!(image.parse(), Err(Error::UnsupportedVersion));
    let mut image = Image::valid();
    image.version = 2;
    assert_eq!(image.parse(), Err(Error::UnsupportedVersion));
}

#[test]
fn wrong_machine() {
    let mut image = Image::valid();
    image.machine = 3; // EM_386
    assert_eq!(
        image.parse(),
        Err(Error::WrongMachine {
            expected: Machine::X86_64,
            found: 3
        })
    );
}

#[test]
fn position_independent_rejected() {
    let mut image = Image::valid();
    image.e_type = ET_DYN;
    let err = image.parse().unwrap_err();
    assert_eq!(err, Error::PositionIndependent);
    assert!(err.to_string().contains("position-independent"));
}

#[test]
fn relocatable_and_core_rejected() {
    for t in [0u16, 1, 4, 0xfe00] {
        let mut image = Image::valid();
        image.e_type = t;
        assert_eq!(image.parse(), Err(Error::NotExecutable(t)));
    }
}

#[test]
fn bad_program_header_size() {
    let mut image = Image::valid();
    image.phentsize = 32;
    assert_eq!(image.parse(), Err(Error::BadProgramHeaderSize(32)));
}

#[test]
fn program_headers_out_of_bounds() {
    let mut image = Image::valid();
    image.phoff = 0xd0;
    assert_eq!(image.parse(), Err(Error::ProgramHeadersOutOfBounds));

    let mut image = Image::valid();
    image.phnum = Some(3);
    assert_eq!(image.parse(), Err(Error::ProgramHeadersOutOfBounds));

    let bytes = Image::valid().build();
    assert_eq!(
        Executable::parse(&bytes[..0xa0], Machine::X86_64).err(),
        Some(Error::ProgramHeadersOutOfBounds)
    );
}

#[test]
fn program_header_offset_overflow() {
    let mut image = Image::valid();
    image.phoff = u64::MAX - 8;
    assert_eq!(image.parse(), Err(Error::Overflow));
}

#[test]
fn dynamic_linking_rejected() {
    for p_type in [PT_INTERP, PT_DYNAMIC] {
        let mut image = Image::valid();
        image.phdrs[1].p_type = p_type;
        assert_eq!(image.parse(), Err(Error::DynamicallyLinked { index: 1 }));
    }
}

/// `n` one-page read-only segments (the first executable), headers in the first page.
fn many_segments(n: usize) -> Image {
    let mut image = Image::valid();
    image.phdrs = (0..n as u64)
        .map(|i| {
            let flags = if i == 0 { RX } else { PF_R };
            load(flags, 0, 0x40_0000 + i * 0x1000, 0x40, 0x1000)
        })
        .collect();
    image.entry = 0x40_0000;
    image.len = 64 + 56 * n;
    image
}

#[test]
fn segment_count_limit() {
    assert_eq!(many_segments(MAX_LOAD_SEGMENTS).parse(), Ok(()));
    assert_eq!(
        many_segments(MAX_LOAD_SEGMENTS + 1).parse(),
        Err(Error::TooManySegments)
    );
}

#[test]
fn no_load_segments() {
    let mut image = Image::valid();
    image.phdrs.clear();
    assert_eq!(image.parse(), Err(Error::NoLoadSegments));

    let mut image = Image::valid();
    for ph in &mut image.phdrs {
        ph.p_type = PT_NOTE;
    }
    assert_eq!(image.parse(), Err(Error::NoLoadSegments));
}

#[test]
fn file_size_exceeds_mem_size() {
    let image = Image::valid().with_segment(1, load(RW, 0xd0, DATA_VADDR, 0x10, 0x8));
    assert_eq!(
        image.parse(),
        Err(Error::FileSizeExceedsMemSize { index: 1 })
    );
}

#[test]
fn segment_outside_file() {
    let image = Image::valid().with_segment(1, load(RW, 0xd0, DATA_VADDR, 0x11, 0x100));
    assert_eq!(image.parse(), Err(Error::SegmentOutOfFile { index: 1 }));
    let image = Image::valid().with_segment(1, load(RW, 0x10d0, DATA_VADDR, 0, 0x100));
    assert_eq!(image.parse(), Err(Error::SegmentOutOfFile { index: 1 }));
}

#[test]
fn segment_arithmetic_overflow() {
    // offset + filesz
    let image = Image::valid().with_segment(1, load(RW, u64::MAX - 1, DATA_VADDR, 4, 4));
    assert_eq!(image.parse(), Err(Error::Overflow));
    // vaddr + memsz
    let image = Image::valid().with_segment(1, load(RW, 0xd0, u64::MAX - 0xf2f, 0x10, 0x1000));
    assert_eq!(image.parse(), Err(Error::Overflow));
}

#[test]
fn segment_outside_user_range() {
    // Below USER_MIN.
    let low = (USER_MIN - PAGE_SIZE) as u64 + 0xd0;
    let image = Image::valid().with_segment(1, load(RW, 0xd0, low, 0x10, 0x100));
    assert_eq!(
        image.parse(),
        Err(Error::SegmentOutsideUserRange { index: 1 })
    );
    // Crossing USER_END.
    let high = (USER_END - PAGE_SIZE) as u64 + 0xd0;
    let image = Image::valid().with_segment(1, load(RW, 0xd0, high, 0x10, 0x1000));
    assert_eq!(
        image.parse(),
        Err(Error::SegmentOutsideUserRange { index: 1 })
    );
    // Ending exactly at USER_END is fine.
    let image = Image::valid().with_segment(1, load(RW, 0xd0, high, 0x10, 0xf30));
    assert_eq!(image.parse(), Ok(()));
    // Kernel half.
    let image = Image::valid().with_segment(1, load(RW, 0xd0, 0xffff_8000_0000_10d0, 0x10, 0x10));
    assert_eq!(
        image.parse(),
        Err(Error::SegmentOutsideUserRange { index: 1 })
    );
}

#[test]
fn misaligned_segment() {
    let image = Image::valid().with_segment(1, load(RW, 0xd0, 0x40_1000, 0x10, 0x100));
    assert_eq!(image.parse(), Err(Error::Misaligned { index: 1 }));
}

#[test]
fn writable_and_executable() {
    let image = Image::valid().with_segment(1, load(RW | PF_X, 0xd0, DATA_VADDR, 0x10, 0x100));
    assert_eq!(
        image.parse(),
        Err(Error::WritableAndExecutable { index: 1 })
    );
}

#[test]
fn overlapping_segments() {
    // Same bytes.
    let image = Image::valid().with_segment(1, load(PF_R, 0xb0, TEXT_VADDR, 0x10, 0x10));
    assert_eq!(
        image.parse(),
        Err(Error::SegmentsOverlap {
            first: 0,
            second: 1
        })
    );
    // Disjoint bytes, but in the same page.
    let image = Image::valid().with_segment(1, load(RW, 0xd0, 0x40_00d0, 0x10, 0x100));
    assert_eq!(
        image.parse(),
        Err(Error::SegmentsOverlap {
            first: 0,
            second: 1
        })
    );
    // A later segment reaching into an earlier one's page from below.
    let mut image = Image::valid().with_segment(1, load(RW, 0xd0, 0x3f_f0d0, 0x10, 0x1000));
    image.len = 0xe0;
    assert_eq!(
        image.parse(),
        Err(Error::SegmentsOverlap {
            first: 0,
            second: 1
        })
    );
}

#[test]
fn empty_segment_overlaps_nothing() {
    let image = Image::valid().with_segment(1, load(RW, 0xd0, 0x40_00d0, 0, 0));
    assert_eq!(image.parse(), Ok(()));
}

#[test]
fn entry_not_executable() {
    for entry in [0, DATA_VADDR, TEXT_VADDR - 1, TEXT_VADDR + 0x20, u64::MAX] {
        let mut image = Image::valid();
        image.entry = entry;
        assert_eq!(image.parse(), Err(Error::EntryNotExecutable { entry }));
    }
    let mut image = Image::valid();
    image.entry = TEXT_VADDR + 0x1f;
    assert_eq!(image.parse(), Ok(()));
}

#[test]
fn every_error_has_a_distinct_message() {
    let errors = [
        Error::NotElf,
        Error::WrongClass(1),
        Error::NotLittleEndian(2),
        Error::UnsupportedVersion,
        Error::WrongMachine {
            expected: Machine::Aarch64,
            found: 62,
        },
        Error::PositionIndependent,
        Error::NotExecutable(1),
        Error::HeaderOutOfBounds,
        Error::BadProgramHeaderSize(0),
        Error::ProgramHeadersOutOfBounds,
        Error::DynamicallyLinked { index: 0 },
        Error::TooManySegments,
        Error::NoLoadSegments,
        Error::FileSizeExceedsMemSize { index: 0 },
        Error::SegmentOutOfFile { index: 0 },
        Error::SegmentOutsideUserRange { index: 0 },
        Error::Misaligned { index: 0 },
        Error::WritableAndExecutable { index: 0 },
        Error::SegmentsOverlap {
            first: 0,
            second: 1,
        },
        Error::EntryNotExecutable { entry: 0 },
        Error::Overflow,
    ];
    let messages: Vec<_> = errors.iter().map(|e| e.to_string()).collect();
    for (i, m) in messages.iter().enumerate() {
        assert!(!m.is_empty());
        assert!(!messages[..i].contains(m), "duplicate message {m}");
    }
    assert!(Error::WrongMachine {
        expected: Machine::Aarch64,
        found: 62
    }
    .to_string()
    .contains("AArch64"));
}

/// xorshift64*: deterministic pseudo-random numbers for the robustness tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A byte biased towards values that hit edge cases.
    fn byte(&mut self) -> u8 {
        match self.below(4) {
            0 => 0,
            1 => 0xff,
            2 => [1, 2, 3, 7, 0x38, 0x40, 0x80][self.below(7)],
            _ => self.next() as u8,
        }
    }
}

/// Whatever `parse` accepts must satisfy every promise the kernel relies on.
fn check_invariants(bytes: &[u8], machine: Machine) {
    let Ok(exe) = Executable::parse(bytes, machine) else {
        return;
    };
    let segments: Vec<Segment> = exe.segments().collect();
    assert!(!segments.is_empty() && segments.len() <= MAX_LOAD_SEGMENTS);
    for s in &segments {
        assert!(s.vaddr >= USER_MIN);
        assert!(s.vaddr + s.memsz <= USER_END);
        assert!(s.filesz <= s.memsz);
        assert!(!(s.writable && s.executable));
        assert_eq!(s.vaddr % PAGE_SIZE, s.offset % PAGE_SIZE);
        assert_eq!(exe.segment_data(s).map(<[u8]>::len), Some(s.filesz));
    }
    let e = exe.entry();
    assert!(segments
        .iter()
        .any(|s| s.executable && e >= s.vaddr && e < s.vaddr + s.memsz));
}

#[test]
fn truncated_inputs_never_panic() {
    for image in [Image::valid(), many_segments(MAX_LOAD_SEGMENTS)] {
        let bytes = image.build();
        for len in 0..=bytes.len() {
            let r = Executable::parse(&bytes[..len], Machine::X86_64);
            // Only the whole image is valid: every segment reaches to its end.
            if len < bytes.len() {
                assert!(r.is_err(), "truncated to {len} bytes yet accepted");
            }
            check_invariants(&bytes[..len], Machine::Aarch64);
        }
    }
}

#[test]
fn mutated_inputs_never_panic() {
    let mut rng = Rng(0x0572_0600_dead_beef);
    let originals = [
        Image::valid().build(),
        many_segments(MAX_LOAD_SEGMENTS).build(),
    ];
    let mut accepted = 0;
    for round in 0..40_000 {
        let mut bytes = originals[round % 2].clone();
        for _ in 0..1 + rng.below(4) {
            // Mostly the headers, where the interesting fields are.
            let limit = if rng.below(4) == 0 {
                bytes.len()
            } else {
                bytes.len().min(64 + 56 * 3)
            };
            let at = rng.below(limit);
            bytes[at] = rng.byte();
        }
        if rng.below(8) == 0 {
            let len = rng.below(bytes.len() + 1);
            bytes.truncate(len);
        }
        check_invariants(&bytes, Machine::X86_64);
        if Executable::parse(&bytes, Machine::X86_64).is_ok() {
            accepted += 1;
        }
    }
    // Some mutations only touch bytes the loader ignores.
    assert!(accepted > 0);
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..10_000 {
        let len = rng.below(600);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // Give most of them a plausible start so the parser gets further.
        if len >= 20 && rng.below(4) != 0 {
            bytes[..4].copy_from_slice(&ELF_MAGIC);
            bytes[4..8].copy_from_slice(&[2, 1, 1, 0]);
            bytes[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
            bytes[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        }
        check_invariants(&bytes, Machine::X86_64);
    }
}
