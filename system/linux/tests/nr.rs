//! Spot checks of the system-call tables against known numbers of both architectures.

use linux::nr::{decode, name, number, Sys};
use linux::Arch::{Aarch64, X86_64};

#[test]
fn known_numbers_of_x86_64() {
    for (n, s) in [
        (0, Sys::Read),
        (1, Sys::Write),
        (9, Sys::Mmap),
        (12, Sys::Brk),
        (13, Sys::RtSigaction),
        (20, Sys::Writev),
        (56, Sys::Clone),
        (60, Sys::Exit),
        (158, Sys::ArchPrctl),
        (202, Sys::Futex),
        (218, Sys::SetTidAddress),
        (228, Sys::ClockGettime),
        (231, Sys::ExitGroup),
        (273, Sys::SetRobustList),
        (302, Sys::Prlimit64),
        (318, Sys::Getrandom),
    ] {
        assert_eq!(decode(X86_64, n), Some(s), "x86_64 {n}");
    }
    assert_eq!(name(X86_64, 7), Some("poll"));
}

#[test]
fn known_numbers_of_aarch64() {
    for (n, s) in [
        (63, Sys::Read),
        (64, Sys::Write),
        (66, Sys::Writev),
        (93, Sys::Exit),
        (94, Sys::ExitGroup),
        (96, Sys::SetTidAddress),
        (98, Sys::Futex),
        (113, Sys::ClockGettime),
        (134, Sys::RtSigaction),
        (135, Sys::RtSigprocmask),
        (214, Sys::Brk),
        (215, Sys::Munmap),
        (220, Sys::Clone),
        (222, Sys::Mmap),
        (226, Sys::Mprotect),
        (261, Sys::Prlimit64),
        (278, Sys::Getrandom),
    ] {
        assert_eq!(decode(Aarch64, n), Some(s), "aarch64 {n}");
    }
    // The generic table has no poll, open or arch_prctl.
    assert_eq!(number(Aarch64, Sys::Poll), None);
    assert_eq!(number(Aarch64, Sys::Open), None);
    assert_eq!(number(Aarch64, Sys::ArchPrctl), None);
}

#[test]
fn tables_have_no_duplicates() {
    for arch in [X86_64, Aarch64] {
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..1000 {
            if let Some(s) = decode(arch, n) {
                assert!(seen.insert(format!("{s:?}")), "{s:?} twice on {arch:?}");
                assert_eq!(number(arch, s), Some(n));
            }
        }
    }
    assert_eq!(decode(X86_64, 100_000), None);
}
