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
//! 4. boot 4 is cut like boot 1, just after the log has grown into a new 16 KiB data block
//!    (at the first record of the next block); boot 5 must find every record synced before
//!    that cut and end with status 0.
//! 6. one byte of record 5 is flipped wherever it is on the image (the file system keeps no
//!    checksum of data): boot 6's logger must report record 5 bad and end with status 1.
//!
//! `OSTROG_POWER_CONSOLE=1` prints each console.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use cargo_ostrog::arch::Arch;
use cargo_ostrog::qemu::{Ending, Machine, Run};
use cargo_ostrog::solution::{self, Solution};

/// The `power: synced K` line at which boot 1 loses its power.
const CUT_AT: u64 = 25;

/// Bytes of a record of the logger's, and of a data block of the disk file system.
const RECORD: u64 = 64;
const BLOCK: u64 = 16 * 1024;

/// Size of the disk image.
const DISK_SIZE: u64 = 4 << 20;

/// How long a boot may take.
const TIMEOUT: Duration = Duration::from_secs(900);

/// The record boot 6 finds damaged.
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

fn boot(machine: &Machine, which: u32, arch: Arch) -> Result<Run> {
    let run = machine
        .run_captured(TIMEOUT, false)
        .with_context(|| format!("boot {which}"))?;
    if std::env::var_os("OSTROG_POWER_CONSOLE").is_some() {
        println!("---- {arch} boot {which} console ----\n{}----", run.console);
    }
    Ok(run)
}

/// Boot `which`'s error, with its console.
fn failed(which: u32, run: &Run, e: anyhow::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "boot {which}: {e:#}\n---- console ----\n{}----",
        run.console
    )
}

/// A boot whose power is cut at `power: synced {at}`, its logger having found `from`
/// records; K, the last whole `power: synced K` line.
fn cut(machine: &mut Machine, which: u32, arch: Arch, from: u64, at: u64) -> Result<(Run, u64)> {
    machine.stop_at = Some(format!("power: synced {at}"));
    let run = boot(machine, which, arch)?;
    machine.stop_at = None;
    let k = (|| -> Result<u64> {
        sane(&run)?;
        if run.ending != Ending::Stopped {
            bail!(
                "the machine {} before showing `power: synced {at}`",
                run.ending
            );
        }
        if found(&run.console)? != from {
            bail!("the logger did not find the {from} records there were");
        }
        // Whole lines only: QEMU may have died in the middle of one (`synced 3` of 34).
        let whole = &run.console[..run.console.rfind('\n').map_or(0, |end| end + 1)];
        let synced = numbers(whole, "power: synced ");
        match synced.last() {
            Some(&k) if synced.iter().copied().eq(from + 1..=k) && k >= at => Ok(k),
            _ => bail!(
                "the synced lines are not {}, {}, ... {at} or more",
                from + 1,
                from + 2
            ),
        }
    })()
    .map_err(|e| failed(which, &run, e))?;
    Ok((run, k))
}

/// A boot after a power cut that left `k` records fsync'ed, to its end: N found, N >= K;
/// (N, the total synced).
fn after_cut(machine: &Machine, which: u32, arch: Arch, k: u64) -> Result<(Run, u64, u64)> {
    let run = boot(machine, which, arch)?;
    let (n, total) = (|| -> Result<(u64, u64)> {
        if !run.console.contains("VfsSdCardFs: mounted the disk") {
            bail!("the disk server did not mount the disk");
        }
        let (n, total) = completed(&run)?;
        if n < k {
            bail!("found {n} records, but {k} were fsync'ed before the power cut");
        }
        Ok((n, total))
    })()
    .map_err(|e| failed(which, &run, e))?;
    Ok((run, n, total))
}

/// The six boots on `arch`; the figures.
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
    let mut times = Vec::new();

    // Boot 1: a fresh disk, cut in the middle of the loop.
    let (first, k) = cut(&mut machine, 1, arch, 0, CUT_AT)?;
    if !first
        .console
        .contains("VfsSdCardFs: formatted the empty disk")
    {
        return Err(failed(
            1,
            &first,
            anyhow::anyhow!("the disk server did not format the fresh disk"),
        ));
    }
    times.push(first.elapsed);

    // Boot 2: every synced record there, intact; then a clean run.
    let (second, n, total) = after_cut(&machine, 2, arch, k)?;
    times.push(second.elapsed);

    // Boot 3: exactly what boot 2 wrote.
    let (third, m, total3) = after_cut(&machine, 3, arch, total)?;
    if m != total {
        return Err(failed(
            3,
            &third,
            anyhow::anyhow!("found {m} records after a clean run that synced {total}"),
        ));
    }
    times.push(third.elapsed);

    // Boot 4: cut again just after the log has grown into a new data block (the first
    // record of the next block synced).
    let block = (total3 * RECORD).div_ceil(BLOCK) * BLOCK / RECORD;
    let (fourth, k4) = cut(&mut machine, 4, arch, total3, block + 1)?;
    times.push(fourth.elapsed);
    let (fifth, n5, _) = after_cut(&machine, 5, arch, k4)?;
    times.push(fifth.elapsed);

    // Boot 6: the logger's check itself; one record damaged in every copy on the disk.
    let copies = damage_record(&disk, DAMAGED)?;
    let sixth = boot(&machine, 6, arch)?;
    let bad = format!("power: FAILED: record {DAMAGED} (at byte ");
    let exit = "[kernel] process power.Logger (class power.Logger) exited with status 1";
    let broke = ["panicked at", "KERNEL"]
        .iter()
        .any(|b| sixth.console.contains(b));
    if copies == 0 || broke || !sixth.console.contains(&bad) || !sixth.console.contains(exit) {
        return Err(failed(
            6,
            &sixth,
            anyhow::anyhow!(
                "record {DAMAGED} damaged ({copies} copies on the disk), but the logger did \
                 not report it and end with status 1 (or something broke)"
            ),
        ));
    }
    times.push(sixth.elapsed);
    let times: Vec<String> = times
        .iter()
        .map(|t| format!("{:.1}s", t.as_secs_f64()))
        .collect();
    Ok(format!(
        "({}: K={k} synced before the cut, N={n} found after it; boot 2 synced up to \
         {total}, boot 3 found {m}; cut 2 at record {} of a new block: K={k4}, N={n5}; boot 6 \
         found record {DAMAGED} damaged; boots {})",
        machine.accel.name(),
        block + 1,
        times.join(", ")
    ))
}

/// The power-cut test on each architecture, as (name, passed, detail).
pub fn run() -> Vec<(String, bool, String)> {
    Arch::ALL
        .into_iter()
        .map(|arch| {
            let name = format!(
                "power::{arch}: QEMU killed at `power: synced {CUT_AT}` and after a block boundary, every fsync'ed record found after each reboot, a clean boot after the first, a damaged record reported"
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
