//! A program that tries to take all memory: `vmm.Allocate` until refused, then `romfs.Read`
//! copies of its own file until refused (then closed again). Both must stop at its frame limit (the default, a
//! quarter of RAM) with `NoMemory`, with what it holds never above the limit; it keeps
//! everything for a while (so that `quota-peer` allocates while it does), then ends, and
//! everything is freed. Prints `quota-hog: FAILED ...` when a check does not hold.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::println;
use ostrog_rt::sys::{self, VMM_WRITE};

ostrog_rt::main!(main);

const CHUNK: usize = 256 * 1024;
const PAGE: usize = 4096;

fn main() -> i32 {
    let mut failed = 0;
    let Ok((before, limit)) = sys::memory_usage() else {
        println!("quota-hog: FAILED task.MemoryUsage refused");
        return 1;
    };
    println!(
        "quota-hog: limit {} MiB, {} KiB used by the program",
        limit >> 20,
        before >> 10
    );
    // 1. vmm.Allocate until refused, held.
    let mut chunks = 0usize;
    let status = loop {
        match sys::vmm().allocate(CHUNK as u64, VMM_WRITE) {
            Ok(r) => {
                // Touch every page: they are really there.
                for page in (0..CHUNK).step_by(PAGE) {
                    // SAFETY: the pages were just mapped writable for this process.
                    unsafe { core::ptr::write_volatile((r.addr as usize + page) as *mut u8, 1) };
                }
                chunks += 1;
            }
            Err(e) => break sys::call_status(e),
        }
        if chunks > 100_000 {
            break Status::InvalidArgument;
        }
    };
    let (used, _) = sys::memory_usage().unwrap_or((u64::MAX, 0));
    let taken = (chunks * CHUNK) as u64;
    if status != Status::NoMemory || used > limit || taken + 2 * CHUNK as u64 + before < limit {
        println!(
            "quota-hog: FAILED vmm.Allocate stopped with {} after {} KiB, {} KiB of {} KiB used",
            status.name(),
            taken >> 10,
            used >> 10,
            limit >> 10
        );
        failed += 1;
    }
    println!(
        "quota-hog: vmm.Allocate refused ({}) after {} MiB, at the limit",
        status.name(),
        taken >> 20
    );
    // 2. With the limit reached, romfs.Read copies of this program's own file are
    // refused too (a few may fit in what is left).
    let mut reads = 0usize;
    let (mut low, mut high) = (u32::MAX, 0);
    let status = loop {
        match sys::romfs_read("quota-hog") {
            Ok((h, _)) => {
                reads += 1;
                low = low.min(h.handle);
                high = high.max(h.handle);
            }
            Err(e) => break e,
        }
        if reads > 100_000 {
            break Status::InvalidArgument;
        }
    };
    let (used, _) = sys::memory_usage().unwrap_or((u64::MAX, 0));
    if status != Status::NoMemory || used > limit {
        println!(
            "quota-hog: FAILED romfs.Read stopped with {} at {} KiB of {} KiB",
            status.name(),
            used >> 10,
            limit >> 10
        );
        failed += 1;
    }
    println!(
        "quota-hog: romfs.Read refused ({}) after {reads} copies, at the limit",
        status.name()
    );
    // 3. Close the copies: their regions are freed, what remains charged is the program
    // and its allocations.
    for h in low..=high {
        let _ = sys::handles().close(ostrog_rt::idl::spec_rt::Handle {
            handle: h,
            rights_and_mode: 0,
        });
    }
    let after_close = sys::memory_usage().map_or(u64::MAX, |u| u.0);
    if after_close > before + taken + 64 * PAGE as u64 {
        println!(
            "quota-hog: FAILED closing the copies left {} KiB charged (was {} KiB)",
            after_close >> 10,
            before >> 10
        );
        failed += 1;
    }
    // Hold it all while the peer allocates.
    let _ = sys::sleep_ms(4000);
    println!("quota-hog: done, {failed} failed");
    failed
}
