//! Valid solution descriptions check clean, get their defaults, and survive the trip
//! through the Einit table.

use std::path::{Path, PathBuf};

use ostrog_init::table::Table;
use ostrog_init::{check, Options, Solution};

fn valid(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/valid")
        .join(name)
}

fn load(name: &str, options: &Options) -> Solution {
    match check::load(&valid(name), options) {
        Ok(s) => s,
        Err(diagnostics) => {
            let text: Vec<String> = diagnostics.iter().map(|d| d.render()).collect();
            panic!("{name} should check clean:\n{}", text.join("\n"))
        }
    }
}

/// Encodes, decodes and compares, returning the table's bytes.
fn round_trip(solution: &Solution) -> Vec<u8> {
    let bytes = solution.to_table().expect("a checked solution encodes");
    let table = Table::parse(&bytes).expect("an encoded table decodes");
    assert_eq!(&Solution::from_table(&table), solution);
    bytes
}

#[test]
fn reference_example_gets_defaults() {
    let s = load("reference.yaml", &Options::default());
    let tasks: Vec<(&str, &str, &str)> = s
        .processes
        .iter()
        .map(|p| (p.task.as_str(), p.class.as_str(), p.path.as_str()))
        .collect();
    assert_eq!(
        tasks,
        [
            ("demo.Client", "demo.Client", "Client"),
            ("demo.Server", "demo.Server", "srv")
        ]
    );
    assert_eq!(s.processes[1].args, ["-v"]);
    assert_eq!(
        s.processes[1].env,
        [("MODE".to_string(), "fast".to_string())]
    );
    assert_eq!(s.channels.len(), 1);
    assert_eq!(
        (s.channels[0].client, s.channels[0].server),
        (0, 1),
        "client then server"
    );
    assert_eq!(s.channels[0].id, "server_connection");
    round_trip(&s);
}

#[test]
fn two_processes_of_one_class_are_told_apart_by_task() {
    let s = load("two-of-a-class.yaml", &Options::default());
    let tasks: Vec<&str> = s.processes.iter().map(|p| p.task.as_str()).collect();
    assert_eq!(tasks, ["panel-front", "panel-back", "door-a", "door-b"]);
    assert!(s.processes[..2]
        .iter()
        .all(|p| p.class == "lock.Panel" && p.path == "panel"));
    assert!(s.processes[2..]
        .iter()
        .all(|p| p.class == "lock.Controller" && p.path == "Controller"));
    let channels: Vec<(usize, usize, &str)> = s
        .channels
        .iter()
        .map(|c| (c.client, c.server, c.id.as_str()))
        .collect();
    assert_eq!(channels, [(0, 2, "door"), (1, 2, "door"), (1, 3, "door_b")]);
    let bytes = round_trip(&s);
    let table = Table::parse(&bytes).expect("decodes");
    let back = table.find_task("panel-back").expect("present");
    assert_eq!(back.index(), 1);
    assert_eq!(back.class(), "lock.Panel");
    let served: Vec<&str> = table
        .channels()
        .filter(|c| c.server() == 2)
        .filter_map(|c| table.process(c.client()).map(|p| p.task()))
        .collect();
    assert_eq!(served, ["panel-front", "panel-back"]);
}

#[test]
fn every_key_and_both_styles() {
    let s = load("full.yaml", &Options::default());
    assert!(s.processes[0].dynamic_connection_manager);
    assert_eq!(s.processes[0].path, "DCM");
    assert!(!s.processes[2].dynamic_connection_manager);
    assert_eq!(s.processes[1].path, "bin/vfs-ram");
    assert_eq!(s.processes[1].priority, Some(12));
    assert_eq!(s.processes[0].priority, None);
    assert_eq!(s.processes[1].args, ["--size", "4096", "--verbose"]);
    assert_eq!(
        s.processes[1].env,
        [
            (
                "VFS_FILESYSTEM_BACKEND".to_string(),
                "server:kl.VfsRamFs".to_string()
            ),
            ("DEBUG".to_string(), "false".to_string())
        ]
    );
    let bytes = round_trip(&s);
    let table = Table::parse(&bytes).expect("decodes");
    let dcm = table.process(0).expect("present");
    assert!(dcm.dynamic_connection_manager());
    let vfs = table.find_task("vfs").expect("present");
    assert_eq!(vfs.priority(), Some(12));
    assert_eq!(dcm.priority(), None);
    assert_eq!(vfs.args().len(), 3);
    assert_eq!(
        vfs.env().collect::<Vec<_>>(),
        [
            ("VFS_FILESYSTEM_BACKEND", "server:kl.VfsRamFs"),
            ("DEBUG", "false")
        ]
    );
    assert!(table.process(3).is_none() && table.channel(2).is_none());
}

#[test]
fn executables_and_classes_given_and_present() {
    let options = Options {
        executables: Some(vec!["Client".into(), "srv".into()]),
        classes: Some(vec!["demo.Client".into(), "demo.Server".into()]),
        ..Options::default()
    };
    load("reference.yaml", &options);
}

#[test]
fn an_empty_list_of_entities_is_a_solution_with_nothing_to_start() {
    let s =
        check::check_source("empty.yaml", "entities: []\n", &Options::default()).expect("checks");
    assert_eq!(s, Solution::default());
    assert_eq!(round_trip(&s).len(), ostrog_init::table::HEADER_LEN);
}

#[test]
fn check_cli_counts_errors_and_renders_them() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let files = [
        dir.join("valid/reference.yaml"),
        dir.join("invalid/UnknownTarget.yaml"),
    ];
    let mut out = Vec::new();
    let errors =
        ostrog_init::check_cli(&files, &Options::default(), &mut out).expect("writes to memory");
    assert_eq!(errors, 1);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("connection to unknown task `demo.Srv`"),
        "{text}"
    );
    assert!(text.contains("UnknownTarget.yaml:"), "{text}");
}

#[test]
fn a_missing_file_is_one_error() {
    let r = check::load(Path::new("/nonexistent/init.yaml"), &Options::default());
    let d = r.expect_err("no such file");
    assert_eq!(d.len(), 1);
    assert!(d[0]
        .short()
        .starts_with("/nonexistent/init.yaml:1:1: cannot read the file"));
}

#[test]
fn a_linux_program_runs_through_the_personality() {
    let options = Options {
        executables: Some(vec!["linux".into(), "bin/hello".into(), "Native".into()]),
        classes: None,
        ..Options::default()
    };
    let s = load("linux.yaml", &options);
    assert!(s.processes[0].linux && !s.processes[1].linux);
    let bytes = round_trip(&s);
    let table = Table::parse(&bytes).expect("decodes");
    let hello = table.find_task("app.Hello").expect("present");
    assert_eq!((hello.class(), hello.path()), ("app.Hello", "bin/hello"));
    assert_eq!(hello.executable(), "linux");
    assert_eq!(
        hello.personality_args().collect::<Vec<_>>(),
        ["bin/hello", "one", "2"]
    );
    assert_eq!(
        hello.env().collect::<Vec<_>>(),
        [("GREETING", "hello from init.yaml")]
    );
    let native = table.find_task("app.Native").expect("present");
    assert_eq!(native.executable(), "Native");
    // Without the personality in the image, the Linux entity is reported.
    let options = Options {
        executables: Some(vec!["bin/hello".into(), "Native".into()]),
        classes: None,
        ..Options::default()
    };
    let diagnostics = check::load(&valid("linux.yaml"), &options).expect_err("no personality");
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0]
        .short()
        .contains("linux.yaml:5:3: the Linux personality `linux` is not in the image"));
}

#[test]
fn a_linux_program_may_use_the_dynamic_connection_manager() {
    let options = Options {
        executables: Some(vec!["linux".into(), "bin/hello".into(), "Manager".into()]),
        classes: None,
        ..Options::default()
    };
    let s = load("linux-dcm.yaml", &options);
    let finder = &s.processes[1];
    assert!(finder.linux && finder.dynamic_connection_manager);
    round_trip(&s);
}

#[test]
fn channel_ids_are_read_from_c_headers() {
    let options = Options {
        include_dirs: vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/include")],
        ..Options::default()
    };
    let s = load("headers/init.yaml", &options);
    let ids: Vec<&str> = s.channels.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["server_connection", "echo"]);
    // Without the include folder, the second header is not found, at its place.
    let err = check::load(&valid("headers/init.yaml"), &Options::default()).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].line_col(), (8, 44), "{}", err[0].render());
    assert!(err[0].message.contains("header `echo/defs.h` not found"));
}
