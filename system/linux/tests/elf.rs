//! Load plans of real static Linux executables and of hand-made ELF images.

mod common;

use linux::elf::{self, Error, Rights, IMAGE_END, PIE_BASE};
use linux::{Arch, PAGE_SIZE};

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The plan's invariants for any accepted image.
fn check_plan(bytes: &[u8], plan: &elf::LoadPlan) {
    for w in plan.regions.windows(2) {
        assert!(
            w[0].end <= w[1].start,
            "regions overlap: {:?}",
            plan.regions
        );
    }
    for r in &plan.regions {
        assert_eq!(r.start % PAGE_SIZE, 0);
        assert_eq!(r.end % PAGE_SIZE, 0);
        assert!(r.start < r.end && r.end <= IMAGE_END);
        assert!(!(r.rights.write && r.rights.exec));
    }
    for c in &plan.copies {
        assert!(c.offset + c.len <= bytes.len());
        // Every page the copy touches is in some region.
        let first = c.addr & !(PAGE_SIZE - 1);
        let covered = (first..c.addr + c.len as u64)
            .step_by(PAGE_SIZE as usize)
            .all(|p| plan.regions.iter().any(|r| r.start <= p && p < r.end));
        assert!(covered, "copy {c:?} outside the regions");
    }
    assert_eq!(plan.brk % PAGE_SIZE, 0);
    assert_eq!(plan.brk, plan.regions.last().unwrap().end);
    assert_eq!(plan.phent, 56);
    assert_eq!(plan.phnum, u16_at(bytes, 56));
    // AT_PHDR points at the program headers as loaded: find the copy holding them and
    // compare the bytes.
    let phoff = u64_at(bytes, 32) as usize;
    let c = plan
        .copies
        .iter()
        .find(|c| c.addr <= plan.phdr && plan.phdr < c.addr + c.len as u64)
        .expect("AT_PHDR is in no loaded segment");
    let file_at = c.offset + (plan.phdr - c.addr) as usize;
    assert_eq!(file_at, phoff, "AT_PHDR maps to another file offset");
}

#[test]
fn musl_static_c_binary_is_planned_at_its_link_address() {
    let bytes = common::musl_static();
    let plan = elf::plan(bytes, Arch::X86_64).expect("a static musl binary loads");
    check_plan(bytes, &plan);
    assert_eq!(plan.bias, 0);
    assert_eq!(plan.entry, u64_at(bytes, 24));
    assert_eq!(
        plan.regions[0].start, 0x40_0000,
        "musl-gcc links at 0x400000"
    );
    assert!(plan
        .regions
        .iter()
        .any(|r| r.rights.exec && !r.rights.write));
    // .bss of 100000 bytes: the writable region reaches past the file's bytes.
    let rw = plan.regions.iter().find(|r| r.rights.write).unwrap();
    assert!(rw.end - rw.start >= 100_000);
    assert!(!plan.exec_stack);
    // The wrong machine is refused.
    assert_eq!(elf::plan(bytes, Arch::Aarch64), Err(Error::WrongMachine));
}

#[test]
fn rust_static_pie_is_relocated_to_the_pie_base() {
    let bytes = common::rust_static_pie();
    assert_eq!(
        u16_at(bytes, 16),
        3,
        "the fixture should be ET_DYN (static-PIE)"
    );
    let plan = elf::plan(bytes, Arch::X86_64).expect("a static-PIE Rust binary loads");
    check_plan(bytes, &plan);
    assert_eq!(plan.regions[0].start, PIE_BASE);
    assert_eq!(plan.bias, PIE_BASE);
    assert_eq!(plan.entry, u64_at(bytes, 24) + PIE_BASE);
    // Rust std uses thread-locals: PT_TLS is there, relocated.
    let (tls_addr, _, memsz, _) = plan.tls.expect("PT_TLS");
    assert!(tls_addr >= PIE_BASE && memsz > 0);
}

#[test]
fn dynamic_executables_are_refused() {
    assert_eq!(
        elf::plan(common::dynamic(), Arch::X86_64),
        Err(Error::Dynamic)
    );
}

/// A minimal ELF64 image: header, program headers, then `body` at file offset 0x1000.
fn image(machine: u16, kind: u16, entry: u64, phdrs: &[(u32, u32, u64, u64, u64, u64)]) -> Vec<u8> {
    let mut b = vec![0u8; 0x2000];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16..18].copy_from_slice(&kind.to_le_bytes());
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    b[24..32].copy_from_slice(&entry.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes());
    b[54..56].copy_from_slice(&56u16.to_le_bytes());
    b[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
    for (i, &(kind, flags, offset, vaddr, filesz, memsz)) in phdrs.iter().enumerate() {
        let at = 64 + i * 56;
        b[at..at + 4].copy_from_slice(&kind.to_le_bytes());
        b[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
        b[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
        b[at + 16..at + 24].copy_from_slice(&vaddr.to_le_bytes());
        b[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
        b[at + 40..at + 48].copy_from_slice(&memsz.to_le_bytes());
        b[at + 48..at + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    }
    b
}

const R: u32 = 4;
const W: u32 = 2;
const X: u32 = 1;

#[test]
fn aarch64_image_with_a_page_shared_by_two_segments() {
    // Text 0x400000..0x400800 (R X) and data from 0x400800 in the same page (R W): the shared
    // page would need W and X, which Ostrog never grants.
    let b = image(
        183,
        2,
        0x400100,
        &[
            (1, R | X, 0, 0x400000, 0x800, 0x800),
            (1, R | W, 0x800, 0x400800, 0x100, 0x2000),
        ],
    );
    assert_eq!(elf::plan(&b, Arch::Aarch64), Err(Error::WriteAndExecute));
    // Read-only data sharing the text's last page: one page R X, the rest R.
    let b = image(
        183,
        2,
        0x400100,
        &[
            (1, R | X, 0, 0x400000, 0x800, 0x800),
            (1, R, 0x800, 0x400800, 0x100, 0x2000),
        ],
    );
    let plan = elf::plan(&b, Arch::Aarch64).unwrap();
    let rx = Rights {
        read: true,
        write: false,
        exec: true,
    };
    let r = Rights {
        read: true,
        write: false,
        exec: false,
    };
    assert_eq!(plan.regions.len(), 2);
    assert_eq!(
        (
            plan.regions[0].start,
            plan.regions[0].end,
            plan.regions[0].rights
        ),
        (0x400000, 0x401000, rx)
    );
    assert_eq!(
        (
            plan.regions[1].start,
            plan.regions[1].end,
            plan.regions[1].rights
        ),
        (0x401000, 0x403000, r)
    );
    assert_eq!(plan.brk, 0x403000);
    // AT_PHDR without PT_PHDR: the table at offset 64 of the segment at offset 0.
    assert_eq!(plan.phdr, 0x400040);
    assert_eq!(plan.copies.len(), 2);
}

#[test]
fn malformed_images_are_refused_without_panicking() {
    let good = image(62, 2, 0x400100, &[(1, R | X, 0, 0x400000, 0x800, 0x800)]);
    assert!(elf::plan(&good, Arch::X86_64).is_ok());
    // Every truncation fails cleanly.
    for len in 0..200 {
        assert!(elf::plan(&good[..len], Arch::X86_64).is_err());
    }
    let cases: &[(Vec<u8>, Error)] = &[
        (
            image(62, 1, 0x400100, &[(1, R | X, 0, 0x400000, 0x800, 0x800)]),
            Error::NotExecutable,
        ),
        (image(62, 2, 0x400100, &[]), Error::SegmentCount),
        (
            image(
                62,
                2,
                0x400100,
                &[
                    (3, R, 0, 0, 0x10, 0x10),
                    (1, R | X, 0, 0x400000, 0x800, 0x800),
                ],
            ),
            Error::Dynamic,
        ),
        (
            image(62, 2, 0x400100, &[(1, R | X, 0, 0x400000, 0x900, 0x800)]),
            Error::BadSegment,
        ),
        (
            image(
                62,
                2,
                0x400100,
                &[(1, R | X, 0x1f00, 0x400000, 0x800, 0x800)],
            ),
            Error::BadSegment,
        ),
        (
            image(62, 2, 0x400100, &[(1, R | X, 0, 0x400010, 0x800, 0x800)]),
            Error::BadSegment,
        ),
        (
            image(62, 2, 0x100, &[(1, R | X, 0, 0x0, 0x800, 0x800)]),
            Error::BadAddress,
        ),
        (
            image(
                62,
                2,
                0x400100,
                &[(1, R | X, 0, IMAGE_END - 0x1000, 0x800, 0x2000)],
            ),
            Error::BadAddress,
        ),
        (
            image(
                62,
                2,
                0x400100,
                &[(1, R | W | X, 0, 0x400000, 0x800, 0x800)],
            ),
            Error::WriteAndExecute,
        ),
        (
            image(62, 2, 0x500000, &[(1, R | X, 0, 0x400000, 0x800, 0x800)]),
            Error::BadEntry,
        ),
        (
            image(62, 2, 0x400100, &[(1, R, 0, 0x400000, 0x800, 0x800)]),
            Error::BadEntry,
        ),
        (
            image(62, 2, 0x400100, &[(1, R | X, 0, 0x400000, 0x800, u64::MAX)]),
            Error::BadSegment,
        ),
    ];
    for (b, want) in cases {
        assert_eq!(elf::plan(b, Arch::X86_64), Err(*want));
    }
}

#[test]
fn rust_aarch64_static_binary_is_planned() {
    let bytes = common::rust_aarch64_static();
    assert_eq!(u16_at(bytes, 18), 183, "the fixture should be AArch64");
    let plan = elf::plan(bytes, Arch::Aarch64).expect("a static AArch64 Rust binary loads");
    check_plan(bytes, &plan);
    assert_eq!(plan.entry, u64_at(bytes, 24) + plan.bias);
    assert!(plan.tls.is_some(), "Rust std has thread-locals");
    assert_eq!(elf::plan(bytes, Arch::X86_64), Err(Error::WrongMachine));
}
