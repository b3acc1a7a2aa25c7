//! `cargo xtask fuzz`: the fuzzers of issue 17, runnable by anyone.
//!
//! - `cargo xtask fuzz list`: the targets.
//! - `cargo xtask fuzz TARGET [--time SECS]`: one `cargo fuzz` target (default 60 s) of the
//!   crates `fuzz/` (parsers: PSL, init.yaml, the Einit table, EDL/CDL/IDL, ELF, ROMFS;
//!   and the security engine against the reference evaluator) and `idl/fuzz` (the generated decoders and dispatchers, and the validator against them).
//!   Its corpus grows in `target/fuzz/corpus/TARGET` from run to run, seeded from the
//!   repository's own files of that kind; crashes land in the crate's `artifacts/TARGET/`.
//! - `cargo xtask fuzz kernel [--arch A] [--calls N] [--seed S]`: the kernel fuzzer in QEMU
//!   (`tests/kernel/programs/selftest/src/bin/kfuzz.rs`), checked as its scenario
//!   `random_system_calls_from_many_processes_leave_the_kernel_whole` is. On a failure it
//!   prints the seed and looks for the shortest prefix of the call sequence that still fails
//!   (by halving the call count).
//!
//! The fuzz crates are outside the workspace: cargo-fuzz needs a nightly toolchain (or
//! `RUSTC_BOOTSTRAP=1` on the stable one, used when nightly cannot be installed), which the
//! normal build and `cargo xtask test` never need.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;

/// A `cargo fuzz` target: its name, its crate (from the source root), and where its seeds
/// come from (folders searched recursively for files with one of the extensions, and for
/// `spec` a first byte naming the language).
struct Target {
    name: &'static str,
    krate: &'static str,
    seeds: &'static [(&'static str, &'static [&'static str])],
}

const TARGETS: [Target; 10] = [
    Target {
        name: "psl",
        krate: "fuzz",
        seeds: &[("policy/tests", &["psl"]), ("examples", &["psl"])],
    },
    Target {
        name: "init_yaml",
        krate: "fuzz",
        seeds: &[
            ("init/tests", &["yaml"]),
            ("examples", &["yaml"]),
            ("tests", &["yaml"]),
        ],
    },
    Target {
        name: "einit_table",
        krate: "fuzz",
        seeds: &[],
    },
    Target {
        name: "spec",
        krate: "fuzz",
        seeds: &[
            ("idl/tests", &["idl", "edl", "cdl"]),
            ("sysroot", &["idl", "edl", "cdl"]),
        ],
    },
    Target {
        name: "elf",
        krate: "fuzz",
        seeds: &[("loader/tests", &["elf"])],
    },
    Target {
        name: "romfs",
        krate: "fuzz",
        seeds: &[],
    },
    Target {
        name: "engine",
        krate: "fuzz",
        seeds: &[],
    },
    Target {
        name: "dispatch",
        krate: "idl/fuzz",
        seeds: &[],
    },
    Target {
        name: "decode",
        krate: "idl/fuzz",
        seeds: &[],
    },
    Target {
        name: "validate",
        krate: "idl/fuzz",
        seeds: &[],
    },
];

/// The kernel fuzzer's scenario: what a run must show.
const KERNEL_SCENARIO: &str = "random_system_calls_from_many_processes_leave_the_kernel_whole";

pub fn run(args: &[String]) -> Result<bool> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.first() {
        Some(&"list") => {
            for t in &TARGETS {
                println!("{} ({})", t.name, t.krate);
            }
            println!("kernel (QEMU)");
            Ok(true)
        }
        Some(&"kernel") => kernel(&args[1..]),
        Some(name) => {
            let target = TARGETS
                .iter()
                .find(|t| t.name == *name)
                .with_context(|| format!("no fuzz target {name} (cargo xtask fuzz list)"))?;
            let secs = match args[1..] {
                [] => 60,
                ["--time", secs] => secs.parse().context("--time SECS")?,
                _ => bail!("usage: cargo xtask fuzz TARGET [--time SECS]"),
            };
            parser(target, secs)
        }
        None => bail!(
            "usage: cargo xtask fuzz list | TARGET [--time SECS] | kernel [--arch A] \
             [--calls N] [--seed S]"
        ),
    }
}

/// How to reach cargo-fuzz: with `+nightly`, or with `RUSTC_BOOTSTRAP=1` on the stable
/// toolchain when nightly cannot be installed.
fn fuzz_command() -> Result<Command> {
    let has_nightly = |_: ()| {
        Command::new("rustup")
            .args(["run", "nightly", "rustc", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let nightly = has_nightly(())
        || (Command::new("rustup")
            .args(["toolchain", "install", "nightly", "--profile", "minimal"])
            .status()
            .is_ok_and(|s| s.success())
            && has_nightly(()));
    let has_fuzz = || {
        Command::new("cargo")
            .args(["fuzz", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has_fuzz() {
        let ok = Command::new("cargo")
            .args(["install", "cargo-fuzz", "--locked"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok || !has_fuzz() {
            bail!("cargo-fuzz is not installed and `cargo install cargo-fuzz` failed");
        }
    }
    let mut cmd = Command::new("cargo");
    if nightly {
        cmd.arg("+nightly");
    } else {
        println!("fuzz: no nightly toolchain; using the stable one with RUSTC_BOOTSTRAP=1");
        cmd.env("RUSTC_BOOTSTRAP", "1");
    }
    Ok(cmd)
}

fn parser(target: &Target, secs: u64) -> Result<bool> {
    let root = cargo_ostrog::source_root();
    let fuzz_target = root.join("target/fuzz");
    let corpus = fuzz_target.join("corpus").join(target.name);
    let seeds = fuzz_target.join("seeds").join(target.name);
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(&seeds)?;
    let mut n = 0;
    for (dir, exts) in target.seeds {
        for file in files_under(&root.join(dir), exts) {
            let Ok(mut bytes) = std::fs::read(&file) else {
                continue;
            };
            if target.name == "spec" {
                let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
                let which = match ext {
                    "idl" => 0u8,
                    "edl" => 1,
                    _ => 2,
                };
                bytes.insert(0, which);
            }
            std::fs::write(seeds.join(format!("seed-{n}")), bytes)?;
            n += 1;
        }
    }
    for bytes in generated_seeds(target.name, &root) {
        std::fs::write(seeds.join(format!("seed-{n}")), bytes)?;
        n += 1;
    }
    println!("fuzz: {} for {secs} s ({n} seed files)", target.name);
    let mut cmd = fuzz_command()?;
    cmd.current_dir(root.join(target.krate))
        .arg("fuzz")
        .arg("run")
        .arg("--target-dir")
        .arg(&fuzz_target)
        .arg(target.name)
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={secs}"))
        .arg("-print_final_stats=1")
        .arg("-timeout=20");
    Ok(cmd.status().context("running cargo fuzz")?.success())
}

/// Seeds that are not files of the tree: the Einit tables of the examples' `init.yaml`, and
/// the programs last built for the kernel's tests (ELF executables of both machines).
fn generated_seeds(target: &str, root: &Path) -> Vec<Vec<u8>> {
    match target {
        "einit_table" => files_under(&root.join("examples"), &["yaml"])
            .into_iter()
            .filter_map(|f| {
                let solution = ostrog_init::load(&f, &ostrog_init::Options::default()).ok()?;
                ostrog_init::table::encode(&solution).ok()
            })
            .collect(),
        "elf" => ["x86_64-unknown-none", "aarch64-unknown-none"]
            .iter()
            .flat_map(|t| {
                ["hello", "soak", "kfuzz", "syscall-fuzz", "Einit"]
                    .map(|name| root.join("target").join(t).join("release").join(name))
            })
            .filter_map(|p| std::fs::read(p).ok())
            .collect(),
        _ => Vec::new(),
    }
}

fn files_under(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            out.extend(files_under(&path, exts));
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
        {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// One boot of the kernel fuzzer: passed, and the console.
fn kernel_once(arch: Arch, seed: u64, calls: u64) -> Result<(bool, String, String)> {
    std::env::set_var("OSTROG_KFUZZ", format!("{seed},{calls}"));
    let kernel = crate::test::test_image(arch);
    std::env::remove_var("OSTROG_KFUZZ");
    let kernel = kernel?;
    let scenario = crate::scenarios::load()?
        .into_iter()
        .find(|s| s.name == KERNEL_SCENARIO)
        .with_context(|| format!("no scenario {KERNEL_SCENARIO}"))?;
    // Generous: TCG on a shared machine makes a few thousand calls a second.
    let timeout = Duration::from_secs(120 + calls / 200);
    let outcome = crate::scenarios::run_within(&scenario, arch, &kernel, timeout)?;
    Ok((outcome.passed, outcome.summary, outcome.console))
}

fn kernel(args: &[&str]) -> Result<bool> {
    let (mut arches, mut calls, mut seed) = (Arch::ALL.to_vec(), 20_000u64, 1u64);
    let mut rest = args;
    while let [flag, value, more @ ..] = rest {
        match *flag {
            "--arch" => {
                arches = vec![Arch::ALL
                    .into_iter()
                    .find(|a| a.to_string() == *value)
                    .with_context(|| format!("no architecture {value}"))?]
            }
            "--calls" => calls = value.parse().context("--calls N")?,
            "--seed" => seed = value.parse().context("--seed S")?,
            _ => bail!("unknown option {flag}"),
        }
        rest = more;
    }
    if !rest.is_empty() {
        bail!("usage: cargo xtask fuzz kernel [--arch A] [--calls N] [--seed S]");
    }
    cargo_ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_qemu(&Arch::ALL)?;
    let mut all = true;
    for arch in arches {
        let started = std::time::Instant::now();
        let (passed, summary, console) = kernel_once(arch, seed, calls)?;
        let tally = console
            .lines()
            .find(|l| l.starts_with("kfuzz: ") && l.contains(" calls in "))
            .unwrap_or("no tally");
        println!(
            "fuzz kernel {arch} seed {seed}: {} in {:.0} s: {tally}; {summary}",
            if passed { "passed" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        if passed {
            continue;
        }
        all = false;
        println!("---- console ----\n{console}----");
        // The shortest failing prefix: each worker's calls depend only on the seed, its
        // round and index, so fewer calls replay a prefix of the same sequence (the
        // interleaving of the workers may differ).
        let (mut good, mut bad) = (0u64, calls);
        for _ in 0..8 {
            if bad - good <= 100 {
                break;
            }
            let mid = good + (bad - good) / 2;
            let (passed, _, _) = kernel_once(arch, seed, mid)?;
            println!(
                "fuzz kernel {arch} seed {seed} --calls {mid}: {}",
                if passed { "passes" } else { "fails" }
            );
            if passed {
                good = mid;
            } else {
                bad = mid;
            }
        }
        println!(
            "fuzz kernel: reproduce with `cargo xtask fuzz kernel --arch {arch} --seed {seed} \
             --calls {bad}`"
        );
    }
    Ok(all)
}
