//! The `virtio-drivers` HAL over the kernel: DMA memory from `io.AllocDma`, device registers
//! from `io.MapMmio`, and a bounce buffer for the driver's own buffers.
//!
//! Virtqueues get memory of their own (`dma_alloc`). The buffers of one request (its header,
//! data and status byte) live in this program's ordinary memory, whose physical address no
//! one knows: `share` copies each into the bounce buffer, one DMA allocation made at start,
//! and `unshare` copies what the device wrote back. One request is in flight at a time, at
//! most `DataMax` bytes of data, so [`BOUNCE`] bytes always suffice; the space is reused once
//! every buffer of the request has been unshared.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::println;
use ostrog_rt::sys::{self, call_status, CoreTransport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

/// Bytes of the bounce buffer: a request's data (at most `DataMax`) and its small header
/// and status, with room to spare.
pub const BOUNCE: usize = 32 * 1024;
/// Alignment of each buffer in the bounce buffer.
const ALIGN: usize = 64;

static BOUNCE_ADDR: AtomicUsize = AtomicUsize::new(0);
static BOUNCE_PHYS: AtomicU64 = AtomicU64::new(0);
/// First free byte of the bounce buffer.
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Buffers shared and not yet unshared.
static SHARED: AtomicUsize = AtomicUsize::new(0);

fn io() -> IoProxy<CoreTransport> {
    IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    }
}

/// `io.AllocDma`: (address, physical address).
pub fn alloc_dma(bytes: usize) -> Result<(usize, u64), Status> {
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

/// Makes the bounce buffer; before any device is set up.
pub fn init() -> Result<(), Status> {
    let (addr, phys) = alloc_dma(BOUNCE)?;
    BOUNCE_ADDR.store(addr, Ordering::Relaxed);
    BOUNCE_PHYS.store(phys, Ordering::Relaxed);
    Ok(())
}

/// Ends the driver: the HAL cannot report an error to the library, and without memory or
/// registers there is no device to serve.
fn fatal(what: &str, status: Status) -> ! {
    println!("VirtioBlk: {what}: {}", status.name());
    sys::exit(1)
}

/// The HAL of this driver.
pub struct OstrogHal;

// SAFETY: `dma_alloc` returns zeroed, page-aligned memory mapped only here until
// `dma_dealloc`; `mmio_phys_to_virt` maps exactly the registers asked for; `share` gives the
// device a bounce copy that no other buffer overlaps while it is shared.
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

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let len = buffer.len();
        let start = NEXT.load(Ordering::Relaxed).next_multiple_of(ALIGN);
        let Some(end) = start.checked_add(len).filter(|&e| e <= BOUNCE) else {
            fatal("a request larger than the bounce buffer", Status::NoMemory)
        };
        NEXT.store(end, Ordering::Relaxed);
        SHARED.fetch_add(1, Ordering::Relaxed);
        let copy = BOUNCE_ADDR.load(Ordering::Relaxed) + start;
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: `buffer` is valid for reads of `len` bytes (the library's contract);
            // `copy..copy + len` lies in the bounce buffer, mapped writable here, and no
            // other shared buffer overlaps it.
            unsafe {
                core::ptr::copy_nonoverlapping(buffer.as_ptr().cast::<u8>(), copy as *mut u8, len);
            }
        }
        BOUNCE_PHYS.load(Ordering::Relaxed) + start as u64
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let offset = paddr.wrapping_sub(BOUNCE_PHYS.load(Ordering::Relaxed)) as usize;
        let len = buffer.len();
        if direction != BufferDirection::DriverToDevice
            && offset.checked_add(len).is_some_and(|e| e <= BOUNCE)
        {
            // SAFETY: `paddr` came from `share` of this buffer, so `offset..offset + len`
            // lies in the bounce buffer; `buffer` is valid for writes of `len` bytes (the
            // library's contract) and the device is done with the copy.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    (BOUNCE_ADDR.load(Ordering::Relaxed) + offset) as *const u8,
                    buffer.as_ptr().cast::<u8>(),
                    len,
                );
            }
        }
        if SHARED.fetch_sub(1, Ordering::Relaxed) == 1 {
            NEXT.store(0, Ordering::Relaxed);
        }
    }
}
