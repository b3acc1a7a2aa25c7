//! The file tests of issue 14 (docs/files.md): `files-std` (std::fs) and `files-c` (stdio,
//! dirent, stat) of `tests/linux` on the VFS server `kl.VfsRamFs`, in the Linux test
//! solution (`cargo xtask test --example files`, and part of `--example linux`).
//!
//! For each architecture both programs run on the host first, in a temporary folder laid
//! out as on Ostrog (`data/Files`, `data/FilesC`, `rom/files-std`, a copy of the
//! executable, and the test solution's `files/` under `rom`): natively on an x86_64 host, with qemu-user for AArch64. Then one image of the
//! test solution with only the VFS server, the two programs and Klog boots: each program's
//! console lines must be the host's, in order, and its exit status the same. files-std
//! then tries, as `lx.Files`, what the policy denies it (writing outside /data/Files,
//! `..` out of it, /, /etc, /rom): each attempt must fail with EACCES (errno 13), except
//! the write to /rom, which the policy lets through to the server's EROFS (errno 30), and
//! every denial must be in the audit log. `redirect-c` (shell redirection on files for the
//! programs it starts, files shared across fork and execve) runs in the same image; it
//! starts itself, which qemu-user cannot, so its expected lines are those of its x86_64
//! build on the (x86_64) host for both architectures. `close-exit-c` (processes that end,
//! or are killed, holding open files; the parent must still open files) runs there too,
//! compared with its host run. `OSTROG_FILES_CONSOLE=1` prints each console.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Ending, Machine};
use cargo_ostrog::solution::{self, BuildOptions, Solution};

/// The entities of the file tests in the Linux test solution: the other tests leave them
/// out.
pub(crate) const TASKS: [&str; 6] = [
    "lx.Files",
    "lx.FilesC",
    "lx.RedirectC",
    "lx.CloseExitC",
    "lx.ExecVfsC",
    "kl.VfsRamFs",
];

/// What files-c prints when it starts itself to read a file it wrote (`files-c: spawn:`
/// lines): on an x86_64 host they must be the host's; qemu-user cannot start an AArch64
/// child, so for AArch64 they replace the host's.
const SPAWN_LINES: [&str; 2] = [
    "files-c: spawn: child read: from the parent",
    "files-c: spawn: 0, child status 0",
];

/// What files-std prints on Ostrog after the host's lines, as lx.Files under the policy.
const POLICY_LINES: [&str; 8] = [
    "files-std: policy: write /data/Other/x: errno 13",
    "files-std: policy: escape with ..: errno 13",
    "files-std: policy: mkdir /etc: errno 13",
    "files-std: policy: list /: errno 13",
    "files-std: policy: write /rom/files-std: errno 30",
    "files-std: policy: own folder still works: ok",
    "files-std: policy: read /data/Other/x: true",
    "files-std: done",
];

fn root() -> std::path::PathBuf {
    cargo_ostrog::source_root().join("tests").join("linux")
}

/// Runs `elf` (of `arch`) on the host with `args`, in `dir`; its standard output and
/// status.
fn host_run(
    arch: Arch,
    dir: &Path,
    name: &str,
    elf: &[u8],
    args: &[String],
) -> Result<(String, i32)> {
    let file = dir.join(name);
    std::fs::write(&file, elf).with_context(|| format!("cannot write {}", file.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
    }
    let mut cmd = match Arch::host() == Some(arch) {
        true => Command::new(&file),
        false => {
            let mut cmd = Command::new(arch.qemu_user_binary());
            cmd.arg(&file);
            cmd
        }
    };
    let out = cmd
        .args(args)
        .env_clear()
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run {} on the host", file.display()))?;
    let Some(status) = out.status.code() else {
        bail!("{name} was killed on the host ({})", out.status);
    };
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), status))
}

fn exit_line(task: &str, status: i32) -> String {
    format!("[kernel] process {task} (class {task}) exited with status {status}")
}

/// The file tests of `arch`, as (name, passed, detail).
fn run_arch(arch: Arch) -> Vec<(String, bool, String)> {
    let label = format!("linux::{arch}::files: std::fs and stdio on the VFS as on Linux, the policy's denials EACCES and audited");
    let outcome = (|| -> Result<String> {
        let solution = Solution::open(&root().join("solution"))?;
        let std_elf = crate::linux::build_one(&solution, arch, "files-std")?;
        let c_elf = crate::conformance::build_c(arch, &root().join("files-c/files.c"), "files-c")?;
        let redirect = root().join("redirect-c/redirect.c");
        let redirect_elf = crate::conformance::build_c(arch, &redirect, "redirect-c")?;
        let close_exit = root().join("close-exit-c/close-exit.c");
        let close_exit_elf = crate::conformance::build_c(arch, &close_exit, "close-exit-c")?;
        let exec_vfs = root().join("exec-vfs-c/exec-vfs.c");
        let exec_vfs_elf = crate::conformance::build_c(arch, &exec_vfs, "exec-vfs-c")?;

        // The host: a fresh folder with the layout of the VFS.
        let dir = crate::linux::work_dir(arch)?.join("files-host");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data"))?;
        std::fs::create_dir_all(dir.join("rom"))?;
        std::fs::write(dir.join("rom/files-std"), &std_elf)?;
        // The solution's files/, which the image has under /rom.
        for (name, data) in cargo_ostrog::files::solution_files(&root().join("solution"))? {
            let path = dir.join("rom").join(&name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, data)?;
        }
        let text = |p: &Path| p.to_string_lossy().into_owned();
        let (std_out, std_status) = host_run(
            arch,
            &dir,
            "files-std",
            &std_elf,
            &[text(&dir.join("data/Files")), text(&dir.join("rom"))],
        )?;
        let (c_out, c_status) = host_run(
            arch,
            &dir,
            "files-c",
            &c_elf,
            &[text(&dir.join("data/FilesC"))],
        )?;
        // close-exit-c forks (no execve): qemu-user runs it.
        let (close_out, close_status) = host_run(
            arch,
            &dir,
            "close-exit-c",
            &close_exit_elf,
            &[text(&dir.join("data/CloseExitC"))],
        )?;
        // redirect-c starts itself, which qemu-user cannot do: its lines are those of the
        // x86_64 build on an x86_64 host, for both architectures (it prints nothing
        // architecture-specific).
        let (redirect_out, redirect_status) = match Arch::host() {
            Some(Arch::X86_64) => {
                let elf = match arch {
                    Arch::X86_64 => redirect_elf.clone(),
                    _ => crate::conformance::build_c(Arch::X86_64, &redirect, "redirect-c")?,
                };
                host_run(
                    Arch::X86_64,
                    &dir,
                    "redirect-c",
                    &elf,
                    &[text(&dir.join("data/RedirectC"))],
                )?
            }
            _ => bail!("redirect-c's host run needs an x86_64 host"),
        };
        // exec-vfs-c runs a copy of itself: the same, with its own executable as the file
        // it copies (/rom/exec-vfs-c on Ostrog).
        let (exec_vfs_out, exec_vfs_status) = match Arch::host() {
            Some(Arch::X86_64) => {
                let elf = match arch {
                    Arch::X86_64 => exec_vfs_elf.clone(),
                    _ => crate::conformance::build_c(Arch::X86_64, &exec_vfs, "exec-vfs-c")?,
                };
                let own = dir.join("rom/exec-vfs-c");
                std::fs::write(&own, &elf)?;
                host_run(
                    Arch::X86_64,
                    &dir,
                    "exec-vfs-c",
                    &elf,
                    &[text(&dir.join("data/ExecVfsC")), text(&own)],
                )?
            }
            _ => bail!("exec-vfs-c's host run needs an x86_64 host"),
        };
        for (name, out) in [
            ("files-std", &std_out),
            ("files-c", &c_out),
            ("redirect-c", &redirect_out),
            ("close-exit-c", &close_out),
            ("exec-vfs-c", &exec_vfs_out),
        ] {
            if !out.ends_with(&format!("{name}: done\n")) {
                bail!("{name} did not finish on the host:\n{out}");
            }
        }

        // Ostrog: the two programs, the server and Klog.
        let described = ostrog_init::load(&solution.init_yaml, &ostrog_init::Options::default())
            .map_err(|d| anyhow::anyhow!("{} error(s) in init.yaml", d.len()))?;
        let leave_out = described
            .processes
            .iter()
            .filter(|p| p.linux && !TASKS.contains(&p.task.as_str()))
            .map(|p| p.task.clone())
            .collect();
        let options = BuildOptions {
            extra: vec![
                ("files-c".to_string(), c_elf),
                ("redirect-c".to_string(), redirect_elf),
                ("close-exit-c".to_string(), close_exit_elf),
                ("exec-vfs-c".to_string(), exec_vfs_elf),
            ],
            leave_out,
        };
        let image = solution::build_with(&solution, arch, &options)?;
        let machine = Machine::new(arch, solution::accel(arch), &image);
        // close-exit-c starts 240 processes.
        let run = machine.run_captured(Duration::from_secs(400), false)?;
        if std::env::var_os("OSTROG_FILES_CONSOLE").is_some() {
            println!("---- {arch} console ----\n{}----", run.console);
        }
        let mut problems = Vec::new();
        // files-std: the host's lines but its last, then the policy's, then its end.
        let mut std_expect: Vec<String> = std_out
            .lines()
            .filter(|l| *l != "files-std: done")
            .map(String::from)
            .collect();
        std_expect.extend(POLICY_LINES.iter().map(|l| l.to_string()));
        std_expect.push(exit_line("lx.Files", std_status));
        let host_spawn: Vec<&str> = c_out
            .lines()
            .filter(|l| l.starts_with("files-c: spawn:"))
            .collect();
        if Arch::host() == Some(arch) && host_spawn != SPAWN_LINES {
            bail!("files-c on the host did not read its file in a child: {host_spawn:?}");
        }
        // The host's lines, SPAWN_LINES where the host's spawn lines are.
        let Some(at) = c_out.lines().position(|l| l.starts_with("files-c: spawn:")) else {
            bail!("files-c printed no spawn line on the host");
        };
        let mut c_expect: Vec<String> = c_out
            .lines()
            .filter(|l| !l.starts_with("files-c: spawn:"))
            .map(String::from)
            .collect();
        c_expect.splice(at..at, SPAWN_LINES.iter().map(|l| l.to_string()));
        c_expect.push(exit_line("lx.FilesC", c_status));
        let mut redirect_expect: Vec<String> = redirect_out.lines().map(String::from).collect();
        redirect_expect.push(exit_line("lx.RedirectC", redirect_status));
        let mut close_expect: Vec<String> = close_out.lines().map(String::from).collect();
        close_expect.push(exit_line("lx.CloseExitC", close_status));
        let mut exec_vfs_expect: Vec<String> = exec_vfs_out.lines().map(String::from).collect();
        exec_vfs_expect.push(exit_line("lx.ExecVfsC", exec_vfs_status));
        for expect in [
            &std_expect,
            &c_expect,
            &redirect_expect,
            &close_expect,
            &exec_vfs_expect,
        ] {
            if let Some(line) = solution::first_missing(&run.console, expect) {
                problems.push(format!("console lacks (in order): {line:?}"));
            }
        }
        // Each denial audited: opens (write, escape, list, read), the mkdir.
        for method in ["vfs.Open:", "vfs.MkDir:"] {
            let n = run
                .console
                .lines()
                .filter(|l| l.contains("[audit] denied request lx.Files(") && l.contains(method))
                .count();
            if n == 0 {
                problems.push(format!("no audit record of a denied {method}"));
            }
        }
        for bad in ["panicked at", "KERNEL", "malformed request"] {
            if run.console.contains(bad) {
                problems.push(format!("console shows {bad:?}"));
            }
        }
        match run.ending {
            Ending::PoweredOff(0) => {}
            Ending::PoweredOff(s) => problems.push(format!("powered off with status {s}")),
            _ => problems.push("the machine did not power off".into()),
        }
        match problems.is_empty() {
            true => Ok(format!("in {:.1}s", run.elapsed.as_secs_f64())),
            false => bail!(
                "{}\n---- console ----\n{}----",
                problems.join("; "),
                run.console
            ),
        }
    })();
    match outcome {
        Ok(detail) => vec![(label, true, detail)],
        Err(e) => vec![(label, false, format!("{e:#}"))],
    }
}

/// The file tests on each architecture.
pub fn run() -> Vec<(String, bool, String)> {
    Arch::ALL.into_iter().flat_map(run_arch).collect()
}
