//! Solutions: a folder anywhere on disk with everything one system needs, built into one
//! bootable image.
//!
//! ```text
//! my_solution/
//!   init.yaml            processes and channels (KasperskyOS format)
//!   security.psl         the policy (and any .psl files it uses)
//!   spec/                EDL, CDL and IDL files, in folders by package (spec/demo/Echo.idl)
//!   Cargo.toml           a Cargo workspace of the programs
//!   programs/<name>/     program crates; each binary is an executable of the image
//!   tests/*.scenario     scenario tests: what the console must (not) show
//! ```
//!
//! [`build`] is a straight pipeline: check every file (diagnostics with file, line and
//! column), compile the policy into the security module, build the programs, build Einit
//! with the table generated from `init.yaml` and Klog, pack the ROMFS, and build a kernel
//! embedding the ROMFS and the module. [`test`] runs the PAL tests of the policy and the
//! scenario tests, each on a real image in QEMU.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::arch::Arch;
use crate::kernel::{self, Security};

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A solution folder, its files located.
#[derive(Clone, Debug)]
pub struct Solution {
    pub dir: PathBuf,
    /// The folder's name.
    pub name: String,
    pub init_yaml: PathBuf,
    pub policy: PathBuf,
    /// Where its EDL/CDL/IDL files live (an include directory).
    pub spec_dir: PathBuf,
}

impl Solution {
    /// Locates the parts of the solution in `dir`; says what is missing.
    pub fn open(dir: &Path) -> Result<Solution> {
        let dir = dir
            .canonicalize()
            .with_context(|| format!("no solution folder {}", dir.display()))?;
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("solution")
            .to_string();
        let init_yaml = dir.join("init.yaml");
        if !init_yaml.is_file() {
            bail!(
                "{} has no init.yaml: a solution describes its processes and channels there",
                dir.display()
            );
        }
        let policy = dir.join("security.psl");
        if !policy.is_file() {
            bail!(
                "{} has no security.psl: a solution's policy decides every event, and an \
                 image without one is not built",
                dir.display()
            );
        }
        Ok(Solution {
            spec_dir: dir.join("spec"),
            dir,
            name,
            init_yaml,
            policy,
        })
    }

    /// Include directories for specifications and policies: the solution's `spec/`, the
    /// solution folder itself (for `use x._` of its own .psl files) and the SDK's sysroot.
    pub fn include_dirs(&self) -> Vec<PathBuf> {
        vec![
            self.spec_dir.clone(),
            self.dir.clone(),
            ostrog_idl::sysroot(),
        ]
    }

    /// Where the build puts this solution's products.
    pub fn out_dir(&self, arch: Arch) -> Result<PathBuf> {
        Ok(kernel::target_dir()?
            .join("ostrog")
            .join("solutions")
            .join(&self.name)
            .join(arch.name()))
    }
}

/// Checks the specifications, the policy and `init.yaml`; prints every diagnostic and fails
/// if there is any. Returns the classes the EDL files declare.
pub fn check(solution: &Solution) -> Result<Vec<String>> {
    let mut out = std::io::stderr();
    let mut errors = 0;
    let mut files = ostrog_idl::spec_files_under(&solution.spec_dir);
    files.extend(ostrog_idl::spec_files_under(&ostrog_idl::sysroot()));
    let checked = ostrog_idl::load_and_check(&files, &solution.include_dirs());
    checked.report(&mut out)?;
    errors += checked.error_count();
    let classes: Vec<String> = checked.model.classes.keys().cloned().collect();
    errors += ostrog_policy::check_cli(
        std::slice::from_ref(&solution.policy),
        &solution.include_dirs(),
        &mut out,
    )?;
    let options = ostrog_init::Options {
        executables: None,
        classes: Some(classes.clone()),
    };
    errors += ostrog_init::check_cli(
        std::slice::from_ref(&solution.init_yaml),
        &options,
        &mut out,
    )?;
    if errors > 0 {
        bail!("{errors} error(s) in solution {}", solution.dir.display());
    }
    Ok(classes)
}

/// Compiles the policy into the kernel's security module; returns the module file.
pub fn compile_policy(solution: &Solution, arch: Arch) -> Result<PathBuf> {
    let module = ostrog_policy::compile(&solution.policy, &solution.include_dirs(), &solution.name)
        .map_err(|e| anyhow::anyhow!("the policy does not compile:\n{e}"))?;
    let path = solution.out_dir(arch)?.join("ksm.rs");
    module
        .write(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The binary targets of the solution's Cargo workspace.
fn program_binaries(solution: &Solution) -> Result<Vec<String>> {
    let manifest = solution.dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Ok(Vec::new());
    }
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed for {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata printed invalid JSON")?;
    let mut bins = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"));
            if is_bin {
                bins.push(target["name"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    bins.sort();
    Ok(bins)
}

/// Builds the solution's programs for `arch`; `(name, ELF contents)` for each.
fn build_programs(solution: &Solution, arch: Arch) -> Result<Vec<(String, Vec<u8>)>> {
    let bins = program_binaries(solution)?;
    if bins.is_empty() {
        return Ok(Vec::new());
    }
    // One target folder for every solution, so the runtime and its dependencies are built
    // once.
    let target = kernel::target_dir()?
        .join("ostrog")
        .join("solutions-target");
    // Solutions share binary names (`Client`, `Server`): another build must not replace
    // ours between building and reading them, so both happen under a lock.
    let _lock = kernel::lock_target(&target)?;
    let status = Command::new(cargo())
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            arch.rust_target(),
        ])
        .arg("--manifest-path")
        .arg(solution.dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        // The Ostrog tree's `.cargo/config.toml` sets the code model of bare-metal programs;
        // Cargo reads it from the working directory, wherever the solution is.
        .current_dir(crate::source_root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the programs of {} failed", solution.name);
    }
    let dir = target.join(arch.rust_target()).join("release");
    bins.into_iter()
        .map(|b| {
            let path = dir.join(&b);
            match std::fs::read(&path) {
                Ok(data) => Ok((b, data)),
                Err(e) => bail!("the build did not produce {}: {e}", path.display()),
            }
        })
        .collect()
}

/// Builds a system program of the Ostrog workspace (`klog`, ...) for `arch`.
fn build_system_program(arch: Arch, package: &str, binary: &str) -> Result<PathBuf> {
    let status = Command::new(cargo())
        .args(["build", "--quiet", "--release", "-p", package])
        .args(["--target", arch.rust_target()])
        .current_dir(crate::source_root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building {binary} for {arch} failed");
    }
    let path = kernel::target_dir()?
        .join(arch.rust_target())
        .join("release")
        .join(binary);
    if !path.is_file() {
        bail!("the build did not produce {}", path.display());
    }
    Ok(path)
}

/// Checks and builds the solution for `arch`; returns the kernel image.
pub fn build(solution: &Solution, arch: Arch) -> Result<PathBuf> {
    check(solution)?;
    let module = compile_policy(solution, arch)?;
    let mut files = Vec::new();
    files.extend(build_programs(solution, arch)?);
    let klog = build_system_program(arch, "klog", "Klog")?;
    files.push((
        "Klog".into(),
        std::fs::read(&klog).with_context(|| format!("cannot read {}", klog.display()))?,
    ));
    let out = solution.out_dir(arch)?;
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    names.push("Einit".into());
    let table = out.join("einit.table");
    crate::image::write_einit_table(&solution.init_yaml, &names, &table)?;
    let einit = crate::image::build_einit(arch, &table)?;
    files.push((
        "Einit".into(),
        std::fs::read(&einit).with_context(|| format!("cannot read {}", einit.display()))?,
    ));
    let romfs = out.join("romfs.cpio");
    crate::image::write_romfs(&files, &romfs)?;
    kernel::build_with_romfs(
        arch,
        &out.join("kernel"),
        Some(&romfs),
        &Security::Policy(module),
    )
}

/// A scenario test of a solution: a `tests/NAME.scenario` file of lines
/// `expect: TEXT` (in order), `reject: TEXT`, `cmdline: TEXT` and `status: N`.
#[derive(Clone, Debug, Default)]
pub struct ScenarioTest {
    pub name: String,
    pub cmdline: String,
    pub status: i32,
    pub expect: Vec<String>,
    pub reject: Vec<String>,
}

impl ScenarioTest {
    /// Parses a scenario file; errors name the line.
    pub fn parse(name: &str, path: &Path, text: &str) -> Result<ScenarioTest> {
        let mut test = ScenarioTest {
            name: name.to_string(),
            ..ScenarioTest::default()
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                bail!(
                    "{}:{}:1: expected `expect: TEXT`, `reject: TEXT`, `cmdline: TEXT` or `status: N`",
                    path.display(),
                    i + 1
                );
            };
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match key.trim() {
                "expect" => test.expect.push(value),
                "reject" => test.reject.push(value),
                "cmdline" => test.cmdline = value,
                "status" => {
                    test.status = value.trim().parse().with_context(|| {
                        format!("{}:{}: status must be a number", path.display(), i + 1)
                    })?
                }
                other => bail!(
                    "{}:{}:1: unknown key `{other}`; expected expect, reject, cmdline or status",
                    path.display(),
                    i + 1
                ),
            }
        }
        Ok(test)
    }

    /// Checks a console against the test: `Err` says what is wrong.
    pub fn judge(&self, status: Option<i32>, console: &str) -> std::result::Result<(), String> {
        let mut rest = console;
        for line in &self.expect {
            match rest.find(line.as_str()) {
                Some(at) => rest = &rest[at + line.len()..],
                None => return Err(format!("console lacks (in order): {line:?}")),
            }
        }
        if let Some(bad) = self.reject.iter().find(|r| console.contains(r.as_str())) {
            return Err(format!("console shows {bad:?}"));
        }
        match status {
            Some(s) if s == self.status => Ok(()),
            Some(s) => Err(format!(
                "the kernel powered off with status {s}, expected {}",
                self.status
            )),
            None => Err("the machine did not power off".into()),
        }
    }
}

/// The scenario tests of a solution (`tests/*.scenario`), sorted by name.
pub fn scenario_tests(solution: &Solution) -> Result<Vec<ScenarioTest>> {
    let dir = solution.dir.join("tests");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "scenario"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            ScenarioTest::parse(name, p, &text)
        })
        .collect()
}

/// Saves the `[audit]` lines of a console next to the image, for a person to read after a
/// run; returns the file.
pub fn collect_audit(solution: &Solution, arch: Arch, console: &str) -> Result<PathBuf> {
    let lines: Vec<&str> = console
        .lines()
        .filter_map(|l| l.strip_prefix("[audit] "))
        .collect();
    let path = solution.out_dir(arch)?.join("audit.log");
    std::fs::write(&path, lines.join("\n") + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The accelerator for running a solution (it runs user programs).
pub fn accel(arch: Arch) -> crate::qemu::Accel {
    crate::qemu::Accel::for_user_programs(arch)
}

/// Builds the solution for `arch` and runs each of its scenario tests; prints one line per
/// test and returns (passed, failed).
pub fn run_scenarios(
    solution: &Solution,
    arch: Arch,
    out: &mut dyn std::io::Write,
) -> Result<(usize, usize)> {
    use crate::qemu::{Ending, Machine};
    let tests = scenario_tests(solution)?;
    if tests.is_empty() {
        return Ok((0, 0));
    }
    let image = build(solution, arch)?;
    let (mut passed, mut failed) = (0, 0);
    for test in &tests {
        let accel = accel(arch);
        let mut machine = Machine::new(arch, accel, &image);
        machine.cmdline = test.cmdline.clone();
        let run = machine.run_captured(std::time::Duration::from_secs(120), false)?;
        let status = match run.ending {
            Ending::PoweredOff(s) => Some(s),
            _ => None,
        };
        let _ = collect_audit(solution, arch, &run.console);
        match test.judge(status, &run.console) {
            Ok(()) => {
                passed += 1;
                writeln!(
                    out,
                    "PASS {}::{arch}::{} ({})",
                    solution.name,
                    test.name,
                    accel.name()
                )?;
            }
            Err(why) => {
                failed += 1;
                writeln!(out, "FAIL {}::{arch}::{}: {why}", solution.name, test.name)?;
                writeln!(out, "---- console ----\n{}----", run.console)?;
            }
        }
    }
    Ok((passed, failed))
}
