//! Linux programs in a solution (see `docs/linux.md`): which executables are Linux ones,
//! building them, the prebuilt ones, and the personality that runs them.
//!
//! An entity of `init.yaml` with `linux: true` names a static Linux executable by its
//! `path`. That executable comes from one of two places:
//!
//! * a binary of the solution's Cargo workspace with the same name: it is built for the
//!   architecture's musl target ([`Arch::linux_target`]) as a static(-PIE) executable
//!   (AArch64 is linked with `rust-lld`, so no cross C toolchain is needed);
//! * a prebuilt file `prebuilt/<arch>/<path>` of the solution folder: copied as it is, after
//!   checking that it is a static 64-bit ELF executable for that architecture.
//!
//! Every image with a Linux program also gets the personality, the ROMFS file `linux`, built
//! from the workspace member `system/linux` of the Ostrog tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::arch::Arch;
use crate::kernel;

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The ROMFS file of the personality.
pub const PERSONALITY: &str = ostrog_init::table::LINUX_PERSONALITY;

/// The folder of a solution that holds prebuilt Linux executables, by architecture.
pub const PREBUILT_DIR: &str = "prebuilt";

/// The paths of the `linux: true` entities of a checked solution, and the paths of the
/// native ones (an executable may not be both).
pub fn entity_paths(solution: &ostrog_init::Solution) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut linux = BTreeSet::new();
    let mut native = BTreeSet::new();
    for p in &solution.processes {
        match p.linux {
            true => linux.insert(p.path.clone()),
            false => native.insert(p.path.clone()),
        };
    }
    (linux, native)
}

/// The rustc flags of a Linux program: a static executable of the musl target's default
/// kind: static-PIE on x86_64 (`ET_DYN` without an interpreter: musl's `rcrt1.o` relocates
/// it itself; the personality places it at a fixed base), non-PIE on AArch64 (Rust's
/// `aarch64-unknown-linux-musl` does not enable static-PIE); AArch64 linked with
/// `rust-lld`.
pub fn rustflags(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "-C target-feature=+crt-static",
        Arch::Aarch64 => "-C target-feature=+crt-static -C linker=rust-lld",
    }
}

/// The environment variable through which Cargo takes [`rustflags`] for the musl target
/// only (build scripts keep the host's flags).
pub fn rustflags_var(arch: Arch) -> String {
    format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        arch.linux_target().to_uppercase().replace('-', "_")
    )
}

/// Builds the binaries `bins` of the Cargo workspace `manifest` as Linux programs for
/// `arch` into `target`; returns `(name, ELF contents)` for each.
pub fn build_binaries(
    manifest: &Path,
    target: &Path,
    bins: &[String],
    arch: Arch,
) -> Result<Vec<(String, Vec<u8>)>> {
    build_binaries_with(manifest, target, bins, arch, rustflags(arch))
}

/// [`build_binaries`] with the rustc flags `flags` instead of [`rustflags`] (the tests
/// build an AArch64 static-PIE); use a `target` of its own, or Cargo rebuilds whenever the
/// flags change.
pub fn build_binaries_with(
    manifest: &Path,
    target: &Path,
    bins: &[String],
    arch: Arch,
    flags: &str,
) -> Result<Vec<(String, Vec<u8>)>> {
    if bins.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmd = Command::new(cargo());
    cmd.args(["build", "--quiet", "--release", "--target"])
        .arg(arch.linux_target())
        .arg("--manifest-path")
        .arg(manifest)
        .env("CARGO_TARGET_DIR", target)
        .env(rustflags_var(arch), flags);
    for bin in bins {
        cmd.args(["--bin", bin]);
    }
    let status = cmd.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!(
            "building the Linux programs {} for {} failed (is the target installed? \
             `rustup target add {}`)",
            bins.join(", "),
            arch.linux_target(),
            arch.linux_target()
        );
    }
    let dir = target.join(arch.linux_target()).join("release");
    bins.iter()
        .map(|b| {
            let path = dir.join(b);
            let data = std::fs::read(&path)
                .with_context(|| format!("the build did not produce {}", path.display()))?;
            check_elf(&path, &data, arch)?;
            Ok((b.clone(), data))
        })
        .collect()
}

/// Whether `data` is a position-independent executable (`ET_DYN`; static-PIE once
/// [`check_elf`] accepted it) rather than a fixed-address one (`ET_EXEC`).
pub fn is_pie(data: &[u8]) -> bool {
    u16_at(data, 16) == Some(3)
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// Checks that `data` (the file `path`) is a static 64-bit little-endian ELF executable for
/// `arch`: no interpreter (`PT_INTERP`), which a static Linux program never has.
pub fn check_elf(path: &Path, data: &[u8], arch: Arch) -> Result<()> {
    let file = path.display();
    if data.get(..4) != Some(b"\x7fELF".as_slice()) {
        bail!("{file}: not an ELF file (a Linux program must be a static ELF executable)");
    }
    if data.get(4) != Some(&2) || data.get(5) != Some(&1) {
        bail!("{file}: not a 64-bit little-endian ELF file");
    }
    let kind = u16_at(data, 16).unwrap_or(0);
    // ET_EXEC, or ET_DYN for a static PIE (no interpreter, checked below).
    if kind != 2 && kind != 3 {
        bail!("{file}: not an executable (ELF type {kind})");
    }
    let machine = u16_at(data, 18).unwrap_or(0);
    if machine != arch.elf_machine() {
        let what = match machine {
            62 => "x86_64".to_string(),
            183 => "aarch64".to_string(),
            other => format!("machine {other}"),
        };
        bail!("{file}: an executable for {what}, but the image is for {arch}");
    }
    let phoff = u64_at(data, 32).unwrap_or(0) as usize;
    let phentsize = usize::from(u16_at(data, 54).unwrap_or(0));
    let phnum = usize::from(u16_at(data, 56).unwrap_or(0));
    for i in 0..phnum {
        let at = phoff.saturating_add(i.saturating_mul(phentsize));
        match u32_at(data, at) {
            // PT_INTERP: a dynamically linked program.
            Some(3) => bail!(
                "{file}: a dynamically linked executable (it has an interpreter); \
                 link it statically (musl: `musl-gcc -static`, Rust: the musl target)"
            ),
            Some(_) => {}
            None => bail!("{file}: the ELF program headers are cut off"),
        }
    }
    Ok(())
}

/// The prebuilt Linux executables of a solution for `arch`: every file under
/// `prebuilt/<arch>/`, named by its path below that folder (`prebuilt/x86_64/bin/sh` is
/// the ROMFS file `bin/sh`), each checked with [`check_elf`].
pub fn prebuilt(solution_dir: &Path, arch: Arch) -> Result<Vec<(String, Vec<u8>)>> {
    let root = solution_dir.join(PREBUILT_DIR).join(arch.name());
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let name = path
                .strip_prefix(&root)
                .ok()
                .and_then(|p| p.to_str())
                .map(|p| p.replace(std::path::MAIN_SEPARATOR, "/"))
                .with_context(|| format!("{}: the name is not UTF-8", path.display()))?;
            if let Err(problem) =
                ostrog_init::names::check(ostrog_init::names::NameKind::Path, &name)
            {
                bail!(
                    "{}: `{name}` is not a valid ROMFS path: {problem}",
                    path.display()
                );
            }
            let data =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            check_elf(&path, &data, arch)?;
            files.push((name, data));
        }
    }
    files.sort();
    Ok(files)
}

/// The package and binary of the personality: the workspace member at `system/linux`.
pub fn personality_package() -> Result<Option<(String, String)>> {
    let root = crate::source_root();
    let meta = crate::kernel::workspace_metadata()?;
    let dir = root.join("system").join("linux");
    let dir = dir.canonicalize().unwrap_or(dir);
    for package in meta["packages"].as_array().into_iter().flatten() {
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        if manifest.parent() != Some(dir.as_path()) {
            continue;
        }
        let name = package["name"].as_str().unwrap_or_default().to_string();
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"));
            if is_bin {
                let bin = target["name"].as_str().unwrap_or_default().to_string();
                return Ok(Some((name, bin)));
            }
        }
        bail!("the package {name} at system/linux has no binary: it should build the personality");
    }
    Ok(None)
}

/// Builds the personality for `arch`; returns its ELF contents (the ROMFS file
/// [`PERSONALITY`]). Fails clearly when the Ostrog tree has no `system/linux`.
pub fn build_personality(arch: Arch, why: &str) -> Result<Vec<u8>> {
    let Some((package, binary)) = personality_package()? else {
        bail!(
            "{why}, but this Ostrog tree has no Linux personality: no workspace member \
             system/linux (the program that runs Linux executables, issue 13)"
        );
    };
    // Soft-float (the kernel's target): the personality runs on the program's threads between
    // a trap and its resume, and the trap frame holds no FP/SIMD registers, so it must never
    // touch them.
    let status = Command::new(cargo())
        .args(["build", "--quiet", "--release", "-p", &package])
        .args(["--target", arch.kernel_target()])
        .current_dir(crate::source_root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the Linux personality ({package}) for {arch} failed");
    }
    let path = kernel::target_dir()?
        .join(arch.kernel_target())
        .join("release")
        .join(&binary);
    std::fs::read(&path).with_context(|| format!("the build did not produce {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF header with one program header of type `ptype`.
    fn elf(machine: u16, kind: u16, ptype: u32) -> Vec<u8> {
        let mut data = vec![0u8; 64 + 56];
        data[..4].copy_from_slice(b"\x7fELF");
        data[4] = 2;
        data[5] = 1;
        data[16..18].copy_from_slice(&kind.to_le_bytes());
        data[18..20].copy_from_slice(&machine.to_le_bytes());
        data[32..40].copy_from_slice(&64u64.to_le_bytes());
        data[54..56].copy_from_slice(&56u16.to_le_bytes());
        data[56..58].copy_from_slice(&1u16.to_le_bytes());
        data[64..68].copy_from_slice(&ptype.to_le_bytes());
        data
    }

    fn error(data: &[u8], arch: Arch) -> String {
        format!("{:#}", check_elf(Path::new("p/x"), data, arch).unwrap_err())
    }

    #[test]
    fn only_static_elf_executables_of_the_architecture_pass() {
        assert!(check_elf(Path::new("x"), &elf(62, 2, 1), Arch::X86_64).is_ok());
        assert!(check_elf(Path::new("x"), &elf(183, 3, 1), Arch::Aarch64).is_ok());
        assert!(error(b"#!/bin/sh\n", Arch::X86_64).contains("p/x: not an ELF file"));
        assert!(error(&elf(62, 2, 1), Arch::Aarch64)
            .contains("an executable for x86_64, but the image is for aarch64"));
        assert!(error(&elf(62, 2, 3), Arch::X86_64).contains("dynamically linked"));
        assert!(error(&elf(62, 1, 1), Arch::X86_64).contains("not an executable"));
        let mut cut = elf(62, 2, 1);
        cut.truncate(66);
        assert!(error(&cut, Arch::X86_64).contains("cut off"));
    }

    #[test]
    fn prebuilt_files_are_named_by_their_path_below_the_architecture() {
        let dir = std::env::temp_dir().join(format!("ostrog-prebuilt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let x86 = dir.join("prebuilt/x86_64/bin");
        std::fs::create_dir_all(&x86).unwrap();
        std::fs::write(x86.join("hello"), elf(62, 2, 1)).unwrap();
        let files = prebuilt(&dir, Arch::X86_64).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "bin/hello");
        assert!(prebuilt(&dir, Arch::Aarch64).unwrap().is_empty());
        std::fs::write(x86.join("script"), b"#!/bin/sh\n").unwrap();
        let e = format!("{:#}", prebuilt(&dir, Arch::X86_64).unwrap_err());
        assert!(e.contains("script: not an ELF file"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rustflags_go_to_the_musl_target_only() {
        assert_eq!(
            rustflags_var(Arch::Aarch64),
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS"
        );
        assert!(rustflags(Arch::Aarch64).contains("linker=rust-lld"));
        // The default output of the musl targets, static-PIE, not a forced non-PIE.
        assert!(!rustflags(Arch::X86_64).contains("relocation-model"));
        assert!(!rustflags(Arch::Aarch64).contains("relocation-model"));
    }
}
