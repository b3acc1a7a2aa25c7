//! The disk client: a native client of the virtio-blk driver (kl.drivers.Block through its
//! channel `blk`). Sector 0 holds a marker and the number of boots that wrote the disk; the
//! client checks what an earlier boot wrote (sectors 1-32, one DataMax request), writes this
//! boot's pattern, flushes, and reads it back; then it makes bad requests, each of which must
//! fail with `Invalid` (22) while the driver keeps serving.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use ostrog_rt::client::{channel, refuser};
use ostrog_rt::idl::kl_core_core::riid as core_riid;
use ostrog_rt::idl::kl_core_time::TimeProxy;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;
use ostrog_rt::sys::CoreTransport;

// Generated from the SDK tree's kl/drivers/: this program uses only kl.drivers.Block.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_drivers_block::{BlockProxy, DATA_MAX, INVALID, SECTOR_SIZE};
use idl::kl_drivers_virtio_blk::riid;

ostrog_rt::main!(main);

const SECTOR: usize = SECTOR_SIZE as usize;
const MARKER: &[u8; 16] = b"OSTROG-BLK-TEST\0";
/// Sectors of the pattern, from sector 1: one request of DATA_MAX bytes.
const PATTERN_SECTORS: u32 = DATA_MAX / SECTOR_SIZE;

/// The pattern boot `boot` writes: every byte depends on the boot and its place.
fn pattern(boot: u32) -> Vec<u8> {
    (0..DATA_MAX as usize)
        .map(|i| {
            (i as u32)
                .wrapping_mul(31)
                .wrapping_add(boot.wrapping_mul(97)) as u8
        })
        .collect()
}

/// What an error came to: the driver's errno, or the kernel's refusal.
fn errno<E: HasStatus>(e: &CallError<E>) -> Option<i32> {
    match e {
        CallError::Remote(e) => Some(e.status()),
        _ => None,
    }
}

trait HasStatus {
    fn status(&self) -> i32;
}

macro_rules! has_status {
    ($($t:ident),*) => {$(
        impl HasStatus for idl::kl_drivers_block::$t {
            fn status(&self) -> i32 {
                self.status
            }
        }
    )*};
}
has_status!(InfoError, ReadError, WriteError, FlushError);

/// The kernel's clock in microseconds (`time.Now`).
fn now_us() -> u64 {
    TimeProxy {
        transport: CoreTransport,
        riid: core_riid::TIME,
    }
    .now()
    .map_or(0, |n| n.ns / 1000)
}

/// Requests of the timing figure (each DataMax bytes).
const ROUNDS: u64 = 32;

fn main() -> i32 {
    let Some(transport) = channel("blk", "blk") else {
        return 1;
    };
    let mut blk = BlockProxy {
        transport,
        riid: riid::BLK,
    };
    let mut failed = 0;
    let sectors = match blk.info() {
        Ok(i) => {
            println!(
                "blk: the disk has {} sectors, readonly {}",
                i.sectors, i.readonly
            );
            i.sectors
        }
        Err(e) => {
            println!("blk: FAILED Info: {}", refuser(&e));
            return 1;
        }
    };
    // What an earlier boot left.
    let header = match blk.read(0, 1) {
        Ok(r) => r.data,
        Err(e) => {
            println!("blk: FAILED reading sector 0: {:?}", errno(&e));
            return 1;
        }
    };
    let earlier = if header.get(..16) == Some(&MARKER[..]) {
        let boot = u32::from_le_bytes([header[16], header[17], header[18], header[19]]);
        match blk.read(1, PATTERN_SECTORS) {
            Ok(r) if r.data == pattern(boot) => {
                println!("blk: boot {boot}'s data found intact");
            }
            _ => {
                println!("blk: FAILED boot {boot}'s data is not intact");
                failed += 1;
            }
        }
        boot
    } else {
        println!("blk: no earlier data (a fresh disk)");
        0
    };
    let boot = earlier + 1;
    // This boot's pattern, then the header that names it, then Flush.
    let data = pattern(boot);
    if let Err(e) = blk.write(1, data.clone()) {
        println!("blk: FAILED writing the pattern: {:?}", errno(&e));
        failed += 1;
    }
    let mut header = vec![0u8; SECTOR];
    header[..16].copy_from_slice(MARKER);
    header[16..20].copy_from_slice(&boot.to_le_bytes());
    if let Err(e) = blk.write(0, header.clone()) {
        println!("blk: FAILED writing sector 0: {:?}", errno(&e));
        failed += 1;
    }
    if let Err(e) = blk.flush() {
        println!("blk: FAILED Flush: {:?}", errno(&e));
        failed += 1;
    }
    let back = blk
        .read(1, PATTERN_SECTORS)
        .map(|r| r.data)
        .unwrap_or_default();
    let head = blk.read(0, 1).map(|r| r.data).unwrap_or_default();
    if back == data && head == header {
        println!(
            "blk: boot {boot} wrote {} bytes, flushed and read them back",
            DATA_MAX
        );
    } else {
        println!("blk: FAILED boot {boot}'s data did not read back");
        failed += 1;
    }
    // The last sector is the device's; one past it is not.
    let last = vec![0xa5u8; SECTOR];
    let edge = blk.write(sectors - 1, last.clone()).is_ok()
        && blk.read(sectors - 1, 1).is_ok_and(|r| r.data == last);
    if !edge {
        println!("blk: FAILED the last sector");
        failed += 1;
    }
    // Bad requests: each must be INVALID, and the driver must go on serving.
    let reads: [(&str, u64, u32); 6] = [
        ("past the end", sectors, 1),
        ("across the end", sectors - 1, 2),
        ("at sector 2^64-1", u64::MAX, 1),
        ("of 0 sectors", 0, 0),
        ("of DATA_MAX + 1 sector", 0, PATTERN_SECTORS + 1),
        ("of 2^32-1 sectors", 0, u32::MAX),
    ];
    for (what, sector, count) in reads {
        match blk.read(sector, count) {
            Err(e) if errno(&e) == Some(INVALID) => {}
            Err(e) => {
                println!("blk: FAILED a read {what} gave {:?}", errno(&e));
                failed += 1;
            }
            Ok(_) => {
                println!("blk: FAILED a read {what} succeeded");
                failed += 1;
            }
        }
    }
    let writes: [(&str, u64, usize); 5] = [
        ("of 0 bytes", 1, 0),
        ("of 100 bytes", 1, 100),
        ("of 513 bytes", 1, 513),
        ("past the end", sectors, SECTOR),
        ("across the end", sectors - 1, 2 * SECTOR),
    ];
    for (what, sector, len) in writes {
        match blk.write(sector, vec![0x5a; len]) {
            Err(e) if errno(&e) == Some(INVALID) => {}
            other => {
                println!(
                    "blk: FAILED a write {what} gave {:?}",
                    other.map_err(|e| errno(&e))
                );
                failed += 1;
            }
        }
    }
    // More than DATA_MAX cannot even be sent: the request is refused, never served.
    if blk.write(1, vec![0x5a; DATA_MAX as usize + SECTOR]).is_ok() {
        println!("blk: FAILED a write of more than DATA_MAX bytes succeeded");
        failed += 1;
    }
    println!("blk: bad requests refused with errno {INVALID}");
    // Nothing a bad request did reached the disk.
    match blk.read(1, PATTERN_SECTORS) {
        Ok(r) if r.data == data => println!("blk: the data is unchanged after the bad requests"),
        _ => {
            println!("blk: FAILED the data changed after the bad requests");
            failed += 1;
        }
    }
    // A figure: DataMax-byte reads, then writes and one Flush, over the pattern's sectors
    // (the pattern is written back last).
    let start = now_us();
    let reads_ok = (0..ROUNDS).all(|_| blk.read(1, PATTERN_SECTORS).is_ok());
    let middle = now_us();
    let writes_ok = (0..ROUNDS).all(|_| blk.write(1, data.clone()).is_ok()) && blk.flush().is_ok();
    let end = now_us();
    if reads_ok && writes_ok {
        // The kernel's clock advances by timer ticks: a time of 0 means under one tick.
        println!(
            "blk: {ROUNDS} reads of {DATA_MAX} bytes: {} us; {ROUNDS} writes and a flush: {} us",
            middle - start,
            end - middle
        );
    } else {
        println!("blk: FAILED the timed requests");
        failed += 1;
    }
    println!("blk: done, {failed} failed");
    i32::from(failed != 0)
}
