//! Host tests of the log server's bookkeeping.

use std::collections::BTreeMap;

use super::*;

const MS: u64 = 1_000_000;

#[test]
fn levels_round_trip_and_refuse_past_trace() {
    for n in 0..=5u8 {
        let l = Level::from_wire(n).unwrap();
        assert_eq!(l as u8, n);
        assert_eq!(Level::from_name(&l.name().to_lowercase()), Some(l));
    }
    assert_eq!(Level::from_wire(6), None);
    assert_eq!(Level::from_wire(255), None);
    assert_eq!(Level::from_name("verbose"), None);
    assert!(Level::Critical < Level::Trace);
}

#[test]
fn config_parses_and_refuses_what_it_does_not_know() {
    let c = Config::parse([
        "--level=debug",
        "--file=/log/a.log",
        "--rotate-size=4096",
        "--rotate-files=3",
        "--clients=4",
        "--burst=10",
        "--rate=5",
        "--audit",
        "--audit-file=/log/k.log",
    ])
    .unwrap();
    assert_eq!(c.level, Level::Debug);
    assert_eq!(c.file, "/log/a.log");
    assert_eq!((c.rotate_size, c.rotate_files, c.clients), (4096, 3, 4));
    assert_eq!((c.burst, c.rate, c.audit), (10, 5, true));
    assert_eq!(c.audit_file, "/log/k.log");
    assert_eq!(Config::parse([]).unwrap(), Config::default());
    for bad in [
        "--level=loud",
        "--file=relative",
        "--rotate-size=0",
        "--rotate-size=x",
        "--clients=100000",
        "--audit=yes",
        "--nonsense",
    ] {
        assert!(Config::parse([bad]).is_err(), "{bad} accepted");
    }
    assert_eq!(Config::parse(["--rotate-files=1"]).unwrap().rotate_files, 2);
}

#[test]
fn identities_come_from_einit_and_the_stamp_never_from_the_client() {
    let mut ids = Identities::parse("12:app.Client,13:app.Linux,bad,x:y.Z,14:evil name,15:");
    assert_eq!(ids.known(), 2);
    assert_eq!(ids.name(12, 7), "app.Client(12)");
    // A process Einit did not start (a Linux program's child) with a class seen before.
    assert_eq!(ids.name(40, 7), "app.Client(40)");
    // A class nobody named.
    assert_eq!(ids.name(41, 9), "class#9(41)");
    assert_eq!(ids.name(13, 8), "app.Linux(13)");
    // Entries past the bound are not read.
    let many: Vec<String> = (1..=IDENTITIES_MAX as u64 + 10)
        .map(|s| format!("{s}:a.B"))
        .collect();
    assert_eq!(Identities::parse(&many.join(",")).known(), IDENTITIES_MAX);
}

#[test]
fn a_flood_drops_only_its_own_records_and_every_drop_is_counted() {
    let mut q = Quotas::new(8, 10, 100);
    let mut now = 0;
    let mut flood_accepted = 0;
    let mut other_accepted = 0;
    for i in 0..10_000u64 {
        now += 10_000; // 10 us apart: far above the rate
        if q.admit(5, "flood.F(5)", now, |_| true).accepted {
            flood_accepted += 1;
        }
        if i % 1000 == 0 && q.admit(6, "calm.C(6)", now, |_| true).accepted {
            other_accepted += 1;
        }
    }
    assert_eq!(other_accepted, 10, "the calm client lost records");
    // 100 ms at 100 records/s: the burst of 10 and about 10 more.
    assert!((10..=21).contains(&flood_accepted), "{flood_accepted}");
    let (mine, all) = q.losses(5);
    assert_eq!(mine, 10_000 - flood_accepted);
    assert_eq!(all, mine);
    assert_eq!(q.losses(6).0, 0);
    let reports = q.take_reports();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].starts_with("logrr: "));
    assert!(reports[0].ends_with(" records from flood.F(5) dropped"));
    // Reported once: nothing left to report.
    assert!(q.take_reports().is_empty());
    assert_eq!(q.losses(5).0, mine, "the count since start stays");
}

#[test]
fn losses_are_reported_before_the_next_accepted_record() {
    let mut q = Quotas::new(8, 1, 1);
    assert!(q.admit(5, "a.A(5)", 0, |_| true).accepted);
    assert!(!q.admit(5, "a.A(5)", 1, |_| true).accepted);
    assert!(!q.admit(5, "a.A(5)", 2, |_| true).accepted);
    let next = q.admit(5, "a.A(5)", 1000 * MS + 2, |_| true);
    assert!(next.accepted);
    assert_eq!(next.reports, ["logrr: 2 records from a.A(5) dropped"]);
}

#[test]
fn the_client_table_is_bounded_and_forgets_ended_clients_with_their_losses_reported() {
    let mut q = Quotas::new(3, 1, 1);
    assert!(q.admit(1, "a.A(1)", 0, |_| true).accepted);
    assert!(!q.admit(1, "a.A(1)", 0, |_| true).accepted);
    assert!(q.admit(2, "b.B(2)", 0, |_| true).accepted);
    // Full (one slot kept for the overflow bucket): a third client shares the overflow.
    assert!(q.admit(3, "c.C(3)", 0, |_| true).accepted);
    assert_eq!(q.len(), 3);
    // A fourth shares it too, and so its quota: dropped, counted under the overflow.
    assert!(!q.admit(4, "d.D(4)", 0, |_| true).accepted);
    assert_eq!(q.losses(4).0, 1);
    // Thousands of new SIDs never grow the table.
    for sid in 100..5000 {
        q.admit(sid, "x.X", 0, |_| true);
    }
    assert_eq!(q.len(), 3);
    // Client 1 ended: forgotten, its unreported loss reported; a new client gets its slot.
    let a = q.admit(9, "e.E(9)", 0, |s| s != 1);
    assert!(a.accepted);
    assert_eq!(a.reports, ["logrr: 1 record from a.A(1) dropped"]);
    assert_eq!(q.len(), 3);
    assert_eq!(q.losses(9).0, 0);
    let reports = q.take_reports();
    assert!(reports
        .iter()
        .any(|r| r.contains("from clients beyond the quota table dropped")));
}

#[test]
fn records_are_checked_and_shown_one_line_each_with_control_characters_visible() {
    assert_eq!(check_record(6, b"x"), Err(BadRecord::Level));
    assert_eq!(check_record(3, b"\xff\xfe"), Err(BadRecord::Utf8));
    assert_eq!(
        check_record(3, &[b'a'; RECORD_MAX + 1]),
        Err(BadRecord::TooLong)
    );
    assert_eq!(
        check_record(1, "h\u{e9}".as_bytes()),
        Ok((Level::Error, "h\u{e9}"))
    );
    assert_eq!(
        record_lines(Level::Info, "a.A(5)", "hello\n"),
        ["[log] INFO a.A(5): hello"]
    );
    assert_eq!(
        record_lines(Level::Warning, "a.A(5)", "one\r\ntwo\x1b[2J\tx"),
        [
            "[log] WARNING a.A(5): one",
            "[log] WARNING a.A(5): two?[2J\tx"
        ]
    );
    assert_eq!(record_lines(Level::Trace, "w", ""), ["[log] TRACE w: "]);
}

/// Files in a map, with every operation recorded.
#[derive(Default)]
struct Map {
    files: BTreeMap<String, Vec<u8>>,
    open: Option<String>,
    fail_rename: bool,
}

impl Store for Map {
    fn open_append(&mut self, path: &str) -> Result<u64, i32> {
        let f = self.files.entry(path.into()).or_default();
        self.open = Some(path.into());
        Ok(f.len() as u64)
    }
    fn append(&mut self, data: &[u8]) -> Result<(), i32> {
        let path = self.open.clone().ok_or(9)?;
        self.files.get_mut(&path).ok_or(9)?.extend_from_slice(data);
        Ok(())
    }
    fn close(&mut self) {
        self.open = None;
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), i32> {
        if self.fail_rename {
            return Err(28);
        }
        let data = self.files.remove(from).ok_or(2)?;
        self.files.insert(to.into(), data);
        Ok(())
    }
}

#[test]
fn files_rotate_within_their_size_and_count() {
    let mut store = Map::default();
    let mut f = RotatingFile::new("/log/l", 100, 3);
    assert_eq!(
        f.renames(),
        [
            ("/log/l.1".to_string(), "/log/l.2".to_string()),
            ("/log/l".to_string(), "/log/l.1".to_string())
        ]
    );
    for i in 0..100 {
        let line = format!("record {i:03} ........\n"); // 20 bytes
        f.append(&mut store, line.as_bytes()).unwrap();
    }
    assert_eq!(store.files.len(), 3, "{:?}", store.files.keys());
    for (name, data) in &store.files {
        assert!(data.len() <= 100, "{name}: {} bytes", data.len());
        assert!(!data.is_empty());
    }
    let newest = String::from_utf8(store.files["/log/l"].clone()).unwrap();
    assert!(newest.ends_with("record 099 ........\n"));
    let older = String::from_utf8(store.files["/log/l.1"].clone()).unwrap();
    // Lines are never split across files, and the files follow each other.
    assert!(older.ends_with('\n') && older.starts_with("record "));
    assert_eq!(f.bytes, 2000);
    assert_eq!(f.rotations, 19); // 5 lines of 20 bytes a file
                                 // A line longer than the size goes into a file of its own.
    f.append(&mut store, &[b'x'; 300]).unwrap();
    assert_eq!(store.files["/log/l"].len(), 300);
    // A failing store is an error to the caller, not a panic.
    store.fail_rename = true;
    assert_eq!(f.append(&mut store, b"y\n"), Err(28));
}

#[test]
fn an_existing_file_is_appended_to_and_counts_toward_its_size() {
    let mut store = Map::default();
    store.files.insert("/log/l".into(), vec![b'a'; 90]);
    let mut f = RotatingFile::new("/log/l", 100, 2);
    f.append(&mut store, b"0123456789\n").unwrap();
    assert_eq!(store.files["/log/l.1"].len(), 90);
    assert_eq!(store.files["/log/l"], b"0123456789\n");
}
