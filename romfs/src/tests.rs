//! Host tests. Archives come from [`Writer`], or from [`raw`] where a test needs a
//! member the writer refuses to produce.

use super::*;
use std::format;
use std::string::ToString;
use std::vec::Vec;

/// One member laid out by hand: `fields` are the 13 header values (see [`FIELDS`]).
fn raw(fields: [u32; 13], name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out.extend_from_slice(data);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

/// A member with the given mode whose name and sizes agree with its contents.
fn member(mode: u32, name: &str, data: &[u8]) -> Vec<u8> {
    let mut n = Vec::from(name.as_bytes());
    n.push(0);
    raw(
        [
            1,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            n.len() as u32,
            0,
        ],
        &n,
        data,
    )
}

fn trailer() -> Vec<u8> {
    member(0, TRAILER, &[])
}

/// Overwrites header field `index` of the member starting at `at`.
fn set_field(bytes: &mut [u8], at: usize, index: usize, text: &[u8; 8]) {
    let start = at + MAGIC.len() + 8 * index;
    bytes[start..start + 8].copy_from_slice(text);
}

fn format_error(bytes: &[u8]) -> (usize, Reason) {
    match Archive::new(bytes) {
        Err(Error::Format { offset, reason }) => (offset, reason),
        other => panic!("expected a format error, got {other:?}"),
    }
}

fn sample() -> Vec<u8> {
    let mut w = Writer::new();
    w.add_file("bin/init", b"\x7fELF init").unwrap();
    w.add_file("./etc/motd", b"hello\n").unwrap();
    w.add_file("/empty", b"").unwrap();
    for len in 1..=7 {
        let data: Vec<u8> = (0..len).map(|i| i as u8 + b'a').collect();
        w.add_file(&format!("pad/{len}"), &data).unwrap();
    }
    w.finish()
}

#[test]
fn round_trip() {
    let bytes = sample();
    assert_eq!(bytes.len() % 4, 0);
    let archive = Archive::new(&bytes).expect("valid archive");
    let entries: Vec<Entry> = archive.entries().map(Result::unwrap).collect();
    assert_eq!(entries.len(), 10);
    assert_eq!(
        entries[0],
        Entry {
            name: "bin/init",
            data: b"\x7fELF init"
        }
    );
    assert_eq!(entries[1].name, "etc/motd");
    assert_eq!(
        entries[2],
        Entry {
            name: "empty",
            data: b""
        }
    );
    for len in 1..=7usize {
        let e = &entries[2 + len];
        assert_eq!(e.name, format!("pad/{len}"));
        assert_eq!(e.data.len(), len);
        assert_eq!(e.data[len - 1], b'a' + len as u8 - 1);
    }
    assert_eq!(archive.find("etc/motd"), Some(&b"hello\n"[..]));
    assert_eq!(archive.find("./etc/motd"), Some(&b"hello\n"[..]));
    assert_eq!(archive.find("/bin/init"), Some(&b"\x7fELF init"[..]));
    assert_eq!(archive.find("empty"), Some(&b""[..]));
    assert_eq!(archive.find("missing"), None);
    assert_eq!(archive.find("bin"), None);
    assert_eq!(archive.find(TRAILER), None);
    assert_eq!(archive.as_bytes().len(), bytes.len());
}

#[test]
fn writer_header_layout() {
    let mut w = Writer::new();
    w.add_file("a", b"xyz").unwrap();
    let bytes = w.finish();
    let header = core::str::from_utf8(&bytes[..HEADER_LEN]).unwrap();
    assert_eq!(
        header,
        "070701\
         00000001\
         000081ED\
         00000000\
         00000000\
         00000001\
         00000000\
         00000003\
         00000000\
         00000000\
         00000000\
         00000000\
         00000002\
         00000000"
    );
    assert_eq!(FILE_MODE, 0o100755);
    // Name "a\0" padded to 112, data "xyz" padded to 116, then the trailer.
    assert_eq!(&bytes[110..116], b"a\0xyz\0");
    assert_eq!(&bytes[116..122], b"070701");
    assert_eq!(&bytes[116 + 110..116 + 121], b"TRAILER!!!\0");
    assert_eq!(bytes.len(), 116 + 124);
}

#[test]
fn empty_archive() {
    let bytes = Writer::new().finish();
    let archive = Archive::new(&bytes).unwrap();
    assert_eq!(archive.entries().count(), 0);
    assert_eq!(archive.find("x"), None);
}

#[test]
fn directories_and_other_members_are_skipped() {
    let mut bytes = member(0o040755, ".", b"");
    bytes.extend(member(0o040755, "bin", b""));
    bytes.extend(member(0o100644, "./bin/init", b"code"));
    bytes.extend(member(0o120777, "bin/link", b"init"));
    bytes.extend(trailer());
    bytes.extend([0u8; 512]); // block padding after the trailer is ignored
    let archive = Archive::new(&bytes).unwrap();
    let names: Vec<&str> = archive.entries().map(|e| e.unwrap().name).collect();
    assert_eq!(names, ["bin/init"]);
    assert_eq!(archive.find("bin/link"), None);
    assert_eq!(archive.find("bin/init"), Some(&b"code"[..]));
}

#[test]
fn lower_and_upper_case_hex_accepted() {
    // `raw` writes lower case, the writer upper case.
    let mut bytes = member(0o100644, "f", &[7; 0xab]);
    bytes.extend(trailer());
    assert_eq!(
        Archive::new(&bytes).unwrap().find("f").map(<[u8]>::len),
        Some(0xab)
    );
}

#[test]
fn trailer_may_lack_final_padding() {
    let mut bytes = member(0o100644, "f", b"1");
    let t = trailer();
    // Header (110) + "TRAILER!!!\0" (11) ends at 121, before the padding.
    bytes.extend(&t[..121]);
    assert!(Archive::new(&bytes).is_ok());
}

#[test]
fn writer_rejects_bad_names() {
    let mut w = Writer::new();
    let cases = [
        ("", NameError::Empty),
        ("/", NameError::Empty),
        ("./", NameError::Empty),
        ("a\0b", NameError::Nul),
        ("..", NameError::ParentComponent),
        ("../etc/passwd", NameError::ParentComponent),
        ("a/../b", NameError::ParentComponent),
        ("a/..", NameError::ParentComponent),
        ("a//b", NameError::EmptyComponent),
        ("a/", NameError::EmptyComponent),
        ("a/./b", NameError::EmptyComponent),
        (TRAILER, NameError::Reserved),
        ("./TRAILER!!!", NameError::Reserved),
    ];
    for (name, expected) in cases {
        assert_eq!(
            w.add_file(name, b"x"),
            Err(Error::BadName(expected)),
            "{name:?}"
        );
    }
    // Nothing was added.
    let bytes = w.finish();
    assert_eq!(Archive::new(&bytes).unwrap().entries().count(), 0);
}

#[test]
fn writer_rejects_duplicates() {
    let mut w = Writer::new();
    w.add_file("a/b", b"1").unwrap();
    assert_eq!(w.add_file("a/b", b"2"), Err(Error::DuplicateName));
    assert_eq!(w.add_file("./a/b", b"2"), Err(Error::DuplicateName));
    assert_eq!(w.add_file("/a/b", b"2"), Err(Error::DuplicateName));
    w.add_file("a/c", b"3").unwrap();
    let bytes = w.finish();
    assert_eq!(Archive::new(&bytes).unwrap().find("a/b"), Some(&b"1"[..]));
}

#[test]
fn bad_magic() {
    let mut bytes = sample();
    bytes[5] = b'2'; // 070702: the checksummed variant is not accepted
    assert_eq!(format_error(&bytes), (0, Reason::BadMagic));

    // In the second member: the offset points at it.
    let mut bytes = sample();
    // Header 110 + "bin/init\0" 9 -> 120 with padding, then 9 bytes of data -> 132.
    let second = 132;
    assert_eq!(&bytes[second..second + 6], MAGIC);
    bytes[second] = b'x';
    assert_eq!(format_error(&bytes), (second, Reason::BadMagic));

    assert_eq!(format_error(b"garbage that is not an archive at all......................................................................................................"), (0, Reason::BadMagic));
}

#[test]
fn truncated_header() {
    let bytes = sample();
    assert_eq!(format_error(&bytes[..50]), (0, Reason::TruncatedHeader));
    let second = 132;
    assert_eq!(
        format_error(&bytes[..second + 109]),
        (second, Reason::TruncatedHeader)
    );
}

#[test]
fn missing_trailer() {
    assert_eq!(format_error(b""), (0, Reason::MissingTrailer));
    let bytes = member(0o100644, "f", b"data");
    assert_eq!(format_error(&bytes), (bytes.len(), Reason::MissingTrailer));
}

#[test]
fn bad_hex() {
    for (index, text) in [
        (1, b"000081G4"),
        (6, b"0000000 "),
        (11, b"+0000002"),
        (12, b"0x000000"),
    ] {
        let mut bytes = sample();
        set_field(&mut bytes, 0, index, text);
        assert_eq!(
            format_error(&bytes),
            (
                0,
                Reason::BadHex {
                    field: FIELDS[index]
                }
            )
        );
    }
}

#[test]
fn sizes_out_of_bounds() {
    let mut bytes = sample();
    set_field(&mut bytes, 0, FILESIZE, b"00100000");
    assert_eq!(format_error(&bytes), (0, Reason::DataOutOfBounds));

    let mut bytes = sample();
    set_field(&mut bytes, 0, FILESIZE, b"FFFFFFFF");
    let (offset, reason) = format_error(&bytes);
    assert_eq!(offset, 0);
    assert!(matches!(reason, Reason::DataOutOfBounds | Reason::Overflow));

    let mut bytes = sample();
    set_field(&mut bytes, 0, NAMESIZE, b"00100000");
    assert_eq!(format_error(&bytes), (0, Reason::NameOutOfBounds));

    // Data cut short at the end of the archive.
    let bytes = member(0o100644, "f", b"0123456789");
    assert_eq!(format_error(&bytes[..120]), (0, Reason::DataOutOfBounds));
}

#[test]
fn bad_names_in_archive() {
    let mut bytes = sample();
    set_field(&mut bytes, 0, NAMESIZE, b"00000000");
    assert_eq!(format_error(&bytes), (0, Reason::EmptyName));

    // namesize one short: the last byte of the name is not NUL.
    let mut bytes = sample();
    set_field(&mut bytes, 0, NAMESIZE, b"00000008");
    assert_eq!(format_error(&bytes), (0, Reason::NameNotTerminated));

    let mut bytes = raw(
        [1, 0o100644, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0],
        b"a\0b\0",
        b"",
    );
    bytes.extend(trailer());
    assert_eq!(format_error(&bytes), (0, Reason::NameNotTerminated));

    let mut bytes = raw(
        [1, 0o100644, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0],
        b"\xff\xfe\0",
        b"",
    );
    bytes.extend(trailer());
    assert_eq!(format_error(&bytes), (0, Reason::NameNotUtf8));

    let mut bytes = member(0o100644, "./", b"x");
    bytes.extend(trailer());
    assert_eq!(format_error(&bytes), (0, Reason::EmptyName));
}

#[test]
fn duplicate_files_in_archive() {
    let mut bytes = member(0o100644, "a", b"1");
    let second = bytes.len();
    bytes.extend(member(0o100644, "./a", b"2"));
    bytes.extend(trailer());
    assert_eq!(format_error(&bytes), (second, Reason::DuplicateName));

    // A directory and a file, or two directories, may share a name.
    let mut bytes = member(0o040755, "a", b"");
    bytes.extend(member(0o040755, "a", b""));
    bytes.extend(member(0o100644, "a", b"1"));
    bytes.extend(trailer());
    assert!(Archive::new(&bytes).is_ok());
}

#[test]
fn only_an_exact_trailer_name_ends_the_archive() {
    let mut bytes = member(0o100644, "./TRAILER!!!", b"not the end");
    bytes.extend(member(0o100644, "after", b"x"));
    bytes.extend(trailer());
    let archive = Archive::new(&bytes).unwrap();
    assert_eq!(archive.entries().count(), 2);
    assert_eq!(archive.find("after"), Some(&b"x"[..]));
}

#[test]
fn error_messages() {
    let e = Error::Format {
        offset: 134,
        reason: Reason::BadHex { field: "filesize" },
    };
    let text = e.to_string();
    assert!(text.contains("134") && text.contains("filesize"), "{text}");
    assert_eq!(e.offset(), Some(134));
    assert_eq!(Error::DuplicateName.offset(), None);
    let reasons = [
        Reason::BadMagic,
        Reason::TruncatedHeader,
        Reason::BadHex { field: "mode" },
        Reason::EmptyName,
        Reason::NameOutOfBounds,
        Reason::NameNotTerminated,
        Reason::NameNotUtf8,
        Reason::DataOutOfBounds,
        Reason::MissingTrailer,
        Reason::DuplicateName,
        Reason::Overflow,
    ];
    let messages: Vec<_> = reasons.iter().map(|r| r.to_string()).collect();
    for (i, m) in messages.iter().enumerate() {
        assert!(!messages[..i].contains(m), "duplicate message {m}");
    }
    for e in [
        Error::BadName(NameError::ParentComponent),
        Error::DuplicateName,
        Error::TooLarge,
    ] {
        assert!(!e.to_string().is_empty());
    }
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

    /// A byte biased towards hexadecimal digits, NUL and the magic's characters.
    fn byte(&mut self) -> u8 {
        match self.below(4) {
            0 => b"0123456789abcdefABCDEF"[self.below(22)],
            1 => [0, b'7', b'/', b'.', 0xff][self.below(5)],
            _ => self.next() as u8,
        }
    }
}

/// Whatever `Archive::new` accepts must never produce an error or a panic later.
fn check(bytes: &[u8]) {
    let Ok(archive) = Archive::new(bytes) else {
        return;
    };
    for entry in archive.entries() {
        let entry = entry.expect("a validated archive yields no errors");
        assert_eq!(archive.find(entry.name), Some(entry.data));
        assert!(!entry.name.is_empty());
    }
}

#[test]
fn truncated_inputs_never_panic() {
    let bytes = sample();
    for len in 0..bytes.len() {
        // Every prefix lacks (part of) the trailer, except those that only cut the
        // trailer's final padding (its name ends 3 bytes before the end).
        assert_eq!(
            Archive::new(&bytes[..len]).is_ok(),
            len >= bytes.len() - 3,
            "{len}"
        );
        check(&bytes[..len]);
    }
}

#[test]
fn mutated_inputs_never_panic() {
    let mut rng = Rng(0x0572_0600_c0ff_ee11);
    let original = sample();
    let mut accepted = 0;
    for _ in 0..30_000 {
        let mut bytes = original.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            bytes[at] = rng.byte();
        }
        match rng.below(8) {
            0 => {
                let len = rng.below(bytes.len() + 1);
                bytes.truncate(len);
            }
            1 => {
                let extra = rng.below(16);
                bytes.extend((0..extra).map(|_| rng.byte()));
            }
            _ => {}
        }
        check(&bytes);
        if Archive::new(&bytes).is_ok() {
            accepted += 1;
        }
    }
    assert!(accepted > 0);
}

#[test]
fn random_inputs_never_panic() {
    let mut rng = Rng(7);
    for _ in 0..10_000 {
        let len = rng.below(400);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        if len >= 6 && rng.below(2) == 0 {
            bytes[..6].copy_from_slice(MAGIC);
        }
        check(&bytes);
    }
}
