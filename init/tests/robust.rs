//! Robustness and round trips, by property: the decoder accepts or refuses any bytes
//! without panicking, what it accepts it reads back identically, encoding then decoding
//! gives the same solution, and the checker gives a result for any text.

use std::collections::BTreeMap;

use ostrog_init::solution::{Channel, Process};
use ostrog_init::table::Table;
use ostrog_init::{check, Options, Solution};
use proptest::prelude::*;

/// Reads every part of a decoded table (to exercise the accessors on accepted input) and
/// checks that the table is the canonical encoding of what it holds.
fn read_back(bytes: &[u8]) {
    if let Ok(table) = Table::parse(bytes) {
        for p in table.processes() {
            let _ = (
                p.task(),
                p.class(),
                p.path(),
                p.dynamic_connection_manager(),
                p.priority(),
                p.linux(),
                p.executable(),
            );
            let args: Vec<&str> = p.personality_args().collect();
            assert_eq!(args.len(), p.args().len() + usize::from(p.linux()));
            assert_eq!(p.args().count(), p.args().len());
            assert_eq!(p.env().count(), p.env().len());
        }
        for c in table.channels() {
            assert!(table.process(c.client()).is_some() && table.process(c.server()).is_some());
        }
        let again = Solution::from_table(&table).to_table();
        assert_eq!(
            again.as_deref(),
            Ok(bytes),
            "decoded tables re-encode identically"
        );
    }
}

fn class() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,5}(\\.[A-Z][a-zA-Z0-9_]{0,6}){0,2}"
}

fn process(index: usize) -> impl Strategy<Value = Process> {
    (
        class(),
        proptest::option::of("[a-z][a-z0-9_.-]{0,6}"),
        proptest::option::of("[a-z]{1,4}(/[a-z0-9_.+-]{0,3}[a-z]){0,2}"),
        proptest::collection::vec("[^\u{0}]{0,12}", 0..4),
        proptest::collection::btree_map("[A-Z_][A-Z0-9_]{0,6}", "[^\u{0}]{0,8}", 0..4),
        any::<bool>(),
        proptest::option::of(0u8..=ostrog_init::table::MAX_PRIORITY),
        any::<bool>(),
        // Whole pages, as the table keeps them.
        proptest::option::of((1u64..=u64::from(u32::MAX)).prop_map(|p| p * 4096)),
    )
        .prop_map(
            move |(class, task, path, args, env, dcm, priority, linux, memory)| Process {
                task: format!("{}-{index}", task.unwrap_or_else(|| class.clone())),
                path: path.unwrap_or_else(|| class.rsplit('.').next().unwrap_or("x").to_string()),
                class,
                args,
                env: env.into_iter().collect(),
                dynamic_connection_manager: dcm,
                // A Linux program never uses the dynamic connection manager.
                linux: linux && !dcm,
                priority,
                memory,
            },
        )
}

/// Solutions that satisfy every rule (unique tasks, distinct ends, ids unique per client).
fn solution() -> impl Strategy<Value = Solution> {
    (0usize..6)
        .prop_flat_map(|n| {
            let processes: Vec<_> = (0..n).map(process).collect();
            let channels = proptest::collection::vec(
                (0..n.max(1), 0..n.max(1), "[a-z_][a-z0-9_.-]{0,6}"),
                0..8,
            );
            (processes, channels)
        })
        .prop_map(|(processes, raw)| {
            let mut seen = BTreeMap::new();
            let channels = raw
                .into_iter()
                .filter(|(c, s, _)| c != s && *c < processes.len() && *s < processes.len())
                .filter(|(c, _, id)| seen.insert((*c, id.clone()), ()).is_none())
                .map(|(client, server, id)| Channel { client, server, id })
                .collect();
            Solution {
                processes,
                channels,
            }
        })
}

/// Anything at all, rules or not.
fn any_solution() -> impl Strategy<Value = Solution> {
    let process = (
        ".{0,6}",
        ".{0,6}",
        ".{0,6}",
        proptest::collection::vec(".{0,4}", 0..3),
        proptest::collection::vec((".{0,4}", ".{0,4}"), 0..3),
        any::<bool>(),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(
            |(task, class, path, args, env, dcm, priority, linux, memory)| Process {
                task,
                class,
                path,
                args,
                env,
                dynamic_connection_manager: dcm,
                linux,
                priority,
                memory,
            },
        );
    (
        proptest::collection::vec(process, 0..4),
        proptest::collection::vec((0usize..5, 0usize..5, ".{0,4}"), 0..4),
    )
        .prop_map(|(processes, channels)| Solution {
            processes,
            channels: channels
                .into_iter()
                .map(|(client, server, id)| Channel { client, server, id })
                .collect(),
        })
}

/// YAML-looking text made of the pieces init.yaml is made of.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("entities:"),
        Just("- name: demo.Client"),
        Just("  name: a.B"),
        Just("  task: t"),
        Just("  path: p"),
        Just("  args: [a, 1, {x: y}]"),
        Just("  env: {A: b, A: c}"),
        Just("  env:\n    K: v"),
        Just("  connections:"),
        Just("  - target: t"),
        Just("    id: c"),
        Just("    id: {var: X, include: x.h}"),
        Just("  dynamic_connection_manager: maybe"),
        Just("  linux: true"),
        Just("  linux: maybe"),
        Just("  path: linux"),
        Just("  priority: 7"),
        Just("  priority: 99"),
        Just("  memory: 64M"),
        Just("  memory: 0"),
        Just("  memory: 12Q"),
        Just("  memory: 99999999999G"),
        Just("---"),
        Just("&a [*a]"),
        Just("- ["),
        Just("\"unterminated"),
        Just("  : :"),
        Just("\t- x"),
        Just("? complex"),
        Just("!!str tagged"),
        Just("|\n  block"),
    ];
    proptest::collection::vec(piece, 0..14).prop_map(|v| v.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        read_back(&bytes);
    }

    #[test]
    fn random_bytes_after_a_valid_header_never_panic(
        counts in (0u32..4, 0u32..4),
        rest in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = b"OSTEINIT".to_vec();
        bytes.extend_from_slice(&ostrog_init::table::VERSION.to_le_bytes());
        let len = u32::try_from(24 + rest.len()).unwrap_or(0);
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&counts.0.to_le_bytes());
        bytes.extend_from_slice(&counts.1.to_le_bytes());
        bytes.extend_from_slice(&rest);
        read_back(&bytes);
    }

    #[test]
    fn encode_then_decode_round_trips(s in solution()) {
        let bytes = s.to_table().expect("a solution within the rules encodes");
        let table = Table::parse(&bytes).expect("what the encoder writes decodes");
        prop_assert_eq!(table.process_count(), s.processes.len());
        prop_assert_eq!(table.channel_count(), s.channels.len());
        prop_assert_eq!(Solution::from_table(&table), s);
    }

    #[test]
    fn corrupted_tables_are_accepted_or_refused(
        s in solution(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = s.to_table().expect("encodes");
        for (at, value) in edits {
            let i = at % bytes.len();
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        read_back(&bytes);
    }

    #[test]
    fn the_encoder_refuses_what_the_decoder_would(s in any_solution()) {
        if let Ok(bytes) = s.to_table() {
            let table = Table::parse(&bytes).expect("encoded tables decode");
            prop_assert_eq!(Solution::from_table(&table), s);
        }
    }

    #[test]
    fn the_checker_answers_any_text(text in ".{0,200}") {
        let _ = check::check_source("fuzz.yaml", text, &Options::default());
    }

    #[test]
    fn the_checker_answers_yaml_like_text(text in yamlish()) {
        let options = Options {
            executables: Some(vec!["Client".into()]),
            classes: Some(vec!["demo.Client".into()]),
            ..Options::default()
        };
        if let Err(diagnostics) = check::check_source("fuzz.yaml", text.clone(), &options) {
            for d in diagnostics {
                prop_assert!(d.span.start as usize <= text.len(), "{:?}", d);
                prop_assert!(!d.render().is_empty());
            }
        }
    }
}

#[test]
fn checked_solutions_encode() {
    let text =
        "entities:\n- name: a.B\n  connections: [{target: c, id: x}]\n- name: a.C\n  task: c\n";
    let s = check::check_source("t.yaml", text, &Options::default()).expect("checks");
    let bytes = s.to_table().expect("encodes");
    assert_eq!(&bytes[..8], b"OSTEINIT");
    assert_eq!(&bytes[8..12], &3u32.to_le_bytes());
    assert_eq!(
        &bytes[12..16],
        &u32::try_from(bytes.len()).unwrap_or(0).to_le_bytes()
    );
}

#[test]
fn memory_limits_are_read_in_units_and_kept_in_pages() {
    let text = "entities:\n- name: a.B\n  memory: 64M\n- name: a.C\n  memory: 5000\n- name: a.D\n";
    let s = check::check_source("t.yaml", text, &Options::default()).expect("checks");
    let bytes = s.to_table().expect("encodes");
    let table = Table::parse(&bytes).expect("decodes");
    let limits: Vec<Option<u64>> = table.processes().map(|p| p.memory()).collect();
    assert_eq!(limits, [Some(64 << 20), Some(8192), None]);
}
