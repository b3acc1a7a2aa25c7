//! `cargo xtask bench fs`: file system figures of `fsbench` (tests/linux/fsbench), a Rust
//! std Linux program, on Ostrog and on the host Linux in the same run.
//!
//! For each variant and architecture the image of the variant's solution boots (under the
//! accelerator user programs get, [`solution::accel`]) and fsbench works in the variant's
//! folder; the same program, built for x86_64 musl, runs natively on the host in a fresh
//! temporary folder. Each figure is printed with the host's and their ratio (Ostrog / host:
//! above 1 is faster on Ostrog). On AArch64 the guest is emulated (TCG) and the host's
//! figure is still the native x86_64 one, so its ratio includes the emulation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Ending, Machine};
use cargo_ostrog::solution::{self, Solution};

/// One file system measured.
struct Variant {
    name: &'static str,
    /// The solution (under the source tree) that starts the file system's server and
    /// fsbench, with fsbench's folder as its argument.
    solution: &'static str,
    /// Boot with a fresh, zero disk image of this many bytes.
    disk: Option<u64>,
}

/// The RAM file system of kl.VfsRamFs, and the disk file system (tests/linux/fsbench-disk:
/// the same program, with init.yaml and policy naming the disk VFS server kl.VfsSdCardFs on
/// the virtio-blk driver kl.drivers.VirtioBlk, and fsbench's folder on the disk).
const VARIANTS: &[Variant] = &[
    Variant {
        name: "ramfs",
        solution: "tests/linux/fsbench",
        disk: None,
    },
    Variant {
        name: "disk",
        solution: "tests/linux/fsbench-disk",
        disk: Some(64 << 20),
    },
];

/// The `fsbench: NAME VALUE UNIT` lines of an output: (name, value, unit).
fn figures(output: &str) -> Vec<(String, f64, String)> {
    output
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("fsbench: ")?;
            let mut words = rest.split_whitespace();
            let (name, value, unit) = (words.next()?, words.next()?, words.next()?);
            Some((name.to_string(), value.parse().ok()?, unit.to_string()))
        })
        .collect()
}

/// fsbench for x86_64, built as `cargo ostrog` builds the solution's programs.
fn host_binary(solution: &Solution) -> Result<Vec<u8>> {
    crate::linux::build_one(solution, Arch::X86_64, "fsbench")
}

/// Runs fsbench on the host in a fresh folder under the temporary directory; its output.
fn host_run(elf: &[u8]) -> Result<String> {
    let dir = std::env::temp_dir().join(format!("ostrog-fsbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let exe = dir.join("fsbench");
    std::fs::write(&exe, elf).with_context(|| format!("cannot write {}", exe.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))?;
    }
    let out = std::process::Command::new(&exe)
        .arg(dir.join("work"))
        .output()
        .with_context(|| format!("cannot run {}", exe.display()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("fsbench failed on the host ({}):\n{text}", out.status);
    }
    Ok(text)
}

/// Boots the variant's image; the console.
fn guest_run(variant: &Variant, arch: Arch, image: &Path, work: &Path) -> Result<String> {
    let mut machine = Machine::new(arch, solution::accel(arch), image);
    if let Some(size) = variant.disk {
        let disk = work.join(format!("fsbench-{}-{}.img", variant.name, arch.name()));
        let _ = std::fs::remove_file(&disk);
        cargo_ostrog::qemu::prepare_disk(&disk, size)?;
        machine.disk = Some(disk);
    }
    let run = machine.run_captured(Duration::from_secs(900), false)?;
    match run.ending {
        Ending::PoweredOff(0) if run.console.contains("fsbench: done") => Ok(run.console),
        ending => bail!(
            "fsbench {} {arch}: the machine {ending}\n{}",
            variant.name,
            run.console
        ),
    }
}

pub fn run() -> Result<bool> {
    cargo_ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_qemu(&Arch::ALL)?;
    let work: PathBuf = cargo_ostrog::kernel::target_dir()?
        .join("ostrog")
        .join("bench-fs");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let mut ok = true;
    for variant in VARIANTS {
        let dir = cargo_ostrog::source_root().join(variant.solution);
        if !dir.join("init.yaml").is_file() {
            println!(
                "fs {}: not measured: its solution {} is not in the tree yet",
                variant.name, variant.solution
            );
            continue;
        }
        let solution = Solution::open(&dir)?;
        let host_elf = host_binary(&solution)?;
        for arch in Arch::ALL {
            let image = solution::build(&solution, arch)?;
            let console = match guest_run(variant, arch, &image, &work) {
                Ok(c) => c,
                Err(e) => {
                    println!("{e:#}");
                    ok = false;
                    continue;
                }
            };
            // The host runs right after the guest, so both see the same machine load.
            let host = figures(&host_run(&host_elf)?);
            let guest = figures(&console);
            println!(
                "fs {} {arch} ({}; host: native x86_64 in {}):",
                variant.name,
                solution::accel(arch).name(),
                std::env::temp_dir().display()
            );
            for (name, value, unit) in &guest {
                match host.iter().find(|(n, _, _)| n == name) {
                    Some((_, h, _)) => println!(
                        "  {name:<10} {value:>12.2} {unit:<8} host {h:>12.2}  ratio {:.3}",
                        value / h
                    ),
                    None => println!("  {name:<10} {value:>12.2} {unit:<8} host ?"),
                }
            }
            if guest.is_empty() {
                println!("  no figures\n{console}");
                ok = false;
            }
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::figures;

    #[test]
    fn figure_lines_are_read_and_others_ignored() {
        let out = "[kernel] x\nfsbench: write-64k 12.50 MiB/s\nfsbench: done\n\
                   fsbench: create 300 files/s\nfsbench: stat bad files/s\n";
        let f = figures(out);
        assert_eq!(
            f,
            [
                ("write-64k".to_string(), 12.5, "MiB/s".to_string()),
                ("create".to_string(), 300.0, "files/s".to_string())
            ]
        );
    }
}
