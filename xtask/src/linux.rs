//! The Linux-program tests of issue 13 (`tests/linux/`): unmodified static Linux programs
//! run on Ostrog through the personality must print what they print on Linux.
//!
//! For each architecture:
//!
//! 1. the programs are built: the Rust `std` programs (`tests/linux/hello-std`, `signals`,
//!    `stack-overflow`, `spawn-std`, `pipes-std`, and `exec-denied`, `unknown-call`,
//!    `posix-bench` of
//!    `tests/linux/raw-calls`) for the musl
//!    target, the way `cargo ostrog build` builds them (the target's default, checked:
//!    static-PIE on x86_64, non-PIE on AArch64), and `hello-std-pie`, hello-std
//!    static-PIE on both (linked by hand on AArch64); `hello-c` (`tests/linux/hello-c`,
//!    non-PIE, checked) with Debian's `musl-gcc -static` for x86_64 and
//!    `zig cc -target aarch64-linux-musl` for AArch64 (Debian has no AArch64 musl cross
//!    compiler), as the conformance suite's C programs; `pipes-c` the same way (both
//!    architectures); `spawn-c` and `signals-c` on x86_64 only; `kill-c` on both (its
//!    AArch64 reference is the host's x86_64 build, as it starts a copy of itself, which
//!    qemu-user cannot run);
//! 2. each program of [`PROGRAMS`] runs on the host with the arguments and environment
//!    `init.yaml` gives it: natively on an x86_64 host, with `qemu-aarch64` (Debian's
//!    qemu-user) for AArch64; its output and exit status are the reference (a program
//!    killed by signal N has status 128 + N, as on Ostrog);
//! 3. each program boots alone in an image of `tests/linux/solution` (the other Linux
//!    entities left out, so its output is not interleaved with another's): the console must
//!    show every line of the reference in order, and the kernel must report the same exit
//!    status for the program's task and class; for `unknown-call`, whose two calls of an
//!    unknown number answer ENOSYS as on Linux, Klog must show exactly one audit record
//!    (`note lx.Unknown(SID): ...`) of the call;
//! 4. `exec-denied` boots alone as `lx.NoExec`, whose policy denies executable memory once
//!    the program runs: its `mmap`/`mprotect` requests for it fail with EPERM (its own
//!    expected lines: on a Linux host they succeed), each denial is audited once
//!    (`vmm.Allocate`, `vmm.AllocateAt`, `vmm.Protect`), and it ends with status 0;
//! 5. the whole solution boots (without the benchmark `posix-bench`): the programs print
//!    their last line and end with their status, and Einit's start of `lx.Denied` (a class
//!    the policy never lets Einit start) is denied and audited while the rest runs;
//!    spawn-std as `lx.SpawnRefused` (a class the policy does not let start programs) gets
//!    `PermissionDenied` from `Command::status` and the denial is audited.
//!
//! `spawn-std` starts itself as `./spawn-std`: on the host it runs in a folder holding it
//! under that name; its AArch64 reference is the host's build (qemu-user cannot run the
//! AArch64 children it starts). The same for `pipes-std` and `pipes-c` (pipes to their
//! children: `Stdio::piped()`, `posix_spawn_file_actions_adddup2`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Ending, Input, Machine};
use cargo_ostrog::solution::{self, BuildOptions, Solution};

/// One Linux program of the test solution.
struct Program {
    /// Its task (and class) in `init.yaml`.
    task: &'static str,
    /// Its ROMFS path (`path:` in `init.yaml`).
    path: &'static str,
}

const PROGRAMS: [Program; 15] = [
    Program {
        task: "lx.HelloStd",
        path: "hello-std",
    },
    Program {
        task: "lx.HelloPie",
        path: "hello-std-pie",
    },
    Program {
        task: "lx.HelloC",
        path: "hello-c",
    },
    Program {
        task: "lx.Signals",
        path: "signals",
    },
    Program {
        task: "lx.SignalsC",
        path: "signals-c",
    },
    Program {
        task: "lx.StackOverflow",
        path: "stack-overflow",
    },
    Program {
        task: "lx.StackOverflowMain",
        path: "stack-overflow",
    },
    // Starts itself (`./spawn-std`) with `std::process::Command`: posix_spawn, wait, kill.
    Program {
        task: "lx.Spawn",
        path: "spawn-std",
    },
    // The same in C: vfork + execve, posix_spawn, waitpid/waitid, kill, a pipe.
    Program {
        task: "lx.SpawnC",
        path: "spawn-c",
    },
    // Pipes between processes: itself as a child with Stdio::piped(); the same in C with
    // posix_spawn's adddup2 and vfork + dup2 + execve, ending by SIGPIPE (141).
    Program {
        task: "lx.Pipes",
        path: "pipes-std",
    },
    Program {
        task: "lx.PipesC",
        path: "pipes-c",
    },
    Program {
        task: "lx.Unknown",
        path: "unknown-call",
    },
    // fork(): memory copied, wait statuses, execve and kill of forked children (C).
    Program {
        task: "lx.ForkC",
        path: "fork-c",
    },
    // fork() from a Rust std program with a thread running and one waiting.
    Program {
        task: "lx.ForkStd",
        path: "fork-std",
    },
    // Signals between a parent and the child it starts (`./kill-c child`): kill, SIGCHLD,
    // sigsuspend, EINTR of nanosleep.
    Program {
        task: "lx.KillC",
        path: "kill-c",
    },
];

/// fork-c as a class whose forked children the policy may not start, and under a memory
/// limit: their own expected lines (the host has neither the policy nor the limit).
const FORK_REFUSED: &str = "lx.ForkRefused";
const FORK_OOM: &str = "lx.ForkOom";

/// What fork-c prints on Ostrog as `lx.ForkRefused` (in order): the copy's start is
/// denied, so fork fails with EAGAIN (Linux documents no permission error for fork), and
/// the copy's memory is given back.
const FORK_REFUSED_LINES: [&str; 3] = [
    "fork-c: refused: fork failed with EAGAIN",
    "fork-c: refused: memory after the refused fork: as before",
    "fork-c: refused: wait: ECHILD",
];

/// What fork-c prints on Ostrog as `lx.ForkOom` (memory limit 40 MiB), in order.
const FORK_OOM_LINES: [&str; 5] = [
    "fork-c: oom: fork with the buffer: ENOMEM",
    "fork-c: oom: memory after the failed fork: as before",
    "fork-c: oom: child after freeing the buffer: exited with 3",
    "fork-c: chain: a fork failed with ENOMEM",
    "fork-c: chain: every process ended, all ok",
];

/// spawn-std as a class whose starts of programs the policy denies.
const SPAWN_REFUSED: &str = "lx.SpawnRefused";

/// The entity whose start the policy denies.
const DENIED: &str = "lx.Denied";

/// The program the policy denies executable memory once it runs (not compared with the
/// host, where its requests succeed).
const NO_EXEC: Program = Program {
    task: "lx.NoExec",
    path: "exec-denied",
};

/// What `exec-denied` prints on Ostrog under the policy of `lx.NoExec`, in order.
const NO_EXEC_LINES: [&str; 9] = [
    "exec-denied: mmap(PROT_READ|PROT_WRITE): ok",
    "exec-denied: mmap(PROT_READ|PROT_EXEC): EPERM",
    "exec-denied: munmap: ok",
    "exec-denied: mmap(PROT_READ|PROT_EXEC, MAP_FIXED_NOREPLACE): EPERM",
    "exec-denied: mprotect(PROT_READ|PROT_EXEC): EPERM",
    "exec-denied: mprotect(PROT_READ): ok",
    "exec-denied: the page still holds 42",
    "exec-denied: munmap: ok",
    "exec-denied: done",
];

/// A Linux program that reads console input, and what the test types for it.
struct Typed {
    task: &'static str,
    path: &'static str,
    /// (console text to wait for, text typed then), in order: lines end with a carriage
    /// return as a terminal's Enter key sends them, and Ctrl-D (`\x04`) ends the input.
    input: &'static [(&'static str, &'static str)],
}

/// The programs reading console input, each compared with the host fed the same input as
/// a terminal in canonical mode hands it to a reader ([`host_input`]).
const TYPED: [Typed; 2] = [
    Typed {
        task: "lx.StdinStd",
        path: "stdin-std",
        input: &[(
            "stdin-std: type lines, then Ctrl-D",
            "hello world\rThe quick brown fox\r\r  spaced   out  \rna\u{ef}ve caf\u{e9}\r\x04",
        )],
    },
    Typed {
        task: "lx.StdinC",
        path: "stdin-c",
        input: &[
            ("stdin-c: what is your name?", "Ostrog\r"),
            ("stdin-c: three numbers?", "3 4\r5\r"),
            (
                "stdin-c: more lines, then Ctrl-D",
                "first line\rsecond\r\x04\x04",
            ),
        ],
    },
];

/// stdin-std as a class the policy denies `console.Read` (and `console.Poll`).
const NO_CONSOLE: &str = "lx.NoConsole";

/// The entities that read console input: left out of the images of the other tests (they
/// would wait for input nobody types).
const CONSOLE_TASKS: [&str; 3] = ["lx.StdinStd", "lx.StdinC", NO_CONSOLE];

/// What a reader gets from `typed` on a terminal in canonical mode, given to the host's
/// run through a pipe: a carriage return is a line feed (`ICRNL`), and Ctrl-D ends the
/// input (the pipe's end).
fn host_input(typed: &[(&str, &str)]) -> Vec<u8> {
    typed
        .iter()
        .flat_map(|(_, text)| text.bytes())
        .filter(|&b| b != 0x04)
        .map(|b| if b == b'\r' { b'\n' } else { b })
        .collect()
}

/// The benchmark of `cargo xtask bench posix`: left out of the tests.
const BENCH: Program = Program {
    task: "lx.PosixBench",
    path: "posix-bench",
};

/// The Rust programs, built as `cargo ostrog` builds them: the musl target's default
/// output, static-PIE for `x86_64-unknown-linux-musl`, static non-PIE for
/// `aarch64-unknown-linux-musl` (whose target specification does not enable static-PIE).
/// With `hello-c` (non-PIE), both kinds run on x86_64.
const RUST: [&str; 10] = [
    "stdin-std",
    "hello-std",
    "pipes-std",
    "unknown-call",
    "exec-denied",
    "posix-bench",
    "spawn-std",
    "signals",
    "stack-overflow",
    "fork-std",
];

/// `hello-std` built static-PIE for `arch`, the ROMFS file `hello-std-pie`: on x86_64 the
/// default build is; Rust's `aarch64-unknown-linux-musl` has no static-PIE output, so on
/// AArch64 it is linked by hand with `rust-lld` as musl's own `-static-pie` links: position
/// independent code, `-pie --no-dynamic-linker`, and the start file `rcrt1.o` (which
/// applies the relocations) instead of `crt1.o`, with the target's self-contained objects.
fn build_hello_pie(solution: &Solution, arch: Arch, rust: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let data = match arch {
        Arch::X86_64 => rust
            .iter()
            .find(|(n, _)| n == "hello-std")
            .map(|(_, d)| d.clone())
            .context("hello-std was not built")?,
        Arch::Aarch64 => {
            let out = Command::new("rustc")
                .args(["--print", "sysroot"])
                .output()
                .context("cannot run rustc --print sysroot")?;
            let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let objects = Path::new(&sysroot)
                .join("lib/rustlib")
                .join(arch.linux_target())
                .join("lib/self-contained");
            let o = |name: &str| format!("-C link-arg={}", objects.join(name).display());
            let flags = format!(
                "-C target-feature=+crt-static -C linker=rust-lld -C relocation-model=pie \
                 -C link-self-contained=no -L {} -C link-arg=-pie \
                 -C link-arg=--no-dynamic-linker -C link-arg=-ztext {} {} {} {} {}",
                objects.display(),
                o("rcrt1.o"),
                o("crti.o"),
                o("crtbeginS.o"),
                o("crtendS.o"),
                o("crtn.o"),
            );
            let target = cargo_ostrog::kernel::target_dir()?
                .join("ostrog")
                .join("solutions-target-aarch64-pie");
            let _lock = cargo_ostrog::kernel::lock_target(&target)?;
            let mut built = cargo_ostrog::linux::build_binaries_with(
                &solution.dir.join("Cargo.toml"),
                &target,
                &["hello-std".to_string()],
                arch,
                &flags,
            )?;
            built
                .pop()
                .map(|(_, d)| d)
                .context("hello-std was not built")?
        }
    };
    if !cargo_ostrog::linux::is_pie(&data) {
        bail!("hello-std-pie for {arch} is not static-PIE");
    }
    Ok(data)
}

/// Whether the musl target of `arch` builds static-PIE by default.
fn default_is_pie(arch: Arch) -> bool {
    arch == Arch::X86_64
}

fn root() -> PathBuf {
    cargo_ostrog::source_root().join("tests/linux")
}

/// Where the test keeps what it builds.
pub(crate) fn work_dir(arch: Arch) -> Result<PathBuf> {
    let dir = cargo_ostrog::kernel::target_dir()?
        .join("ostrog")
        .join("linux-test")
        .join(arch.name());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Builds `hello-c` for `arch`: with musl-gcc for the host's architecture, with `zig cc`
/// for the other (as the conformance suite's C programs).
fn build_hello_c(arch: Arch) -> Result<Option<Vec<u8>>> {
    build_c(arch, "hello-c", "hello-c/hello.c")
}

/// Builds the C program `name` from `source` (under `tests/linux`) for `arch` (musl-gcc or
/// `zig cc`, [`crate::conformance::build_c`]).
fn build_c(arch: Arch, name: &str, source: &str) -> Result<Option<Vec<u8>>> {
    crate::conformance::build_c(arch, &root().join(source), name).map(Some)
}

/// Builds the Rust programs for `arch` exactly as `cargo ostrog build` does (and as the
/// image builder builds them again, from the same target folder); checks that they are of
/// the target's default kind ([`default_is_pie`]).
fn build_rust(solution: &Solution, arch: Arch) -> Result<Vec<(String, Vec<u8>)>> {
    let target = cargo_ostrog::kernel::target_dir()?
        .join("ostrog")
        .join("solutions-target");
    let _lock = cargo_ostrog::kernel::lock_target(&target)?;
    let bins: Vec<String> = RUST.iter().map(|b| b.to_string()).collect();
    let built = cargo_ostrog::linux::build_binaries(
        &solution.dir.join("Cargo.toml"),
        &target,
        &bins,
        arch,
    )?;
    for (name, data) in &built {
        if cargo_ostrog::linux::is_pie(data) != default_is_pie(arch) {
            bail!(
                "{name} for {arch}: PIE is {}, but the musl target's default is {}",
                cargo_ostrog::linux::is_pie(data),
                default_is_pie(arch)
            );
        }
    }
    Ok(built)
}

/// Builds the one Linux program `bin` of `solution`'s Cargo workspace for `arch`, in the
/// target folder `cargo ostrog build` uses (so an image built before leaves nothing to do).
pub(crate) fn build_one(solution: &Solution, arch: Arch, bin: &str) -> Result<Vec<u8>> {
    let target = cargo_ostrog::kernel::target_dir()?
        .join("ostrog")
        .join("solutions-target");
    let _lock = cargo_ostrog::kernel::lock_target(&target)?;
    cargo_ostrog::linux::build_binaries(
        &solution.dir.join("Cargo.toml"),
        &target,
        &[bin.to_string()],
        arch,
    )?
    .into_iter()
    .next()
    .map(|(_, d)| d)
    .with_context(|| format!("the build of {bin} produced nothing"))
}

/// Builds the Rust program `bin` for `arch` exactly as `cargo ostrog build` does.
fn build_std(solution: &Solution, arch: Arch, bin: &str) -> Result<Vec<u8>> {
    build_rust(solution, arch)?
        .into_iter()
        .find(|(n, _)| n == bin)
        .map(|(_, d)| d)
        .ok_or_else(|| anyhow::anyhow!("the build of {bin} produced nothing"))
}

/// The image of `tests/linux/solution` with only the benchmark `posix-bench` (for `cargo
/// xtask bench posix`).
pub fn bench_image(arch: Arch) -> Result<PathBuf> {
    let solution = Solution::open(&root().join("solution"))?;
    let described = ostrog_init::load(&solution.init_yaml, &ostrog_init::Options::default())
        .map_err(|d| anyhow::anyhow!("{} error(s) in init.yaml", d.len()))?;
    let leave_out = described
        .processes
        .iter()
        .filter(|p| {
            (p.linux && p.task != BENCH.task) || crate::files::TASKS.contains(&p.task.as_str())
        })
        .map(|p| p.task.clone())
        .collect();
    let options = BuildOptions {
        extra: Vec::new(),
        leave_out,
    };
    solution::build_with(&solution, arch, &options)
}

/// What a program prints and its exit status.
pub(crate) struct Reference {
    pub(crate) stdout: String,
    pub(crate) status: i32,
}

/// Runs the executable `elf` of `arch` on the host with the arguments and environment of
/// `task` in `init.yaml`.
pub(crate) fn run_on_host(
    described: &ostrog_init::Solution,
    task: &str,
    elf: &[u8],
    arch: Arch,
) -> Result<Reference> {
    run_on_host_with_input(described, task, elf, arch, &[])
}

/// [`run_on_host`] with `input` on the program's standard input (a pipe closed after it;
/// none: `/dev/null`).
fn run_on_host_with_input(
    described: &ostrog_init::Solution,
    task: &str,
    elf: &[u8],
    arch: Arch,
    input: &[u8],
) -> Result<Reference> {
    let Some(process) = described.processes.iter().find(|p| p.task == task) else {
        bail!("tests/linux/solution/init.yaml has no task {task}");
    };
    // In a folder of its own under its ROMFS name, which is also the working directory:
    // `./NAME` is then the same program on the host as on Ostrog (spawn-std starts itself).
    let dir = work_dir(arch)?.join("host");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = dir.join(&process.path);
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
    cmd.args(&process.args).env_clear().current_dir(&dir);
    cmd.envs(process.env.iter().map(|(k, v)| (k, v)));
    let out = if input.is_empty() {
        cmd.output()
    } else {
        use std::io::Write;
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().and_then(|mut child| {
            // Written from a thread, so that a program that prints before it reads cannot
            // block on a full pipe while this blocks on its full stdin.
            let mut stdin = child.stdin.take();
            let input = input.to_vec();
            let writer = std::thread::spawn(move || {
                if let Some(stdin) = stdin.as_mut() {
                    let _ = stdin.write_all(&input);
                }
            });
            let out = child.wait_with_output();
            let _ = writer.join();
            out
        })
    }
    .with_context(|| format!("cannot run {} on the host", file.display()))?;
    // A program ended by a signal ends on Ostrog with status 128 + the signal (as a shell
    // reports it).
    #[cfg(unix)]
    let signalled = std::os::unix::process::ExitStatusExt::signal(&out.status).map(|s| 128 + s);
    #[cfg(not(unix))]
    let signalled = None;
    let Some(status) = out.status.code().or(signalled) else {
        bail!("{} was killed on the host ({})", process.path, out.status);
    };
    Ok(Reference {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        status,
    })
}

/// The kernel's line for a process that ended with `status`.
fn exit_line(task: &str, status: i32) -> String {
    format!("[kernel] process {task} (class {task}) exited with status {status}")
}

/// Boots `image`; `Err` says what is wrong with the run (with its console). The console
/// must show `expect` in order, each of `anywhere` somewhere, none of `reject`, and for
/// each pair of `once` exactly one line holding both texts.
fn boot(
    arch: Arch,
    image: &Path,
    expect: &[String],
    anywhere: &[String],
    reject: &[&str],
    once: &[[&str; 2]],
) -> Result<String> {
    boot_typing(arch, image, expect, anywhere, reject, once, &[])
}

/// [`boot`], typing `input` on the serial console.
fn boot_typing(
    arch: Arch,
    image: &Path,
    expect: &[String],
    anywhere: &[String],
    reject: &[&str],
    once: &[[&str; 2]],
    input: &[Input],
) -> Result<String> {
    let mut machine = Machine::new(arch, solution::accel(arch), image);
    machine.input = input.to_vec();
    let run = machine.run_captured(Duration::from_secs(120), false)?;
    let mut problems = Vec::new();
    if let Some(line) = solution::first_missing(&run.console, expect) {
        problems.push(format!("console lacks (in order): {line:?}"));
    }
    for line in anywhere
        .iter()
        .filter(|l| !run.console.contains(l.as_str()))
    {
        problems.push(format!("console lacks {line:?}"));
    }
    for bad in reject.iter().filter(|r| run.console.contains(*r)) {
        problems.push(format!("console shows {bad:?}"));
    }
    for [a, b] in once {
        let n = run
            .console
            .lines()
            .filter(|l| l.contains(a) && l.contains(b))
            .count();
        if n != 1 {
            problems.push(format!("{n} lines with {a:?} and {b:?}, not one"));
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
}

/// Whether the test `label` is to run: all, or those whose label holds the text of
/// `OSTROG_LINUX_ONLY` (for working on one program).
fn wanted(label: &str) -> bool {
    std::env::var("OSTROG_LINUX_ONLY").map_or(true, |only| label.contains(&only))
}

/// Every Linux-program test of `arch`, as (name, passed, detail).
fn run_arch(arch: Arch) -> Vec<(String, bool, String)> {
    let mut results = Vec::new();
    let name = |what: &str| format!("linux::{arch}::{what}");
    let prepared = (|| -> Result<_> {
        let solution = Solution::open(&root().join("solution"))?;
        let described = ostrog_init::load(&solution.init_yaml, &ostrog_init::Options::default())
            .map_err(|d| anyhow::anyhow!("{} error(s) in init.yaml", d.len()))?;
        let mut rust = build_rust(&solution, arch)?;
        let hello_pie = build_hello_pie(&solution, arch, &rust)?;
        rust.push(("hello-std-pie".to_string(), hello_pie));
        let hello_c = build_hello_c(arch)?;
        if let Some(data) = &hello_c {
            if cargo_ostrog::linux::is_pie(data) {
                bail!("hello-c (musl-gcc -static) is PIE; it stands for the non-PIE C programs");
            }
        }
        // A program that starts others cannot run under qemu-user (its `execve` of an
        // AArch64 file fails without binfmt_misc): its reference is the host's build, which
        // prints the same (nothing it prints depends on the architecture).
        let spawn_host = match Arch::host() {
            Some(host) if host != arch => (build_std(&solution, host, "spawn-std")?, host),
            _ => (build_std(&solution, arch, "spawn-std")?, arch),
        };
        // pipes-std and pipes-c start themselves too: their references are the host's
        // builds; on Ostrog each runs as built for `arch` (pipes-c with zig cc on AArch64).
        let host = Arch::host().unwrap_or(arch);
        let pipes_host = (build_std(&solution, host, "pipes-std")?, host);
        let pipes_c = build_c(arch, "pipes-c", "pipes-c/pipes.c")?;
        let pipes_c_host = match host == arch {
            true => pipes_c.clone(),
            false => build_c(host, "pipes-c", "pipes-c/pipes.c")?,
        };
        // spawn-c starts AArch64 copies of itself, which qemu-user cannot run (no
        // binfmt_misc), and a C build differs by architecture: x86_64 only.
        let spawn_c = if arch == Arch::X86_64 {
            build_c(arch, "spawn-c", "spawn-c/spawn.c")?
        } else {
            None
        };
        // fork-c on both; its reference is the host's build (its forked child execs a copy
        // of itself, which qemu-user cannot run): nothing it prints depends on the
        // architecture.
        let fork_c = build_c(arch, "fork-c", "fork-c/fork.c")?;
        let fork_c_host = match Arch::host() {
            Some(host) if host != arch => (build_c(host, "fork-c", "fork-c/fork.c")?, host),
            _ => (fork_c.clone(), arch),
        };
        // signals-c: x86_64 only too (its reference would be qemu-user's signal handling).
        let signals_c = if arch == Arch::X86_64 {
            build_c(arch, "signals-c", "signals-c/signals.c")?
        } else {
            None
        };
        let pipes = (pipes_host, pipes_c, pipes_c_host.map(|c| (c, host)));
        // kill-c starts a copy of itself too: on AArch64 its reference is the host's x86_64
        // build (nothing it prints depends on the architecture), its image the AArch64 one.
        let kill_c = build_c(arch, "kill-c", "kill-c/kill.c")?;
        let kill_host = match Arch::host() {
            Some(host) if host != arch => {
                build_c(host, "kill-c", "kill-c/kill.c")?.map(|e| (e, host))
            }
            _ => kill_c.clone().map(|e| (e, arch)),
        };
        Ok((
            solution,
            described,
            rust,
            hello_c,
            spawn_host,
            spawn_c,
            signals_c,
            pipes,
            (fork_c, fork_c_host),
            (kill_c, kill_host),
        ))
    })();
    let (solution, described, rust, hello_c, spawn_host, spawn_c, signals_c, pipes, forks, kills) =
        match prepared {
            Ok(p) => p,
            Err(e) => {
                results.push((name("build"), false, format!("{e:#}")));
                return results;
            }
        };
    let mut extra = Vec::new();
    let mut absent = Vec::new();
    if let Some((name, data)) = rust.iter().find(|(n, _)| n == "hello-std-pie") {
        extra.push((name.clone(), data.clone()));
    }
    match &hello_c {
        Some(data) => extra.push(("hello-c".to_string(), data.clone())),
        None => absent.push("lx.HelloC".to_string()),
    }
    match &spawn_c {
        Some(data) => extra.push(("spawn-c".to_string(), data.clone())),
        None => absent.push("lx.SpawnC".to_string()),
    }
    match &signals_c {
        Some(data) => extra.push(("signals-c".to_string(), data.clone())),
        None => absent.push("lx.SignalsC".to_string()),
    }
    let (pipes_host, pipes_c, pipes_c_host) = pipes;
    match &pipes_c {
        Some(data) => extra.push(("pipes-c".to_string(), data.clone())),
        None => absent.push("lx.PipesC".to_string()),
    }
    let (fork_c, fork_c_host) = forks;
    match &fork_c {
        Some(data) => extra.push(("fork-c".to_string(), data.clone())),
        None => absent.extend(["lx.ForkC", FORK_REFUSED, FORK_OOM].map(String::from)),
    }
    let (kill_c, kill_host) = kills;
    match &kill_c {
        Some(data) => extra.push(("kill-c".to_string(), data.clone())),
        None => absent.push("lx.KillC".to_string()),
    }
    let mut statuses = Vec::new();
    for program in &PROGRAMS {
        // A program run by two entities is named with its task too.
        let label = match PROGRAMS.iter().filter(|p| p.path == program.path).count() {
            1 => name(&format!("{} output as on Linux", program.path)),
            _ => name(&format!(
                "{} ({}) output as on Linux",
                program.path, program.task
            )),
        };
        let elf = match program.path {
            "hello-c" => hello_c.as_ref().map(|e| (e, arch)),
            "spawn-std" => Some((&spawn_host.0, spawn_host.1)),
            "spawn-c" => spawn_c.as_ref().map(|e| (e, arch)),
            "pipes-std" => Some((&pipes_host.0, pipes_host.1)),
            "pipes-c" => pipes_c_host.as_ref().map(|(e, a)| (e, *a)),
            "signals-c" => signals_c.as_ref().map(|e| (e, arch)),
            "fork-c" => fork_c_host.0.as_ref().map(|e| (e, fork_c_host.1)),
            "kill-c" => kill_host.as_ref().map(|(e, a)| (e, *a)),
            path => rust.iter().find(|(n, _)| n == path).map(|(_, d)| (d, arch)),
        };
        let Some((elf, host_arch)) = elf else {
            continue;
        };
        if !wanted(&label) {
            continue;
        }
        let reference = match run_on_host(&described, program.task, elf, host_arch) {
            Ok(r) => r,
            Err(e) => {
                results.push((label, false, format!("on the host: {e:#}")));
                continue;
            }
        };
        let last = reference
            .stdout
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        statuses.push((program.task, reference.status, last));
        let outcome = (|| -> Result<String> {
            let mut leave_out: Vec<String> = PROGRAMS
                .iter()
                .filter(|p| p.task != program.task)
                .map(|p| p.task.to_string())
                .collect();
            leave_out.extend(
                [
                    DENIED,
                    SPAWN_REFUSED,
                    NO_EXEC.task,
                    BENCH.task,
                    FORK_REFUSED,
                    FORK_OOM,
                ]
                .map(String::from),
            );
            leave_out.extend(CONSOLE_TASKS.map(String::from));
            leave_out.extend(crate::files::TASKS.map(String::from));
            let options = BuildOptions {
                extra: extra.clone(),
                leave_out,
            };
            let image = solution::build_with(&solution, arch, &options)?;
            let mut expect: Vec<String> = reference.stdout.lines().map(String::from).collect();
            if expect.is_empty() {
                bail!("{} printed nothing on the host", program.path);
            }
            expect.push(exit_line(program.task, reference.status));
            // unknown-call's two calls of number 1000: one audit record, with its class.
            let once: &[[&str; 2]] = match program.task {
                "lx.Unknown" => &[["[audit] note lx.Unknown(", "system call 1000 "]],
                _ => &[],
            };
            boot(arch, &image, &expect, &[], &["panicked at", "KERNEL"], once)
        })();
        match outcome {
            Ok(detail) => results.push((label, true, detail)),
            Err(e) => results.push((label, false, format!("{e:#}"))),
        }
    }
    // exec-denied: executable memory refused by the policy once it runs, each refusal
    // audited, and the program goes on.
    let label = name("exec-denied: executable memory denied by the policy, EPERM, audited");
    let outcome = (|| -> Result<String> {
        if !wanted(&label) {
            return Ok("skipped (OSTROG_LINUX_ONLY)".into());
        }
        let mut leave_out: Vec<String> = PROGRAMS.iter().map(|p| p.task.to_string()).collect();
        leave_out.extend([DENIED, BENCH.task, FORK_REFUSED, FORK_OOM].map(String::from));
        leave_out.extend(CONSOLE_TASKS.map(String::from));
        leave_out.extend(crate::files::TASKS.map(String::from));
        let options = BuildOptions {
            extra: Vec::new(),
            leave_out,
        };
        let image = solution::build_with(&solution, arch, &options)?;
        let mut expect: Vec<String> = NO_EXEC_LINES.iter().map(|l| l.to_string()).collect();
        expect.push(exit_line(NO_EXEC.task, 0));
        let denied = "[audit] denied request lx.NoExec(";
        let once = [
            [denied, " vmm.Allocate:"],
            [denied, " vmm.AllocateAt:"],
            [denied, " vmm.Protect:"],
        ];
        boot(
            arch,
            &image,
            &expect,
            &[],
            &["panicked at", "KERNEL"],
            &once,
        )
    })();
    match outcome {
        Ok(detail) => results.push((label, true, detail)),
        Err(e) => results.push((label, false, format!("{e:#}"))),
    }
    // fork-c as lx.ForkRefused and lx.ForkOom, side by side: a copy whose start is denied
    // (audited) and forks beyond a memory limit fail, and leave nothing behind.
    let label = name(
        "fork-c: fork refused by the policy (EAGAIN, audited), beyond the memory limit (ENOMEM)",
    );
    if fork_c.is_some() && wanted(&label) {
        let outcome = (|| -> Result<String> {
            let mut leave_out: Vec<String> = PROGRAMS.iter().map(|p| p.task.to_string()).collect();
            leave_out.extend([DENIED, SPAWN_REFUSED, NO_EXEC.task, BENCH.task].map(String::from));
            leave_out.extend(CONSOLE_TASKS.map(String::from));
            leave_out.extend(crate::files::TASKS.map(String::from));
            let options = BuildOptions {
                extra: extra.clone(),
                leave_out,
            };
            let image = solution::build_with(&solution, arch, &options)?;
            let mut anywhere: Vec<String> = FORK_REFUSED_LINES
                .iter()
                .chain(FORK_OOM_LINES.iter())
                .map(|l| l.to_string())
                .collect();
            anywhere.push(exit_line(FORK_REFUSED, 0));
            anywhere.push(exit_line(FORK_OOM, 0));
            // Nothing of the refused and failed copies is left.
            anywhere.push("memory: every frame the programs used is free again".into());
            let once = [[
                "[audit] denied execute lx.ForkRefused(",
                "-> lx.ForkRefused(",
            ]];
            boot(
                arch,
                &image,
                &[],
                &anywhere,
                &["panicked at", "KERNEL", "succeeded", "more than before"],
                &once,
            )
        })();
        match outcome {
            Ok(detail) => results.push((label, true, detail)),
            Err(e) => results.push((label, false, format!("{e:#}"))),
        }
    }
    // The whole solution: the programs side by side, and the denied start.
    let label = name("solution: programs side by side, lx.Denied refused");
    let outcome = (|| -> Result<String> {
        if !wanted(&label) {
            return Ok("skipped (OSTROG_LINUX_ONLY)".into());
        }
        let mut leave_out = absent.clone();
        leave_out.push(BENCH.task.to_string());
        // It fills its memory limit on purpose: not next to everything else in 256 MiB.
        leave_out.push(FORK_OOM.to_string());
        leave_out.extend(CONSOLE_TASKS.map(String::from));
        leave_out.extend(crate::files::TASKS.map(String::from));
        let options = BuildOptions {
            extra: extra.clone(),
            leave_out,
        };
        let image = solution::build_with(&solution, arch, &options)?;
        let present = PROGRAMS
            .iter()
            .filter(|p| !absent.iter().any(|a| a == p.task))
            .count();
        if statuses.len() < present {
            bail!("a program did not run on the host; the whole solution is not tried");
        }
        // The denied start, its audit record (Klog prints it), and each program's end, in
        // whatever order they run.
        let expect = vec![
            format!("[kernel] start of {DENIED} "),
            "denied by the security policy".to_string(),
            format!("Einit: cannot start {DENIED}"),
            "all processes have ended; powering off".to_string(),
        ];
        let mut anywhere: Vec<String> = Vec::new();
        for (task, status, last) in &statuses {
            anywhere.push(last.clone());
            anywhere.push(exit_line(task, *status));
        }
        anywhere.push("[audit] denied execute Einit(".to_string());
        anywhere.push(format!("-> {DENIED}("));
        // spawn-std's children run as its class; as lx.SpawnRefused it may not start any.
        anywhere.push("[kernel] process spawn-std (class lx.Spawn) exited with status 7".into());
        anywhere.push("spawn-std: refused: PermissionDenied".into());
        anywhere.push(format!("[audit] denied execute {SPAWN_REFUSED}("));
        anywhere.push(format!("-> {SPAWN_REFUSED}("));
        anywhere.push(exit_line(SPAWN_REFUSED, 0));
        anywhere.push(NO_EXEC_LINES[NO_EXEC_LINES.len() - 1].to_string());
        if fork_c.is_some() {
            anywhere.push(FORK_REFUSED_LINES[0].to_string());
            anywhere.push(exit_line(FORK_REFUSED, 0));
            anywhere.push(format!("[audit] denied execute {FORK_REFUSED}("));
        }
        anywhere.push(exit_line(NO_EXEC.task, 0));
        boot(
            arch,
            &image,
            &expect,
            &anywhere,
            &["panicked at", "KERNEL"],
            &[],
        )
    })();
    match outcome {
        Ok(detail) => results.push((label, true, detail)),
        Err(e) => results.push((label, false, format!("{e:#}"))),
    }
    results
}

/// The PAL tests of the solution at `dir` as one result, `PREFIX::PAL tests`: passed when
/// there are some and none fails.
pub(crate) fn pal_tests(prefix: &str, dir: &Path) -> (String, bool, String) {
    let label = format!("{prefix}::PAL tests");
    let mut out = Vec::new();
    match ostrog_policy::pal_test_cli(dir, &mut out) {
        Ok((passed, failed)) => (
            label,
            failed == 0 && passed > 0,
            format!("{passed} passed, {failed} failed"),
        ),
        Err(e) => (label, false, format!("{e:#}")),
    }
}

/// The PAL tests of the test solution's policy, then every test on each architecture.
/// (`cargo xtask test` has installed musl-gcc and qemu-user before.)
pub fn run() -> Vec<(String, bool, String)> {
    let mut results = vec![pal_tests("linux", &root().join("solution"))];
    for arch in Arch::ALL {
        results.extend(run_arch(arch));
        results.extend(console_tests(arch));
    }
    // Working on some programs (`OSTROG_LINUX_ONLY`): the rest is left out.
    if std::env::var_os("OSTROG_LINUX_ONLY").is_none() {
        results.extend(crate::files::run());
        results.extend(crate::busybox::run());
        results.extend(template());
        results.extend(crate::conformance::run());
    }
    results
}

/// The console-input tests alone (`cargo xtask test --example console`; `--example linux`
/// runs them too): the solution's PAL tests, then [`console_tests`] on each architecture.
pub fn run_console() -> Vec<(String, bool, String)> {
    let mut results = vec![pal_tests("linux", &root().join("solution"))];
    for arch in Arch::ALL {
        results.extend(console_tests(arch));
    }
    results
}

/// The programs that read console input, on `arch`: stdin-std (Rust `std`,
/// `stdin().lines()`) and stdin-c (musl C, `fgets` and `scanf`), each booted alone with its
/// input typed on the serial line after its prompts, must print what they print on the host
/// fed the same input ([`host_input`]) and end with the same status; stdin-std as
/// `lx.NoConsole`, whose `console.Read` the policy denies, fails its read with
/// `PermissionDenied` (EACCES), ends with status 1, and the denial is audited once.
fn console_tests(arch: Arch) -> Vec<(String, bool, String)> {
    let mut results = Vec::new();
    let name = |what: &str| format!("linux::{arch}::{what}");
    let prepared = (|| -> Result<_> {
        let solution = Solution::open(&root().join("solution"))?;
        let described = ostrog_init::load(&solution.init_yaml, &ostrog_init::Options::default())
            .map_err(|d| anyhow::anyhow!("{} error(s) in init.yaml", d.len()))?;
        let stdin_std = build_std(&solution, arch, "stdin-std")?;
        let stdin_c =
            build_c(arch, "stdin-c", "stdin-c/stdin.c")?.context("stdin-c was not built")?;
        Ok((solution, described, stdin_std, stdin_c))
    })();
    let (solution, described, stdin_std, stdin_c) = match prepared {
        Ok(p) => p,
        Err(e) => {
            results.push((name("console input: build"), false, format!("{e:#}")));
            return results;
        }
    };
    // Every Linux entity but `task` left out.
    let alone = |task: &str| -> Vec<String> {
        described
            .processes
            .iter()
            .filter(|p| {
                (p.linux && p.task != task) || crate::files::TASKS.contains(&p.task.as_str())
            })
            .map(|p| p.task.clone())
            .collect()
    };
    let extra = vec![("stdin-c".to_string(), stdin_c.clone())];
    let reject = ["panicked at", "KERNEL"];
    for program in &TYPED {
        let label = name(&format!("{} reads console input as on Linux", program.path));
        let elf = match program.path {
            "stdin-c" => &stdin_c,
            _ => &stdin_std,
        };
        let outcome = (|| -> Result<String> {
            let input = host_input(program.input);
            let reference = run_on_host_with_input(&described, program.task, elf, arch, &input)?;
            let options = BuildOptions {
                extra: extra.clone(),
                leave_out: alone(program.task),
            };
            let image = solution::build_with(&solution, arch, &options)?;
            let mut expect: Vec<String> = reference.stdout.lines().map(String::from).collect();
            if expect.len() < 3 {
                bail!(
                    "{} printed too little on the host:\n{}",
                    program.path,
                    reference.stdout
                );
            }
            expect.push(exit_line(program.task, reference.status));
            let typed: Vec<Input> = program
                .input
                .iter()
                .map(|(after, text)| Input {
                    after: Some(after.to_string()),
                    bytes: text.as_bytes().to_vec(),
                })
                .collect();
            boot_typing(arch, &image, &expect, &[], &reject, &[], &typed)
        })();
        match outcome {
            Ok(detail) => results.push((label, true, detail)),
            Err(e) => results.push((label, false, format!("{e:#}"))),
        }
    }
    let outcome = (|| -> Result<String> {
        let options = BuildOptions {
            extra: Vec::new(),
            leave_out: alone(NO_CONSOLE),
        };
        let image = solution::build_with(&solution, arch, &options)?;
        let expect = [
            "stdin-std: type lines, then Ctrl-D",
            "stdin-std: read error: PermissionDenied",
        ]
        .map(String::from)
        .into_iter()
        .chain([exit_line(NO_CONSOLE, 1)])
        .collect::<Vec<_>>();
        let typed = [Input {
            after: Some("stdin-std: type lines, then Ctrl-D".into()),
            bytes: b"never read\r".to_vec(),
        }];
        let once = [["[audit] denied request lx.NoConsole(", " console.Read:"]];
        boot_typing(arch, &image, &expect, &[], &reject, &once, &typed)
    })();
    let label = name("stdin-std as lx.NoConsole: console.Read denied, EACCES, audited");
    match outcome {
        Ok(detail) => results.push((label, true, detail)),
        Err(e) => results.push((label, false, format!("{e:#}"))),
    }
    results
}

/// `cargo ostrog new --linux` (the example of `docs/linux.md`): created afresh, its PAL
/// tests and its scenario test on each architecture.
fn template() -> Vec<(String, bool, String)> {
    let mut results = Vec::new();
    let created = (|| -> Result<Solution> {
        let dir = cargo_ostrog::kernel::target_dir()?
            .join("ostrog")
            .join("linux-test")
            .join("new-linux");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        cargo_ostrog::template::create_from(&dir, cargo_ostrog::template::Template::Linux)?;
        let solution = Solution::open(&dir)?;
        let (passed, failed) = ostrog_policy::pal_test_cli(&dir, &mut Vec::new())?;
        if failed > 0 || passed == 0 {
            bail!("PAL tests: {passed} passed, {failed} failed");
        }
        Ok(solution)
    })();
    let solution = match created {
        Ok(s) => s,
        Err(e) => {
            results.push(("linux::new --linux".into(), false, format!("{e:#}")));
            return results;
        }
    };
    for arch in Arch::ALL {
        let label = format!("linux::{arch}::new --linux scenario");
        let mut out = Vec::new();
        match solution::run_scenarios(&solution, arch, &mut out) {
            Ok((passed, 0)) if passed > 0 => results.push((label, true, String::new())),
            Ok((passed, failed)) => results.push((
                label,
                false,
                format!(
                    "{passed} passed, {failed} failed\n{}",
                    String::from_utf8_lossy(&out)
                ),
            )),
            Err(e) => results.push((label, false, format!("{e:#}"))),
        }
    }
    results
}
