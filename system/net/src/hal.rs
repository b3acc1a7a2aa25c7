//! The `virtio-drivers` HAL over the kernel: DMA memory from `io.AllocDma`, device registers
//! from `io.MapMmio`.
//!
//! Unlike the block driver, nothing is copied through a bounce buffer: every buffer the card
//! reads or writes (the receive and transmit frames of [`crate::nic`]) is carved out of DMA
//! memory this program allocated with [`alloc_region`], so `share` only translates the
//! address. A buffer anywhere else is a bug of this program and ends it.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::println;
use ostrog_rt::sys::{self, call_status, CoreTransport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

/// DMA regions buffers may be shared from: (address, physical address, bytes).
const REGIONS: usize = 4;
static REGION_ADDR: [AtomicUsize; REGIONS] = [const { AtomicUsize::new(0) }; REGIONS];
static REGION_PHYS: [AtomicU64; REGIONS] = [const { AtomicU64::new(0) }; REGIONS];
static REGION_LEN: [AtomicUsize; REGIONS] = [const { AtomicUsize::new(0) }; REGIONS];

pub fn io() -> IoProxy<CoreTransport> {
    IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    }
}

/// `io.AllocDma`: (address, physical address).
fn alloc_dma(bytes: usize) -> Result<(usize, u64), Status> {
    io().alloc_dma(bytes as u64)
        .map(|r| (r.addr as usize, r.phys))
        .map_err(call_status)
}

/// `io.MapMmio`: the address of the registers.
pub fn map_mmio(phys: u64, size: usize) -> Result<usize, Status> {
    io().map_mmio(phys, size as u64)
        .map(|r| r.addr as usize)
        .map_err(call_status)
}

/// Allocates `bytes` of DMA memory whose parts may be shared with the card; its address.
pub fn alloc_region(bytes: usize) -> Result<usize, Status> {
    let slot = REGION_LEN
        .iter()
        .position(|l| l.load(Ordering::Relaxed) == 0)
        .ok_or(Status::NoMemory)?;
    let (addr, phys) = alloc_dma(bytes)?;
    if let (Some(a), Some(p), Some(l)) = (
        REGION_ADDR.get(slot),
        REGION_PHYS.get(slot),
        REGION_LEN.get(slot),
    ) {
        a.store(addr, Ordering::Relaxed);
        p.store(phys, Ordering::Relaxed);
        l.store(bytes, Ordering::Relaxed);
    }
    Ok(addr)
}

/// The physical address of `len` bytes at `addr`, if they lie in one region.
fn translate(addr: usize, len: usize) -> Option<u64> {
    (0..REGIONS).find_map(|i| {
        let start = REGION_ADDR.get(i)?.load(Ordering::Relaxed);
        let size = REGION_LEN.get(i)?.load(Ordering::Relaxed);
        let offset = addr.checked_sub(start)?;
        let end = offset.checked_add(len)?;
        (size != 0 && end <= size)
            .then(|| {
                REGION_PHYS
                    .get(i)
                    .map(|p| p.load(Ordering::Relaxed) + offset as u64)
            })
            .flatten()
    })
}

/// Ends the server: the HAL cannot report an error to the library, and without memory or
/// registers there is no card to drive.
fn fatal(what: &str, status: Status) -> ! {
    println!("VfsNet: {what}: {}", status.name());
    sys::exit(1)
}

/// The HAL of this driver.
pub struct OstrogHal;

// SAFETY: `dma_alloc` returns zeroed, page-aligned memory mapped only here until
// `dma_dealloc`; `mmio_phys_to_virt` maps exactly the registers asked for; `share` gives the
// device the physical address of memory that is itself DMA memory of this program.
unsafe impl Hal for OstrogHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let bytes = pages.saturating_mul(PAGE_SIZE);
        match alloc_dma(bytes) {
            Ok((addr, phys)) => match NonNull::new(addr as *mut u8) {
                Some(p) => (phys, p),
                None => fatal("DMA memory at address 0", Status::BadAddress),
            },
            Err(e) => fatal("no DMA memory for a virtqueue", e),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, _pages: usize) -> i32 {
        match io().free_dma(vaddr.as_ptr() as u64) {
            Ok(_) => 0,
            Err(_) => -1,
        }
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        match map_mmio(paddr, size).map(|a| NonNull::new(a as *mut u8)) {
            Ok(Some(p)) => p,
            Ok(None) => fatal("registers at address 0", Status::BadAddress),
            Err(e) => fatal("cannot map the device's registers", e),
        }
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        match translate(buffer.as_ptr().cast::<u8>() as usize, buffer.len()) {
            Some(phys) => phys,
            None => fatal("a buffer outside DMA memory shared", Status::BadAddress),
        }
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
