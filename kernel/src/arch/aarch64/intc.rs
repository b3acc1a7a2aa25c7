//! The interrupt controller on AArch64: a GICv2 driven by the `arm-gic` crate.
//!
//! The distributor and CPU interface addresses come from the device tree. All interrupts
//! start disabled; the kernel enables the timer, and driver processes the shared peripheral
//! interrupts (SPIs, INTID 32 up to what the distributor implements) they claim
//! ([`crate::irq`]). A claimed SPI is routed to this CPU and enabled; while a firing waits
//! for its driver it is disabled (masked) at the distributor.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use arm_gic::gicv2::{GicV2, SgiTarget, SgiTargetListFilter};
use arm_gic::{IntId, InterruptGroup};
use spin::Mutex;

use super::{paging, timer};

static GICD: AtomicU64 = AtomicU64::new(0);
static GICC: AtomicU64 = AtomicU64::new(0);
static GIC: Mutex<Option<GicV2<'static>>> = Mutex::new(None);
/// Where the distributor is mapped (for GICD_ITARGETSR, which the driver crate does not
/// write) and how many interrupt ids it implements.
static GICD_VIRT: AtomicU64 = AtomicU64::new(0);
static LINES: AtomicU32 = AtomicU32::new(0);
/// Offset of GICD_ITARGETSR: one byte per interrupt id, a bit per target CPU.
const GICD_ITARGETSR: usize = 0x800;
/// Largest interrupt id of GICv2 (1020..1023 are special).
const MAX_INTID: u32 = 1020;

pub fn set_addresses(gicd: u64, gicc: u64) {
    GICD.store(gicd, Ordering::Relaxed);
    GICC.store(gicc, Ordering::Relaxed);
}

/// The register ranges of the distributor and CPU interface, for the kernel page tables.
pub fn mmio_ranges() -> [Option<(u64, u64)>; 2] {
    let range = |a: &AtomicU64| match a.load(Ordering::Relaxed) {
        0 => None,
        base => Some((base, 0x1_0000)),
    };
    [range(&GICD), range(&GICC)]
}

/// Sets up the GIC with every interrupt disabled.
#[allow(clippy::panic, reason = "boot: no interrupt controller, no kernel")]
pub fn init_interrupts() {
    let (gicd, gicc) = (GICD.load(Ordering::Relaxed), GICC.load(Ordering::Relaxed));
    if gicd == 0 || gicc == 0 {
        panic!("the device tree names no GICv2 interrupt controller");
    }
    let gicd = paging::map_mmio(gicd, 0x1_0000);
    let gicc = paging::map_mmio(gicc, 0x1_0000);
    // SAFETY: the addresses are the GIC's from the device tree, mapped as device memory, and
    // this is the only driver instance.
    let mut gic = unsafe { GicV2::new(gicd.cast(), gicc.cast()) };
    gic.setup();
    gic.enable_all_interrupts(false);
    GICD_VIRT.store(gicd as u64, Ordering::Relaxed);
    LINES.store(gic.typer().num_irqs().min(MAX_INTID), Ordering::Relaxed);
    *GIC.lock() = Some(gic);
}

fn intid(number: u32) -> IntId {
    if number < 16 {
        IntId::sgi(number)
    } else if number < 32 {
        IntId::ppi(number - 16)
    } else {
        IntId::spi(number - 32)
    }
}

pub fn enable(number: u32) {
    if let Some(gic) = GIC.lock().as_mut() {
        let id = intid(number);
        gic.set_interrupt_priority(id, 0x80);
        // Only an out-of-range id fails, and `number` comes from the device tree.
        let _ = gic.enable_interrupt(id, true);
    }
}

/// Whether `number` is an SPI this distributor implements (what processes may claim).
pub fn is_spi(number: u32) -> bool {
    (32..LINES.load(Ordering::Relaxed)).contains(&number)
}

/// Routes SPI `number` to this CPU (CPU interface 0, the only one in use) and enables it.
pub fn enable_irq(number: u32) {
    let gicd = GICD_VIRT.load(Ordering::Relaxed);
    if gicd == 0 || !is_spi(number) {
        return;
    }
    // SAFETY: the distributor is mapped at `gicd` (64 KiB, device memory); `number` is below
    // the implemented count (at most 1020), so the byte lies in GICD_ITARGETSR inside the
    // mapping. The driver crate never writes these registers, and byte access is
    // architecturally permitted for them.
    unsafe {
        core::ptr::write_volatile(
            (gicd as usize + GICD_ITARGETSR + number as usize) as *mut u8,
            1,
        )
    };
    enable(number);
}

/// Whether a process may claim interrupt `line` (an SPI; the timer is a PPI, never one).
pub fn irq_claimable(line: u32) -> bool {
    is_spi(line) && line != timer::intid()
}

/// Masks a device interrupt line (disabled at the distributor).
pub fn mask_irq(line: u32) {
    set_enabled(line, false);
}

/// Unmasks a device interrupt line.
pub fn unmask_irq(line: u32) {
    set_enabled(line, true);
}

/// Disables (`false`) or enables (`true`) SPI `number` at the distributor.
fn set_enabled(number: u32, enabled: bool) {
    if !is_spi(number) {
        return;
    }
    if let Some(gic) = GIC.lock().as_mut() {
        // In range (checked above): cannot fail.
        let _ = gic.enable_interrupt(intid(number), enabled);
    }
}

/// Disables interrupt id `number` at the distributor, whatever its kind (SGI, PPI, SPI).
pub fn disable(number: u32) {
    if number >= LINES.load(Ordering::Relaxed) {
        return;
    }
    if let Some(gic) = GIC.lock().as_mut() {
        // In range (checked above): cannot fail.
        let _ = gic.enable_interrupt(intid(number), false);
    }
}

/// Enables software-generated interrupt `sgi` (0-15) and sends it to this CPU (self tests).
pub fn send_sgi_to_self(sgi: u32) {
    if sgi >= 16 {
        return;
    }
    enable(sgi);
    if let Some(gic) = GIC.lock().as_mut() {
        gic.send_sgi(
            intid(sgi),
            SgiTarget::List {
                target_list_filter: SgiTargetListFilter::ForwardSelfOnly,
                target_list: 0,
            },
        );
    }
}

/// Takes the highest-priority pending interrupt, runs `handle(number)`, and ends it.
pub fn dispatch(handle: impl FnOnce(u32)) {
    let acked = GIC
        .lock()
        .as_mut()
        .and_then(|g| g.get_and_acknowledge_interrupt(InterruptGroup::Group0));
    let Some(id) = acked else {
        return; // spurious
    };
    let number = u32::from(id);
    handle(number);
    if let Some(gic) = GIC.lock().as_mut() {
        gic.end_interrupt(id, InterruptGroup::Group0);
    }
}
