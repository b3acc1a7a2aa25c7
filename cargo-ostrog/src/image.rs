//! Building an image: the programs, the ROMFS that carries them, and a kernel embedding it.
//!
//! Programs are the binary targets of the workspace packages under `tests/kernel/programs/`
//! (the kernel's test programs), built for the architecture's program target in the release
//! profile. The ROMFS is a cpio (newc) archive (see `docs/romfs-and-loader.md`) written with
//! `ostrog-romfs`; the kernel binary embeds it (see [`crate::kernel`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::arch::Arch;
use crate::kernel;

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A program of the workspace: its package and binary name.
#[derive(Clone, Debug)]
pub struct Program {
    pub package: String,
    pub binary: String,
}

/// The binary targets of the packages under `tests/kernel/programs/`.
pub fn workspace_programs() -> Result<Vec<Program>> {
    let root = crate::source_root();
    let meta = crate::kernel::workspace_metadata()?;
    let programs_dir = root.join("tests/kernel/programs");
    let mut programs = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        if !manifest.starts_with(&programs_dir) {
            continue;
        }
        let name = package["name"].as_str().unwrap_or_default();
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"));
            if is_bin {
                programs.push(Program {
                    package: name.to_string(),
                    binary: target["name"].as_str().unwrap_or_default().to_string(),
                });
            }
        }
    }
    programs.sort_by(|a, b| a.binary.cmp(&b.binary));
    Ok(programs)
}

/// Builds `programs` for `arch`; returns `(name, ELF path)` for each.
pub fn build_programs(arch: Arch, programs: &[Program]) -> Result<Vec<(String, PathBuf)>> {
    if programs.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmd = Command::new(cargo());
    cmd.args([
        "build",
        "--quiet",
        "--release",
        "--target",
        arch.rust_target(),
    ]);
    let mut packages: Vec<&str> = programs.iter().map(|p| p.package.as_str()).collect();
    packages.dedup();
    for package in packages {
        cmd.args(["-p", package]);
    }
    let status = cmd
        .current_dir(crate::source_root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the programs for {arch} failed");
    }
    let dir = kernel::target_dir()?
        .join(arch.rust_target())
        .join("release");
    programs
        .iter()
        .map(|p| {
            let path = dir.join(&p.binary);
            if path.is_file() {
                Ok((p.binary.clone(), path))
            } else {
                bail!("the build did not produce {}", path.display())
            }
        })
        .collect()
}

/// What of an executable the loader reads: the release profile keeps debug information
/// (for debuggers, from the files under `target/`), which makes a program of 50 KiB of
/// code a file of 2.5 MiB. The loader reads only the ELF header, the program headers and
/// the bytes they name, so the copy packed into a ROMFS is cut after the last of those and
/// its section headers are dropped (`e_shoff`, `e_shnum`, `e_shstrndx` zeroed). Anything
/// that is not a little-endian ELF64 file whose headers lie within it is kept unchanged
/// (the loader then judges it).
pub fn loadable_only(mut data: Vec<u8>) -> Vec<u8> {
    let u16_at = |d: &[u8], at: usize| {
        d.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as u64)
    };
    let u64_at = |d: &[u8], at: usize| {
        d.get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    if data.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return data;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (
        u64_at(&data, 0x20),
        u16_at(&data, 0x36),
        u16_at(&data, 0x38),
    ) else {
        return data;
    };
    if phentsize < 56 {
        return data;
    }
    let mut end = phoff.saturating_add(phentsize * phnum).max(64);
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let (Some(offset), Some(filesz)) = (
            usize::try_from(at + 8).ok().and_then(|a| u64_at(&data, a)),
            usize::try_from(at + 32).ok().and_then(|a| u64_at(&data, a)),
        ) else {
            return data;
        };
        end = end.max(offset.saturating_add(filesz));
    }
    let Ok(end) = usize::try_from(end) else {
        return data;
    };
    if end > data.len() {
        return data;
    }
    data.truncate(end);
    data[0x28..0x30].fill(0);
    data[0x3c..0x40].fill(0);
    data
}

/// Writes a ROMFS archive holding `files` (name, contents) to `out`.
pub fn write_romfs(files: &[(String, Vec<u8>)], out: &Path) -> Result<()> {
    let mut writer = ostrog_romfs::Writer::new();
    for (name, data) in files {
        writer
            .add_file(name, data)
            .map_err(|e| anyhow::anyhow!("cannot add {name} to the ROMFS: {e}"))?;
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(out, writer.finish()).with_context(|| format!("cannot write {}", out.display()))
}

/// What goes into an image besides the kernel and the workspace programs.
pub struct ImageSpec<'a> {
    /// Names the ROMFS archive and Einit table files.
    pub name: &'a str,
    /// The solution description; Einit is built with its table and added as `Einit`.
    pub init_yaml: Option<&'a Path>,
    /// The security module.
    pub security: kernel::Security,
    /// More files for the ROMFS.
    pub extra: &'a [(String, Vec<u8>)],
}

/// Checks `init_yaml` against the executables the image will hold and writes its Einit
/// table to `out`; diagnostics name file, line and column.
pub fn write_einit_table(init_yaml: &Path, executables: &[String], out: &Path) -> Result<()> {
    write_einit_table_leaving_out(init_yaml, &[], executables, out, &[])
}

/// [`write_einit_table`] without the processes whose task is in `leave_out` (and their
/// channels); their executables need not be in the image. A name that is no task is an
/// error. `include_dirs` are searched for the C headers of channel ids (after the folder of
/// `init_yaml`).
pub fn write_einit_table_leaving_out(
    init_yaml: &Path,
    include_dirs: &[PathBuf],
    executables: &[String],
    out: &Path,
    leave_out: &[String],
) -> Result<()> {
    let mut options = ostrog_init::Options {
        include_dirs: include_dirs.to_vec(),
        ..ostrog_init::Options::default()
    };
    // Checked once without the image's executables, to learn what is left out...
    let full = match leave_out.is_empty() {
        true => None,
        false => ostrog_init::load(init_yaml, &options).ok(),
    };
    let mut executables = executables.to_vec();
    if let Some(full) = &full {
        for task in leave_out {
            match full.processes.iter().find(|p| p.task == *task) {
                Some(p) => executables.push(p.path.clone()),
                None => bail!("{}: no task `{task}` to leave out", init_yaml.display()),
            }
        }
    }
    // ...and then with them, so that every diagnostic names the file.
    options.executables = Some(executables);
    let solution = match ostrog_init::load(init_yaml, &options) {
        Ok(s) => s,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{}", d.render());
            }
            bail!("{} error(s) in {}", diagnostics.len(), init_yaml.display());
        }
    };
    let solution = without_tasks(solution, leave_out);
    let table = solution
        .to_table()
        .map_err(|e| anyhow::anyhow!("cannot encode the Einit table: {e}"))?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(out, table).with_context(|| format!("cannot write {}", out.display()))
}

/// `solution` without the processes whose task is in `tasks`, and without their channels.
pub fn without_tasks(solution: ostrog_init::Solution, tasks: &[String]) -> ostrog_init::Solution {
    let keep: Vec<bool> = solution
        .processes
        .iter()
        .map(|p| !tasks.contains(&p.task))
        .collect();
    let mut index = Vec::new();
    let mut next = 0;
    for k in &keep {
        index.push(next);
        next += usize::from(*k);
    }
    let kept = |i: usize| keep.get(i).copied().unwrap_or(false);
    let channels = solution
        .channels
        .into_iter()
        .filter(|c| kept(c.client) && kept(c.server))
        .map(|c| ostrog_init::solution::Channel {
            client: index[c.client],
            server: index[c.server],
            id: c.id,
        })
        .collect();
    let processes = solution
        .processes
        .into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect();
    ostrog_init::Solution {
        processes,
        channels,
    }
}

/// Builds Einit for `arch` embedding the table `table`; returns the executable's path.
pub fn build_einit(arch: Arch, table: &Path) -> Result<PathBuf> {
    let status = Command::new(cargo())
        .env("OSTROG_EINIT_TABLE", table)
        .args(["build", "--quiet", "--release", "-p", "einit"])
        .args(["--target", arch.rust_target()])
        .current_dir(crate::source_root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building Einit for {arch} failed");
    }
    let path = kernel::target_dir()?
        .join(arch.rust_target())
        .join("release")
        .join("Einit");
    if !path.is_file() {
        bail!("the build did not produce {}", path.display());
    }
    Ok(path)
}

/// Builds every workspace program for `arch`, Einit with the solution's table (if any), packs
/// them (plus `spec.extra`) into a ROMFS, and builds a kernel embedding it and the security
/// module. Returns the kernel's path.
pub fn build_image(arch: Arch, spec: &ImageSpec<'_>) -> Result<PathBuf> {
    let programs = build_programs(arch, &workspace_programs()?)?;
    let mut files = Vec::new();
    for (binary, path) in programs {
        let data =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        files.push((binary, loadable_only(data)));
    }
    files.extend(spec.extra.iter().cloned());
    let dir = kernel::target_dir()?.join("ostrog").join(arch.name());
    if let Some(init_yaml) = spec.init_yaml {
        let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        names.push("Einit".into());
        let table = dir.join(format!("{}.einit", spec.name));
        write_einit_table(init_yaml, &names, &table)?;
        let einit = build_einit(arch, &table)?;
        let data =
            std::fs::read(&einit).with_context(|| format!("cannot read {}", einit.display()))?;
        files.push(("Einit".into(), loadable_only(data)));
    }
    let romfs = dir.join(format!("{}.cpio", spec.name));
    write_romfs(&files, &romfs)?;
    let binary = dir.join(format!("{}-kernel", spec.name));
    kernel::build_with_romfs(arch, &binary, Some(&romfs), &spec.security)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_program_keeps_every_loaded_byte_and_drops_the_rest() {
        // This test's own executable (an ELF64 file with debug information) stands in for a
        // program.
        let exe = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        let cut = loadable_only(exe.clone());
        assert!(cut.len() < exe.len(), "nothing was cut");
        assert_eq!(&cut[..0x28], &exe[..0x28]);
        assert_eq!(&cut[0x28..0x30], &[0; 8], "e_shoff");
        assert_eq!(&cut[0x3c..0x40], &[0; 4], "e_shnum and e_shstrndx");
        let phoff = u64::from_le_bytes(exe[0x20..0x28].try_into().unwrap()) as usize;
        let phnum = u16::from_le_bytes([exe[0x38], exe[0x39]]) as usize;
        for i in 0..phnum {
            let ph = &exe[phoff + i * 56..];
            let offset = u64::from_le_bytes(ph[8..16].try_into().unwrap()) as usize;
            let filesz = u64::from_le_bytes(ph[32..40].try_into().unwrap()) as usize;
            // (Past the ELF header, whose section fields were zeroed.)
            let from = offset.max(64).min(offset + filesz);
            assert!(
                cut[from..offset + filesz] == exe[from..offset + filesz],
                "segment {i}"
            );
        }
    }

    #[test]
    fn what_is_not_a_whole_elf64_file_is_packed_unchanged() {
        let exe = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        for data in [
            exe[..120].to_vec(),
            exe[..4000].to_vec(),
            b"#!/bin/sh\n".to_vec(),
        ] {
            assert_eq!(loadable_only(data.clone()), data);
        }
    }

    #[test]
    fn leaving_out_a_task_drops_its_channels_and_renumbers() {
        let text = "entities:\n\
                    - name: a.A\n  connections: [{target: a.C, id: c}]\n\
                    - name: a.B\n  connections: [{target: a.C, id: c}]\n\
                    - name: a.C\n";
        let s = ostrog_init::check_source("t.yaml", text, &ostrog_init::Options::default())
            .expect("checks");
        let s = without_tasks(s, &["a.A".to_string()]);
        let tasks: Vec<&str> = s.processes.iter().map(|p| p.task.as_str()).collect();
        assert_eq!(tasks, ["a.B", "a.C"]);
        assert_eq!(s.channels.len(), 1);
        assert_eq!((s.channels[0].client, s.channels[0].server), (0, 1));
        assert!(s.to_table().is_ok());
    }
}
