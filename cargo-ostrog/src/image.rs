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
        files.push((binary, data));
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
        files.push(("Einit".into(), data));
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
