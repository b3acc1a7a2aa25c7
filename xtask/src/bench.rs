//! Benchmarks: each prints figures; none asserts a time.

use anyhow::{bail, Result};

pub const NAMES: &[&str] = &["boot", "syscall"];

pub fn run(name: &str) -> Result<bool> {
    match name {
        "boot" => boot(),
        "syscall" => syscall(),
        other => bail!("unknown benchmark `{other}` (known: {})", NAMES.join(", ")),
    }
}

/// Time from QEMU start to power-off for the bare kernel on each architecture.
fn boot() -> Result<bool> {
    use ostrog::arch::Arch;
    use ostrog::qemu::{Accel, Ending, Machine};
    ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    ostrog::setup::ensure_qemu(&Arch::ALL)?;
    for arch in Arch::ALL {
        let kernel = ostrog::kernel::build(arch)?;
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
/// counter: the TSC on x86_64, the virtual counter (CNTVCT) on AArch64.
fn syscall() -> Result<bool> {
    use ostrog::arch::Arch;
    use ostrog::qemu::{Accel, Ending, Machine};
    ostrog::setup::ensure_rust_targets(&Arch::ALL)?;
    ostrog::setup::ensure_qemu(&Arch::ALL)?;
    for arch in Arch::ALL {
        let kernel = crate::test::test_image(arch)?;
        // KVM where it works; TCG when KVM gives no figure (see docs/user-space.md on
        // nested KVM hosts).
        let mut accels = vec![Accel::best_for(arch)];
        if accels[0] != Accel::Tcg {
            accels.push(Accel::Tcg);
        }
        for accel in accels {
            let mut machine = Machine::new(arch, accel, &kernel);
            machine.cmdline = "ostrog.start=null-bench".into();
            let run = machine.run_captured(std::time::Duration::from_secs(120), false)?;
            let line = run.console.lines().find(|l| l.starts_with("null-bench:"));
            let done = matches!((&run.ending, line), (Ending::PoweredOff(0), Some(_)));
            match (run.ending, line) {
                (Ending::PoweredOff(0), Some(line)) => {
                    let unit = match arch {
                        Arch::X86_64 => "TSC cycles",
                        Arch::Aarch64 => "CNTVCT ticks",
                    };
                    println!("syscall {arch} ({}): {line} [{unit}]", accel.name());
                }
                _ => println!(
                    "syscall {arch} ({}): no figure; the machine {}\n{}",
                    accel.name(),
                    run.ending,
                    run.console
                ),
            }
            if done {
                break;
            }
        }
    }
    Ok(true)
}
