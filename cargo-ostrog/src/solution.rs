//! Solutions: a folder anywhere on disk with everything one system needs, built into one
//! bootable image.
//!
//! ```text
//! my_solution/
//!   init.yaml            processes and channels (KasperskyOS format)
//!   security.psl         the policy (and any .psl files it uses)
//!   spec/                EDL, CDL and IDL files, in folders by package (spec/demo/Echo.idl)
//!   Cargo.toml           a Cargo workspace of the programs
//!   programs/<name>/     program crates; each binary is an executable of the image (a
//!                        binary that a `linux: true` entity names is built for musl Linux)
//!   prebuilt/<arch>/     prebuilt static Linux executables, by ROMFS path
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
    /// The `init.yaml` the build reads: the solution's own, or the one expanded from its
    /// template (below `target/`).
    pub init_yaml: PathBuf,
    /// The top policy file the build reads: `security.psl`, or the expanded template.
    pub policy: PathBuf,
    /// Where its EDL/CDL/IDL files live (an include directory).
    pub spec_dir: PathBuf,
    /// `init.yaml.in` and `security.psl.in`, when the solution has templates instead
    /// (KasperskyOS's build layout; docs/porting.md, "Templates").
    pub init_template: Option<PathBuf>,
    pub policy_template: Option<PathBuf>,
    /// The board the templates are expanded for.
    pub board: &'static crate::sdk::Board,
    /// Where the templates (and `.psl` files with board blocks) are expanded for it.
    pub expanded: PathBuf,
}

/// The first of `candidates` that is a file.
fn first_file(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| p.is_file()).cloned()
}

impl Solution {
    /// Locates the parts of the solution in `dir`; says what is missing. Templates are
    /// expanded for the default board of x86_64 (see [`Solution::for_board`]).
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
        let init_template = match init_yaml.is_file() {
            true => None,
            false => Some(
                first_file(&[dir.join("init.yaml.in"), dir.join("einit/src/init.yaml.in")])
                    .with_context(|| {
                        format!(
                            "{} has no init.yaml (or init.yaml.in): a solution describes its \
                             processes and channels there",
                            dir.display()
                        )
                    })?,
            ),
        };
        let policy = dir.join("security.psl");
        let policy_template = match policy.is_file() {
            true => None,
            false => Some(
                first_file(&[
                    dir.join("security.psl.in"),
                    dir.join("einit/src/security.psl.in"),
                ])
                .with_context(|| {
                    format!(
                        "{} has no security.psl (or security.psl.in): a solution's policy \
                         decides every event, and an image without one is not built",
                        dir.display()
                    )
                })?,
            ),
        };
        let solution = Solution {
            spec_dir: dir.join("spec"),
            dir,
            name,
            init_yaml,
            policy,
            init_template,
            policy_template,
            board: crate::sdk::default_board(Arch::X86_64),
            expanded: PathBuf::new(),
        };
        solution.for_board(solution.board)
    }

    /// The same solution built for `board`: its templates expand to files of their own.
    pub fn for_board(&self, board: &'static crate::sdk::Board) -> Result<Solution> {
        let mut s = self.clone();
        s.board = board;
        let expanded = s.expanded_dir()?;
        s.expanded = expanded.clone();
        if s.init_template.is_some() {
            s.init_yaml = expanded.join("init.yaml");
        }
        if s.policy_template.is_some() {
            s.policy = expanded.join("security.psl");
        }
        Ok(s)
    }

    /// The same solution built for `arch`'s default board, unless it is for a board of that
    /// architecture already.
    pub fn for_arch(&self, arch: Arch) -> Result<Solution> {
        match self.board.arch == arch {
            true => Ok(self.clone()),
            false => self.for_board(crate::sdk::default_board(arch)),
        }
    }

    /// Where expanded templates (and the solution's `.psl` files with board blocks) go.
    pub fn expanded_dir(&self) -> Result<PathBuf> {
        Ok(self
            .out_dir(self.board.arch)?
            .join("expanded")
            .join(self.board.name))
    }

    /// Include directories for specifications and policies: the expanded policy files (the
    /// template and the `.psl` files with board blocks), the solution's `spec/`, the solution folder itself (for
    /// `use x._` of its own .psl files) and the SDK's sysroot.
    pub fn include_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.expanded.clone()];
        dirs.extend([
            self.spec_dir.clone(),
            self.dir.clone(),
            ostrog_idl::sysroot(),
        ]);
        dirs
    }

    /// What `init.yaml` is checked with: the solution folder, its `include/` and the
    /// include directories are searched for the C headers of `id: {var, include}`.
    pub fn init_options(&self) -> ostrog_init::Options {
        let mut include_dirs = vec![self.dir.clone(), self.dir.join("include")];
        for d in self.include_dirs() {
            if !include_dirs.contains(&d) {
                include_dirs.push(d);
            }
        }
        ostrog_init::Options {
            include_dirs,
            ..ostrog_init::Options::default()
        }
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

/// Checks the specifications, the policy and `init.yaml` (expanding their templates for the
/// solution's board first); prints every diagnostic and fails if there is any. Returns the
/// classes the EDL files declare.
pub fn check(solution: &Solution) -> Result<Vec<String>> {
    let mut out = std::io::stderr();
    let mut errors = 0;
    let mut files = ostrog_idl::spec_files_under(&solution.spec_dir);
    files.extend(ostrog_idl::spec_files_under(&ostrog_idl::sysroot()));
    let checked = ostrog_idl::load_and_check(&files, &solution.include_dirs());
    checked.report(&mut out)?;
    errors += checked.error_count();
    let classes: Vec<String> = checked.model.classes.keys().cloned().collect();
    errors += crate::fill::policy(solution, &mut out)?;
    let options = ostrog_init::Options {
        classes: Some(classes.clone()),
        ..solution.init_options()
    };
    errors += crate::fill::init(solution, &options, &mut out)?;
    if errors > 0 {
        bail!("{errors} error(s) in solution {}", solution.dir.display());
    }
    Ok(classes)
}

/// Runs the PAL tests of the solution's policy, checked first, so that templates and the
/// board blocks of its `.psl` files are expanded for its board; returns (passed, failed).
pub fn pal_tests(solution: &Solution, out: &mut dyn std::io::Write) -> Result<(usize, usize)> {
    check(solution)?;
    let mut include = solution.include_dirs();
    include.extend(ostrog_policy::solution_include_dirs(&solution.dir));
    let (passed, failed) = ostrog_policy::pal_test_file(&solution.policy, &include, out)?;
    writeln!(out, "PAL: {passed} passed, {failed} failed")?;
    Ok((passed, failed))
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

/// Builds the solution's programs for `arch`; `(name, ELF contents)` for each. The
/// binaries named by `linux` (the paths of `linux: true` entities) are built as Linux
/// programs, the others as native ones.
fn build_programs(
    solution: &Solution,
    arch: Arch,
    linux: &std::collections::BTreeSet<String>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let all = program_binaries(solution)?;
    let (linux_bins, bins): (Vec<String>, Vec<String>) =
        all.into_iter().partition(|b| linux.contains(b));
    let mut programs = Vec::new();
    if !linux_bins.is_empty() {
        let target = kernel::target_dir()?
            .join("ostrog")
            .join("solutions-target");
        let _lock = kernel::lock_target(&target)?;
        programs = crate::linux::build_binaries(
            &solution.dir.join("Cargo.toml"),
            &target,
            &linux_bins,
            arch,
        )?;
    }
    if bins.is_empty() {
        return Ok(programs);
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
        // Only the native binaries when some are Linux programs (those need `std`).
        .args(
            bins.iter()
                .filter(|_| !linux_bins.is_empty())
                .flat_map(|b| ["--bin", b.as_str()]),
        )
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
    for b in bins {
        let path = dir.join(&b);
        match std::fs::read(&path) {
            Ok(data) => programs.push((b, data)),
            Err(e) => bail!("the build did not produce {}: {e}", path.display()),
        }
    }
    Ok(programs)
}

/// A system program of the Ostrog workspace that `cargo ostrog build` puts into an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemProgram {
    /// Its ROMFS file, the `path` (or default path) of its entity in `init.yaml`.
    pub romfs: &'static str,
    /// The workspace package and the binary it builds.
    pub package: &'static str,
    pub binary: &'static str,
    /// In every image (`true`), or only when `init.yaml` starts it.
    pub always: bool,
}

impl SystemProgram {
    /// A program in every image: ROMFS name, package, binary.
    const fn always(romfs: &'static str, package: &'static str, binary: &'static str) -> Self {
        SystemProgram {
            romfs,
            package,
            binary,
            always: true,
        }
    }

    /// A program in the images whose `init.yaml` starts it: ROMFS name, package, binary.
    const fn started(romfs: &'static str, package: &'static str, binary: &'static str) -> Self {
        SystemProgram {
            romfs,
            package,
            binary,
            always: false,
        }
    }
}

/// The system programs, one line each: the audit printer Klog (in every image) and the
/// servers a solution starts by naming them in `init.yaml` (docs/files.md).
pub const SYSTEM_PROGRAMS: &[SystemProgram] = &[
    SystemProgram::always("Klog", "klog", "Klog"),
    SystemProgram::started("VfsRamFs", "vfs", "VfsRamFs"),
    SystemProgram::started("VfsSdCardFs", "vfs", "VfsSdCardFs"),
    SystemProgram::started("VirtioBlk", "virtio-blk", "VirtioBlk"),
    SystemProgram::started("PciBus", "pcibus", "PciBus"),
    SystemProgram::started("VfsNet", "net", "VfsNet"),
    SystemProgram::started("EntropyEntity", "entropy", "EntropyEntity"),
    SystemProgram::started("RtcClock", "rtc", "RtcClock"),
    SystemProgram::started("DCM", "dcm", "DCM"),
    SystemProgram::started("ExecMgrEntity", "execmgr", "ExecMgrEntity"),
    SystemProgram::started("LogrrServer", "logrr", "LogrrServer"),
];

/// The system programs an image with these `init.yaml` process paths holds.
pub fn system_programs_for<'a>(
    paths: impl IntoIterator<Item = &'a str> + Clone,
) -> Vec<&'static SystemProgram> {
    SYSTEM_PROGRAMS
        .iter()
        .filter(|p| p.always || paths.clone().into_iter().any(|path| path == p.romfs))
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

/// More than a solution folder says, for tools that build test images.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// More files for the ROMFS (for instance Linux programs compiled by a test).
    pub extra: Vec<(String, Vec<u8>)>,
    /// Tasks of `init.yaml` left out of this image, with their channels (for instance a
    /// program that cannot be built for this architecture).
    pub leave_out: Vec<String>,
}

/// Checks and builds the solution for `arch`; returns the kernel image.
pub fn build(solution: &Solution, arch: Arch) -> Result<PathBuf> {
    build_with(solution, arch, &BuildOptions::default())
}

/// [`build`] with [`BuildOptions`].
pub fn build_with(solution: &Solution, arch: Arch, options: &BuildOptions) -> Result<PathBuf> {
    let solution = &solution.for_arch(arch)?;
    check(solution)?;
    let module = compile_policy(solution, arch)?;
    let described = ostrog_init::load(&solution.init_yaml, &solution.init_options())
        .map_err(|d| anyhow::anyhow!("{} error(s) in init.yaml", d.len()))?;
    let (linux, native) = crate::linux::entity_paths(&described);
    if let Some(both) = linux.intersection(&native).next() {
        bail!(
            "{}: `{both}` is the path of a `linux: true` entity and of a native one; an \
             executable is either a Linux program or an Ostrog one",
            solution.init_yaml.display()
        );
    }
    let mut files = Vec::new();
    // What is built here is packed without its debug information (see
    // `image::loadable_only`); prebuilt and extra files are packed as given.
    let built = |(name, data): (String, Vec<u8>)| (name, crate::image::loadable_only(data));
    files.extend(
        build_programs(solution, arch, &linux)?
            .into_iter()
            .map(built),
    );
    for (name, data) in crate::linux::prebuilt(&solution.dir, arch)?
        .into_iter()
        .chain(options.extra.iter().cloned())
    {
        if files.iter().any(|(n, _)| *n == name) {
            bail!(
                "`{name}` is both a program of the solution's workspace and a prebuilt file \
                 ({}/{}/{name}); rename one",
                crate::linux::PREBUILT_DIR,
                arch.name()
            );
        }
        files.push((name, data));
    }
    if !linux.is_empty() {
        let why = format!(
            "{} starts Linux programs ({})",
            solution.init_yaml.display(),
            linux.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        files.push((
            crate::linux::PERSONALITY.into(),
            crate::image::loadable_only(crate::linux::build_personality(arch, &why)?),
        ));
    }
    for program in system_programs_for(described.processes.iter().map(|p| p.path.as_str())) {
        if files.iter().any(|(n, _)| n == program.romfs) {
            bail!(
                "the solution has a program or prebuilt file named `{}`, the ROMFS name of \
                 Ostrog's system program (package {}); rename the solution's",
                program.romfs,
                program.package
            );
        }
        let path = build_system_program(arch, program.package, program.binary)?;
        files.push((
            program.romfs.into(),
            crate::image::loadable_only(
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?,
            ),
        ));
    }
    // The solution's own files (docs/solutions.md, "Files").
    for (name, data) in crate::files::solution_files(&solution.dir)? {
        if name == "Einit" || files.iter().any(|(n, _)| *n == name) {
            bail!(
                "{}/{}/{name}: the ROMFS already holds a program named `{name}`; \
                 rename the file or put it in a folder",
                solution.dir.display(),
                crate::files::FILES_DIR
            );
        }
        files.push((name, data));
    }
    let out = solution.out_dir(arch)?;
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    names.push("Einit".into());
    let table = out.join("einit.table");
    crate::image::write_einit_table_leaving_out(
        &solution.init_yaml,
        &solution.init_options().include_dirs,
        &names,
        &table,
        &options.leave_out,
    )?;
    let einit = crate::image::build_einit(arch, &table)?;
    files.push((
        "Einit".into(),
        crate::image::loadable_only(
            std::fs::read(&einit).with_context(|| format!("cannot read {}", einit.display()))?,
        ),
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

/// A scenario test: a `NAME.scenario` file of lines `KEY: VALUE` (and `#` comments). The
/// solutions' `tests/*.scenario` and the kernel's `tests/kernel/scenarios/*.scenario` share
/// this format:
///
/// * `expect: TEXT`: the console shows TEXT, after the previous `expect` (in order);
/// * `anywhere: TEXT`: the console shows TEXT somewhere, in no particular order with the
///   other lines (output of another process, or the audit printer's, which runs when it
///   runs);
/// * `reject: TEXT`: the console never shows TEXT;
/// * `status: N`: the kernel powers off with status N (0 if not given);
/// * `cmdline: TEXT`: the kernel command line;
/// * `boot: iso`: boot a GRUB ISO through Multiboot2 (x86_64 only) instead of the kernel ELF
///   (`boot: kernel`, the default);
/// * `accel: tcg`: the scenario runs user programs ([`crate::qemu::Accel::for_user_programs`]);
///   `accel: icount`: under TCG with the guest's clock counting instructions
///   (`-icount shift=0`), for a scenario whose console depends on timing;
/// * `arch: x86_64` or `arch: aarch64`: run on that architecture only;
/// * `check: NAME`: a further check of the console by a named function of the runner (the
///   names the runner knows are given to [`ScenarioTest::parse_with_checks`]; a solution's are
///   [`SOLUTION_CHECKS`]);
/// * `disk: SIZE` or `disk: shared SIZE`: boot with a virtio-blk disk of SIZE bytes
///   ([`crate::qemu::disk_args`]), zero when the scenario starts ([`ScenarioDisk`]);
///   `shared`: one image for the solution's scenarios that say so, made afresh for the run
///   and kept from one to the next in name order, so a later one sees what an earlier wrote;
/// * `device: rng`: boot with a virtio-rng device ([`crate::qemu::rng_args`]).
///
/// A TEXT in double quotes (`expect: "memory: heap "`) is taken as written between them, so
/// that it can end with spaces; any other value loses its trailing spaces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioTest {
    pub name: String,
    pub cmdline: String,
    pub status: i32,
    pub expect: Vec<String>,
    /// `anywhere: TEXT`.
    pub anywhere: Vec<String>,
    pub reject: Vec<String>,
    /// `boot: iso`.
    pub iso: bool,
    /// `accel: tcg`, or `accel: icount`.
    pub tcg: bool,
    /// `accel: icount`: TCG counting instructions (`-icount shift=0`): the guest's clock
    /// advances one nanosecond per instruction, so what the console shows about timing
    /// (how threads interleave, when a time-out ends) does not depend on how busy the host is.
    pub icount: bool,
    /// `arch: NAME`; `None`: every architecture.
    pub arch: Option<Arch>,
    /// `check: NAME`, in file order.
    pub checks: Vec<String>,
    /// `input: TEXT`: typed on the serial console once the `expect` before it has appeared
    /// (once the kernel's banner has, if there is none before it).
    pub input: Vec<crate::qemu::Input>,
    /// `disk: [shared] SIZE`: boot with a virtio-blk disk of SIZE bytes.
    pub disk: Option<ScenarioDisk>,
    /// `device: rng`: boot with a virtio-rng device.
    pub rng: bool,
}

/// The disk of a scenario (`disk:`), zero when the scenario starts, so the disk file system
/// formats it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScenarioDisk {
    /// `disk: SIZE`: an image of its own, made afresh for this scenario.
    Fresh(u64),
    /// `disk: shared SIZE`: one image for the solution's scenarios on one architecture,
    /// made afresh before the first and kept through the others (run in name order), so a
    /// later scenario sees what an earlier one wrote.
    Shared(u64),
}

const SCENARIO_KEYS: &str =
    "expect, anywhere, reject, status, cmdline, boot, accel, arch, check, input, disk or device";

/// The bytes of an `input:` value: `\n`, `\r`, `\t`, `\\`, `\xHH` (any byte, e.g.
/// `\x04` for Ctrl-D), and `\*N` (the byte before it N times in all, for long input);
/// every other character as written.
pub fn input_bytes(text: &str) -> std::result::Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)
                    .ok_or_else(|| format!("`\\x{hex}` is not a byte: two hex digits"))?;
                out.push(byte);
            }
            Some('*') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                let n: usize = digits
                    .parse()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .ok_or("`\\*N` needs a count N from 1 to 1000000")?;
                let byte = out.last().copied().ok_or("`\\*N` needs a byte before it")?;
                out.extend(std::iter::repeat_n(byte, n - 1));
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}`; expected \\n, \\r, \\t, \\\\, \\xHH or \\*N",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

impl ScenarioTest {
    /// Parses a solution's scenario file (no named checks); errors name the file and line.
    pub fn parse(name: &str, path: &Path, text: &str) -> Result<ScenarioTest> {
        Self::parse_with_checks(name, path, text, &[])
    }

    /// Parses a scenario file whose `check:` lines may name the checks in `checks`; errors
    /// name the file and line.
    pub fn parse_with_checks(
        name: &str,
        path: &Path,
        text: &str,
        checks: &[&str],
    ) -> Result<ScenarioTest> {
        let mut test = ScenarioTest {
            name: name.to_string(),
            ..ScenarioTest::default()
        };
        let mut seen: Vec<&str> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}:1", path.display(), i + 1);
            let line = line.trim_end();
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                bail!("{at}: expected `KEY: VALUE`, with KEY one of {SCENARIO_KEYS}");
            };
            let value = value.strip_prefix(' ').unwrap_or(value);
            let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(quoted) => quoted,
                None => value,
            };
            let key = key.trim();
            let single = ["status", "cmdline", "boot", "accel", "arch", "disk"];
            if let Some(&key) = single.iter().find(|k| **k == key) {
                if seen.contains(&key) {
                    bail!("{at}: `{key}` given twice");
                }
                seen.push(key);
            }
            match key {
                "expect" => test.expect.push(value.to_string()),
                "anywhere" => test.anywhere.push(value.to_string()),
                "reject" => test.reject.push(value.to_string()),
                "input" => test.input.push(crate::qemu::Input {
                    after: test.expect.last().cloned(),
                    bytes: input_bytes(value).map_err(|e| anyhow::anyhow!("{at}: {e}"))?,
                }),
                "cmdline" => test.cmdline = value.to_string(),
                "disk" => {
                    let (shared, size) = match value.trim().strip_prefix("shared ") {
                        Some(size) => (true, size),
                        None => (false, value.trim()),
                    };
                    let size = crate::qemu::parse_size(size)
                        .map_err(|e| anyhow::anyhow!("{at}: disk size {e}"))?;
                    test.disk = Some(match shared {
                        true => ScenarioDisk::Shared(size),
                        false => ScenarioDisk::Fresh(size),
                    });
                }
                "device" => match value.trim() {
                    "rng" => test.rng = true,
                    other => bail!("{at}: unknown device `{other}`; expected rng"),
                },
                "status" => {
                    test.status = value
                        .trim()
                        .parse()
                        .with_context(|| format!("{at}: status must be a number"))?
                }
                "boot" => match value.trim() {
                    "iso" => test.iso = true,
                    "kernel" => test.iso = false,
                    other => bail!("{at}: unknown boot `{other}`; expected iso or kernel"),
                },
                "accel" => match value.trim() {
                    "tcg" => test.tcg = true,
                    "icount" => (test.tcg, test.icount) = (true, true),
                    other => bail!(
                        "{at}: unknown accel `{other}`; expected tcg (the scenario runs user \
                         programs) or icount (TCG, the clock counting instructions)"
                    ),
                },
                "arch" => {
                    let arch = value
                        .trim()
                        .parse::<Arch>()
                        .map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
                    test.arch = Some(arch);
                }
                "check" => {
                    let check = value.trim();
                    if !checks.contains(&check) {
                        if checks.is_empty() {
                            bail!("{at}: unknown check `{check}`; there are no named checks here");
                        }
                        bail!(
                            "{at}: unknown check `{check}`; expected one of {}",
                            checks.join(", ")
                        );
                    }
                    test.checks.push(check.to_string());
                }
                other => bail!("{at}: unknown key `{other}`; expected {SCENARIO_KEYS}"),
            }
            if test.iso && test.arch == Some(Arch::Aarch64) {
                bail!(
                    "{at}: `boot: iso` runs on x86_64 only, but the scenario says `arch: aarch64`"
                );
            }
        }
        Ok(test)
    }

    /// Whether the scenario runs on `arch` (an ISO boots on x86_64 only).
    pub fn runs_on(&self, arch: Arch) -> bool {
        (!self.iso || arch == Arch::X86_64) && self.arch.is_none_or(|only| only == arch)
    }

    /// The accelerator to boot with: TCG for an ISO (the firmware and GRUB run first, and
    /// nested KVM hosts have been seen to stall in SeaBIOS) and for `accel: icount`,
    /// [`Accel::for_user_programs`]
    /// for `accel: tcg`, else `default`.
    ///
    /// [`Accel::for_user_programs`]: crate::qemu::Accel::for_user_programs
    pub fn accel(&self, arch: Arch, default: crate::qemu::Accel) -> crate::qemu::Accel {
        use crate::qemu::Accel;
        if self.iso || self.icount {
            Accel::Tcg
        } else if self.tcg {
            Accel::for_user_programs(arch)
        } else {
            default
        }
    }

    /// The machine that runs the scenario with `kernel`: its command line, for `boot: iso`
    /// a GRUB ISO built next to the kernel, and for `disk:` a disk image there too (a fresh
    /// one, `NAME.disk`, or the shared one, [`ScenarioTest::shared_disk`]).
    pub fn machine(
        &self,
        arch: Arch,
        accel: crate::qemu::Accel,
        kernel: &Path,
    ) -> Result<crate::qemu::Machine> {
        let mut machine = crate::qemu::Machine::new(arch, accel, kernel);
        machine.cmdline = self.cmdline.clone();
        machine.input = self.input.clone();
        machine.rng = self.rng;
        if self.icount {
            machine
                .extra_args
                .extend(["-icount".to_string(), "shift=0".to_string()]);
        }
        machine.disk = match self.disk {
            None => None,
            Some(ScenarioDisk::Fresh(size)) => {
                let path = kernel.with_file_name(format!("{}.disk", self.name));
                remove_if_there(&path)?;
                crate::qemu::prepare_disk(&path, size)?;
                Some(path)
            }
            Some(ScenarioDisk::Shared(size)) => {
                let path = Self::shared_disk(kernel);
                crate::qemu::prepare_disk(&path, size)?;
                Some(path)
            }
        };
        if self.iso {
            let iso = kernel.with_file_name(format!("{}.iso", self.name));
            machine.medium =
                crate::qemu::BootMedium::Cdrom(crate::iso::build(kernel, &self.cmdline, &iso)?);
        }
        Ok(machine)
    }

    /// The image of the `disk: shared` scenarios booting `kernel`: made (zero) by the first
    /// of them that finds none, kept through the others; [`run_scenarios`] removes it before
    /// its first scenario.
    pub fn shared_disk(kernel: &Path) -> PathBuf {
        kernel.with_file_name("shared.disk")
    }

    /// Checks a console against the test: `Err` says what is wrong.
    pub fn judge(&self, status: Option<i32>, console: &str) -> std::result::Result<(), String> {
        if let Some(line) = first_missing(console, &self.expect) {
            return Err(format!("console lacks (in order): {line:?}"));
        }
        if let Some(line) = self.anywhere.iter().find(|l| !console.contains(l.as_str())) {
            return Err(format!("console lacks: {line:?}"));
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

/// The first of `expect` missing from `console` in order (each found after the one before).
pub fn first_missing<'a>(console: &str, expect: &'a [String]) -> Option<&'a str> {
    let mut rest = console;
    for line in expect {
        match rest.find(line.as_str()) {
            Some(at) => rest = rest.get(at + line.len()..).unwrap_or(""),
            None => return Some(line),
        }
    }
    None
}

/// The scenario files (`*.scenario`) of `dir`, sorted by name, parsed with the named checks
/// `checks`; none if there is no such folder.
pub fn scenario_files(dir: &Path, checks: &[&str]) -> Result<Vec<ScenarioTest>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
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
            ScenarioTest::parse_with_checks(name, p, &text, checks)
        })
        .collect()
}

/// The scenario tests of a solution (`tests/*.scenario`), sorted by name.
pub fn scenario_tests(solution: &Solution) -> Result<Vec<ScenarioTest>> {
    scenario_files(&solution.dir.join("tests"), SOLUTION_CHECKS)
}

/// The named checks a solution's scenario may ask for (`check: NAME`):
/// * `host-time`: every console line with `wall clock unix SECONDS` (at least one) gives a
///   time within [`HOST_TIME_SLACK`] seconds of the host's clock during the run (QEMU's RTC
///   starts at the host's time), see [`host_time`].
pub const SOLUTION_CHECKS: &[&str] = &["host-time"];

/// How far a guest's wall clock may be from the host's for `check: host-time`, in seconds.
pub const HOST_TIME_SLACK: i64 = 5;

/// Unix seconds now, on the host.
fn host_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `check: host-time`: the `wall clock unix SECONDS` of each console line that has one lies
/// in `start - HOST_TIME_SLACK ..= end + HOST_TIME_SLACK` (the host's clock when the run
/// began and ended), and there is at least one.
pub fn host_time(console: &str, start: i64, end: i64) -> std::result::Result<(), String> {
    const MARK: &str = "wall clock unix ";
    let mut seen = 0;
    for line in console.lines() {
        let Some((_, rest)) = line.split_once(MARK) else {
            continue;
        };
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let Ok(guest) = digits.parse::<i64>() else {
            return Err(format!("no seconds in {line:?}"));
        };
        if guest < start - HOST_TIME_SLACK || guest > end + HOST_TIME_SLACK {
            return Err(format!(
                "the guest's wall clock {guest} is not within {HOST_TIME_SLACK} s of the \
                 host's ({start}..{end}): {line:?}"
            ));
        }
        seen += 1;
    }
    if seen == 0 {
        return Err(format!("no console line has {MARK:?}"));
    }
    Ok(())
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
    run_scenarios_with_disk(solution, arch, out, None)
}

/// [`run_scenarios`], each scenario without a `disk:` line of its own booting with the
/// disk image `disk` (`cargo ostrog test --disk FILE`; made ready with
/// [`crate::qemu::prepare_disk`] by the caller).
pub fn run_scenarios_with_disk(
    solution: &Solution,
    arch: Arch,
    out: &mut dyn std::io::Write,
    disk: Option<&Path>,
) -> Result<(usize, usize)> {
    use crate::qemu::Ending;
    let tests = scenario_tests(solution)?;
    if tests.is_empty() {
        return Ok((0, 0));
    }
    let image = build(solution, arch)?;
    let (mut passed, mut failed) = (0, 0);
    // The `disk: shared` image is made afresh for this run.
    remove_if_there(&ScenarioTest::shared_disk(&image))?;
    for test in tests.iter().filter(|t| t.runs_on(arch)) {
        let accel = test.accel(arch, accel(arch));
        let mut machine = test.machine(arch, accel, &image)?;
        if test.disk.is_none() {
            machine.disk = disk.map(Path::to_path_buf);
        }
        let start = host_seconds();
        let run = machine.run_captured(std::time::Duration::from_secs(120), false)?;
        let end = host_seconds();
        let status = match run.ending {
            Ending::PoweredOff(s) => Some(s),
            _ => None,
        };
        let _ = collect_audit(solution, arch, &run.console);
        let judged = test.judge(status, &run.console).and_then(|()| {
            test.checks
                .iter()
                .try_for_each(|check| match check.as_str() {
                    "host-time" => host_time(&run.console, start, end),
                    other => Err(format!("unknown check {other}")),
                })
        });
        match judged {
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

/// Removes the file at `path`, if there is one.
fn remove_if_there(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKS: &[&str] = &["memory-baseline", "interleaved"];

    fn parse(text: &str) -> Result<ScenarioTest> {
        ScenarioTest::parse_with_checks("t", Path::new("dir/t.scenario"), text, CHECKS)
    }

    /// The error of a bad file: it names the file and the line.
    fn error(text: &str, line: usize) -> String {
        let e = format!("{:#}", parse(text).unwrap_err());
        assert!(
            e.contains(&format!("dir/t.scenario:{line}")),
            "{e:?} does not name line {line}"
        );
        e
    }

    #[test]
    fn a_kernel_scenario_file_parses() {
        let text = "# what it proves\n\
                    cmdline: ostrog.start=soak ostrog.ticks=1\n\
                    boot: iso\n\
                    accel: tcg\n\
                    arch: x86_64\n\
                    \n\
                    expect: soak:  done\n\
                    expect: \"memory: heap \"\n\
                    reject: KERNEL   \n\
                    check: memory-baseline\n\
                    check: interleaved\n\
                    status: 3\n";
        let test = parse(text).unwrap();
        assert_eq!(
            test,
            ScenarioTest {
                name: "t".into(),
                cmdline: "ostrog.start=soak ostrog.ticks=1".into(),
                status: 3,
                expect: vec!["soak:  done".into(), "memory: heap ".into()],
                anywhere: Vec::new(),
                reject: vec!["KERNEL".into()],
                iso: true,
                tcg: true,
                icount: false,
                arch: Some(Arch::X86_64),
                checks: vec!["memory-baseline".into(), "interleaved".into()],
                input: Vec::new(),
                disk: None,
                rng: false,
            }
        );
        assert!(test.runs_on(Arch::X86_64) && !test.runs_on(Arch::Aarch64));
    }

    #[test]
    fn a_solution_scenario_file_parses_as_before() {
        let text = "expect: client: Reverse(\"hello\") = \"olleh\"\n\
                    expect:  rounds of \n\
                    reject: BREACH\n";
        let test = ScenarioTest::parse("calls", Path::new("calls.scenario"), text).unwrap();
        assert_eq!(test.expect[0], "client: Reverse(\"hello\") = \"olleh\"");
        assert_eq!(test.expect[1], " rounds of");
        assert_eq!(
            (test.status, test.iso, test.tcg, test.arch),
            (0, false, false, None)
        );
        assert!(Arch::ALL.iter().all(|a| test.runs_on(*a)));
    }

    #[test]
    fn input_is_typed_after_the_expect_before_it() {
        let text = "input: at boot\\r\n\
                    expect: prompt\n\
                    input: \"a\\x04b\\\\\\tc\\n \"\n\
                    expect: other\n\
                    input: z\\*4\n";
        let test = parse(text).unwrap();
        let input: Vec<(Option<&str>, &[u8])> = test
            .input
            .iter()
            .map(|i| (i.after.as_deref(), i.bytes.as_slice()))
            .collect();
        assert_eq!(
            input,
            [
                (None, &b"at boot\r"[..]),
                (Some("prompt"), &b"a\x04b\\\tc\n "[..]),
                (Some("other"), &b"zzzz"[..]),
            ]
        );
        assert!(error("input: \\q\n", 1).contains("unknown escape `\\q`"));
        assert!(error("input: \\x4\n", 1).contains("two hex digits"));
        assert!(error("input: \\*3\n", 1).contains("a byte before it"));
        assert!(error("input: a\\*0\n", 1).contains("from 1 to 1000000"));
    }

    #[test]
    fn system_programs_are_klog_always_and_the_servers_init_yaml_starts() {
        let names = |paths: &[&str]| -> Vec<&str> {
            system_programs_for(paths.iter().copied())
                .iter()
                .map(|p| p.romfs)
                .collect()
        };
        assert_eq!(names(&["client", "server"]), ["Klog"]);
        assert_eq!(names(&["client", "VfsRamFs"]), ["Klog", "VfsRamFs"]);
        let vfs = SYSTEM_PROGRAMS
            .iter()
            .find(|p| p.romfs == "VfsRamFs")
            .unwrap();
        assert_eq!((vfs.package, vfs.binary), ("vfs", "VfsRamFs"));
    }

    #[test]
    fn a_scenario_asks_for_a_fresh_or_shared_disk() {
        assert_eq!(
            parse("disk: 64M\n").unwrap().disk,
            Some(ScenarioDisk::Fresh(64 << 20))
        );
        assert_eq!(
            parse("disk: shared 1048576\n").unwrap().disk,
            Some(ScenarioDisk::Shared(1 << 20))
        );
        assert_eq!(parse("expect: a\n").unwrap().disk, None);
        assert!(error("disk: 1000\n", 1).contains("multiple of 512"));
        assert!(error("disk: big\n", 1).contains("expected a size"));
        assert!(error("disk: 1M\ndisk: 2M\n", 2).contains("`disk` given twice"));
    }

    #[test]
    fn a_scenario_asks_for_a_random_number_device() {
        assert!(parse("device: rng\n").unwrap().rng);
        assert!(!parse("expect: a\n").unwrap().rng);
        assert!(error("device: gpu\n", 1).contains("unknown device `gpu`; expected rng"));
    }

    #[test]
    fn a_scenario_may_count_instructions_for_its_clock() {
        use crate::qemu::Accel;
        let test = parse("accel: icount\n").unwrap();
        assert!(test.tcg && test.icount);
        assert_eq!(test.accel(Arch::X86_64, Accel::Kvm), Accel::Tcg);
        let machine = test
            .machine(Arch::Aarch64, Accel::Tcg, Path::new("/nonexistent/kernel"))
            .unwrap();
        assert!(machine
            .extra_args
            .windows(2)
            .any(|w| w == ["-icount", "shift=0"]));
        let plain = parse("accel: tcg\n").unwrap();
        assert!(!plain.icount);
        assert!(error("accel: fast\n", 1).contains("expected tcg"));
    }

    #[test]
    fn a_scenario_machine_gets_a_fresh_or_the_shared_disk() {
        let dir = std::env::temp_dir().join(format!("ostrog-scenario-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kernel = dir.join("kernel");
        let accel = crate::qemu::Accel::Tcg;
        let at = |name: &str, text: &str| {
            ScenarioTest::parse(name, Path::new("t.scenario"), text)
                .unwrap()
                .machine(Arch::X86_64, accel, &kernel)
                .unwrap()
        };
        assert_eq!(at("none", "expect: a\n").disk, None);
        // Fresh: zero again at every boot.
        let fresh = at("w", "disk: 1M\n").disk.unwrap();
        assert_eq!(fresh, dir.join("w.disk"));
        std::fs::write(&fresh, vec![9u8; 512]).unwrap();
        let again = at("w", "disk: 1M\n").disk.unwrap();
        assert_eq!(std::fs::read(&again).unwrap(), vec![0u8; 1 << 20]);
        // Shared: what one scenario wrote, the next one sees.
        let one = at("a", "disk: shared 1M\n").disk.unwrap();
        std::fs::write(&one, vec![5u8; 1024]).unwrap();
        let two = at("b", "disk: shared 1M\n").disk.unwrap();
        assert_eq!(one, two);
        assert_eq!(std::fs::read(&two).unwrap(), vec![5u8; 1024]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_iso_boots_on_x86_64_only() {
        let test = parse("boot: iso\n").unwrap();
        assert!(test.runs_on(Arch::X86_64) && !test.runs_on(Arch::Aarch64));
        assert!(error("boot: iso\narch: aarch64\n", 2).contains("x86_64 only"));
    }

    #[test]
    fn every_bad_line_is_an_error_naming_file_and_line() {
        assert!(error("expect: a\nno colon here\n", 2).contains("KEY: VALUE"));
        assert!(error("# c\nexpects: a\n", 2).contains("unknown key `expects`"));
        assert!(error("status: zero\n", 1).contains("status must be a number"));
        assert!(error("boot: floppy\n", 1).contains("unknown boot `floppy`"));
        assert!(error("accel: kvm\n", 1).contains("unknown accel `kvm`"));
        assert!(error("arch: riscv64\n", 1).contains("unknown architecture `riscv64`"));
        let e = error("\ncheck: memory-baselin\n", 2);
        assert!(e.contains("unknown check `memory-baselin`") && e.contains("memory-baseline"));
        assert!(error("status: 0\nstatus: 1\n", 2).contains("`status` given twice"));
        assert!(error("cmdline: a\narch: x86_64\ncmdline: b\n", 3).contains("twice"));
    }

    #[test]
    fn a_solution_scenario_has_no_named_checks() {
        let e = ScenarioTest::parse("t", Path::new("t.scenario"), "check: interleaved\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.scenario:1") && e.contains("unknown check `interleaved`"));
    }

    #[test]
    fn anywhere_lines_may_come_in_any_order() {
        let test = parse("expect: a\nexpect: b\nanywhere: y\nanywhere: x\n").unwrap();
        assert_eq!(test.anywhere, vec!["y".to_string(), "x".to_string()]);
        assert_eq!(test.judge(Some(0), "x a y b"), Ok(()));
        assert_eq!(
            test.judge(Some(0), "a b x"),
            Err("console lacks: \"y\"".into())
        );
    }

    #[test]
    fn host_time_wants_every_guest_clock_line_near_the_hosts_clock() {
        let line = |t: i64| format!("client: wall clock unix {t} s 5 ns\n");
        assert_eq!(host_time(&line(1000), 1000, 1010), Ok(()));
        let both = line(995) + "x\n" + &line(1015);
        assert_eq!(host_time(&both, 1000, 1010), Ok(()));
        assert!(host_time(&line(994), 1000, 1010)
            .unwrap_err()
            .contains("not within"));
        assert!(host_time(&(line(1000) + &line(1016)), 1000, 1010).is_err());
        assert!(host_time("no clock here\n", 0, 0)
            .unwrap_err()
            .contains("no console line"));
        assert!(host_time("wall clock unix -5 s\n", 0, 0)
            .unwrap_err()
            .contains("no seconds"));
        let t = ScenarioTest::parse_with_checks(
            "t",
            Path::new("t"),
            "check: host-time\n",
            SOLUTION_CHECKS,
        );
        assert_eq!(t.unwrap().checks, vec!["host-time".to_string()]);
    }

    #[test]
    fn expected_lines_must_appear_in_order() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(first_missing("a b c", &lines(&["a", "c"])), None);
        assert_eq!(first_missing("a b c", &lines(&["c", "a"])), Some("a"));
        assert_eq!(first_missing("a b", &lines(&["a", "x"])), Some("x"));
    }

    #[test]
    fn judge_checks_lines_rejects_and_status() {
        let test = parse("expect: a\nexpect: b\nreject: BAD\nstatus: 2\n").unwrap();
        assert_eq!(test.judge(Some(2), "a b"), Ok(()));
        assert!(test.judge(Some(2), "b a").is_err());
        assert!(test.judge(Some(2), "a b BAD").is_err());
        assert!(test.judge(Some(0), "a b").is_err());
        assert!(test.judge(None, "a b").is_err());
    }
}
