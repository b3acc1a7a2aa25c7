//! Debian's busybox-static, unmodified, running the shell scripts of
//! `tests/linux/busybox/scripts` on Ostrog (`cargo xtask test --example busybox`, and part
//! of `--example linux`), on the RAM file system and on the disk.
//!
//! The executables are Debian's package `busybox-static` for amd64 and arm64, fetched once
//! with `apt-get download` (the arm64 one after `dpkg --add-architecture arm64`) into
//! `target/busybox/<arch>/` and unpacked there with `dpkg-deb -x`. Each goes into the ROMFS
//! of two solutions as the program `busybox`, with the same scripts (one folder, put into
//! both ROMFS) and a runner, `busybox-run.sh`, that runs each script with `sh` in a folder
//! of its own under `/data`:
//!
//! - `tests/linux/busybox`: `/data` is the RAM file system (kl.VfsRamFs); one boot per
//!   architecture runs them all.
//! - `tests/linux/busybox-disk`: `/data` is the disk file system of kl.VfsSdCardFs on
//!   kl.drivers.VirtioBlk, on a fresh 16 MiB disk image made under `target/`. The first
//!   boot formats it and runs every script; the second boots on the same image, where the
//!   runner finds `/data/keep` (left by `keep.sh`) and runs only [`AFTER_REBOOT`]`.sh` there.
//!
//! The reference is the same runner run by the amd64 busybox on the host, in a temporary
//! folder standing in for `/` (its `data` and `rom`): the scripts use relative paths after
//! `cd`, so they print the same; run a second time in the same folder, it does what the
//! second boot does. The AArch64 reference is the amd64 run too: busybox runs its applets by
//! `execve("/proc/self/exe")`, which under qemu-user would start an AArch64 executable the
//! host cannot run (no binfmt_misc), and nothing the scripts print depends on the
//! architecture. Each script's lines are compared; a difference names the script and its
//! first differing line. The boots (two architectures, two variants) run in parallel.
//!
//! [`NEEDS_FILE_REDIRECTION`] lists the scripts that redirect to files (`>`, `>>`, `<`),
//! which need files as descriptors 0-2: they are expected to fail until that work lands (a
//! failure is reported but not counted), and a pass is reported as a failure so that the
//! list is emptied then.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Ending, Machine};
use cargo_ostrog::solution::{self, BuildOptions, Solution};

/// The scripts that redirect standard descriptors to files: expected to fail until a file
/// can be descriptor 0-2 and is inherited across `fork`/`execve` (the "fds" work). Empty
/// this list when it lands.
pub(crate) const NEEDS_FILE_REDIRECTION: &[&str] = &[];

/// The test machine's memory: every busybox process (8 MiB of main stack, its copy of
/// the program) is charged within lx.Busybox's limit (`memory:` in init.yaml).
const MACHINE_MIB: u32 = 512;

/// The Debian package (the version the host's apt knows).
const PACKAGE: &str = "busybox-static";

/// The script that leaves files for the next boot; its folder, `/data/keep`, tells the
/// runner that the machine has booted before on this disk.
const KEEP: &str = "keep";

/// The script the runner runs instead of all others when `/data/keep` exists (the second
/// boot on a disk), in that folder.
const AFTER_REBOOT: &str = "reboot";

/// The size of the disk image of the disk variant.
const DISK_SIZE: u64 = 16 * 1024 * 1024;

/// One boot's time limit (four boots run at once on a shared machine).
const BOOT_TIMEOUT: Duration = Duration::from_secs(600);

/// Where `/data` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    /// kl.VfsRamFs (`tests/linux/busybox`).
    Ram,
    /// kl.VfsSdCardFs on a disk image, booted twice (`tests/linux/busybox-disk`).
    Disk,
}

impl Variant {
    const ALL: [Variant; 2] = [Variant::Ram, Variant::Disk];

    /// The solution's folder name under `tests/linux`, and the tests' label.
    fn name(self) -> &'static str {
        match self {
            Variant::Ram => "busybox",
            Variant::Disk => "busybox-disk",
        }
    }

    fn root(self) -> PathBuf {
        cargo_ostrog::source_root()
            .join("tests")
            .join("linux")
            .join(self.name())
    }
}

/// The folder of the scripts, shared by both variants.
fn scripts_dir() -> PathBuf {
    Variant::Ram.root().join("scripts")
}

/// Debian's architecture name of `arch`.
fn debian_arch(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "amd64",
        Arch::Aarch64 => "arm64",
    }
}

fn checked(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// A command run as root: directly when this is root, through sudo otherwise.
fn as_root(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    match root {
        true => Command::new(program),
        false => {
            let mut cmd = Command::new("sudo");
            cmd.arg(program);
            cmd
        }
    }
}

/// Debian's busybox-static executable for `arch`, fetched and unpacked under `target/`
/// once.
fn executable(arch: Arch) -> Result<Vec<u8>> {
    let dir = cargo_ostrog::kernel::target_dir()?
        .join("busybox")
        .join(debian_arch(arch));
    let bin = dir.join("bin").join("busybox");
    if !bin.is_file() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let wanted = format!("{PACKAGE}:{}", debian_arch(arch));
        let known = Command::new("apt-cache")
            .args(["show", &wanted])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !known {
            eprintln!(
                "xtask: adding the Debian architecture {} for {wanted}",
                debian_arch(arch)
            );
            checked(
                as_root("dpkg")
                    .arg("--add-architecture")
                    .arg(debian_arch(arch)),
            )?;
            checked(as_root("apt-get").args(["update", "-qq"]))?;
        }
        eprintln!("xtask: downloading {wanted} into {}", dir.display());
        for old in std::fs::read_dir(&dir)?.flatten() {
            if old.path().extension().is_some_and(|e| e == "deb") {
                std::fs::remove_file(old.path())?;
            }
        }
        checked(
            Command::new("apt-get")
                .args(["download", "-q", &wanted])
                .current_dir(&dir),
        )?;
        let deb = std::fs::read_dir(&dir)?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .context("apt-get download left no .deb")?;
        checked(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&dir))?;
        if !bin.is_file() {
            bail!("{} has no bin/busybox", deb.display());
        }
    }
    std::fs::read(&bin).with_context(|| format!("cannot read {}", bin.display()))
}

/// The scripts, as (name without `.sh`, text), by name.
fn scripts() -> Result<Vec<(String, String)>> {
    let dir = scripts_dir();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("no {}", dir.display()))? {
        let path = entry?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".sh"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        out.push((name.to_string(), text));
    }
    out.sort();
    if out.is_empty() {
        bail!("no scripts in {}", dir.display());
    }
    Ok(out)
}

/// The runner: each script but [`AFTER_REBOOT`] with `sh` in `TOP/data/NAME`, between
/// marker lines, its output (and errors) through a pipe, as on the host, where the output is
/// not a terminal (a console is one: `ls` would print columns); or, when `TOP/data/KEEP`
/// exists (a second boot on a disk, a second run on the host), only [`AFTER_REBOOT`] in
/// that folder. `top` is the folder that stands for `/` (empty on Ostrog).
fn runner(top: &str, names: &[String]) -> String {
    let run = |name: &str| {
        format!(
            "echo '=== {name}'\n\
             {{ sh {top}/rom/{name}.sh; echo \"=== {name}: exit $?\"; }} 2>&1 | cat\n"
        )
    };
    let mut s = String::from("exec 2>&1\necho 'busybox-run: start'\n");
    s.push_str(&format!(
        "if [ -d {top}/data/{KEEP} ]; then\ncd {top}/data/{KEEP}\n"
    ));
    s.push_str(&run(AFTER_REBOOT));
    s.push_str("else\n");
    for name in names.iter().filter(|n| *n != AFTER_REBOOT) {
        s.push_str(&format!("mkdir {top}/data/{name}\ncd {top}/data/{name}\n"));
        s.push_str(&run(name));
    }
    s.push_str("fi\necho 'busybox-run: done'\n");
    s
}

/// Each script's lines (the lines from its `=== NAME` marker to its exit line), by name.
fn by_script(lines: &[&str], names: &[String]) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for name in names {
        let start = format!("=== {name}");
        let end = format!("=== {name}: exit ");
        let mut part = Vec::new();
        if let Some(i) = lines.iter().position(|l| *l == start) {
            for l in &lines[i + 1..] {
                part.push(l.to_string());
                if l.starts_with(&end) {
                    break;
                }
            }
        }
        out.push((name.clone(), part));
    }
    out
}

/// Where `got` first differs from `want`, if it does.
fn first_difference(want: &[String], got: &[String]) -> Option<String> {
    for i in 0..want.len().max(got.len()) {
        let (w, g) = (want.get(i), got.get(i));
        if w != g {
            let show = |l: Option<&String>| l.map_or("(nothing)".to_string(), |l| format!("{l:?}"));
            return Some(format!(
                "line {}: host {}, Ostrog {}",
                i + 1,
                show(w),
                show(g)
            ));
        }
    }
    None
}

/// The image of `variant`'s solution for `arch`: busybox, the runner and the scripts in
/// its ROMFS.
fn build(arch: Arch, variant: Variant, names: &[String]) -> Result<PathBuf> {
    let solution = Solution::open(&variant.root())?;
    let mut extra = vec![("busybox".to_string(), executable(arch)?)];
    extra.push(("busybox-run.sh".to_string(), runner("", names).into_bytes()));
    for (name, text) in scripts()? {
        extra.push((format!("{name}.sh"), text.into_bytes()));
    }
    let options = BuildOptions {
        extra,
        leave_out: Vec::new(),
    };
    solution::build_with(&solution, arch, &options)
}

/// One boot of `machine`: its console and seconds, or what went wrong (with the console).
/// `expect` is a line the console must show (the disk server's word on the disk).
fn boot(machine: &Machine, arch: Arch, which: &str, expect: Option<&str>) -> Result<(String, f64)> {
    let run = machine.run_captured(BOOT_TIMEOUT, false)?;
    if std::env::var_os("OSTROG_BUSYBOX_CONSOLE").is_some() {
        println!("---- {arch} {which} console ----\n{}----", run.console);
    }
    let mut problems = Vec::new();
    for bad in ["panicked at", "KERNEL", "[audit] denied"] {
        if run.console.contains(bad) {
            problems.push(format!("console shows {bad:?}"));
        }
    }
    if let Some(line) = expect.filter(|l| !run.console.contains(l)) {
        problems.push(format!("the console does not show {line:?}"));
    }
    match run.ending {
        Ending::PoweredOff(0) => {}
        Ending::PoweredOff(s) => problems.push(format!("powered off with status {s}")),
        _ => problems.push("the machine did not power off".into()),
    }
    if !run.console.contains("busybox-run: done") {
        problems.push("the runner did not finish".into());
    }
    // Every process the scripts started (about 140) gave its memory back.
    if !run
        .console
        .contains("memory: every frame the programs used is free again")
    {
        problems.push("frames of the programs are still in use at the end".into());
    }
    if !problems.is_empty() {
        bail!(
            "{which}: {}\n---- console ----\n{}----",
            problems.join("; "),
            run.console
        );
    }
    Ok((run.console, run.elapsed.as_secs_f64()))
}

/// One result per script of `names`: its lines in `console` against the host's.
fn compare(
    label: &dyn Fn(&str) -> String,
    console: &str,
    secs: f64,
    host_lines: &[String],
    names: &[String],
) -> Vec<(String, bool, String)> {
    // The programs' lines: the kernel's and the personality's own are left out.
    let lines: Vec<&str> = console
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.starts_with("[kernel] ") && !l.starts_with("[audit] "))
        .collect();
    let host: Vec<&str> = host_lines.iter().map(String::as_str).collect();
    let want = by_script(&host, names);
    let got = by_script(&lines, names);
    let mut results = Vec::new();
    for ((name, want), (_, got)) in want.iter().zip(&got) {
        let diff = first_difference(want, got);
        let expected_failure = NEEDS_FILE_REDIRECTION.contains(&name.as_str());
        let what = label(&format!("{name}.sh output as on Linux"));
        let result = match (diff, expected_failure) {
            (None, false) => (
                what,
                true,
                format!("{} lines (the boot took {secs:.1}s)", want.len()),
            ),
            (Some(d), false) => (what, false, format!("{name}.sh: {d}\n{console}")),
            (Some(d), true) => (
                what,
                true,
                format!("expected to fail until files can be descriptors 0-2 ({name}.sh: {d})"),
            ),
            (None, true) => (
                what,
                false,
                format!(
                    "{name}.sh passes: remove it from NEEDS_FILE_REDIRECTION in xtask/src/busybox.rs"
                ),
            ),
        };
        results.push(result);
    }
    results
}

/// The scripts of `variant` on `arch` from its `image`: one result per script (and for
/// the disk, one for the script after the reboot), or one for a boot that failed.
fn run_variant(
    arch: Arch,
    variant: Variant,
    image: &std::path::Path,
    host: &HostRuns,
    names: &[String],
) -> Vec<(String, bool, String)> {
    let label = |what: &str| format!("linux::{arch}::{}: {what}", variant.name());
    let mut machine = Machine::new(arch, solution::accel(arch), image);
    machine.memory_mib = MACHINE_MIB;
    let first: Vec<String> = names
        .iter()
        .filter(|n| *n != AFTER_REBOOT)
        .cloned()
        .collect();
    if variant == Variant::Ram {
        return match boot(&machine, arch, "boot", None) {
            Ok((console, secs)) => compare(&label, &console, secs, &host.first, &first),
            Err(e) => vec![(label("boot"), false, format!("{e:#}"))],
        };
    }
    // A fresh disk image: formatted by the first boot, found again by the second.
    let disk = image.with_file_name("busybox-disk.disk");
    let _ = std::fs::remove_file(&disk);
    if let Err(e) = cargo_ostrog::qemu::prepare_disk(&disk, DISK_SIZE) {
        return vec![(label("disk image"), false, format!("{e:#}"))];
    }
    machine.disk = Some(disk);
    let mut results = match boot(
        &machine,
        arch,
        "boot 1",
        Some("VfsSdCardFs: formatted the empty disk"),
    ) {
        Ok((console, secs)) => compare(&label, &console, secs, &host.first, &first),
        Err(e) => return vec![(label("boot 1"), false, format!("{e:#}"))],
    };
    let after = [AFTER_REBOOT.to_string()];
    match boot(
        &machine,
        arch,
        "boot 2",
        Some("VfsSdCardFs: mounted the disk"),
    ) {
        Ok((console, secs)) => {
            let label = |what: &str| label(&format!("after a reboot: {what}"));
            results.extend(compare(&label, &console, secs, &host.second, &after));
        }
        Err(e) => results.push((label("boot 2 on the same disk"), false, format!("{e:#}"))),
    }
    results
}

/// The host's runs of the runner: the first in a fresh folder, the second in the same
/// folder after it (as the second boot on a disk).
struct HostRuns {
    first: Vec<String>,
    second: Vec<String>,
}

/// The runner on the host, with the amd64 busybox, in a fresh folder standing in for `/`,
/// twice: its lines each time.
fn host_run(names: &[String]) -> Result<HostRuns> {
    let top = crate::linux::work_dir(Arch::X86_64)?.join("busybox-host");
    let _ = std::fs::remove_dir_all(&top);
    std::fs::create_dir_all(top.join("rom"))?;
    std::fs::create_dir_all(top.join("data"))?;
    let bin = top.join("rom").join("busybox");
    std::fs::write(&bin, executable(Arch::X86_64)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))?;
    }
    for (name, text) in scripts()? {
        std::fs::write(top.join("rom").join(format!("{name}.sh")), text)?;
    }
    let text = top.to_string_lossy().into_owned();
    let run = top.join("rom").join("busybox-run.sh");
    std::fs::write(&run, runner(&text, names))?;
    let once = || -> Result<Vec<String>> {
        let out = Command::new(&bin)
            .arg("sh")
            .arg(&run)
            .env_clear()
            .env("PATH", "/nonexistent")
            .current_dir(&top)
            .output()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !stdout.contains("busybox-run: done") {
            bail!("the runner did not finish on the host:\n{stdout}");
        }
        Ok(stdout.lines().map(String::from).collect())
    };
    let first = once()?;
    let second = once()?;
    Ok(HostRuns { first, second })
}

/// The PAL tests of both busybox solutions' policies, then the scripts on each
/// architecture and variant (the boots in parallel).
pub fn run() -> Vec<(String, bool, String)> {
    let prepared = scripts().and_then(|s| {
        let names: Vec<String> = s.into_iter().map(|(n, _)| n).collect();
        if !names.iter().any(|n| n == KEEP) || !names.iter().any(|n| n == AFTER_REBOOT) {
            bail!("the scripts must include {KEEP}.sh and {AFTER_REBOOT}.sh");
        }
        host_run(&names).map(|h| (names, h))
    });
    let mut results: Vec<_> = Variant::ALL
        .iter()
        .map(|v| crate::linux::pal_tests(&format!("linux::{}", v.name()), &v.root()))
        .collect();
    let (names, host) = match prepared {
        Ok(p) => p,
        Err(e) => {
            results.push(("linux::busybox: host run".into(), false, format!("{e:#}")));
            return results;
        }
    };
    // The images one after another (cargo builds them), then the boots at once.
    let mut images = Vec::new();
    for arch in Arch::ALL {
        for variant in Variant::ALL {
            match build(arch, variant, &names) {
                Ok(image) => images.push((arch, variant, image)),
                Err(e) => results.push((
                    format!("linux::{arch}::{}: build", variant.name()),
                    false,
                    format!("{e:#}"),
                )),
            }
        }
    }
    let (host, names) = (&host, &names);
    std::thread::scope(|scope| {
        let runs: Vec<_> = images
            .iter()
            .map(|(arch, variant, image)| {
                scope.spawn(move || run_variant(*arch, *variant, image, host, names))
            })
            .collect();
        for run in runs {
            match run.join() {
                Ok(r) => results.extend(r),
                Err(_) => results.push(("linux::busybox: a run".into(), false, "panicked".into())),
            }
        }
    });
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_script_is_cut_out_and_its_first_difference_named() {
        let names = vec!["a".to_string(), "b".to_string()];
        let console = [
            "[kernel] noise",
            "=== a",
            "one",
            "two",
            "=== a: exit 0",
            "=== b",
            "three",
            "=== b: exit 1",
        ];
        let parts = by_script(&console, &names);
        assert_eq!(parts[0].1, ["one", "two", "=== a: exit 0"]);
        assert_eq!(parts[1].1, ["three", "=== b: exit 1"]);
        let want: Vec<String> = ["one", "two"].map(String::from).to_vec();
        let got: Vec<String> = ["one", "2"].map(String::from).to_vec();
        assert_eq!(first_difference(&want, &want), None);
        assert_eq!(
            first_difference(&want, &got).as_deref(),
            Some("line 2: host \"two\", Ostrog \"2\"")
        );
        assert_eq!(
            first_difference(&want, &want[..1]).as_deref(),
            Some("line 2: host \"two\", Ostrog (nothing)")
        );
        // A script that never started has no lines: it differs from the first.
        assert!(by_script(&console, &["c".to_string()])[0].1.is_empty());
    }

    #[test]
    fn the_runner_stands_a_folder_for_the_root() {
        let names = ["s".to_string(), AFTER_REBOOT.to_string()];
        let text = runner("/tmp/x", &names);
        assert!(text.contains("mkdir /tmp/x/data/s\ncd /tmp/x/data/s\n"));
        assert!(text.contains("{ sh /tmp/x/rom/s.sh; echo \"=== s: exit $?\"; } 2>&1 | cat\n"));
        assert!(runner("", &names).contains("sh /rom/s.sh"));
        // After a reboot on a disk only the reboot script runs, in keep.sh's folder.
        let (again, first) = text.split_once("else\n").unwrap();
        assert!(again.starts_with("exec 2>&1\necho 'busybox-run: start'\n"));
        assert!(again.contains("if [ -d /tmp/x/data/keep ]; then\ncd /tmp/x/data/keep\n"));
        assert!(again.contains("sh /tmp/x/rom/reboot.sh;"));
        assert!(!again.contains("s.sh"));
        assert!(!first.contains("reboot"));
        assert!(first.ends_with("fi\necho 'busybox-run: done'\n"));
    }
}
