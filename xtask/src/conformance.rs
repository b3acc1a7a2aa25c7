//! The conformance suite of issue 13 (`tests/linux/conformance/`): small static Linux
//! programs, C and Rust, each checking a few calls case by case, must print on Ostrog what
//! they print on Linux.
//!
//! Every case prints one line, `PROGRAM: ok CASE` or `PROGRAM: FAIL CASE: got G expected E`,
//! and each program ends with `PROGRAM: done N cases, F failed`. For each architecture:
//!
//! 1. the C programs (`c/*.c`) are built static: with Debian's `musl-gcc` for x86_64, with
//!    `zig cc -target aarch64-linux-musl` for AArch64 (Zig is installed with pip when
//!    missing); the Rust ones are the binaries of `rs/`, built as `cargo ostrog` builds them;
//! 2. each program runs on the host (natively, or under `qemu-aarch64`): every case must
//!    pass there, which makes its expectation Linux's behaviour;
//! 3. all of them boot side by side in one image of `conformance/solution`: each program's
//!    lines on the console must be the host's, in order, except the cases of
//!    [`KNOWN_GAPS`], which must *fail* on Ostrog (so the test notices when a gap closes:
//!    the entry must then go), and each program must end with status 0. On AArch64 the
//!    host run is qemu-user, which answers a few calls unlike Linux
//!    ([`QEMU_USER_DEVIATIONS`]): the host may fail those cases, Ostrog must pass them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Ending, Machine};
use cargo_ostrog::solution::{self, BuildOptions, Solution};

/// One conformance program.
struct Program {
    /// Its task (and class) in `init.yaml`.
    task: &'static str,
    /// Its ROMFS path and the prefix of its lines.
    path: &'static str,
    /// The C source under `c/`; `None` for a binary of the Rust crate `rs/`.
    c_source: Option<&'static str>,
}

const PROGRAMS: [Program; 14] = [
    Program {
        task: "cf.CIo",
        path: "c-io",
        c_source: Some("io.c"),
    },
    Program {
        task: "cf.CMem",
        path: "c-mem",
        c_source: Some("mem.c"),
    },
    Program {
        task: "cf.CProc",
        path: "c-proc",
        c_source: Some("proc.c"),
    },
    Program {
        task: "cf.CTime",
        path: "c-time",
        c_source: Some("time.c"),
    },
    Program {
        task: "cf.CThread",
        path: "c-thread",
        c_source: Some("thread.c"),
    },
    // Files on the VFS server (docs/files.md).
    Program {
        task: "cf.CFiles",
        path: "c-files",
        c_source: Some("files.c"),
    },
    // One descriptor table: files onto 0-2, fcntl, poll on files (docs/linux.md).
    Program {
        task: "cf.CFds",
        path: "c-fds",
        c_source: Some("fds.c"),
    },
    // umask, chmod, chown, utimensat (docs/linux.md, "Files").
    Program {
        task: "cf.CAttr",
        path: "c-attr",
        c_source: Some("attr.c"),
    },
    Program {
        task: "cf.CFork",
        path: "c-fork",
        c_source: Some("fork.c"),
    },
    // getaddrinfo and getnameinfo through /etc/hosts (docs/linux.md, "Names").
    Program {
        task: "cf.CNames",
        path: "c-names",
        c_source: Some("names.c"),
    },
    Program {
        task: "cf.RsIo",
        path: "rs-io",
        c_source: None,
    },
    Program {
        task: "cf.RsMem",
        path: "rs-mem",
        c_source: None,
    },
    Program {
        task: "cf.RsMisc",
        path: "rs-misc",
        c_source: None,
    },
    Program {
        task: "cf.RsStd",
        path: "rs-std",
        c_source: None,
    },
];

/// Cases that pass on Linux and are known to fail on Ostrog: (program, case, why). Each
/// must fail on Ostrog on both architectures; one that passes makes the test fail until
/// its entry is removed. `docs/linux.md` lists them.
pub const KNOWN_GAPS: &[(&str, &str, &str)] = &[];

/// Cases where `qemu-aarch64` (Debian's qemu-user), the AArch64 reference, does not do what
/// Linux does: (program, case, what qemu-user does). The host run may fail them; Ostrog
/// must still pass them (the same cases pass natively on x86_64, and the kernel's code
/// for them is the same on both architectures).
pub const QEMU_USER_DEVIATIONS: &[(&str, &str, &str)] = &[
    (
        "c-io",
        "ioctl_unknown_request_enotty",
        "ENOSYS for unknown ioctls",
    ),
    (
        "rs-io",
        "ioctl_unknown_request_enotty",
        "ENOSYS for unknown ioctls",
    ),
    ("c-mem", "mmap_fixed_noreplace_eexist", "maps elsewhere"),
    (
        "rs-mem",
        "mmap_fixed_noreplace_taken_eexist",
        "maps elsewhere",
    ),
    (
        "c-mem",
        "madvise_unknown_advice_einval",
        "madvise does nothing: 0",
    ),
    (
        "rs-mem",
        "madvise_bad_advice_einval",
        "madvise does nothing: 0",
    ),
    (
        "c-mem",
        "madvise_unmapped_enomem",
        "madvise does nothing: 0",
    ),
    (
        "rs-mem",
        "madvise_unmapped_enomem",
        "madvise does nothing: 0",
    ),
    ("c-time", "nanosleep_bad_pointer_efault", "EINVAL"),
    ("rs-misc", "set_robust_list_bad_size_einval", "ENOSYS"),
    ("rs-misc", "set_robust_list", "ENOSYS"),
];

fn root() -> PathBuf {
    cargo_ostrog::source_root().join("tests/linux/conformance")
}

/// Builds the C program `source` for `arch` as `name` (a static executable): with
/// Debian's `musl-gcc` for an x86_64 host's own architecture, with `zig cc` otherwise.
pub(crate) fn build_c(arch: Arch, source: &std::path::Path, name: &str) -> Result<Vec<u8>> {
    let out = crate::linux::work_dir(arch)?.join(name);
    let mut cmd = match arch {
        Arch::X86_64 if Arch::host() == Some(Arch::X86_64) => Command::new("musl-gcc"),
        _ => {
            let zig = cargo_ostrog::kernel::target_dir()?
                .join("ostrog")
                .join("zig");
            let mut cmd = cargo_ostrog::setup::zig_cc(&zig)?;
            let target = match arch {
                Arch::X86_64 => "x86_64-linux-musl",
                Arch::Aarch64 => "aarch64-linux-musl",
            };
            cmd.args(["-target", target]);
            cmd
        }
    };
    cmd.args(["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .arg(source)
        .arg("-lpthread");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run the C compiler for {arch} ({cmd:?})"))?;
    if !status.success() {
        bail!(
            "the C compiler could not build {} for {arch}",
            source.display()
        );
    }
    let data = std::fs::read(&out).with_context(|| format!("cannot read {}", out.display()))?;
    cargo_ostrog::linux::check_elf(&out, &data, arch)?;
    Ok(data)
}

/// Builds every program for `arch`: (path, executable).
fn build_all(solution: &Solution, arch: Arch) -> Result<Vec<(String, Vec<u8>)>> {
    let mut built = Vec::new();
    for p in PROGRAMS.iter() {
        if let Some(source) = p.c_source {
            let source = root().join("c").join(source);
            built.push((p.path.to_string(), build_c(arch, &source, p.path)?));
        }
    }
    let target = cargo_ostrog::kernel::target_dir()?
        .join("ostrog")
        .join("solutions-target");
    let _lock = cargo_ostrog::kernel::lock_target(&target)?;
    let bins: Vec<String> = PROGRAMS
        .iter()
        .filter(|p| p.c_source.is_none())
        .map(|p| p.path.to_string())
        .collect();
    built.extend(cargo_ostrog::linux::build_binaries(
        &solution.dir.join("Cargo.toml"),
        &target,
        &bins,
        arch,
    )?);
    Ok(built)
}

/// What one program's comparison found.
#[derive(Debug, PartialEq)]
pub struct Tally {
    /// Cases the program ran.
    pub cases: usize,
    /// Cases whose line on Ostrog is the host's.
    pub passed: usize,
    /// Known gaps that failed on Ostrog as expected.
    pub gaps: usize,
}

/// The lines of `text` that belong to `program`, without carriage returns.
fn lines_of<'a>(text: &'a str, program: &str) -> Vec<&'a str> {
    let prefix = format!("{program}: ");
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.starts_with(&prefix))
        .collect()
}

/// Compares `program`'s lines in the host's output with those on Ostrog's `console`,
/// given its known gaps and the cases where the host run deviates from Linux (case names).
pub fn compare(
    program: &str,
    host: &str,
    console: &str,
    gaps: &[&str],
    deviations: &[&str],
) -> Result<Tally> {
    let host = lines_of(host, program);
    let ostrog = lines_of(console, program);
    let mut tally = Tally {
        cases: 0,
        passed: 0,
        gaps: 0,
    };
    let Some(last) = host.last() else {
        bail!("{program} printed nothing on the host");
    };
    let ok = format!("{program}: ok ");
    let fail = format!("{program}: FAIL ");
    let done = format!("{program}: done ");
    // The case of a FAIL line, if the host run may fail it.
    let deviation = |line: &str| {
        let case = line.strip_prefix(&fail)?.split(':').next()?;
        deviations.iter().find(|d| **d == case).copied()
    };
    let host_failed = host.iter().filter(|l| l.starts_with(&fail)).count();
    if let Some(failed) = host
        .iter()
        .find(|l| l.starts_with(&fail) && deviation(l).is_none())
    {
        bail!("a case fails on the host, so its expectation is not Linux's: {failed:?}");
    }
    if !last.starts_with(&done) || !last.ends_with(&format!(" cases, {host_failed} failed")) {
        bail!("on the host, {program} does not end as expected: {last:?}");
    }
    for gap in gaps {
        if !host.contains(&format!("{ok}{gap}").as_str()) {
            bail!("known gap {program}/{gap} is not a case that passes on the host");
        }
    }
    let mut problems = Vec::new();
    for (i, want) in host.iter().enumerate() {
        let Some(got) = ostrog.get(i) else {
            problems.push(format!("Ostrog's output ends before {want:?}"));
            break;
        };
        let case = want.strip_prefix(&ok).or_else(|| deviation(want));
        if let Some(case) = case {
            tally.cases += 1;
            let want = format!("{ok}{case}");
            let gap = gaps.contains(&case);
            let failed = got.starts_with(&format!("{fail}{case}: "));
            match (*got == want, gap, failed) {
                (true, false, _) => tally.passed += 1,
                (true, true, _) => problems.push(format!(
                    "known gap {program}/{case} now passes: remove it from KNOWN_GAPS"
                )),
                (false, true, true) => tally.gaps += 1,
                _ => problems.push(format!("expected {want:?}, Ostrog printed {got:?}")),
            }
        } else if want.starts_with(&done) {
            let expected = format!("{done}{} cases, {} failed", tally.cases, tally.gaps);
            if *got != expected {
                problems.push(format!("expected {expected:?}, Ostrog printed {got:?}"));
            }
        } else if got != want {
            problems.push(format!("expected {want:?}, Ostrog printed {got:?}"));
        }
    }
    if ostrog.len() > host.len() {
        problems.push(format!("Ostrog printed more: {:?}", &ostrog[host.len()..]));
    }
    match problems.is_empty() {
        true => Ok(tally),
        false => bail!("{}", problems.join("\n")),
    }
}

/// The suite on `arch`, as (name, passed, detail).
fn run_arch(arch: Arch) -> Vec<(String, bool, String)> {
    let name = |what: &str| format!("conformance::{arch}::{what}");
    let mut results = Vec::new();
    let prepared = (|| -> Result<_> {
        let solution = Solution::open(&root().join("solution"))?;
        let described = ostrog_init::load(&solution.init_yaml, &ostrog_init::Options::default())
            .map_err(|d| anyhow::anyhow!("{} error(s) in init.yaml", d.len()))?;
        let built = build_all(&solution, arch)?;
        let image = solution::build_with(
            &solution,
            arch,
            &BuildOptions {
                extra: built
                    .iter()
                    .filter(|(p, _)| PROGRAMS.iter().any(|q| q.c_source.is_some() && q.path == p))
                    .cloned()
                    .collect(),
                leave_out: Vec::new(),
            },
        )?;
        Ok((described, built, image))
    })();
    let (described, built, image) = match prepared {
        Ok(p) => p,
        Err(e) => {
            results.push((name("build"), false, format!("{e:#}")));
            return results;
        }
    };
    let mut host = BTreeMap::new();
    for (path, elf) in &built {
        let Some(program) = PROGRAMS.iter().find(|p| p.path == path) else {
            continue;
        };
        match crate::linux::run_on_host(&described, program.task, elf, arch) {
            Ok(r) if r.status == 0 => {
                host.insert(program.path, r.stdout);
            }
            Ok(r) => results.push((
                name(program.path),
                false,
                format!("exit status {} on the host:\n{}", r.status, r.stdout),
            )),
            Err(e) => results.push((name(program.path), false, format!("on the host: {e:#}"))),
        }
    }
    let mut machine = Machine::new(arch, solution::accel(arch), &image);
    // c-io and rs-io each read standard input twice (read, readv) and expect end of file,
    // as from /dev/null on the host: on Ostrog's console that is a Ctrl-D per read, typed
    // at boot (the kernel keeps them until read; each read takes one).
    machine.input = vec![cargo_ostrog::qemu::Input {
        after: None,
        bytes: b"\x04\x04\x04\x04".to_vec(),
    }];
    let run = match machine.run_captured(Duration::from_secs(300), false) {
        Ok(run) => run,
        Err(e) => {
            results.push((name("boot"), false, format!("{e:#}")));
            return results;
        }
    };
    let console = run.console.replace('\r', "");
    let mut total = Tally {
        cases: 0,
        passed: 0,
        gaps: 0,
    };
    for program in PROGRAMS.iter() {
        let Some(stdout) = host.get(program.path) else {
            continue;
        };
        let gaps: Vec<&str> = KNOWN_GAPS
            .iter()
            .filter(|g| g.0 == program.path)
            .map(|g| g.1)
            .collect();
        let deviations: Vec<&str> = QEMU_USER_DEVIATIONS
            .iter()
            .filter(|d| d.0 == program.path && Arch::host() != Some(arch))
            .map(|d| d.1)
            .collect();
        let outcome = compare(program.path, stdout, &console, &gaps, &deviations).and_then(|t| {
            let exit = format!(
                "[kernel] process {0} (class {0}) exited with status 0",
                program.task
            );
            match console.contains(&exit) {
                true => Ok(t),
                false => bail!("the console lacks {exit:?}"),
            }
        });
        match outcome {
            Ok(t) => {
                results.push((
                    name(&format!("{} as on Linux", program.path)),
                    true,
                    format!("{} of {} cases, {} known gaps", t.passed, t.cases, t.gaps),
                ));
                total.cases += t.cases;
                total.passed += t.passed;
                total.gaps += t.gaps;
            }
            Err(e) => results.push((
                name(&format!("{} as on Linux", program.path)),
                false,
                format!("{e:#}\n---- console ----\n{console}----"),
            )),
        }
    }
    let powered_off = matches!(run.ending, Ending::PoweredOff(0));
    results.push((
        name("all programs ended, machine powered off"),
        powered_off,
        format!("{:?} in {:.1}s", run.ending, run.elapsed.as_secs_f64()),
    ));
    eprintln!(
        "conformance {arch}: {} of {} cases pass as on Linux, {} known gaps fail as listed",
        total.passed, total.cases, total.gaps
    );
    results
}

/// The PAL tests of the suite's policy, then the suite on each architecture.
pub fn run() -> Vec<(String, bool, String)> {
    let mut results = vec![crate::linux::pal_tests(
        "conformance",
        &root().join("solution"),
    )];
    for arch in Arch::ALL {
        results.extend(run_arch(arch));
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "p: ok a\np: text\np: ok b\np: done 2 cases, 0 failed\n";

    #[test]
    fn same_lines_pass() {
        let console =
            "[kernel] x\np: ok a\r\nq: ok z\np: text\np: ok b\np: done 2 cases, 0 failed\n";
        let t = compare("p", HOST, console, &[], &[]).unwrap();
        assert_eq!(
            t,
            Tally {
                cases: 2,
                passed: 2,
                gaps: 0
            }
        );
    }

    #[test]
    fn a_failing_case_or_missing_line_fails() {
        let console = "p: ok a\np: text\np: FAIL b: got 1 expected 2\np: done 2 cases, 1 failed\n";
        assert!(compare("p", HOST, console, &[], &[]).is_err());
        assert!(compare("p", HOST, "p: ok a\np: text\n", &[], &[]).is_err());
    }

    #[test]
    fn known_gaps_must_fail() {
        let console = "p: ok a\np: text\np: FAIL b: got 1 expected 2\np: done 2 cases, 1 failed\n";
        let t = compare("p", HOST, console, &["b"], &[]).unwrap();
        assert_eq!((t.passed, t.gaps), (1, 1));
        assert!(compare("p", HOST, HOST, &["b"], &[]).is_err());
        assert!(compare("p", HOST, console, &["nosuch"], &[]).is_err());
    }

    #[test]
    fn a_failure_on_the_host_fails() {
        let host = "p: FAIL a: got 1 expected 2\np: done 1 cases, 1 failed\n";
        assert!(compare("p", host, host, &[], &[]).is_err());
    }

    #[test]
    fn host_deviations_must_pass_on_ostrog() {
        let host = "p: ok a\np: FAIL b: got -38 expected -25\np: done 2 cases, 1 failed\n";
        let good = "p: ok a\np: ok b\np: done 2 cases, 0 failed\n";
        let t = compare("p", host, good, &[], &["b"]).unwrap();
        assert_eq!((t.cases, t.passed), (2, 2));
        assert!(compare("p", host, host, &[], &["b"]).is_err());
        assert!(compare("p", host, good, &[], &[]).is_err());
    }
}
