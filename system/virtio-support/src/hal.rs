//! The `virtio-drivers` HAL over the kernel: DMA memory from `io.AllocDma`, device registers
//! from `io.MapMmio`, and the two ways a driver's buffers reach its device.
//!
//! Virtqueues get memory of their own (`dma_alloc`). A buffer the library asks to share is
//! either:
//!
//! - **in a DMA region** the driver allocated with [`alloc_region`] (the network server
//!   carves every frame buffer out of one), and then `share` only translates its address,
//!   nothing is copied; or
//! - **ordinary memory** of the program, whose physical address no one knows: `share` copies
//!   it into the bounce buffer ([`init_bounce`], one DMA allocation made at start) and
//!   `unshare` copies back what the device wrote. The space is handed out in order and reused
//!   once every bounced buffer has been unshared, so a driver with one request in flight at a
//!   time (the block driver, the random-number device) needs a bounce buffer as large as one
//!   request.
//!
//! A buffer that fits neither (no bounce buffer, or a request larger than it) is a bug of the
//! driver and ends it: the HAL cannot report an error to the library.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::println;
use ostrog_rt::sys::{self, call_status, CoreTransport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

/// The driver's name, for its fatal errors.
static PROGRAM: spin::Once<&'static str> = spin::Once::new();

/// DMA regions buffers may be shared from without a copy.
const REGIONS: usize = 4;
static REGION_ADDR: [AtomicUsize; REGIONS] = [const { AtomicUsize::new(0) }; REGIONS];
static REGION_PHYS: [AtomicU64; REGIONS] = [const { AtomicU64::new(0) }; REGIONS];
static REGION_LEN: [AtomicUsize; REGIONS] = [const { AtomicUsize::new(0) }; REGIONS];

/// The bounce buffer: address, physical address, bytes (0: none).
static BOUNCE_ADDR: AtomicUsize = AtomicUsize::new(0);
static BOUNCE_PHYS: AtomicU64 = AtomicU64::new(0);
static BOUNCE_LEN: AtomicUsize = AtomicUsize::new(0);
/// First free byte of the bounce buffer.
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Bounced buffers shared and not yet unshared.
static SHARED: AtomicUsize = AtomicUsize::new(0);
/// Alignment of each buffer in the bounce buffer.
const ALIGN: usize = 64;

/// The kernel's device calls (`kl.core.Core`, endpoint `io`).
pub fn io() -> IoProxy<CoreTransport> {
    IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    }
}

/// Names the driver for the HAL's fatal errors; first thing.
pub fn init(program: &'static str) {
    PROGRAM.call_once(|| program);
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

/// Makes the bounce buffer of `bytes`; before the device is set up. Once.
pub fn init_bounce(bytes: usize) -> Result<(), Status> {
    if BOUNCE_LEN.load(Ordering::Relaxed) != 0 {
        return Err(Status::InvalidArgument);
    }
    let (addr, phys) = alloc_dma(bytes)?;
    BOUNCE_ADDR.store(addr, Ordering::Relaxed);
    BOUNCE_PHYS.store(phys, Ordering::Relaxed);
    BOUNCE_LEN.store(bytes, Ordering::Relaxed);
    Ok(())
}

/// Allocates `bytes` of DMA memory whose parts may be shared with the device without a
/// copy; its address.
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

/// Ends the driver: without memory or registers there is no device to drive.
fn fatal(what: &str, status: Status) -> ! {
    let program = PROGRAM.get().copied().unwrap_or("virtio driver");
    println!("{program}: {what}: {}", status.name());
    sys::exit(1)
}

/// Copies `len` bytes at `from` into the bounce buffer for the device; the copy's physical
/// address.
///
/// # Safety
/// `from` is valid for reads of `len` bytes when `copy` is true.
unsafe fn bounce(from: *const u8, len: usize, copy: bool) -> PhysAddr {
    let start = NEXT.load(Ordering::Relaxed).next_multiple_of(ALIGN);
    let Some(end) = start
        .checked_add(len)
        .filter(|&e| e <= BOUNCE_LEN.load(Ordering::Relaxed))
    else {
        fatal(
            "a buffer outside DMA memory larger than the bounce buffer",
            Status::NoMemory,
        )
    };
    NEXT.store(end, Ordering::Relaxed);
    SHARED.fetch_add(1, Ordering::Relaxed);
    let to = BOUNCE_ADDR.load(Ordering::Relaxed) + start;
    if copy {
        // SAFETY: `from` is valid for reads of `len` bytes (this function's contract);
        // `to..to + len` lies in the bounce buffer, mapped writable here, and no other
        // bounced buffer overlaps it.
        unsafe { core::ptr::copy_nonoverlapping(from, to as *mut u8, len) };
    }
    BOUNCE_PHYS.load(Ordering::Relaxed) + start as u64
}

/// The HAL every virtio driver of Ostrog uses.
pub struct OstrogHal;

// SAFETY: `dma_alloc` returns zeroed, page-aligned memory mapped only here until
// `dma_dealloc`; `mmio_phys_to_virt` maps exactly the registers asked for; `share` gives the
// device either the physical address of memory that is itself DMA memory of this program,
// or a bounce copy that no other shared buffer overlaps while it is shared.
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
        let (addr, len) = (buffer.as_ptr().cast::<u8>(), buffer.len());
        if let Some(phys) = translate(addr as usize, len) {
            return phys;
        }
        // SAFETY: `buffer` is valid for reads of `len` bytes (the library's contract).
        unsafe { bounce(addr, len, direction != BufferDirection::DeviceToDriver) }
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let offset = paddr.wrapping_sub(BOUNCE_PHYS.load(Ordering::Relaxed)) as usize;
        let len = buffer.len();
        let bounced = BOUNCE_LEN.load(Ordering::Relaxed);
        // A buffer of a region was not copied; only a bounced one comes back.
        if offset.checked_add(len).is_none_or(|e| e > bounced) {
            return;
        }
        if direction != BufferDirection::DriverToDevice {
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
