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

/// Builds the kernel for `arch` (release profile) with an empty ROMFS and returns the path
/// of the ELF image.
pub fn build(arch: Arch) -> Result<PathBuf> {
    build_with_romfs(arch, None)
}

/// Builds the kernel for `arch` embedding the ROMFS archive `romfs` (empty when `None`).
pub fn build_with_romfs(arch: Arch, romfs: Option<&Path>) -> Result<PathBuf> {
    let mut cmd = Command::new(cargo());
    match romfs {
        Some(path) => cmd.env("OSTROG_ROMFS", path),
        None => cmd.env_remove("OSTROG_ROMFS"),
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
