//! The decoder refuses each kind of broken table with the right error, found by editing
//! the bytes of a good table in one place.

use ostrog_init::solution::{Channel, Process};
use ostrog_init::table::{Table, TableErrorKind, HEADER_LEN};
use ostrog_init::Solution;

fn good() -> Solution {
    let process = |task: &str| Process {
        task: task.into(),
        class: "demo.Server".into(),
        path: "srv".into(),
        args: vec!["-v".into()],
        env: vec![("A".into(), "1".into()), ("B".into(), "2".into())],
        dynamic_connection_manager: false,
        linux: false,
        priority: None,
        memory: None,
    };
    Solution {
        processes: vec![process("a"), process("b")],
        channels: vec![Channel {
            client: 0,
            server: 1,
            id: "ch".into(),
        }],
    }
}

fn kind(bytes: &[u8]) -> Option<TableErrorKind> {
    Table::parse(bytes).err().map(|e| e.kind)
}

fn encoded(s: &Solution) -> Result<Vec<u8>, TableErrorKind> {
    s.to_table().map_err(|e| e.kind)
}

fn put(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn header_refusals() {
    let bytes = good().to_table().expect("encodes");
    assert!(Table::parse(&bytes).is_ok());
    assert_eq!(kind(&bytes[..5]), Some(TableErrorKind::Truncated));
    let mut b = bytes.clone();
    b[0] = b'X';
    assert_eq!(kind(&b), Some(TableErrorKind::BadMagic));
    let mut b = bytes.clone();
    put(&mut b, 8, 1);
    assert_eq!(kind(&b), Some(TableErrorKind::UnsupportedVersion(1)));
    let mut b = bytes.clone();
    b.push(0);
    assert_eq!(kind(&b), Some(TableErrorKind::LengthMismatch));
    let len = u32::try_from(b.len()).expect("small");
    put(&mut b, 12, len);
    assert_eq!(kind(&b), Some(TableErrorKind::TrailingBytes));
    let mut b = bytes.clone();
    put(&mut b, 16, 5000);
    assert_eq!(kind(&b), Some(TableErrorKind::TooManyProcesses));
    let mut b = bytes.clone();
    put(&mut b, 20, 5000);
    assert_eq!(kind(&b), Some(TableErrorKind::TooManyChannels));
    let mut b = bytes.clone();
    put(&mut b, HEADER_LEN + 4, 0);
    assert_eq!(kind(&b), Some(TableErrorKind::BadOffset));
}

#[test]
fn record_refusals() {
    let bytes = good().to_table().expect("encodes");
    let first = HEADER_LEN + 12;
    let mut b = bytes.clone();
    put(&mut b, first, 4);
    assert_eq!(kind(&b), Some(TableErrorKind::ReservedFlags));
    // A priority without its flag, and one above Einit's programs.
    let mut b = bytes.clone();
    put(&mut b, first, 5 << 16);
    assert_eq!(kind(&b), Some(TableErrorKind::ReservedFlags));
    let mut b = bytes.clone();
    put(&mut b, first, 1 << 8 | 20 << 16);
    assert_eq!(kind(&b), Some(TableErrorKind::BadPriority));
    let mut b = bytes.clone();
    put(&mut b, first, 1 << 8 | 19 << 16);
    assert_eq!(kind(&b), None);
    // The first task name's single byte `a` (after flags and the length).
    let mut b = bytes.clone();
    b[first + 8] = 0xff;
    assert_eq!(kind(&b), Some(TableErrorKind::BadUtf8));
    let mut b = bytes.clone();
    b[first + 8] = b' ';
    assert!(matches!(kind(&b), Some(TableErrorKind::BadName(..))));
    let mut b = bytes.clone();
    put(&mut b, first + 4, 1000);
    assert_eq!(kind(&b), Some(TableErrorKind::Truncated));
}

#[test]
fn rule_refusals_are_shared_by_encoder_and_decoder() {
    let mut s = good();
    s.processes[1].task = "a".into();
    assert_eq!(encoded(&s), Err(TableErrorKind::DuplicateTask));
    let mut s = good();
    s.channels[0].server = 0;
    assert_eq!(encoded(&s), Err(TableErrorKind::SelfConnection));
    let mut s = good();
    s.channels[0].server = 7;
    assert_eq!(encoded(&s), Err(TableErrorKind::BadProcessIndex));
    let mut s = good();
    let again = s.channels[0].clone();
    s.channels.push(again);
    assert_eq!(encoded(&s), Err(TableErrorKind::DuplicateChannel));
    let mut s = good();
    s.processes[0].env[1].0 = "A".into();
    assert_eq!(encoded(&s), Err(TableErrorKind::DuplicateEnv));
    let mut s = good();
    s.processes[0].args[0] = "a\0".into();
    assert_eq!(encoded(&s), Err(TableErrorKind::BadValue));
    let mut s = good();
    s.processes[0].args = vec!["x".into(); 257];
    assert_eq!(encoded(&s), Err(TableErrorKind::TooManyArgs));
    let mut s = good();
    s.processes[0].env = (0..257).map(|i| (format!("K{i}"), "v".into())).collect();
    assert_eq!(encoded(&s), Err(TableErrorKind::TooManyEnv));
}

#[test]
fn errors_read_well() {
    let e = Table::parse(b"OSTEINIT").expect_err("too short");
    assert_eq!(
        e.to_string(),
        "Einit table, byte 8: the table ends too early"
    );
}

#[test]
fn a_linux_program_starts_through_the_personality() {
    let mut s = good();
    s.processes[1].linux = true;
    s.processes[1].path = "bin/hello".into();
    let bytes = s.to_table().expect("encodes");
    let table = Table::parse(&bytes).expect("parses");
    let native = table.process(0).expect("process 0");
    assert!(!native.linux());
    assert_eq!(native.executable(), "srv");
    assert_eq!(native.personality_args().collect::<Vec<_>>(), ["-v"]);
    let linux = table.process(1).expect("process 1");
    assert!(linux.linux());
    assert_eq!((linux.task(), linux.class()), ("b", "demo.Server"));
    assert_eq!(linux.executable(), ostrog_init::table::LINUX_PERSONALITY);
    assert_eq!(linux.path(), "bin/hello");
    assert_eq!(
        linux.personality_args().collect::<Vec<_>>(),
        ["bin/hello", "-v"]
    );
    assert_eq!(Solution::from_table(&table), s);
    // The flag is bit 1 of the record's first word.
    let slot = HEADER_LEN + 4;
    let flags_at = u32::from_le_bytes(bytes[slot..slot + 4].try_into().expect("4 bytes")) as usize;
    assert_eq!(bytes[flags_at..flags_at + 4], 2u32.to_le_bytes());
    let mut b = bytes.clone();
    put(&mut b, flags_at, 0);
    assert!(!Table::parse(&b)
        .expect("still a table")
        .process(1)
        .unwrap()
        .linux());
}

#[test]
fn a_linux_program_is_not_the_personality() {
    // A Linux program may use the dynamic connection manager (service sockets).
    let mut s = good();
    s.processes[0].linux = true;
    s.processes[0].dynamic_connection_manager = true;
    assert!(encoded(&s).is_ok());
    let mut s = good();
    s.processes[0].linux = true;
    s.processes[0].path = "linux".into();
    assert_eq!(encoded(&s), Err(TableErrorKind::BadLinux));
    // A native program may be a file named `linux` (only Linux programs are refused).
    let mut s = good();
    s.processes[0].path = "linux".into();
    assert!(encoded(&s).is_ok());
}
