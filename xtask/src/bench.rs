//! Benchmarks: each prints figures; none asserts a time.

use anyhow::{bail, Result};

mod fs;
mod policy;
mod size;

pub const NAMES: &[&str] = &[
    "boot", "syscall", "futex", "ipc", "policy", "posix", "fs", "net", "timer",
];

pub fn run(name: &str) -> Result<bool> {
    match name {
        "boot" => boot(),
        "syscall" => syscall(),
        "futex" => futex(),
        "ipc" => ipc(),
        "policy" => policy::run(),
        "posix" => posix(),
        "fs" => fs::run(),
        "net" => crate::net::bench(),
        "timer" => timer(),
        other => bail!("unknown benchmark `{other}` (known: {})", NAMES.join(", ")),
    }
}

/// The echo solution's kernel: its loaded size (text, read-only data, data and bss of the
/// ELF's sections, less the ROMFS archive the image embeds), and the instructions from
/// reset to the first user program, booted under `-icount shift=0` (the kernel prints its
/// counter just before it schedules Einit; the x86_64 TSC counts instructions there, the
/// AArch64 virtual counter one tick per 1e9/CNTFRQ instructions), twice to show the
/// figure is deterministic. The time from QEMU start to that line, on the host, is the
/// secondary figure.
fn boot() -> Result<bool> {
    use cargo_ostrog::arch::Arch;
    use cargo_ostrog::qemu::{Accel, Ending, Machine};
    cargo_ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_qemu(&Arch::ALL)?;
    let dir = cargo_ostrog::source_root().join("examples/echo");
    let solution = cargo_ostrog::solution::Solution::open(&dir)?;
    for arch in Arch::ALL {
        let kernel = cargo_ostrog::solution::build(&solution, arch)?;
        let romfs = kernel
            .parent()
            .map(|d| d.join("romfs.cpio"))
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        let sizes = size::sections(&std::fs::read(&kernel)?)?;
        let loaded = sizes.total().saturating_sub(romfs);
        println!(
            "boot {arch}: kernel with the echo module: {} KiB loaded (goal <= 250 KiB): text {} \
             KiB, rodata {} KiB, data {} KiB, bss {} KiB; the ROMFS ({} KiB, in rodata) left out",
            loaded / 1024,
            sizes.text / 1024,
            sizes.rodata.saturating_sub(romfs) / 1024,
            sizes.data / 1024,
            sizes.bss / 1024,
            romfs / 1024
        );
        let mut figures = Vec::new();
        for _ in 0..2 {
            let mut machine = Machine::new(arch, Accel::Tcg, &kernel);
            machine.extra_args = vec!["-icount".into(), "shift=0".into()];
            machine.stop_at = Some(" at the first user program (".into());
            let run = machine.run_captured(std::time::Duration::from_secs(120), false)?;
            let counter = run
                .console
                .lines()
                .find_map(|l| l.strip_prefix("boot: counter "))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok());
            match (run.ending, counter) {
                (Ending::Stopped | Ending::PoweredOff(0), Some(counter)) => {
                    figures.push((counter, run.elapsed.as_secs_f64()));
                }
                (ending, _) => bail!(
                    "{arch}: no boot counter; the machine {ending}\n{}",
                    run.console
                ),
            }
        }
        // x86_64: the TSC is the instruction count; AArch64: CNTFRQ 62.5 MHz against the
        // 1 GHz virtual clock of icount.
        let per_tick = match arch {
            Arch::X86_64 => 1,
            Arch::Aarch64 => 16,
        };
        let same = figures.windows(2).all(|w| w[0].0 == w[1].0);
        let (counter, secs) = figures.first().copied().unwrap_or_default();
        println!(
            "boot {arch} (tcg, -icount shift=0): {} instructions from reset to the first user \
             program ({}; {per_tick} per counter tick); QEMU start to that line {:.2} s on this \
             host",
            group(counter * per_tick),
            if same {
                "two runs, identical".to_string()
            } else {
                let all: Vec<String> = figures.iter().map(|f| group(f.0 * per_tick)).collect();
                format!("two runs differ: {}", all.join(" and "))
            },
            secs
        );
    }
    Ok(true)
}

/// The null system call round trip, measured by a program (`null-bench`) under
/// `-icount shift=0`. The null call is a `Reply` with nothing received: kernel entry, the
/// caller's thread looked up, exit.
fn syscall() -> Result<bool> {
    icount_bench(
        "syscall",
        &[("null-bench:", "null system call round trip", 100)],
        "ostrog.start=null-bench",
        crate::test::test_image,
    )
}

/// A `futex.Wake` with no waiter, measured by `null-bench` like the null call: a whole core
/// request (kernel entry, the message copied in, judged by the scenario module, decoded,
/// served, answered and judged again), the cost of a Linux `futex` wake through the
/// personality.
fn futex() -> Result<bool> {
    icount_bench(
        "futex",
        &[("futex-bench:", "futex.Wake with no waiter", 0)],
        "ostrog.start=null-bench",
        crate::test::test_image,
    )
}

/// How late sleeps and futex time-outs of random lengths end (the `timers` test program,
/// under TCG as in its scenario): the lateness distribution in microseconds, per
/// architecture.
fn timer() -> Result<bool> {
    use cargo_ostrog::arch::Arch;
    use cargo_ostrog::qemu::{Accel, Ending, Machine};
    cargo_ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_qemu(&Arch::ALL)?;
    for arch in Arch::ALL {
        let kernel = crate::test::test_image(arch)?;
        let mut machine = Machine::new(arch, Accel::Tcg, &kernel);
        machine.cmdline = "ostrog.start=timers".into();
        let run = machine.run_captured(std::time::Duration::from_secs(120), false)?;
        let lines: Vec<&str> = run
            .console
            .lines()
            .filter(|l| l.starts_with("timers: ") && l.contains("lateness"))
            .collect();
        match run.ending {
            Ending::PoweredOff(0) if !lines.is_empty() => {
                for line in lines {
                    println!("timer {arch} (tcg): {line}");
                }
            }
            ending => println!(
                "timer {arch} (tcg): no figure; the machine {ending}\n{}",
                run.console
            ),
        }
    }
    Ok(true)
}

/// The Call+Reply round trip between two processes (`ipc-bench` and `ipc-bench-server`,
/// started by Einit from `tests/kernel/solutions/ipc-bench/init.yaml`), through the security hook
/// with the scenario module granting, in instructions (with the kernel's fast path, and
/// without it: `ostrog.ipc_fast=off`); then the same image with the kernel's probes compiled
/// in (`OSTROG_KERNEL_FEATURES=probes`, see `kernel/src/probe.rs`): where the instructions
/// of a round trip go.
fn ipc() -> Result<bool> {
    let image = |name: &'static str| {
        move |arch| {
            let root = cargo_ostrog::source_root();
            let init_yaml = root.join("tests/kernel/solutions/ipc-bench/init.yaml");
            let spec = cargo_ostrog::image::ImageSpec {
                name,
                init_yaml: Some(&init_yaml),
                security: cargo_ostrog::kernel::Security::Testing("ScenarioPolicy"),
                extra: &[],
            };
            cargo_ostrog::image::build_image(arch, &spec)
        }
    };
    icount_bench(
        "ipc",
        &[("ipc-bench:", "Call+Reply round trip", 1000)],
        "",
        image("bench-ipc"),
    )?;
    // The same kernel with its fast path off: every message takes the full path.
    icount_bench(
        "ipc",
        &[(
            "ipc-bench:",
            "Call+Reply round trip on the full path (ostrog.ipc_fast=off)",
            0,
        )],
        "ostrog.ipc_fast=off",
        image("bench-ipc"),
    )?;
    use cargo_ostrog::arch::Arch;
    use cargo_ostrog::qemu::{Accel, Ending, Machine};
    // Read by cargo-ostrog when it writes the kernel crate of an image; nothing else runs.
    std::env::set_var("OSTROG_KERNEL_FEATURES", "probes");
    let probed: Vec<_> = Arch::ALL
        .iter()
        .map(|&arch| image("bench-ipc-probes")(arch).map(|k| (arch, k)))
        .collect::<Result<_>>()?;
    std::env::remove_var("OSTROG_KERNEL_FEATURES");
    for (arch, kernel) in probed {
        let mut machine = Machine::new(arch, Accel::Tcg, &kernel);
        machine.extra_args = vec!["-icount".into(), "shift=0".into()];
        let run = machine.run_captured(std::time::Duration::from_secs(600), false)?;
        if run.ending != Ending::PoweredOff(0) {
            bail!(
                "{arch}: the probed run: the machine {}\n{}",
                run.ending,
                run.console
            );
        }
        println!(
            "ipc {arch}: instructions per round trip by stage (kernel probes, -icount shift=0; \
             the probes add their own):"
        );
        for line in run
            .console
            .lines()
            .filter_map(|l| l.strip_prefix("probe: "))
        {
            println!("  {line}");
        }
    }
    Ok(true)
}

/// Boots `image(arch)` with `cmdline` on each architecture under TCG with
/// `-icount shift=0`, twice, and prints for each `(prefix, what, goal)` the instructions
/// per operation of the program's line starting with `prefix` (its `ticks=`, `rounds=` and
/// `loop=` fields: the best batch, its operations, and the ticks of a 2,000,000-instruction
/// loop), whether the two runs agree, the goal (0: none), and the host time of the run as
/// the secondary figure.
fn icount_bench(
    name: &str,
    lines: &[(&str, &str, u64)],
    cmdline: &str,
    image: impl Fn(cargo_ostrog::arch::Arch) -> Result<std::path::PathBuf>,
) -> Result<bool> {
    use cargo_ostrog::arch::Arch;
    use cargo_ostrog::qemu::{Accel, Ending, Machine};
    cargo_ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_qemu(&Arch::ALL)?;
    for arch in Arch::ALL {
        let kernel = image(arch)?;
        let mut runs = Vec::new();
        for _ in 0..2 {
            let mut machine = Machine::new(arch, Accel::Tcg, &kernel);
            machine.cmdline = cmdline.into();
            machine.extra_args = vec!["-icount".into(), "shift=0".into()];
            let run = machine.run_captured(std::time::Duration::from_secs(600), false)?;
            if run.ending != Ending::PoweredOff(0) {
                bail!("{name} {arch}: the machine {}\n{}", run.ending, run.console);
            }
            runs.push(run);
        }
        for &(prefix, what, goal) in lines {
            let mut figures = Vec::new();
            for run in &runs {
                let Some(line) = run.console.lines().find(|l| l.starts_with(prefix)) else {
                    bail!("{name} {arch}: no line {prefix}\n{}", run.console);
                };
                let f = fields(line);
                let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| *v);
                let (Some(ticks), Some(rounds), Some(calibration)) = (
                    get("ticks"),
                    get("rounds"),
                    get("loop").filter(|l| *l > 0.0),
                ) else {
                    bail!("{name} {arch}: no ticks=, rounds= and loop= in {line:?}");
                };
                let per_tick = 2_000_000.0 / calibration;
                figures.push((ticks * per_tick / rounds, per_tick));
            }
            let (instructions, per_tick) = figures.first().copied().unwrap_or_default();
            let same = figures.windows(2).all(|w| w[0].0 == w[1].0);
            let goal = match goal {
                0 => String::new(),
                g => format!(" (goal <= {})", group(g)),
            };
            let secs: Vec<String> = runs
                .iter()
                .map(|r| format!("{:.1} s", r.elapsed.as_secs_f64()))
                .collect();
            println!(
                "{name} {arch} (tcg, -icount shift=0): {} instructions per {what}{goal}; \
                 {}; {per_tick:.2} instructions per counter tick (measured); the runs took {} \
                 on this host",
                group(instructions.round() as u64),
                if same {
                    "two runs, identical".to_string()
                } else {
                    let all: Vec<String> = figures.iter().map(|f| format!("{:.1}", f.0)).collect();
                    format!("two runs differ: {}", all.join(" and "))
                },
                secs.join(" and ")
            );
        }
    }
    Ok(true)
}

/// `n` with thousands separated by commas.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The cost of Linux system calls through the personality, in guest instructions, beside
/// the native null call and `futex.Wake`: `posix-bench` (tests/linux/raw-calls, in an image
/// of tests/linux/solution with only `lx.PosixBench`) and `null-bench`, each booted under
/// TCG with `-icount shift=0`. With icount the guest's clock advances exactly one
/// nanosecond per instruction; the x86_64 TSC then counts instructions, and the AArch64
/// virtual counter ticks at CNTFRQ (62.5 MHz for QEMU 7.2's cortex-a72: 16 instructions a
/// tick). `posix-bench` also times a loop of exactly 2,000,000 instructions, and the
/// figures are converted with that measured ratio (printed), not an assumed one. (The
/// `syscall` and `futex` benches run without icount and report raw counter ticks.)
fn posix() -> Result<bool> {
    use cargo_ostrog::arch::Arch;
    use cargo_ostrog::qemu::{Accel, Ending, Machine};
    cargo_ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_qemu(&Arch::ALL)?;
    let icount = |image: &std::path::Path, arch: Arch, cmdline: &str| -> Result<String> {
        let mut machine = Machine::new(arch, Accel::Tcg, image);
        machine.cmdline = cmdline.into();
        machine.extra_args = vec!["-icount".into(), "shift=0".into()];
        let run = machine.run_captured(std::time::Duration::from_secs(600), false)?;
        match run.ending {
            Ending::PoweredOff(0) => Ok(run.console),
            ending => bail!("{arch}: the machine {ending}\n{}", run.console),
        }
    };
    for arch in Arch::ALL {
        let console = icount(&crate::linux::bench_image(arch)?, arch, "")?;
        let Some(line) = console.lines().find(|l| l.starts_with("posix-bench:")) else {
            bail!("{arch}: posix-bench printed no figures\n{console}");
        };
        let linux = fields(line);
        let native_console = icount(
            &crate::test::test_image(arch)?,
            arch,
            "ostrog.start=null-bench",
        )?;
        // The null and futex figures in instructions, from the line's own calibration.
        let native = |prefix: &str| -> Option<f64> {
            let line = native_console.lines().find(|l| l.starts_with(prefix))?;
            let f = fields(line);
            let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| *v);
            let per_tick = 2_000_000.0 / get("loop").filter(|l| *l > 0.0)?;
            Some(get("ticks")? * per_tick / get("rounds")?)
        };
        let get = |key: &str| linux.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        let Some(ticks_per_loop) = get("loop").filter(|t| *t > 0.0) else {
            bail!("{arch}: no calibration in {line:?}");
        };
        let per_tick = 2_000_000.0 / ticks_per_loop;
        let show = |ticks: Option<f64>| match ticks {
            Some(t) => format!("{:.0}", t * per_tick),
            None => "?".into(),
        };
        let hz = get("counter-hz").map_or(String::new(), |hz| format!(", CNTFRQ {hz:.0} Hz"));
        println!(
            "posix {arch} (tcg, -icount shift=0; {per_tick:.2} instructions per counter tick, \
             measured{hz}): guest instructions per operation:"
        );
        println!(
            "  Linux getpid (trap redirect, personality, resume): {}",
            show(get("getpid"))
        );
        println!(
            "  Linux futex wake, no waiter:                        {}",
            show(get("futex-wake"))
        );
        println!(
            "  Linux futex wait/wake round trip, two threads:      {}",
            show(get("futex-ping-pong"))
        );
        let instructions = |n: Option<f64>| n.map_or("?".into(), |n| format!("{n:.0}"));
        println!(
            "  native null call (Reply, nothing received):         {}",
            instructions(native("null-bench:"))
        );
        println!(
            "  native futex.Wake, no waiter:                       {}",
            instructions(native("futex-bench:"))
        );
    }
    Ok(true)
}

/// The `key=number` fields of a line.
fn fields(line: &str) -> Vec<(String, f64)> {
    line.split_whitespace()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}
