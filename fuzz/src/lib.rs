//! What the fuzz targets in `fuzz_targets/` check of an input that a parser accepted: the
//! promises each parser's documentation makes to its user (the kernel, Einit, the image
//! builder). A broken promise is a panic, which libFuzzer reports with the input.

use ostrog_abi::layout::{USER_END, USER_MIN};
use ostrog_init::table::Table;
use ostrog_loader::{Executable, PAGE_SIZE};
use ostrog_romfs::Archive;

/// Reads every field of every process and channel of a table that parsed: the decoder
/// validated it completely, so every index it hands out is in range.
pub fn walk_table(table: &Table<'_>) {
    let processes = table.process_count();
    assert_eq!(table.processes().count(), processes);
    for (i, p) in table.processes().enumerate() {
        assert_eq!(p.index(), i);
        let _ = (p.task(), p.class(), p.path(), p.executable());
        let _ = (
            p.dynamic_connection_manager(),
            p.linux(),
            p.priority(),
            p.memory(),
        );
        let _ = p.personality_args().count();
        assert_eq!(p.args().len(), p.args().count());
        assert_eq!(p.env().len(), p.env().count());
        let found = table
            .find_task(p.task())
            .expect("a process is found by its task name");
        assert_eq!(found.task(), p.task());
    }
    assert_eq!(table.channels().count(), table.channel_count());
    for c in table.channels() {
        assert!(
            c.client() < processes && c.server() < processes,
            "channel end out of range"
        );
        let _ = c.id();
    }
}

/// An executable the loader accepted: at least one and at most `MAX_LOAD_SEGMENTS` segments,
/// each inside the user range, its file bytes inside the image, never writable and
/// executable at once, no two sharing a page, and the entry point in an executable one.
pub fn check_executable(exe: &Executable<'_>) {
    let segments: Vec<_> = exe.segments().collect();
    assert!(!segments.is_empty() && segments.len() <= ostrog_loader::MAX_LOAD_SEGMENTS);
    for s in &segments {
        let end = s.vaddr.checked_add(s.memsz).expect("segment end overflows");
        assert!(
            s.vaddr >= USER_MIN && end <= USER_END,
            "segment outside the user range: {s:?}"
        );
        assert!(s.filesz <= s.memsz, "more file than memory: {s:?}");
        assert!(!(s.writable && s.executable), "W^X broken: {s:?}");
        assert_eq!(
            s.vaddr % PAGE_SIZE,
            s.offset % PAGE_SIZE,
            "not page-congruent: {s:?}"
        );
        let data = exe
            .segment_data(s)
            .expect("an accepted segment's data is in the image");
        assert_eq!(data.len(), s.filesz);
    }
    for (i, a) in segments.iter().enumerate() {
        for b in &segments[i + 1..] {
            let pages = |s: &ostrog_loader::Segment| {
                (
                    s.vaddr / PAGE_SIZE,
                    (s.vaddr + s.memsz.max(1) - 1) / PAGE_SIZE,
                )
            };
            let (a0, a1) = pages(a);
            let (b0, b1) = pages(b);
            assert!(a1 < b0 || b1 < a0, "segments share a page: {a:?} {b:?}");
        }
    }
    let entry = exe.entry();
    assert!(
        segments
            .iter()
            .any(|s| s.executable && (s.vaddr..s.vaddr + s.memsz).contains(&entry)),
        "entry {entry:#x} outside every executable segment"
    );
}

/// An archive the reader accepted: every entry reads without error and is found by its
/// name, and the writer packs the same files into an archive that reads back the same.
pub fn check_archive(archive: &Archive<'_>) {
    let mut writer = ostrog_romfs::Writer::new();
    let mut files = Vec::new();
    for entry in archive.entries() {
        let entry = entry.expect("entries of a checked archive read without error");
        assert_eq!(
            archive.find(entry.name),
            Some(entry.data),
            "{} not found",
            entry.name
        );
        files.push((entry.name.to_string(), entry.data.to_vec()));
        writer
            .add_file(entry.name, entry.data)
            .expect("the writer takes what the reader accepted");
    }
    let bytes = writer.finish();
    let again = Archive::new(&bytes).expect("the writer's archive reads");
    let read: Vec<_> = again
        .entries()
        .map(|e| e.map(|e| (e.name.to_string(), e.data.to_vec())))
        .collect::<Result<_, _>>()
        .expect("the writer's entries read");
    assert_eq!(read, files);
}
