//! The disk client of the blkpoll example: the driver was refused its interrupt line and
//! polls; the disk must still work. The client writes a pattern over sectors 1-32 (one
//! DataMax request), flushes, reads it back, then times DataMax reads and writes.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use ostrog_rt::client::{channel, refuser};
use ostrog_rt::idl::kl_core_core::riid as core_riid;
use ostrog_rt::idl::kl_core_time::TimeProxy;
use ostrog_rt::println;
use ostrog_rt::sys::CoreTransport;

// Generated from the SDK tree's kl/drivers/: this program uses only kl.drivers.Block.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_drivers_block::{BlockProxy, DATA_MAX, SECTOR_SIZE};
use idl::kl_drivers_virtio_blk::riid;

ostrog_rt::main!(main);

/// Sectors of the pattern, from sector 1: one request of DATA_MAX bytes.
const PATTERN_SECTORS: u32 = DATA_MAX / SECTOR_SIZE;
/// Requests of the timing figure (each DataMax bytes).
const ROUNDS: u64 = 32;

/// The pattern: every byte depends on its place.
fn pattern() -> Vec<u8> {
    (0..DATA_MAX as usize)
        .map(|i| (i as u32).wrapping_mul(29).wrapping_add(7) as u8)
        .collect()
}

/// The kernel's clock in microseconds (`time.Now`).
fn now_us() -> u64 {
    TimeProxy {
        transport: CoreTransport,
        riid: core_riid::TIME,
    }
    .now()
    .map_or(0, |n| n.ns / 1000)
}

fn main() -> i32 {
    let Some(transport) = channel("blkpoll", "blk") else {
        return 1;
    };
    let mut blk = BlockProxy {
        transport,
        riid: riid::BLK,
    };
    match blk.info() {
        Ok(i) => println!("blkpoll: the disk has {} sectors", i.sectors),
        Err(e) => {
            println!("blkpoll: FAILED Info: {}", refuser(&e));
            return 1;
        }
    }
    let data = pattern();
    let written = blk.write(1, data.clone()).is_ok() && blk.flush().is_ok();
    let back = blk.read(1, PATTERN_SECTORS).map(|r| r.data);
    if !written || back.as_ref().ok() != Some(&data) {
        println!("blkpoll: FAILED the pattern did not read back");
        return 1;
    }
    println!("blkpoll: wrote {DATA_MAX} bytes, flushed and read them back");
    let start = now_us();
    let reads_ok = (0..ROUNDS).all(|_| blk.read(1, PATTERN_SECTORS).is_ok_and(|r| r.data == data));
    let middle = now_us();
    let writes_ok = (0..ROUNDS).all(|_| blk.write(1, data.clone()).is_ok()) && blk.flush().is_ok();
    let end = now_us();
    if !(reads_ok && writes_ok) {
        println!("blkpoll: FAILED the timed requests");
        return 1;
    }
    println!(
        "blkpoll: {ROUNDS} reads of {DATA_MAX} bytes: {} us; {ROUNDS} writes and a flush: {} us",
        middle - start,
        end - middle
    );
    println!("blkpoll: done");
    0
}
