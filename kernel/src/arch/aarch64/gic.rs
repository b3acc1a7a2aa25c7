//! The interrupt controller on AArch64: a GICv2 driven by the `arm-gic` crate.
//!
//! The distributor and CPU interface addresses come from the device tree. All interrupts
//! start disabled; drivers enable the ones they claim (now: the timer).

use core::sync::atomic::{AtomicU64, Ordering};

use arm_gic::gicv2::GicV2;
use arm_gic::{IntId, InterruptGroup};
use spin::Mutex;

use super::paging;

static GICD: AtomicU64 = AtomicU64::new(0);
static GICC: AtomicU64 = AtomicU64::new(0);
static GIC: Mutex<Option<GicV2<'static>>> = Mutex::new(None);

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

pub fn init() {
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
