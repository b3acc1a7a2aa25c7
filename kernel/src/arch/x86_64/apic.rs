//! Interrupt controller and timer: the local APIC.
//!
//! The legacy 8259 PICs are remapped away from the exception vectors and masked; all
//! interrupts come through the local APIC. The APIC timer runs in periodic mode; its
//! frequency is unknown until measured, so it is calibrated once against the PIT (channel 2,
//! which can be polled without interrupts), the one timer every PC and every hypervisor
//! provides at a known rate.

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

use super::paging;
use super::trap::{PIC_BASE, SPURIOUS_VECTOR, TIMER_VECTOR};

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_GLOBAL_ENABLE: u64 = 1 << 11;

const REG_ID: usize = 0x20;
const REG_TPR: usize = 0x80;
const REG_EOI: usize = 0xb0;
const REG_SVR: usize = 0xf0;
const REG_ISR: usize = 0x100;
const REG_ICR_LOW: usize = 0x300;
const REG_ICR_HIGH: usize = 0x310;
const REG_LVT_TIMER: usize = 0x320;
const REG_TIMER_INITIAL: usize = 0x380;
const REG_TIMER_CURRENT: usize = 0x390;
const REG_TIMER_DIVIDE: usize = 0x3e0;

const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;

const PIT_HZ: u64 = 1_193_182;
const CALIBRATION_MS: u64 = 10;

static BASE: AtomicU64 = AtomicU64::new(0);
/// Physical address of the local APIC's registers.
static PHYS: AtomicU64 = AtomicU64::new(0);

/// Physical address of the local APIC (no process may map it, see [`super::reserved`]).
pub fn phys() -> u64 {
    PHYS.load(Ordering::Relaxed)
}

fn write(reg: usize, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: `base` is the uncached mapping of this CPU's local APIC page, and `reg` is one
    // of the architectural register offsets, all inside that page and 16-byte aligned.
    unsafe { core::ptr::write_volatile((base as usize + reg) as *mut u32, value) }
}

fn read(reg: usize) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    // SAFETY: as for `write`.
    unsafe { core::ptr::read_volatile((base as usize + reg) as *const u32) }
}

fn outb(port: u16, value: u8) {
    // SAFETY: PIC and PIT ports are owned by this module; writes have no memory effects.
    unsafe { Port::new(port).write(value) }
}

fn inb(port: u16) -> u8 {
    // SAFETY: as above.
    unsafe { Port::new(port).read() }
}

/// Remaps both 8259s to PIC_BASE.. and masks every line.
fn disable_legacy_pic() {
    let base = PIC_BASE as u8;
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, base);
    outb(0xa1, base + 8);
    outb(0x21, 4);
    outb(0xa1, 2);
    outb(0x21, 1);
    outb(0xa1, 1);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

pub fn init() {
    disable_legacy_pic();
    let mut msr = Msr::new(IA32_APIC_BASE);
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; setting the global enable bit keeps
    // the APIC at its current base.
    let phys = unsafe {
        let value = msr.read();
        msr.write(value | APIC_GLOBAL_ENABLE);
        value & 0x000f_ffff_ffff_f000
    };
    PHYS.store(phys, Ordering::Relaxed);
    let virt = paging::map_mmio(phys, 4096);
    BASE.store(virt as u64, Ordering::Relaxed);
    write(REG_SVR, 0x100 | SPURIOUS_VECTOR as u32);
    write(REG_TPR, 0);
}

/// Busy-waits CALIBRATION_MS on PIT channel 2; returns false if the PIT never finished.
fn pit_wait() -> bool {
    let count = PIT_HZ * CALIBRATION_MS / 1000;
    let gate = inb(0x61);
    outb(0x61, (gate & !0x02) | 0x01);
    outb(0x43, 0b1011_0000); // channel 2, low/high byte, mode 0, binary
    outb(0x42, count as u8);
    outb(0x42, (count >> 8) as u8);
    for _ in 0..50_000_000u32 {
        if inb(0x61) & 0x20 != 0 {
            return true;
        }
    }
    false
}

/// Starts the periodic timer at `hz` interrupts per second.
pub fn start_timer(hz: u32) {
    write(REG_TIMER_DIVIDE, 0x3); // divide by 16
    write(REG_LVT_TIMER, LVT_MASKED);
    write(REG_TIMER_INITIAL, u32::MAX);
    let finished = pit_wait();
    let elapsed = u32::MAX - read(REG_TIMER_CURRENT);
    let per_second = if finished && elapsed > 0 {
        u64::from(elapsed) * 1000 / CALIBRATION_MS
    } else {
        println!("apic: PIT calibration failed; assuming a 1 GHz bus");
        1_000_000_000 / 16
    };
    let initial = (per_second / u64::from(hz.max(1))).clamp(1, u64::from(u32::MAX)) as u32;
    write(REG_LVT_TIMER, TIMER_VECTOR as u32 | LVT_PERIODIC);
    write(REG_TIMER_INITIAL, initial);
}

/// This CPU's local APIC id (where the I/O APIC sends device interrupts).
pub fn id() -> u32 {
    read(REG_ID) >> 24
}

/// Whether the local APIC has `vector` in service: an interrupt it delivered, which needs an
/// end of interrupt, rather than a CPU exception (vectors 16 and up; 0-15 are never
/// delivered by the APIC).
pub fn in_service(vector: u64) -> bool {
    if !(16..256).contains(&vector) {
        return false;
    }
    let reg = REG_ISR + 0x10 * (vector / 32) as usize;
    read(reg) & (1 << (vector % 32)) != 0
}

/// Sends this CPU an interrupt at `vector` (fixed delivery), or an NMI when `nmi`: the
/// self tests use it to stand in for a device or a forged MSI.
pub fn send_to_self(vector: u8, nmi: bool) {
    const DELIVERY_NMI: u32 = 0b100 << 8;
    write(REG_ICR_HIGH, id() << 24);
    write(
        REG_ICR_LOW,
        if nmi { DELIVERY_NMI } else { u32::from(vector) },
    );
}

pub fn end_of_interrupt() {
    write(REG_EOI, 0);
}
