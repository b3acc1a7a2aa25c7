//! What the fuzz targets in `fuzz_targets/` check of an input that a parser accepted: the
//! promises each parser's documentation makes to its user (the kernel, Einit, the image
//! builder). A broken promise is a panic, which libFuzzer reports with the input.

extern crate alloc;

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

/// The security engine on random events (target `engine`): the module generated from the
/// differential test's policy against that test's reference evaluator, which walks the
/// checked policy directly (`policy/tests/differential.rs`; `build.rs` copies it without its
/// proptest parts). The input picks the events as the test's strategy does: kinds, class
/// pairs (mostly those the policy talks about), SIDs, endpoints, methods, message values
/// and corruptions.
pub mod engine {
    #![allow(dead_code, unused_imports, clippy::all)]

    /// The generated module, as `ksm_solution::solution` in the test.
    pub mod solution {
        include!(concat!(env!("OUT_DIR"), "/module.rs"));
    }

    include!(concat!(env!("OUT_DIR"), "/reference.rs"));

    struct Input<'a>(&'a [u8]);

    impl Input<'_> {
        fn byte(&mut self) -> u8 {
            match self.0.split_first() {
                Some((&b, rest)) => {
                    self.0 = rest;
                    b
                }
                None => 0,
            }
        }
        fn u64(&mut self) -> u64 {
            (0..8).fold(0, |v, _| v << 8 | u64::from(self.byte()))
        }
    }

    fn event(r: &mut Input<'_>, pairs: &[(u32, u32)], n: u32) -> Ev {
        let kind = [
            EventKind::Execute,
            EventKind::Request,
            EventKind::Response,
            EventKind::Error,
            EventKind::Security,
        ][usize::from(r.byte() % 5)];
        let (src, dst) = if r.byte() % 5 < 4 {
            pairs[usize::from(r.byte()) % pairs.len()]
        } else {
            (u32::from(r.byte()) % (n + 1), u32::from(r.byte()) % (n + 1))
        };
        let sid = (r.byte() % 10 == 0).then(|| r.u64() % 400);
        let riid = if r.byte() % 4 < 3 {
            0
        } else {
            u32::from(r.byte() % 3)
        };
        let mid = u32::from(r.byte() % 3);
        let mut seed = r.u64();
        let corrupt = (r.byte() % 5 == 0).then(|| (r.u64() as usize, r.byte()));
        let (mut msg, handles) = match method_of(kind, src, dst, riid, mid) {
            Some((iface, m)) => {
                let ml = layout(&checked().spec, &iface, &m).expect("layout");
                let dir = match kind {
                    EventKind::Response => Direction::Out,
                    EventKind::Error => Direction::Error,
                    _ => Direction::In,
                };
                let msg = ml.message(dir);
                let values: Vec<(String, Value)> = msg
                    .params
                    .iter()
                    .map(|p| (p.name.clone(), random_value(&p.layout, &mut seed)))
                    .collect();
                let flags = u32::from(kind == EventKind::Error);
                let e = encode(msg, &values, riid, mid, flags).expect("encodes");
                (e.bytes, e.handles)
            }
            None if kind == EventKind::Execute => (Vec::new(), Vec::new()),
            None => {
                let empty = MessageLayout {
                    fixed_size: 0,
                    params: Vec::new(),
                };
                let e = encode(&empty, &[], riid, mid, 0).expect("encodes");
                (e.bytes, e.handles)
            }
        };
        if let Some((at, byte)) = corrupt {
            if !msg.is_empty() {
                if byte == 0 {
                    msg.truncate(at % msg.len());
                } else {
                    let i = at % msg.len();
                    msg[i] ^= byte;
                }
            }
        }
        Ev {
            kind,
            src: (sid.unwrap_or(sid_of(src)), src),
            dst: (sid_of(dst), dst),
            riid,
            mid,
            msg,
            handles,
        }
    }

    /// Judges the events `data` picks (after the setup that starts every class) with both,
    /// and panics where a verdict differs.
    pub fn judge(data: &[u8]) {
        let n = class_names().len() as u32;
        let pairs: Vec<(u32, u32)> = [
            ("lock.Panel", "lock.Controller"),
            ("lock.Controller", "lock.Panel"),
            ("demo.Client", "demo.Server"),
            ("demo.Server", "demo.Client"),
            ("demo.Client", "kl.core.Core"),
            ("kl.core.Core", "demo.Client"),
            ("demo.Server", "kl.core.Core"),
            ("Einit", "kl.core.Core"),
            ("demo.Client", "nest.Box"),
            ("nest.Box", "demo.Client"),
        ]
        .iter()
        .map(|(a, b)| (class_no(a), class_no(b)))
        .collect();
        let mut events = setup();
        let mut r = Input(data);
        while !r.0.is_empty() && events.len() < 200 {
            events.push(event(&mut r, &pairs, n));
        }
        let want = reference(&events);
        let mut module = solution::module();
        let got: String = events
            .iter()
            .map(|e| {
                let handles: Vec<ostrog_ksm::HandleInfo> = e
                    .handles
                    .iter()
                    .map(|&(sid, rights)| ostrog_ksm::HandleInfo { sid, rights })
                    .collect();
                // The kinds by number, as the test's harness passes them to the module.
                let kind = match kind_no(e.kind) {
                    0 => ostrog_ksm::EventKind::Execute,
                    1 => ostrog_ksm::EventKind::Request,
                    2 => ostrog_ksm::EventKind::Response,
                    3 => ostrog_ksm::EventKind::Error,
                    _ => ostrog_ksm::EventKind::Security,
                };
                let event = ostrog_ksm::Event {
                    kind,
                    src_sid: e.src.0,
                    src_class: e.src.1,
                    dst_sid: e.dst.0,
                    dst_class: e.dst.1,
                    riid: e.riid,
                    mid: e.mid,
                    message: &e.msg,
                    handles: &handles,
                };
                if module
                    .decide(&event, &mut ostrog_ksm::NullAudit)
                    .is_granted()
                {
                    'G'
                } else {
                    'D'
                }
            })
            .collect();
        assert_eq!(
            got, want,
            "the module and the reference disagree on {events:#?}"
        );
    }
}
