//! Building the kernel image.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::arch::Arch;

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The workspace's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> Result<PathBuf> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::source_root())
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata printed invalid JSON")?;
    match meta.get("target_directory").and_then(|v| v.as_str()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => bail!("cargo metadata did not name a target directory"),
    }
}

/// The security module a kernel is built with.
#[derive(Clone, Debug)]
pub enum Security {
    /// A module source file: generated from a policy, or a hand-written test module.
    Module(PathBuf),
    /// No module: every event is granted and the kernel says so at boot. Only on request.
    Insecure,
}

/// The hand-written module of a kernel that runs no program: it lets the kernel start and
/// denies every other event.
pub fn boot_only_module() -> Security {
    Security::Module(crate::source_root().join("ostrog/modules/boot_only.rs"))
}

/// Builds the kernel for `arch` (release profile) with an empty ROMFS and the boot-only
/// security module; returns the path of the ELF image.
pub fn build(arch: Arch) -> Result<PathBuf> {
    build_with_romfs(arch, None, &boot_only_module())
}

/// Builds the kernel for `arch` embedding the ROMFS archive `romfs` (empty when `None`) and
/// the security module `security`.
pub fn build_with_romfs(arch: Arch, romfs: Option<&Path>, security: &Security) -> Result<PathBuf> {
    let mut cmd = Command::new(cargo());
    match romfs {
        Some(path) => cmd.env("OSTROG_ROMFS", path),
        None => cmd.env_remove("OSTROG_ROMFS"),
    };
    match security {
        Security::Module(path) => {
            if !path.is_file() {
                bail!("the security module {} does not exist", path.display());
            }
            cmd.env("OSTROG_KSM", path).env_remove("OSTROG_INSECURE")
        }
        Security::Insecure => cmd.env_remove("OSTROG_KSM").env("OSTROG_INSECURE", "1"),
    };
    let status = cmd
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "ostrog-kernel",
            "--target",
            arch.kernel_target(),
        ])
        .current_dir(crate::source_root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the kernel for {arch} failed");
    }
    let image = target_dir()?
        .join(arch.kernel_target())
        .join("release")
        .join("ostrog-kernel");
    if !image.is_file() {
        bail!("the kernel build did not produce {}", image.display());
    }
    Ok(image)
}
