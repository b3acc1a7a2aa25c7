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
    // Ask apt what it would do first (a simulation needs no root), and refuse a plan that
    // takes away or changes a package the user has.
    let simulated = Command::new("apt-get")
        .env("LC_ALL", "C")
        .args(["install", "-s", "--no-install-recommends"])
        .args(missing)
        .output()
        .context("cannot run apt-get")?;
    if !simulated.status.success() {
        bail!(
            "apt-get cannot install {}: {}",
            missing.join(" "),
            String::from_utf8_lossy(&simulated.stderr).trim()
        );
    }
    AptPlan::read(&String::from_utf8_lossy(&simulated.stdout)).check(missing)?;
    let mut args = vec![
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        // Should the archive change between the simulation and now: apt-get stops rather
        // than remove anything.
        "--no-remove",
    ];
    args.extend(missing.iter());
    run_as_root(&args).with_context(|| {
        format!(
            "apt-get could not install {} (it was told not to remove any package); see why \
             with `apt-get install -s --no-install-recommends {}`",
            missing.join(" "),
            missing.join(" ")
        )
    })
}

/// What a simulated `apt-get install -s` (in the C locale) would do to the packages
/// already installed: the installs themselves are fine, anything else is the user's call.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AptPlan {
    /// Packages it would remove (`Remv` lines and the "REMOVED" list).
    pub removed: Vec<String>,
    /// Installed packages it would replace with an older version ("DOWNGRADED").
    pub downgraded: Vec<String>,
    /// Packages the user holds at their version that it would change.
    pub held: Vec<String>,
}

impl AptPlan {
    /// Reads the output of `apt-get install -s`.
    pub fn read(simulation: &str) -> AptPlan {
        let mut plan = AptPlan::default();
        let mut list: Option<&mut Vec<String>> = None;
        for line in simulation.lines() {
            if let Some(rest) = line.strip_prefix("Remv ") {
                list = None;
                if let Some(name) = rest.split_whitespace().next() {
                    push_once(&mut plan.removed, name);
                }
                continue;
            }
            if line.starts_with(' ') {
                if let Some(l) = list.as_deref_mut() {
                    for name in line.split_whitespace() {
                        // `pkg*` marks a purge in the list.
                        push_once(l, name.trim_end_matches('*'));
                    }
                }
                continue;
            }
            list = if line.starts_with("The following packages will be REMOVED") {
                Some(&mut plan.removed)
            } else if line.starts_with("The following packages will be DOWNGRADED") {
                Some(&mut plan.downgraded)
            } else if line.starts_with("The following held packages will be changed") {
                Some(&mut plan.held)
            } else {
                None
            };
        }
        plan
    }

    /// Ok when the plan only adds or upgrades packages; otherwise what it would do and what
    /// the user can do instead.
    pub fn check(&self, wanted: &[&str]) -> Result<()> {
        let mut changes = Vec::new();
        for (what, list) in [
            ("remove", &self.removed),
            ("downgrade", &self.downgraded),
            ("change the held packages", &self.held),
        ] {
            if !list.is_empty() {
                changes.push(format!("{what} {}", list.join(" ")));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        bail!(
            "installing {wanted} would {changes}, which you have installed; Ostrog never \
             removes or replaces your packages, so nothing was changed. Install {wanted} \
             yourself in a way that keeps them (for example from the release they come from: \
             `sudo apt-get install -t RELEASE {wanted}`), or put the programs they provide on \
             PATH, and run the command again",
            wanted = wanted.join(" "),
            changes = changes.join(" and ")
        )
    }
}

fn push_once(list: &mut Vec<String>, name: &str) {
    if !name.is_empty() && !list.iter().any(|n| n == name) {
        list.push(name.to_string());
    }
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

#[cfg(test)]
mod tests {
    use super::AptPlan;

    /// `apt-get install -s qemu-system-x86` on a machine with a newer `qemu-utils` from
    /// backports, which the stable package's dependencies pin back.
    const REPLACES_NEWER: &str = "\
NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
Reading package lists...
Building dependency tree...
The following additional packages will be installed:
  qemu-system-common qemu-system-data
The following packages will be REMOVED:
  qemu-block-extra* qemu-utils
The following NEW packages will be installed:
  qemu-system-common qemu-system-data qemu-system-x86
The following packages will be DOWNGRADED:
  qemu-utils
0 upgraded, 3 newly installed, 1 downgraded, 2 to remove and 0 not upgraded.
Remv qemu-block-extra [1:8.2.1+ds-1~bpo12+1]
Remv qemu-utils [1:8.2.1+ds-1~bpo12+1]
Inst qemu-system-common (1:7.2+dfsg-7+deb12u6 Debian:12.8/stable [amd64])
Inst qemu-system-x86 (1:7.2+dfsg-7+deb12u6 Debian:12.8/stable [amd64])
Conf qemu-system-x86 (1:7.2+dfsg-7+deb12u6 Debian:12.8/stable [amd64])
";

    const CLEAN: &str = "\
NOTE: This is only a simulation!
The following NEW packages will be installed:
  qemu-system-arm
The following packages will be upgraded:
  libslirp0
1 upgraded, 1 newly installed, 0 to remove and 12 not upgraded.
Inst libslirp0 [4.7.0-1] (4.7.0-1+b1 Debian:12.8/stable [amd64])
Inst qemu-system-arm (1:7.2+dfsg-7+deb12u6 Debian:12.8/stable [amd64])
";

    #[test]
    fn removals_and_downgrades_of_installed_packages_are_refused() {
        let plan = AptPlan::read(REPLACES_NEWER);
        assert_eq!(plan.removed, ["qemu-block-extra", "qemu-utils"]);
        assert_eq!(plan.downgraded, ["qemu-utils"]);
        let err = plan.check(&["qemu-system-x86"]).unwrap_err().to_string();
        assert!(
            err.contains("would remove qemu-block-extra qemu-utils and downgrade qemu-utils"),
            "{err}"
        );
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(
            err.contains("apt-get install -t RELEASE qemu-system-x86"),
            "{err}"
        );
    }

    #[test]
    fn new_packages_and_upgrades_are_installed() {
        let plan = AptPlan::read(CLEAN);
        assert_eq!(plan, AptPlan::default());
        plan.check(&["qemu-system-arm"])
            .expect("nothing of the user's is touched");
    }

    #[test]
    fn a_changed_held_package_is_refused() {
        let out = "The following held packages will be changed:\n  qemu-utils\n\
                   The following NEW packages will be installed:\n  qemu-system-x86\n";
        let plan = AptPlan::read(out);
        assert_eq!(plan.held, ["qemu-utils"]);
        assert!(plan.removed.is_empty() && plan.downgraded.is_empty());
        let err = plan.check(&["qemu-system-x86"]).unwrap_err().to_string();
        assert!(err.contains("change the held packages qemu-utils"), "{err}");
    }

    #[test]
    fn a_remv_line_alone_is_a_removal() {
        // Some apt versions print no summary with -qq; the action lines still say it.
        let plan = AptPlan::read("Remv qemu-utils [1:8.2]\nInst qemu-system-x86 (1:7.2)\n");
        assert_eq!(plan.removed, ["qemu-utils"]);
        assert!(plan.check(&["qemu-system-x86"]).is_err());
    }
}
