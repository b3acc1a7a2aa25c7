//! fsbench DIR: file system figures, one line each, `fsbench: NAME VALUE UNIT`:
//! sequential write and read throughput (2 MiB files written in 64 KiB and in 4 KiB
//! requests, each file `fsync`ed, and read in requests of the same size, every byte checked)
//! and the rates of creating, stat-ing and removing small files. Each figure is timed over
//! as many rounds as it takes to reach [`MIN_SECONDS`] (Ostrog's clock moves in steps of a
//! timer tick, 10 ms, so a short interval would say little), at least [`MIN_BYTES`] for the
//! throughputs. It works in DIR (made if missing, left empty) and ends with status 1 if
//! anything read back differs or a call fails. The same program runs on Ostrog (`cargo
//! xtask bench fs`) and on the host, for the ratio.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

/// One file of the throughput figures: 2 MiB (the RAM file system holds 4 MiB per client).
const FILE: usize = 2 << 20;
/// Bytes moved at least per throughput figure: 8 MiB.
const MIN_BYTES: usize = 8 << 20;
/// Time each figure is measured over at least.
const MIN_SECONDS: f64 = 0.3;
/// Rounds at most, whatever the time.
const MAX_ROUNDS: usize = 4000;
/// Files of one round of the small-file figures.
const SMALL: usize = 200;

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    println!("fsbench: error: {what}: {e}");
    std::process::exit(1);
}

/// The byte at `offset` of file `n`: never the same pattern twice, so a misplaced block is
/// seen.
fn byte(n: usize, offset: usize) -> u8 {
    (offset.wrapping_mul(31) ^ (offset >> 12) ^ n.wrapping_mul(7)) as u8
}

fn mib_per_s(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / (1 << 20) as f64 / seconds.max(1e-9)
}

/// Whether a figure has been measured long enough.
fn enough(seconds: f64, rounds: usize) -> bool {
    seconds >= MIN_SECONDS || rounds >= MAX_ROUNDS
}

/// Write throughput in requests of `block` bytes, in MiB/s: files of [`FILE`] bytes are
/// created, written, `fsync`ed and closed (timed), then read back, checked and removed
/// (not timed).
fn write_throughput(dir: &Path, block: usize) -> f64 {
    let (mut seconds, mut bytes, mut n) = (0.0, 0, 0);
    let mut back = vec![0u8; FILE];
    while bytes < MIN_BYTES || !enough(seconds, n) {
        let data: Vec<u8> = (0..FILE).map(|i| byte(n, i)).collect();
        let path = dir.join(format!("seq-{n}"));
        let start = Instant::now();
        let mut f = File::create(&path).unwrap_or_else(|e| fail("create", e));
        for chunk in data.chunks(block) {
            f.write_all(chunk).unwrap_or_else(|e| fail("write", e));
        }
        f.sync_all().unwrap_or_else(|e| fail("fsync", e));
        drop(f);
        seconds += start.elapsed().as_secs_f64();
        bytes += FILE;
        let mut f = File::open(&path).unwrap_or_else(|e| fail("open", e));
        f.read_exact(&mut back).unwrap_or_else(|e| fail("read", e));
        if back != data {
            fail(
                "read back",
                format!("{} differs from what was written", path.display()),
            );
        }
        // The RAM file system holds 4 MiB per client: each file goes before the next.
        fs::remove_file(&path).unwrap_or_else(|e| fail("unlink", e));
        n += 1;
    }
    mib_per_s(bytes, seconds)
}

/// Read throughput in requests of `block` bytes, in MiB/s: one file of [`FILE`] bytes is
/// opened, read to its end and closed as many times as it takes (timed), each time checked
/// (not timed).
fn read_throughput(dir: &Path, block: usize) -> f64 {
    let data: Vec<u8> = (0..FILE).map(|i| byte(block, i)).collect();
    let path = dir.join("read");
    fs::write(&path, &data).unwrap_or_else(|e| fail("write", e));
    let (mut seconds, mut bytes, mut rounds) = (0.0, 0, 0);
    let mut back = vec![0u8; FILE];
    while bytes < MIN_BYTES || !enough(seconds, rounds) {
        back.fill(0);
        let start = Instant::now();
        let mut f = File::open(&path).unwrap_or_else(|e| fail("open", e));
        for chunk in back.chunks_mut(block) {
            f.read_exact(chunk).unwrap_or_else(|e| fail("read", e));
        }
        let mut more = [0u8; 1];
        let end = f.read(&mut more).unwrap_or_else(|e| fail("read", e));
        drop(f);
        seconds += start.elapsed().as_secs_f64();
        bytes += FILE;
        rounds += 1;
        if end != 0 {
            fail("read", "data after the end of the file");
        }
        if back != data {
            fail(
                "read back",
                format!("{} differs from what was written", path.display()),
            );
        }
    }
    fs::remove_file(&path).unwrap_or_else(|e| fail("unlink", e));
    mib_per_s(bytes, seconds)
}

/// Creates [`SMALL`] files of 100 bytes in `dir`.
fn create_small(dir: &Path) {
    let data = [b'x'; 100];
    for n in 0..SMALL {
        let mut f = File::create(dir.join(format!("small-{n}")))
            .unwrap_or_else(|e| fail("create small file", e));
        f.write_all(&data)
            .unwrap_or_else(|e| fail("write small file", e));
    }
}

/// Stats the [`SMALL`] files of `dir`.
fn stat_small(dir: &Path) {
    for n in 0..SMALL {
        let meta = fs::metadata(dir.join(format!("small-{n}")))
            .unwrap_or_else(|e| fail("stat small file", e));
        if meta.len() != 100 || !meta.is_file() {
            fail("stat small file", format!("small-{n}: size {}", meta.len()));
        }
    }
}

/// Removes the [`SMALL`] files of `dir`.
fn unlink_small(dir: &Path) {
    for n in 0..SMALL {
        fs::remove_file(dir.join(format!("small-{n}")))
            .unwrap_or_else(|e| fail("unlink small file", e));
    }
}

/// Small files, in operations per second: rounds of creating [`SMALL`] files of 100 bytes
/// and removing them (create, unlink), and passes of `stat` over such files (stat).
fn small_files(dir: &Path) -> (f64, f64, f64) {
    let (mut create, mut unlink, mut rounds) = (0.0, 0.0, 0);
    while !enough(create, rounds) || !enough(unlink, rounds) {
        let start = Instant::now();
        create_small(dir);
        create += start.elapsed().as_secs_f64();
        let start = Instant::now();
        unlink_small(dir);
        unlink += start.elapsed().as_secs_f64();
        rounds += 1;
    }
    create_small(dir);
    let (mut stat, mut passes) = (0.0, 0);
    while !enough(stat, passes) {
        let start = Instant::now();
        stat_small(dir);
        stat += start.elapsed().as_secs_f64();
        passes += 1;
    }
    unlink_small(dir);
    let rate = |count: usize, s: f64| (SMALL * count) as f64 / s.max(1e-9);
    (
        rate(rounds, create),
        rate(passes, stat),
        rate(rounds, unlink),
    )
}

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        println!("usage: fsbench DIR");
        std::process::exit(2);
    };
    let dir = Path::new(&dir);
    if !dir.is_dir() {
        fs::create_dir(dir).unwrap_or_else(|e| fail("mkdir", e));
    }
    for block in [64 << 10, 4 << 10] {
        let write = write_throughput(dir, block);
        let read = read_throughput(dir, block);
        let k = block >> 10;
        println!("fsbench: write-{k}k {write:.2} MiB/s");
        println!("fsbench: read-{k}k {read:.2} MiB/s");
    }
    let (create, stat, unlink) = small_files(dir);
    println!("fsbench: create {create:.0} files/s");
    println!("fsbench: stat {stat:.0} files/s");
    println!("fsbench: unlink {unlink:.0} files/s");
    if fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(true)
    {
        fail("cleanup", "DIR is not empty at the end");
    }
    println!("fsbench: done");
}
