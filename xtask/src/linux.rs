//! The Linux-program tests of issue 13 (`tests/linux/`): unmodified static Linux programs
//! run on Ostrog through the personality must print what they print on Linux.
//!
//! For each architecture:
//!
//! 1. the programs are built ([`PROGRAMS`]): the Rust ones (`hello-std`, `signals`, `stack-overflow`) for the
//!    musl target, the way `cargo ostrog build` builds them; the C ones (`hello-c`,
//!    `signals-c`) with Debian's `musl-gcc -static`, on x86_64 only (Debian's musl-gcc
//!    targets the host, and Debian has no AArch64 musl cross compiler; on AArch64 their
//!    entities are left out);
//! 2. each program runs on the host with the arguments and environment `init.yaml` gives
//!    it: natively on an x86_64 host, with `qemu-aarch64` (Debian's qemu-user) for AArch64;
//!    its output and exit status are the reference (a program killed by signal N has status
//!    128 + N, as on Ostrog);
//! 3. each program boots alone in an image of `tests/linux/solution` (the other Linux
//!    entities left out, so its output is not interleaved with another's): the console must
//!    show every line of the reference in order, and the kernel must report the same exit
//!    status for the program's task and class;
//! 4. the whole solution boots: all programs print their last line and end with their
//!    status, and Einit's start of
//!    `lx.Denied` (a class the policy never lets Einit start) is denied and audited while
//!    the rest runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Ending, Machine};
use cargo_ostrog::solution::{self, BuildOptions, Solution};

/// One Linux program of the test solution.
struct Program {
    /// Its task (and class) in `init.yaml`.
    task: &'static str,
    /// Its ROMFS path (`path:` in `init.yaml`).
    path: &'static str,
    /// A C source under `tests/linux` built with musl-gcc (x86_64 only), or `None` for a
    /// Rust binary of the solution's workspace with the name `path`.
    c_source: Option<&'static str>,
}

const PROGRAMS: [Program; 6] = [
    Program {
        task: "lx.HelloStd",
        path: "hello-std",
        c_source: None,
    },
    Program {
        task: "lx.HelloC",
        path: "hello-c",
        c_source: Some("hello-c/hello.c"),
    },
    Program {
        task: "lx.Signals",
        path: "signals",
        c_source: None,
    },
    Program {
        task: "lx.SignalsC",
        path: "signals-c",
        c_source: Some("signals-c/signals.c"),
    },
    Program {
        task: "lx.StackOverflow",
        path: "stack-overflow",
        c_source: None,
    },
    Program {
        task: "lx.StackOverflowMain",
        path: "stack-overflow",
        c_source: None,
    },
];

/// The entity whose start the policy denies.
const DENIED: &str = "lx.Denied";

fn root() -> PathBuf {
    cargo_ostrog::source_root().join("tests/linux")
}

/// Where the test keeps what it builds.
fn work_dir(arch: Arch) -> Result<PathBuf> {
    let dir = cargo_ostrog::kernel::target_dir()?
        .join("ostrog")
        .join("linux-test")
        .join(arch.name());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Builds the C program `name` from `source` with musl-gcc for `arch`; `None` where there
/// is no compiler for it.
fn build_c(arch: Arch, name: &str, source: &str) -> Result<Option<Vec<u8>>> {
    if arch != Arch::X86_64 || Arch::host() != Some(Arch::X86_64) {
        return Ok(None);
    }
    let out = work_dir(arch)?.join(name);
    let status = Command::new("musl-gcc")
        .args(["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .arg(root().join(source))
        .status()
        .context("cannot run musl-gcc (Debian package musl-tools)")?;
    if !status.success() {
        bail!("musl-gcc could not build tests/linux/{source}");
    }
    let data = std::fs::read(&out).with_context(|| format!("cannot read {}", out.display()))?;
    cargo_ostrog::linux::check_elf(&out, &data, arch)?;
    Ok(Some(data))
}

/// Builds the Rust programs for `arch` exactly as `cargo ostrog build` does.
fn build_rust(solution: &Solution, arch: Arch) -> Result<Vec<(String, Vec<u8>)>> {
    let target = cargo_ostrog::kernel::target_dir()?
        .join("ostrog")
        .join("solutions-target");
    let _lock = cargo_ostrog::kernel::lock_target(&target)?;
    let mut names: Vec<String> = PROGRAMS
        .iter()
        .filter(|p| p.c_source.is_none())
        .map(|p| p.path.to_string())
        .collect();
    names.sort();
    names.dedup();
    let built = cargo_ostrog::linux::build_binaries(
        &solution.dir.join("Cargo.toml"),
        &target,
        &names,
        arch,
    )?;
    if built.len() != names.len() {
        bail!("the build of {names:?} produced {} program(s)", built.len());
    }
    Ok(built)
}

/// What a program prints and its exit status.
struct Reference {
    stdout: String,
    status: i32,
}

/// Runs the executable `elf` of `arch` on the host with the arguments and environment of
/// `task` in `init.yaml`.
fn run_on_host(
    described: &ostrog_init::Solution,
    task: &str,
    elf: &[u8],
    arch: Arch,
) -> Result<Reference> {
    let Some(process) = described.processes.iter().find(|p| p.task == task) else {
        bail!("tests/linux/solution/init.yaml has no task {task}");
    };
    let file = work_dir(arch)?.join(format!("{}.host", process.path));
    std::fs::write(&file, elf).with_context(|| format!("cannot write {}", file.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
    }
    let mut cmd = match Arch::host() == Some(arch) {
        true => Command::new(&file),
        false => {
            let mut cmd = Command::new(arch.qemu_user_binary());
            cmd.arg(&file);
            cmd
        }
    };
    cmd.args(&process.args).env_clear();
    cmd.envs(process.env.iter().map(|(k, v)| (k, v)));
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {} on the host", file.display()))?;
    // A program ended by a signal ends on Ostrog with status 128 + the signal (as a shell
    // reports it).
    #[cfg(unix)]
    let signalled = std::os::unix::process::ExitStatusExt::signal(&out.status).map(|s| 128 + s);
    #[cfg(not(unix))]
    let signalled = None;
    let Some(status) = out.status.code().or(signalled) else {
        bail!("{} was killed on the host ({})", process.path, out.status);
    };
    Ok(Reference {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        status,
    })
}

/// The kernel's line for a process that ended with `status`.
fn exit_line(task: &str, status: i32) -> String {
    format!("[kernel] process {task} (class {task}) exited with status {status}")
}

/// Boots `image`; `Err` says what is wrong with the run (with its console). The console
/// must show `expect` in order, each of `anywhere` somewhere, and none of `reject`.
fn boot(
    arch: Arch,
    image: &Path,
    expect: &[String],
    anywhere: &[String],
    reject: &[&str],
) -> Result<String> {
    let machine = Machine::new(arch, solution::accel(arch), image);
    let run = machine.run_captured(Duration::from_secs(120), false)?;
    let mut problems = Vec::new();
    if let Some(line) = solution::first_missing(&run.console, expect) {
        problems.push(format!("console lacks (in order): {line:?}"));
    }
    for line in anywhere
        .iter()
        .filter(|l| !run.console.contains(l.as_str()))
    {
        problems.push(format!("console lacks {line:?}"));
    }
    for bad in reject.iter().filter(|r| run.console.contains(*r)) {
        problems.push(format!("console shows {bad:?}"));
    }
    match run.ending {
        Ending::PoweredOff(0) => {}
        Ending::PoweredOff(s) => problems.push(format!("powered off with status {s}")),
        _ => problems.push("the machine did not power off".into()),
    }
    match problems.is_empty() {
        true => Ok(format!("in {:.1}s", run.elapsed.as_secs_f64())),
        false => bail!(
            "{}\n---- console ----\n{}----",
            problems.join("; "),
            run.console
        ),
    }
}

/// Every Linux-program test of `arch`, as (name, passed, detail).
fn run_arch(arch: Arch) -> Vec<(String, bool, String)> {
    let mut results = Vec::new();
    let name = |what: &str| format!("linux::{arch}::{what}");
    let prepared = (|| -> Result<_> {
        let solution = Solution::open(&root().join("solution"))?;
        let described = ostrog_init::load(&solution.init_yaml, &ostrog_init::Options::default())
            .map_err(|d| anyhow::anyhow!("{} error(s) in init.yaml", d.len()))?;
        let mut built = build_rust(&solution, arch)?;
        for program in &PROGRAMS {
            if let Some(source) = program.c_source {
                if let Some(data) = build_c(arch, program.path, source)? {
                    built.push((program.path.to_string(), data));
                }
            }
        }
        Ok((solution, described, built))
    })();
    let (solution, described, built) = match prepared {
        Ok(p) => p,
        Err(e) => {
            results.push((name("build"), false, format!("{e:#}")));
            return results;
        }
    };
    let mut extra = Vec::new();
    let mut absent = Vec::new();
    for program in &PROGRAMS {
        let data = built.iter().find(|(name, _)| name == program.path);
        match (program.c_source, data) {
            (Some(_), Some((name, data))) => extra.push((name.clone(), data.clone())),
            (Some(_), None) => absent.push(program.task.to_string()),
            (None, _) => {}
        }
    }
    let mut statuses = Vec::new();
    for program in &PROGRAMS {
        // A program run by two entities is named with its task too.
        let label = match PROGRAMS.iter().filter(|p| p.path == program.path).count() {
            1 => name(&format!("{} output as on Linux", program.path)),
            _ => name(&format!(
                "{} ({}) output as on Linux",
                program.path, program.task
            )),
        };
        let Some((_, elf)) = built.iter().find(|(name, _)| name == program.path) else {
            continue;
        };
        let reference = match run_on_host(&described, program.task, elf, arch) {
            Ok(r) => r,
            Err(e) => {
                results.push((label, false, format!("on the host: {e:#}")));
                continue;
            }
        };
        let last = reference
            .stdout
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        statuses.push((program.task, reference.status, last));
        let outcome = (|| -> Result<String> {
            let mut leave_out: Vec<String> = PROGRAMS
                .iter()
                .filter(|p| p.task != program.task)
                .map(|p| p.task.to_string())
                .collect();
            leave_out.push(DENIED.to_string());
            let options = BuildOptions {
                extra: extra.clone(),
                leave_out,
            };
            let image = solution::build_with(&solution, arch, &options)?;
            let mut expect: Vec<String> = reference.stdout.lines().map(String::from).collect();
            if expect.is_empty() {
                bail!("{} printed nothing on the host", program.path);
            }
            expect.push(exit_line(program.task, reference.status));
            boot(arch, &image, &expect, &[], &["panicked at", "KERNEL"])
        })();
        match outcome {
            Ok(detail) => results.push((label, true, detail)),
            Err(e) => results.push((label, false, format!("{e:#}"))),
        }
    }
    // The whole solution: the programs side by side, and the denied start.
    let outcome = (|| -> Result<String> {
        let options = BuildOptions {
            extra: extra.clone(),
            leave_out: absent.clone(),
        };
        let image = solution::build_with(&solution, arch, &options)?;
        if statuses.len() < PROGRAMS.len() - absent.len() {
            bail!("a program did not run on the host; the whole solution is not tried");
        }
        // The denied start, its audit record (Klog prints it), and each program's end, in
        // whatever order they run.
        let expect = vec![
            format!("[kernel] start of {DENIED} "),
            "denied by the security policy".to_string(),
            format!("Einit: cannot start {DENIED}"),
            "all processes have ended; powering off".to_string(),
        ];
        let mut anywhere: Vec<String> = Vec::new();
        for (task, status, last) in &statuses {
            anywhere.push(last.clone());
            anywhere.push(exit_line(task, *status));
        }
        anywhere.push("[audit] denied execute Einit(".to_string());
        anywhere.push(format!("-> {DENIED}("));
        boot(arch, &image, &expect, &anywhere, &["panicked at", "KERNEL"])
    })();
    let label = name("solution: programs side by side, lx.Denied refused");
    match outcome {
        Ok(detail) => results.push((label, true, detail)),
        Err(e) => results.push((label, false, format!("{e:#}"))),
    }
    results
}

/// The PAL tests of the test solution's policy, then every test on each architecture.
/// (`cargo xtask test` has installed musl-gcc and qemu-user before.)
pub fn run() -> Vec<(String, bool, String)> {
    let mut results = Vec::new();
    let mut out = Vec::new();
    match ostrog_policy::pal_test_cli(&root().join("solution"), &mut out) {
        Ok((passed, failed)) => results.push((
            "linux::PAL tests".into(),
            failed == 0 && passed > 0,
            format!("{passed} passed, {failed} failed"),
        )),
        Err(e) => results.push(("linux::PAL tests".into(), false, format!("{e:#}"))),
    }
    for arch in Arch::ALL {
        results.extend(run_arch(arch));
    }
    results.extend(template());
    results
}

/// `cargo ostrog new --linux` (the example of `docs/linux.md`): created afresh, its PAL
/// tests and its scenario test on each architecture.
fn template() -> Vec<(String, bool, String)> {
    let mut results = Vec::new();
    let created = (|| -> Result<Solution> {
        let dir = cargo_ostrog::kernel::target_dir()?
            .join("ostrog")
            .join("linux-test")
            .join("new-linux");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        cargo_ostrog::template::create_from(&dir, cargo_ostrog::template::Template::Linux)?;
        let solution = Solution::open(&dir)?;
        let (passed, failed) = ostrog_policy::pal_test_cli(&dir, &mut Vec::new())?;
        if failed > 0 || passed == 0 {
            bail!("PAL tests: {passed} passed, {failed} failed");
        }
        Ok(solution)
    })();
    let solution = match created {
        Ok(s) => s,
        Err(e) => {
            results.push(("linux::new --linux".into(), false, format!("{e:#}")));
            return results;
        }
    };
    for arch in Arch::ALL {
        let label = format!("linux::{arch}::new --linux scenario");
        let mut out = Vec::new();
        match solution::run_scenarios(&solution, arch, &mut out) {
            Ok((passed, 0)) if passed > 0 => results.push((label, true, String::new())),
            Ok((passed, failed)) => results.push((
                label,
                false,
                format!(
                    "{passed} passed, {failed} failed\n{}",
                    String::from_utf8_lossy(&out)
                ),
            )),
            Err(e) => results.push((label, false, format!("{e:#}"))),
        }
    }
    results
}
