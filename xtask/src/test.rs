//! `cargo xtask test`: every check CI runs, counted.
//!
//! Formatting and each lint run count as one test each; host unit tests are counted as cargo
//! reports them; each QEMU scenario counts once per architecture. The last line is
//! `N passed, N failed`.

use std::process::Command;

use anyhow::Result;
use cargo_ostrog::arch::Arch;

use crate::scenarios;
use cargo_ostrog::qemu::Machine;

/// The variable the soaking programs read their round count from when they are built.
const SOAK_ROUNDS: &str = "OSTROG_SOAK_ROUNDS";
/// Rounds of the long soak (`--long`).
const LONG_SOAK_ROUNDS: u32 = 100_000;

/// `--long`: the hostile example built with [`LONG_SOAK_ROUNDS`] rounds of its attacker's
/// soak, booted once per architecture: every attack refused every time, the client's work
/// all correct, and every frame free again at power-off. (Its scenario files boot the
/// short build; the long one runs once, about ten minutes per architecture.)
fn long_soak(tally: &mut Tally) {
    let dir = cargo_ostrog::source_root().join("examples/hostile");
    let rounds = LONG_SOAK_ROUNDS.to_string();
    let expect = [
        format!("attacker: soak of {rounds} rounds of the attacks above: "),
        " 0 got through".to_string(),
        format!(
            "client: soak: {} rounds of Put and Get",
            LONG_SOAK_ROUNDS / 4
        ),
        " 0 wrong".to_string(),
        "memory: every frame the programs used is free again".to_string(),
        "all processes have ended; powering off".to_string(),
    ];
    std::env::set_var(SOAK_ROUNDS, &rounds);
    for arch in Arch::ALL {
        let name = format!("hostile soak of {rounds} rounds ({arch})");
        let outcome = (|| -> Result<(bool, String)> {
            let solution = cargo_ostrog::solution::Solution::open(&dir)?;
            let image = cargo_ostrog::solution::build(&solution, arch)?;
            let machine = Machine::new(arch, cargo_ostrog::solution::accel(arch), &image);
            let started = std::time::Instant::now();
            let run = machine.run_captured(std::time::Duration::from_secs(3600), false)?;
            // The two programs run side by side: each line on its own, not in order.
            let missing: Vec<&String> = expect
                .iter()
                .filter(|line| !run.console.contains(line.as_str()))
                .collect();
            let memory = run
                .console
                .lines()
                .find(|l| l.starts_with("memory: heap"))
                .unwrap_or("no memory line");
            let mut detail = format!("in {:.0}s; {memory}", started.elapsed().as_secs_f64());
            if !missing.is_empty() {
                detail.push_str(&format!("; console lacks {missing:?}"));
            }
            Ok((
                missing.is_empty() && !run.console.contains("BREACH"),
                detail,
            ))
        })();
        match outcome {
            Ok((passed, detail)) => tally.record(&name, passed, &detail),
            Err(e) => tally.record(&name, false, &format!("{e:#}")),
        }
    }
    std::env::remove_var(SOAK_ROUNDS);
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, name: &str, passed: bool, detail: &str) {
        if passed {
            self.passed += 1;
            println!("PASS {name} {detail}");
        } else {
            self.failed += 1;
            self.failures.push(name.to_string());
            println!("FAIL {name} {detail}");
        }
    }
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(cargo_ostrog::source_root());
    cmd
}

/// Runs a command; returns (success, combined output).
fn capture(mut cmd: Command) -> (bool, String) {
    match cmd.output() {
        Ok(out) => (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ),
        Err(e) => (false, format!("cannot run {cmd:?}: {e}")),
    }
}

fn check_step(tally: &mut Tally, name: &str, cmd: Command) {
    let (ok, output) = capture(cmd);
    if !ok {
        println!("{output}");
    }
    tally.record(name, ok, "");
}

/// Sums cargo's `test result: ok. N passed; M failed` lines.
fn count_cargo_tests(output: &str) -> (usize, usize) {
    let mut totals = (0, 0);
    for line in output.lines().filter(|l| l.starts_with("test result:")) {
        let number_before = |word: &str| {
            line.split(';')
                .find(|part| part.trim_end().ends_with(word))
                .and_then(|part| part.split_whitespace().rev().nth(1))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0)
        };
        totals.0 += number_before("passed");
        totals.1 += number_before("failed");
    }
    totals
}

pub fn run(args: &[String]) -> Result<bool> {
    let long = args.iter().any(|a| a == "--long");
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--long")
        .collect();
    let (only, example) = match args[..] {
        ["--only", name] => (Some(name), None),
        ["--example", name] => (Some(""), Some(name)),
        [] => (None, None),
        _ => anyhow::bail!("usage: cargo xtask test [--long] [--only SCENARIO | --example NAME]"),
    };

    cargo_ostrog::setup::ensure_rust_components(&["rustfmt", "clippy"])?;
    cargo_ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_qemu(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_linux_test_tools()?;
    let mut tally = Tally::default();

    if only.is_none() {
        let mut fmt = cargo();
        fmt.args(["fmt", "--all", "--check"]);
        check_step(&mut tally, "fmt", fmt);

        // The example solutions and the `cargo ostrog new` template are workspaces of their
        // own (or templates): their Rust files are checked one by one.
        let mut fmt = std::process::Command::new("rustfmt");
        fmt.args(["--edition", "2021", "--check"]);
        fmt.args(rust_files_under(&[
            "examples",
            "cargo-ostrog/template",
            "tests/linux",
        ]));
        check_step(&mut tally, "fmt (examples, template, tests/linux)", fmt);

        let mut clippy = cargo();
        clippy.args(["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"]);
        check_step(&mut tally, "clippy (host crates)", clippy);

        for arch in Arch::ALL {
            let mut clippy = cargo();
            clippy.args(["clippy", "--quiet", "--release", "-p", "ostrog-kernel"]);
            clippy.args(["-p", "ostrog-test-modules"]);
            clippy.args(["--target", arch.kernel_target(), "--", "-D", "warnings"]);
            check_step(&mut tally, &format!("clippy (kernel, {arch})"), clippy);

            let mut clippy = cargo();
            clippy.args([
                "clippy",
                "--quiet",
                "--release",
                "-p",
                "ostrog-rt",
                "-p",
                "einit",
                // The VFS server (its host tests are in `cargo test`).
                "-p",
                "vfs",
                // kl.EntropyEntity and kl.RtcClock (docs/services.md; host tests too).
                "-p",
                "entropy",
                "-p",
                "rtc",
                // kl.core.DCM (docs/services.md; host tests too).
                "-p",
                "dcm",
                // execution_manager.ExecMgrEntity (docs/services.md).
                "-p",
                "execmgr",
                // The `log` crate's logger over logrr.Server (docs/services.md, "Logging").
                "-p",
                "logrr-client",
            ]);
            let mut packages: Vec<String> = cargo_ostrog::image::workspace_programs()?
                .into_iter()
                .map(|p| p.package)
                .collect();
            packages.dedup();
            for package in &packages {
                clippy.args(["-p", package]);
            }
            clippy.args(["--target", arch.rust_target(), "--", "-D", "warnings"]);
            check_step(
                &mut tally,
                &format!("clippy (runtime and programs, {arch})"),
                clippy,
            );

            // The Linux personality runs inside a Linux program's threads and must never
            // touch their FP/SIMD registers: it is built (and linted) soft-float.
            let mut clippy = cargo();
            clippy.args(["clippy", "--quiet", "--release", "-p", "linux"]);
            clippy.args(["--target", arch.kernel_target(), "--", "-D", "warnings"]);
            check_step(
                &mut tally,
                &format!("clippy (Linux personality, {arch})"),
                clippy,
            );
        }

        let mut test = cargo();
        test.args(["test", "--quiet"]);
        let (ok, output) = capture(test);
        let (passed, failed) = count_cargo_tests(&output);
        tally.passed += passed;
        tally.failed += failed;
        println!("host unit tests: {passed} passed, {failed} failed");
        if !ok {
            println!("{output}");
            if failed == 0 {
                tally.record("host unit tests (build)", false, "");
            } else {
                tally.failures.push("host unit tests".into());
            }
        }
    }

    let kernel_scenarios = if example.is_none() {
        match scenarios::load() {
            Ok(all) => all,
            Err(e) if only.is_some() => return Err(e),
            Err(e) => {
                tally.record("kernel scenario files", false, &format!("{e:#}"));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    // `--only NAME` names a file of `tests/kernel/scenarios` (by its stem).
    let unknown = only.filter(|o| !kernel_scenarios.iter().any(|s| s.name == *o));
    if let (Some(name), None) = (unknown, example) {
        anyhow::bail!(
            "no kernel scenario {name}: no file {}/{name}.scenario",
            scenarios::dir().display()
        );
    }
    for arch in Arch::ALL.into_iter().filter(|_| example.is_none()) {
        let kernel = match test_image(arch) {
            Ok(kernel) => kernel,
            Err(e) => {
                tally.record(&format!("kernel build ({arch})"), false, &format!("{e:#}"));
                continue;
            }
        };
        for scenario in kernel_scenarios
            .iter()
            .filter(|s| s.runs_on(arch) && only.is_none_or(|o| o == s.name))
        {
            let name = format!("{arch}::{}", scenario.name);
            match scenarios::run(scenario, arch, &kernel) {
                Ok(outcome) => {
                    tally.record(&name, outcome.passed, &outcome.summary);
                    if !outcome.passed {
                        println!("---- console of {name} ----\n{}----", outcome.console);
                    }
                }
                Err(e) => tally.record(&name, false, &format!("{e:#}")),
            }
        }
    }

    if only.is_none() || example.is_some() {
        examples(&mut tally, example);
    }
    // The Linux programs of issue 13 (`tests/linux/`), as the example `linux`.
    if only.is_none() || example == Some("linux") {
        for (name, passed, detail) in crate::linux::run() {
            tally.record(&name, passed, &detail);
        }
    }
    // The console-input tests alone (`--example linux` runs them too).
    if example == Some("console") {
        for (name, passed, detail) in crate::linux::run_console() {
            tally.record(&name, passed, &detail);
        }
    }
    // The file tests alone (`cargo xtask test --example linux` runs them too).
    if example == Some("files") {
        for (name, passed, detail) in crate::files::run() {
            tally.record(&name, passed, &detail);
        }
    }
    // The busybox scripts alone (`cargo xtask test --example linux` runs them too).
    if example == Some("busybox") {
        for (name, passed, detail) in crate::busybox::run() {
            tally.record(&name, passed, &detail);
        }
    }
    // The conformance suite alone (`cargo xtask test --example linux` runs it too).
    if example == Some("conformance") {
        for (name, passed, detail) in crate::conformance::run() {
            tally.record(&name, passed, &detail);
        }
    }
    // The power-cut test of the disk stack (examples/power, after its PAL tests above).
    if only.is_none() || example == Some("power") {
        for (name, passed, detail) in crate::power::run() {
            tally.record(&name, passed, &detail);
        }
    }
    // The network test: the host fetches examples/net's page (after its PAL tests above).
    if only.is_none() || example == Some("net") {
        for (name, passed, detail) in crate::net::run() {
            tally.record(&name, passed, &detail);
        }
    }
    // The Linux web server and client (examples/linuxweb, after its PAL tests above).
    if only.is_none() || example == Some("linuxweb") {
        for (name, passed, detail) in crate::net::run_linux() {
            tally.record(&name, passed, &detail);
        }
    }
    if only.is_none() || example == Some("tutorial") {
        for (name, passed, detail) in crate::tutorial::run() {
            tally.record(&name, passed, &detail);
        }
    }

    if long {
        long_soak(&mut tally);
    }

    if !tally.failures.is_empty() {
        println!("failed: {}", tally.failures.join(", "));
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(tally.failed == 0)
}

/// Every `.rs` file under the given folders of the source tree (not their `target/`).
fn rust_files_under(dirs: &[&str]) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending: Vec<std::path::PathBuf> = dirs
        .iter()
        .map(|d| cargo_ostrog::source_root().join(d))
        .collect();
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() && !path.ends_with("target") {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The example solutions (`examples/*`): their PAL tests, then their scenario tests on
/// every architecture, each counted once.
fn examples(tally: &mut Tally, only: Option<&str>) {
    let root = cargo_ostrog::source_root().join("examples");
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    // A solution with KasperskyOS templates (init.yaml.in) counts too (examples/kos).
    dirs.retain(|d| d.join("init.yaml").is_file() || d.join("init.yaml.in").is_file());
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let solution = match cargo_ostrog::solution::Solution::open(&dir) {
            Ok(s) => s,
            Err(e) => {
                tally.record(&format!("example {name}"), false, &format!("{e:#}"));
                continue;
            }
        };
        let mut out = Vec::new();
        match cargo_ostrog::solution::pal_tests(&solution, &mut out) {
            Ok((passed, failed)) => {
                print!("{}", String::from_utf8_lossy(&out));
                tally.passed += passed;
                tally.failed += failed;
                if failed > 0 {
                    tally.failures.push(format!("{name} PAL tests"));
                }
            }
            Err(e) => tally.record(&format!("{name} PAL tests"), false, &format!("{e:#}")),
        }
        for arch in Arch::ALL {
            let mut out = Vec::new();
            let result = cargo_ostrog::solution::run_scenarios(&solution, arch, &mut out);
            print!("{}", String::from_utf8_lossy(&out));
            match result {
                Ok((passed, failed)) => {
                    tally.passed += passed;
                    tally.failed += failed;
                    if failed > 0 {
                        tally.failures.push(format!("{name} ({arch})"));
                    }
                }
                Err(e) => tally.record(&format!("{name} ({arch})"), false, &format!("{e:#}")),
            }
        }
    }
}

/// The kernel the scenarios boot: every program of the workspace in its ROMFS, plus a
/// malformed executable (`Broken`: an ELF cut off inside its program headers), Einit with
/// the IPC test solution (`tests/kernel/solutions/ipc/init.yaml`), and the hand-written
/// scenario security module (`ScenarioPolicy` of `tests/kernel/modules`).
pub fn test_image(arch: Arch) -> Result<std::path::PathBuf> {
    let programs =
        cargo_ostrog::image::build_programs(arch, &cargo_ostrog::image::workspace_programs()?)?;
    let hello = programs
        .iter()
        .find(|(name, _)| name == "hello")
        .map(|(_, path)| std::fs::read(path))
        .transpose()?
        .unwrap_or_default();
    let broken = hello.get(..120).unwrap_or(&hello).to_vec();
    let root = cargo_ostrog::source_root();
    let init_yaml = root.join("tests/kernel/solutions/ipc/init.yaml");
    let extra = [("Broken".to_string(), broken)];
    let spec = cargo_ostrog::image::ImageSpec {
        name: "test",
        init_yaml: Some(&init_yaml),
        security: cargo_ostrog::kernel::Security::Testing("ScenarioPolicy"),
        extra: &extra,
    };
    cargo_ostrog::image::build_image(arch, &spec)
}

#[cfg(test)]
mod tests {
    use super::count_cargo_tests;

    #[test]
    fn counts_every_test_result_line() {
        let output = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured\n\
                      noise\n\
                      test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured\n";
        assert_eq!(count_cargo_tests(output), (15, 2));
    }
}
