//! fsbench DIR: file system figures, one line each, `fsbench: NAME VALUE UNIT`:
//! sequential write and read throughput (whole files written in 64 KiB and in 4 KiB
//! requests, then read back in requests of the same size, every byte checked), and the
//! rates of creating, stat-ing and removing small files. It works in DIR (made if missing,
//! left empty) and ends with status 1 if anything read back differs or a call fails. The
//! same program runs on Ostrog (`cargo xtask bench fs`) and on the host, for the ratio.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

/// Bytes moved per throughput figure: 8 MiB, as files of [`FILE`] bytes.
const TOTAL: usize = 8 << 20;
/// One file of the throughput figures: 2 MiB (the RAM file system holds 4 MiB per client).
const FILE: usize = 2 << 20;
/// Files of the small-file figures.
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

/// Writes [`TOTAL`] bytes as files in requests of `block` bytes (each file then `fsync`ed),
/// then reads them back in requests of the same size; (write, read) in MiB/s. The contents
/// are made before and checked after the timed part.
fn throughput(dir: &Path, block: usize) -> (f64, f64) {
    let files = TOTAL / FILE;
    let mut back = vec![0u8; FILE];
    let mut write_s = 0.0;
    let mut read_s = 0.0;
    for n in 0..files {
        let data: Vec<u8> = (0..FILE).map(|i| byte(n, i)).collect();
        let path = dir.join(format!("seq-{n}"));
        let start = Instant::now();
        let mut f = File::create(&path).unwrap_or_else(|e| fail("create", e));
        for chunk in data.chunks(block) {
            f.write_all(chunk).unwrap_or_else(|e| fail("write", e));
        }
        f.sync_all().unwrap_or_else(|e| fail("fsync", e));
        drop(f);
        write_s += start.elapsed().as_secs_f64();
        let start = Instant::now();
        let mut f = File::open(&path).unwrap_or_else(|e| fail("open", e));
        for chunk in back.chunks_mut(block) {
            f.read_exact(chunk).unwrap_or_else(|e| fail("read", e));
        }
        let mut more = [0u8; 1];
        let end = f.read(&mut more).unwrap_or_else(|e| fail("read", e));
        drop(f);
        read_s += start.elapsed().as_secs_f64();
        if end != 0 {
            fail("read", "data after the end of the file");
        }
        if let Some(i) = (0..FILE).find(|&i| back[i] != data[i]) {
            fail(
                "read back",
                format!("byte {i} of {} differs", path.display()),
            );
        }
        // The RAM file system holds 4 MiB per client: each file goes before the next.
        fs::remove_file(&path).unwrap_or_else(|e| fail("unlink", e));
    }
    (mib_per_s(TOTAL, write_s), mib_per_s(TOTAL, read_s))
}

/// Creates [`SMALL`] files of 100 bytes, stats each, removes each; operations per second
/// of each step.
fn small_files(dir: &Path) -> (f64, f64, f64) {
    let data = [b'x'; 100];
    let rate = |start: Instant| SMALL as f64 / start.elapsed().as_secs_f64().max(1e-9);
    let start = Instant::now();
    for n in 0..SMALL {
        let mut f = File::create(dir.join(format!("small-{n}")))
            .unwrap_or_else(|e| fail("create small file", e));
        f.write_all(&data)
            .unwrap_or_else(|e| fail("write small file", e));
    }
    let create = rate(start);
    let start = Instant::now();
    for n in 0..SMALL {
        let meta = fs::metadata(dir.join(format!("small-{n}")))
            .unwrap_or_else(|e| fail("stat small file", e));
        if meta.len() != 100 || !meta.is_file() {
            fail("stat small file", format!("small-{n}: size {}", meta.len()));
        }
    }
    let stat = rate(start);
    let start = Instant::now();
    for n in 0..SMALL {
        fs::remove_file(dir.join(format!("small-{n}")))
            .unwrap_or_else(|e| fail("unlink small file", e));
    }
    let unlink = rate(start);
    (create, stat, unlink)
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
        let (write, read) = throughput(dir, block);
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
