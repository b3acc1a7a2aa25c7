//! Benchmarks: each prints figures; none asserts a time.

use anyhow::{bail, Result};

mod fs;
mod policy;

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

/// Time from QEMU start to power-off for the bare kernel on each architecture.
fn boot() -> Result<bool> {
    use cargo_ostrog::arch::Arch;
    use cargo_ostrog::qemu::{Accel, Ending, Machine};
    cargo_ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_qemu(&Arch::ALL)?;
    for arch in Arch::ALL {
        let kernel = cargo_ostrog::kernel::build(arch)?;
        let accel = Accel::best_for(arch);
        let mut machine = Machine::new(arch, accel, &kernel);
        machine.cmdline = "ostrog.ticks=0".into();
        let mut times = Vec::new();
        for _ in 0..5 {
            let run = machine.run_captured(std::time::Duration::from_secs(60), false)?;
            if run.ending != Ending::PoweredOff(0) {
                bail!("{arch}: boot failed: {}\n{}", run.ending, run.console);
            }
            times.push(run.elapsed.as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
        println!(
            "boot {arch} ({}): median {median:.0} ms from QEMU start to power-off over {} runs",
            accel.name(),
            times.len()
        );
    }
    Ok(true)
}

/// The null system call round trip, measured by a program (`null-bench`) with the CPU's
/// counter: the TSC on x86_64, the virtual counter (CNTVCT) on AArch64. The null call is a
/// `Reply` with nothing received: kernel entry, the caller's thread looked up, exit.
fn syscall() -> Result<bool> {
    counter_bench(
        "syscall",
        "null-bench:",
        "ostrog.start=null-bench",
        crate::test::test_image,
    )
}

/// A `futex.Wake` with no waiter, measured by `null-bench` like the null call: a whole core
/// request (kernel entry, the message copied in, judged by the scenario module, decoded,
/// served, answered and judged again), the cost of a Linux `futex` wake through the
/// personality.
fn futex() -> Result<bool> {
    counter_bench(
        "futex",
        "futex-bench:",
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
/// with the scenario module granting.
fn ipc() -> Result<bool> {
    counter_bench("ipc", "ipc-bench:", "", |arch| {
        let root = cargo_ostrog::source_root();
        let init_yaml = root.join("tests/kernel/solutions/ipc-bench/init.yaml");
        let spec = cargo_ostrog::image::ImageSpec {
            name: "bench-ipc",
            init_yaml: Some(&init_yaml),
            security: cargo_ostrog::kernel::Security::Testing("ScenarioPolicy"),
            extra: &[],
        };
        cargo_ostrog::image::build_image(arch, &spec)
    })
}

/// Boots `image(arch)` with `cmdline` on each architecture, with the accelerator for user
/// programs (KVM where it can run them, TCG otherwise: see docs/user-space.md), and prints
/// the program's line starting with `prefix`, saying which accelerator produced it.
fn counter_bench(
    name: &str,
    prefix: &str,
    cmdline: &str,
    image: impl Fn(cargo_ostrog::arch::Arch) -> Result<std::path::PathBuf>,
) -> Result<bool> {
    use cargo_ostrog::arch::Arch;
    use cargo_ostrog::qemu::{Accel, Ending, Machine};
    cargo_ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    cargo_ostrog::setup::ensure_qemu(&Arch::ALL)?;
    for arch in Arch::ALL {
        let kernel = image(arch)?;
        let accel = Accel::for_user_programs(arch);
        let mut machine = Machine::new(arch, accel, &kernel);
        machine.cmdline = cmdline.into();
        let run = machine.run_captured(std::time::Duration::from_secs(120), false)?;
        let line = run.console.lines().find(|l| l.starts_with(prefix));
        match (run.ending, line) {
            (Ending::PoweredOff(0), Some(line)) => {
                let unit = match arch {
                    Arch::X86_64 => "TSC cycles",
                    Arch::Aarch64 => "CNTVCT ticks",
                };
                println!("{name} {arch} ({}): {line} [{unit}]", accel.name());
            }
            (ending, _) => println!(
                "{name} {arch} ({}): no figure; the machine {ending}\n{}",
                accel.name(),
                run.console
            ),
        }
    }
    Ok(true)
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
        let native = |prefix: &str| -> Option<f64> {
            let line = native_console.lines().find(|l| l.starts_with(prefix))?;
            line.split_whitespace().nth(1)?.parse().ok()
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
        println!(
            "  native null call (Reply, nothing received):         {}",
            show(native("null-bench:"))
        );
        println!(
            "  native futex.Wake, no waiter:                       {}",
            show(native("futex-bench:"))
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
