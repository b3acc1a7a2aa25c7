//! Installing what the tools need on a fresh Debian machine, saying what is installed.
//!
//! Nothing here is a manual step: `cargo ostrog run` and `cargo xtask test` call these before
//! they need QEMU or a Rust target. Each function checks first and does nothing when the
//! tool is already there.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::arch::Arch;

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let status = Command::new(program)
        .args(args)
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Runs a command as root: directly when we are root, through sudo otherwise.
fn run_as_root(args: &[&str]) -> Result<()> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    match args.split_first() {
        Some((program, rest)) if is_root => run(program, rest),
        Some(_) if on_path("sudo") => run("sudo", args),
        Some(_) => bail!(
            "`{}` needs root and sudo is not available; run it as root",
            args.join(" ")
        ),
        None => Ok(()),
    }
}

/// Makes sure QEMU for each architecture is installed (Debian packages).
pub fn ensure_qemu(arches: &[Arch]) -> Result<()> {
    let wanted: Vec<(&str, &str)> = arches
        .iter()
        .map(|a| (a.qemu_binary(), a.qemu_package()))
        .collect();
    ensure_programs(&wanted)
}

/// Makes sure the tools that build a bootable ISO for PCs (GRUB, xorriso) are installed.
pub fn ensure_iso_tools() -> Result<()> {
    ensure_programs(&[
        ("grub-mkrescue", "grub-common"),
        ("xorriso", "xorriso"),
        ("mformat", "mtools"),
    ])?;
    if !std::path::Path::new("/usr/lib/grub/i386-pc").is_dir() {
        ensure_packages(&["grub-pc-bin"])?;
    }
    Ok(())
}

/// Makes sure the tools the Linux-program tests need are installed: Debian's `musl-gcc`
/// (package `musl-tools`, C programs for the host's architecture) and QEMU's user-mode
/// emulators (package `qemu-user`), which run the AArch64 programs on an x86_64 host to
/// get the output Ostrog must reproduce.
pub fn ensure_linux_test_tools() -> Result<()> {
    ensure_programs(&[
        ("musl-gcc", "musl-tools"),
        ("cc", "gcc"),
        ("qemu-aarch64", "qemu-user"),
    ])
}

/// Installs the Debian package of each `(program, package)` whose program is not on PATH.
pub fn ensure_programs(wanted: &[(&str, &str)]) -> Result<()> {
    let mut missing: Vec<&str> = wanted
        .iter()
        .filter(|(program, _)| !on_path(program))
        .map(|(_, package)| *package)
        .collect();
    missing.dedup();
    ensure_packages(&missing)
}

fn ensure_packages(missing: &[&str]) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    if !on_path("apt-get") {
        bail!(
            "{} missing, and this is not a Debian-like system with apt-get; install it by hand",
            missing.join(", ")
        );
    }
    eprintln!(
        "ostrog: installing {} (apt-get install --no-install-recommends)",
        missing.join(" ")
    );
    run_as_root(&["apt-get", "update", "-qq"])?;
    let mut args = vec![
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        // Never remove a package the user has (apt would, to install an older one a
        // dependency pins): apt-get stops instead, and the user decides.
        "--no-remove",
    ];
    args.extend(missing.iter());
    run_as_root(&args).with_context(|| {
        format!(
            "apt-get could not install {} without removing a package you have (it was told \
             not to remove any); see what it would remove with `apt-get install --dry-run \
             --no-install-recommends {}`, then install them yourself or make the programs \
             they provide available on PATH",
            missing.join(" "),
            missing.join(" ")
        )
    })
}

fn installed(what: &str) -> Result<String> {
    let out = Command::new("rustup")
        .args([what, "list", "--installed"])
        .output()
        .context("cannot run rustup (Ostrog needs a rustup-managed Rust toolchain)")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Makes sure the Rust libraries for each architecture's targets are installed: the
/// bare-metal ones (programs and kernel) and the static musl one of Linux programs.
pub fn ensure_rust_targets(arches: &[Arch]) -> Result<()> {
    let have = installed("target")?;
    let targets = arches
        .iter()
        .flat_map(|a| [a.rust_target(), a.kernel_target(), a.linux_target()]);
    for target in targets {
        if !have.lines().any(|l| l.trim() == target) {
            eprintln!("ostrog: installing Rust target {target} (rustup target add)");
            run("rustup", &["target", "add", target])?;
        }
    }
    Ok(())
}

/// Makes sure rustfmt and clippy are installed (for `cargo xtask test`).
pub fn ensure_rust_components(components: &[&str]) -> Result<()> {
    let have = installed("component")?;
    for component in components {
        if !have
            .lines()
            .any(|l| l.starts_with(&format!("{component}-")))
        {
            eprintln!("ostrog: installing Rust component {component} (rustup component add)");
            run("rustup", &["component", "add", component])?;
        }
    }
    Ok(())
}

/// The version of Zig (PyPI package `ziglang`) used to build C programs for AArch64 Linux.
const ZIGLANG: &str = "ziglang==0.17.1";

/// A command that runs `zig cc` (`-target aarch64-linux-musl` builds static C programs for
/// AArch64 Linux: Debian has no AArch64 musl cross compiler). `zig` on PATH is used as it
/// is; otherwise Zig's PyPI package `ziglang` is installed with pip into `dir` (once) and
/// run as `python3 -m ziglang` (pip itself comes from Debian's `python3-pip` if missing;
/// `--target` installs outside the system's packages, which PEP 668 allows).
pub fn zig_cc(dir: &std::path::Path) -> Result<Command> {
    if on_path("zig") {
        let mut cmd = Command::new("zig");
        cmd.arg("cc");
        return Ok(cmd);
    }
    if !dir.join("ziglang").join("__main__.py").is_file() {
        let has_pip = Command::new("python3")
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_pip {
            ensure_packages(&["python3-pip"])?;
        }
        eprintln!(
            "ostrog: installing Zig ({ZIGLANG}, pip install --target {})",
            dir.display()
        );
        let installed = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--upgrade",
                "--target",
            ])
            .arg(dir)
            .arg(ZIGLANG)
            .status();
        match installed {
            Ok(s) if s.success() => {}
            Ok(s) => bail!(
                "cannot install Zig with pip ({s}); it builds the C conformance programs for \
                 AArch64: install `zig` on PATH, or make `python3 -m pip install {ZIGLANG}` work"
            ),
            Err(e) => bail!(
                "cannot run python3 -m pip ({e}); it installs Zig, which builds the C \
                 conformance programs for AArch64: install python3-pip or `zig`"
            ),
        }
    }
    let mut cmd = Command::new("python3");
    cmd.env("PYTHONPATH", dir).args(["-m", "ziglang", "cc"]);
    Ok(cmd)
}
