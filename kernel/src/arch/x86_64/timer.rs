//! The kernel's tick on x86_64: the local APIC timer, and the time-stamp counter.
//!
//! The APIC timer runs in periodic mode; its frequency is unknown until measured, so it is
//! calibrated once against the PIT (channel 2, which can be polled without interrupts), the
//! one timer every PC and every hypervisor provides at a known rate.

use x86_64::instructions::port::Port;

use super::intc::{lapic_read, lapic_write};
use super::trap::TIMER_VECTOR;

pub const TIMER_NAME: &str = "local APIC timer";

const REG_LVT_TIMER: usize = 0x320;
const REG_TIMER_INITIAL: usize = 0x380;
const REG_TIMER_CURRENT: usize = 0x390;
const REG_TIMER_DIVIDE: usize = 0x3e0;

const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;

const PIT_HZ: u64 = 1_193_182;
const CALIBRATION_MS: u64 = 10;

fn outb(port: u16, value: u8) {
    // SAFETY: the PIT ports are owned by this module; writes have no memory effects.
    unsafe { Port::new(port).write(value) }
}

fn inb(port: u16) -> u8 {
    // SAFETY: as above.
    unsafe { Port::new(port).read() }
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
    lapic_write(REG_TIMER_DIVIDE, 0x3); // divide by 16
    lapic_write(REG_LVT_TIMER, LVT_MASKED);
    lapic_write(REG_TIMER_INITIAL, u32::MAX);
    let finished = pit_wait();
    let elapsed = u32::MAX - lapic_read(REG_TIMER_CURRENT);
    let per_second = if finished && elapsed > 0 {
        u64::from(elapsed) * 1000 / CALIBRATION_MS
    } else {
        println!("apic: PIT calibration failed; assuming a 1 GHz bus");
        1_000_000_000 / 16
    };
    let initial = (per_second / u64::from(hz.max(1))).clamp(1, u64::from(u32::MAX)) as u32;
    lapic_write(REG_LVT_TIMER, TIMER_VECTOR as u32 | LVT_PERIODIC);
    lapic_write(REG_TIMER_INITIAL, initial);
}

/// The time-stamp counter.
pub fn cycles() -> u64 {
    // SAFETY: rdtsc is available on every x86_64 CPU and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}
