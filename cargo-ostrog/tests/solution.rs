//! The solution tooling on the template `cargo ostrog new` writes: it checks clean, its
//! graph shows what the policy grants and nothing it denies, and bad scenario files are
//! refused with their line.

use std::path::PathBuf;

use cargo_ostrog::solution::{self, ScenarioTest, Solution};

fn fresh_template(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ostrog-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    cargo_ostrog::template::create(&dir).expect("the template is written");
    dir
}

#[test]
fn the_new_solution_checks_clean() {
    let dir = fresh_template("check");
    let s = Solution::open(&dir).expect("a complete solution");
    let classes = solution::check(&s).expect("no diagnostics");
    assert!(classes.iter().any(|c| c == "app.Client"));
    assert!(classes.iter().any(|c| c == "app.Server"));
    assert!(
        cargo_ostrog::template::create(&dir).is_err(),
        "new never overwrites"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_graph_shows_granted_methods_only() {
    let dir = fresh_template("graph");
    let s = Solution::open(&dir).expect("a complete solution");
    let dot = cargo_ostrog::graph::dot(&s).expect("a graph");
    assert!(dot.contains("channel greeter"), "{dot}");
    assert!(dot.contains("greeter.Greet"), "{dot}");
    assert!(!dot.contains("Shutdown"), "a denied method is drawn: {dot}");
    assert!(dot.contains("audit.Read"), "Klog's grant is missing: {dot}");
    let svg = cargo_ostrog::graph::svg(&dot).expect("rendered");
    assert!(svg.starts_with("<?xml") && svg.contains("app.Client"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_solution_without_a_policy_is_refused() {
    let dir = fresh_template("nopolicy");
    std::fs::remove_file(dir.join("security.psl")).expect("removed");
    let err = Solution::open(&dir).expect_err("refused").to_string();
    assert!(err.contains("has no security.psl"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scenario_files_are_parsed_and_judged() {
    let path = PathBuf::from("t.scenario");
    let t = ScenarioTest::parse(
        "t",
        &path,
        "# comment\nexpect: a\nexpect: b\nreject: KERNEL\ncmdline: x=1\nstatus: 0\n",
    )
    .expect("valid");
    assert_eq!(t.cmdline, "x=1");
    assert!(t.judge(Some(0), "a then b").is_ok());
    assert!(t.judge(Some(0), "b then a").unwrap_err().contains("lacks"));
    assert!(t
        .judge(Some(0), "a b KERNEL")
        .unwrap_err()
        .contains("KERNEL"));
    assert!(t.judge(Some(3), "a b").unwrap_err().contains("status 3"));
    let err = ScenarioTest::parse("t", &path, "expect: a\nwhat: b\n").unwrap_err();
    assert!(
        err.to_string()
            .contains("t.scenario:2:1: unknown key `what`"),
        "{err}"
    );
}

/// `cargo ostrog check ARGS` from the source root: its status and what it printed.
fn check_cli(args: &[&str]) -> (bool, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-ostrog"))
        .arg("check")
        .args(args)
        .current_dir(&root)
        .output()
        .expect("cargo-ostrog runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_finds_the_sdk_and_the_solutions_own_spec_without_flags() {
    // Whole solution folders, checked as `build` checks them.
    let (ok, err) = check_cli(&["examples/demo", "examples/blk"]);
    assert!(ok, "{err}");
    assert!(err.contains("examples/demo: no errors"), "{err}");
    // Loose files of a solution: its spec/ and the sysroot are searched.
    let (ok, err) = check_cli(&["examples/demo/security.psl", "examples/demo/init.yaml"]);
    assert!(ok, "{err}");
}

#[test]
fn check_of_a_broken_solution_names_the_file_and_line() {
    let dir = fresh_template("broken");
    let init = dir.join("init.yaml");
    let text = std::fs::read_to_string(&init).expect("read");
    std::fs::write(&init, text.replacen("app.Server", "app.Servr", 1)).expect("written");
    let (ok, err) = check_cli(&[dir.to_str().expect("utf-8 path")]);
    assert!(!ok, "a broken solution passed: {err}");
    assert!(err.contains("app.Servr"), "{err}");
    assert!(err.contains("init.yaml:"), "no file:line in {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
