//! The power-cut test of the disk stack (docs/files.md): `examples/power` (the logger on
//! kl.VfsSdCardFs on kl.drivers.VirtioBlk) on a fresh zero disk image, per architecture
//! (`cargo xtask test --example power`, and part of the whole `cargo xtask test`):
//!
//! 1. boot 1 formats the disk and appends fsync'ed records; QEMU is killed as soon as the
//!    console shows `power: synced 25` ([`Machine::stop_at`]). K is the last `power: synced
//!    K` QEMU printed before it died: K records were durable.
//! 2. boot 2 mounts the same image: the logger must find N intact records, N >= K (records
//!    after the K-th may or may not be there, but whatever is there is whole), then append
//!    its own and end with status 0.
//! 3. boot 3 mounts it again after that clean run: it must find exactly what boot 2 synced,
//!    and end with status 0.
//! 4. one byte of record 5 is flipped wherever it is on the image (the file system keeps no
//!    checksum of data): boot 4's logger must report record 5 bad and end with status 1.
//!
//! `OSTROG_POWER_CONSOLE=1` prints each console.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Ending, Machine, Run};
use cargo_ostrog::solution::{self, Solution};

/// The line at which boot 1 loses its power.
const CUT_AT: &str = "power: synced 25";

/// Size of the disk image.
const DISK_SIZE: u64 = 4 << 20;

/// How long a boot may take.
const TIMEOUT: Duration = Duration::from_secs(900);

/// The record boot 4 finds damaged.
const DAMAGED: u64 = 5;

/// Flips one byte of the contents of record `n` (as the logger writes it: its tag, then its
/// number) wherever it is on the disk image (copy-on-write leaves older copies); how many
/// copies were found.
fn damage_record(disk: &std::path::Path, n: u64) -> Result<usize> {
    let mut data =
        std::fs::read(disk).with_context(|| format!("cannot read {}", disk.display()))?;
    let mut head = b"PWR1".to_vec();
    head.extend_from_slice(&n.to_le_bytes());
    let mut copies = 0;
    let mut at = 0;
    while let Some(found) = data[at..].windows(head.len()).position(|w| w == head) {
        let start = at + found;
        if let Some(byte) = data.get_mut(start + 20) {
            *byte ^= 0x40;
            copies += 1;
        }
        at = start + head.len();
    }
    std::fs::write(disk, &data).with_context(|| format!("cannot write {}", disk.display()))?;
    Ok(copies)
}

/// The numbers of the console's lines `PREFIX NUMBER...`, in order.
fn numbers(console: &str, prefix: &str) -> Vec<u64> {
    console
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

/// The one `power: found N intact records` of a boot.
fn found(console: &str) -> Result<u64> {
    match numbers(console, "power: found ")[..] {
        [n] => Ok(n),
        [] => bail!("no `power: found N intact records` line"),
        _ => bail!("more than one `power: found` line"),
    }
}

/// What every boot must not show.
fn sane(run: &Run) -> Result<()> {
    for bad in [
        "FAILED",
        "panicked at",
        "KERNEL",
        "[audit] denied",
        "malformed request",
    ] {
        if run.console.contains(bad) {
            bail!("the console shows {bad:?}");
        }
    }
    Ok(())
}

/// A boot that ran to its end: powered off with status 0 after the logger's `done`, which
/// must name `total` records (its last `synced`).
fn completed(run: &Run) -> Result<(u64, u64)> {
    sane(run)?;
    if run.ending != Ending::PoweredOff(0) {
        bail!("the machine {} (expected status 0)", run.ending);
    }
    let n = found(&run.console)?;
    let done = numbers(&run.console, "power: done, ");
    let synced = numbers(&run.console, "power: synced ");
    match (&done[..], synced.last()) {
        (&[total], Some(&last)) if total == last && total > n => Ok((n, total)),
        _ => bail!("the logger did not end with `power: done, T records` after `power: synced T`"),
    }
}

fn boot(machine: &Machine, which: &str, arch: Arch) -> Result<Run> {
    let run = machine
        .run_captured(TIMEOUT, false)
        .with_context(|| format!("boot {which}"))?;
    if std::env::var_os("OSTROG_POWER_CONSOLE").is_some() {
        println!("---- {arch} boot {which} console ----\n{}----", run.console);
    }
    Ok(run)
}

/// The four boots on `arch`; the figures.
fn run_arch(arch: Arch) -> Result<String> {
    let dir = cargo_ostrog::source_root().join("examples/power");
    let solution = Solution::open(&dir)?;
    let image = solution::build(&solution, arch)?;
    let disk = image.with_file_name("power.disk");
    match std::fs::remove_file(&disk) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", disk.display())),
    }
    cargo_ostrog::qemu::prepare_disk(&disk, DISK_SIZE)?;
    let mut machine = Machine::new(arch, solution::accel(arch), &image);
    machine.disk = Some(disk.clone());

    // Boot 1: cut in the middle of the loop.
    machine.stop_at = Some(CUT_AT.to_string());
    let first = boot(&machine, "1", arch)?;
    let step = |what: &str, run: &Run, e: anyhow::Error| {
        anyhow::anyhow!("boot {what}: {e:#}\n---- console ----\n{}----", run.console)
    };
    (|| -> Result<()> {
        sane(&first)?;
        if first.ending != Ending::Stopped {
            bail!("the machine {} before showing {CUT_AT:?}", first.ending);
        }
        if !first
            .console
            .contains("VfsSdCardFs: formatted the empty disk")
        {
            bail!("the disk server did not format the fresh disk");
        }
        if found(&first.console)? != 0 {
            bail!("records found on a fresh disk");
        }
        Ok(())
    })()
    .map_err(|e| step("1", &first, e))?;
    // Whole lines only: QEMU may have died in the middle of one (`power: synced 3` of 34).
    let whole = &first.console[..first.console.rfind('\n').map_or(0, |at| at + 1)];
    let synced = numbers(whole, "power: synced ");
    let Some(&k) = synced.last() else {
        bail!("boot 1 printed no `power: synced K`");
    };
    if synced.iter().copied().ne(1..=k) {
        return Err(step(
            "1",
            &first,
            anyhow::anyhow!("the synced lines are not 1, 2, ... {k}"),
        ));
    }

    // Boot 2: every synced record there, intact; then a clean run.
    machine.stop_at = None;
    let second = boot(&machine, "2", arch)?;
    let (n, total) = (|| -> Result<(u64, u64)> {
        if !second.console.contains("VfsSdCardFs: mounted the disk") {
            bail!("the disk server did not mount the disk boot 1 left");
        }
        let (n, total) = completed(&second)?;
        if n < k {
            bail!("found {n} records, but {k} were fsync'ed before the power cut");
        }
        Ok((n, total))
    })()
    .map_err(|e| step("2", &second, e))?;

    // Boot 3: exactly what boot 2 wrote.
    let third = boot(&machine, "3", arch)?;
    let (m, _) = (|| -> Result<(u64, u64)> {
        let (m, total3) = completed(&third)?;
        if m != total {
            bail!("found {m} records after a clean run that synced {total}");
        }
        Ok((m, total3))
    })()
    .map_err(|e| step("3", &third, e))?;

    // Boot 4: the logger's check itself; one record damaged in every copy on the disk.
    let copies = damage_record(&disk, DAMAGED)?;
    let fourth = boot(&machine, "4", arch)?;
    let bad = format!("power: FAILED: record {DAMAGED} (at byte ");
    let exit = "[kernel] process power.Logger (class power.Logger) exited with status 1";
    let broke = ["panicked at", "KERNEL"]
        .iter()
        .any(|b| fourth.console.contains(b));
    if copies == 0 || broke || !fourth.console.contains(&bad) || !fourth.console.contains(exit) {
        return Err(step(
            "4",
            &fourth,
            anyhow::anyhow!(
                "record {DAMAGED} damaged ({copies} copies on the disk), but the logger did \
                 not report it and end with status 1 (or something broke)"
            ),
        ));
    }
    Ok(format!(
        "({}: K={k} synced before the cut, N={n} found after it; boot 2 synced up to \
         {total}, boot 3 found {m}; boot 4 found record {DAMAGED} damaged; boots {:.1}s, \
         {:.1}s, {:.1}s)",
        machine.accel.name(),
        first.elapsed.as_secs_f64(),
        second.elapsed.as_secs_f64(),
        third.elapsed.as_secs_f64()
    ))
}

/// The power-cut test on each architecture, as (name, passed, detail).
pub fn run() -> Vec<(String, bool, String)> {
    Arch::ALL
        .into_iter()
        .map(|arch| {
            let name = format!(
                "power::{arch}: QEMU killed at `{CUT_AT}`, every fsync'ed record found after the reboot, a clean boot after that, a damaged record reported"
            );
            match run_arch(arch) {
                Ok(detail) => (name, true, detail),
                Err(e) => (name, false, format!("{e:#}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_lines_in_order() {
        let console = "power: synced 1\nx power: synced 9\npower: synced 2\npower: synced x\n";
        assert_eq!(numbers(console, "power: synced "), [1, 2]);
        assert_eq!(found("power: found 12 intact records\n").unwrap(), 12);
        assert!(found("nothing\n").is_err());
        assert!(found("power: found 1 intact records\npower: found 2 intact records\n").is_err());
    }
}
