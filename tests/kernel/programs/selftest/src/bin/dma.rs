//! A driver's view of `io.AllocDma`: physically contiguous, zeroed memory mapped in the
//! caller, with its physical address. Nonsense sizes are refused; an unaligned size is
//! rounded up to pages; the memory is the caller's own (no free of anything else, no partial
//! free, re-protect, share or fork); allocations stop with `NoMemory` at the memory limit,
//! never above it, and freeing gives everything back. One allocation is left at the end for
//! the kernel to free with the process. Prints `dma: FAILED ...` when a check does not hold.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::println;
use ostrog_rt::sys::{self, call_status, CoreTransport, VMM_WRITE};

ostrog_rt::main!(main);

const PAGE: usize = 4096;
/// `MAX_DMA` of the kernel.
const MAX: u64 = 4 * 1024 * 1024;

fn io() -> IoProxy<CoreTransport> {
    IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    }
}

fn alloc(size: u64) -> Result<(usize, u64), Status> {
    io().alloc_dma(size)
        .map(|r| (r.addr as usize, r.phys))
        .map_err(call_status)
}

fn free(addr: usize) -> Result<(), Status> {
    io().free_dma(addr as u64).map(|_| ()).map_err(call_status)
}

extern "C" fn never(_: usize) -> ! {
    sys::exit(99)
}

fn main() -> i32 {
    let mut failed = 0;
    let mut check = |ok: bool, what: &str| {
        if !ok {
            println!("dma: FAILED {what}");
            failed += 1;
        }
    };
    let (before, limit) = sys::memory_usage().unwrap_or((0, 0));
    for size in [0, MAX + 1, u64::MAX, 1 << 40] {
        check(
            alloc(size) == Err(Status::InvalidArgument),
            "a nonsense size was not refused",
        );
    }
    println!("dma: sizes 0 and above the maximum refused");

    // An unaligned size: two pages, zeroed, writable, contiguous in physical memory.
    let Ok((addr, phys)) = alloc(5000) else {
        println!("dma: FAILED AllocDma(5000) refused");
        return 1;
    };
    check(
        phys != 0 && phys % PAGE as u64 == 0,
        "physical address not page-aligned",
    );
    // SAFETY: the kernel mapped two writable pages at `addr`, which nothing else uses.
    let bytes = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, 2 * PAGE) };
    check(bytes.iter().all(|&b| b == 0), "memory not zeroed");
    bytes[0] = 1;
    bytes[2 * PAGE - 1] = 2;
    check(
        sys::memory_usage().is_ok_and(|(u, _)| u >= before + 2 * PAGE as u64),
        "two pages not charged",
    );
    println!("dma: 5000 bytes are two zeroed pages at a page-aligned physical address");

    // Not a DMA allocation, or not its start: refused.
    let private = sys::vmm()
        .allocate(PAGE as u64, VMM_WRITE)
        .map(|r| r.addr as usize)
        .unwrap_or(0);
    check(
        free(private) == Err(Status::InvalidArgument),
        "FreeDma of private memory",
    );
    check(
        free(addr + PAGE) == Err(Status::InvalidArgument),
        "FreeDma inside",
    );
    check(
        free(0x10) == Err(Status::InvalidArgument),
        "FreeDma of nothing",
    );
    check(
        free(usize::MAX) == Err(Status::InvalidArgument),
        "FreeDma of nonsense",
    );
    check(sys::free(addr, PAGE).is_err(), "a partial vmm.Free");
    check(sys::protect(addr, PAGE, 2).is_err(), "made executable");
    check(
        sys::vmm().share(addr as u64, 2 * PAGE as u64).is_err(),
        "DMA memory shared",
    );
    let mut stack = [0u8; 256];
    let top = stack.as_mut_ptr() as usize + stack.len();
    check(
        sys::fork(never, top & !15, 0).map(|_| ()) == Err(Status::NotSupported),
        "forked with DMA memory",
    );
    check(bytes[0] == 1 && bytes[2 * PAGE - 1] == 2, "memory changed");
    println!("dma: only whole DMA allocations are freed; no share, protect or fork");
    check(free(addr).is_ok(), "FreeDma refused");
    check(
        free(addr) == Err(Status::InvalidArgument),
        "a second FreeDma",
    );
    let _ = sys::free(private, PAGE);

    // Exhaustion: 4 MiB at a time until refused, never above the limit.
    let (start, _) = sys::memory_usage().unwrap_or((0, 0));
    let mut held = [0usize; 512];
    let mut count = 0;
    let status = loop {
        if count == held.len() {
            break Status::InvalidArgument;
        }
        match alloc(MAX) {
            Ok((a, p)) => {
                held[count] = a;
                count += 1;
                check(p % PAGE as u64 == 0, "physical address not aligned");
            }
            Err(e) => break e,
        }
    };
    let (used, _) = sys::memory_usage().unwrap_or((u64::MAX, 0));
    check(
        status == Status::NoMemory,
        "exhaustion did not end in NoMemory",
    );
    check(used <= limit, "more than the limit charged");
    println!(
        "dma: refused ({}) after {count} allocations of 4 MiB, within the limit",
        status.name()
    );
    for a in &held[..count] {
        check(free(*a).is_ok(), "FreeDma of a held allocation");
    }
    // What stays charged is the page tables that mapped them (one per 2 MiB at most).
    let tables = (count as u64 * 2 + 4) * PAGE as u64;
    check(
        sys::memory_usage().is_ok_and(|(u, _)| u <= start + tables),
        "freed memory still charged",
    );
    check(alloc(MAX).is_ok(), "no allocation after freeing");
    println!("dma: everything freed and allocatable again; one left for the kernel to free");
    println!("dma: done, {failed} failed");
    i32::from(failed != 0)
}
