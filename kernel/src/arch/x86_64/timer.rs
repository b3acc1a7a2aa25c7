//! The kernel's timer on x86_64: the local APIC timer in one-shot mode, and the time-stamp
//! counter as the clock.
//!
//! Neither rate is known until measured, so both are calibrated once against the PIT
//! (channel 2, which can be polled without interrupts), the one timer every PC and every
//! hypervisor provides at a known rate. The TSC-deadline mode would spare the APIC's own
//! rate, but QEMU's default CPU models under TCG do not offer it (CPUID.1:ECX bit 24 is
//! clear), so the APIC counts down in one-shot mode and [`crate::time`] re-arms it when it
//! fires before the deadline by the TSC.

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::instructions::port::Port;

use super::intc::{lapic_read, lapic_write};
use super::trap::TIMER_VECTOR;

pub const TIMER_NAME: &str = "local APIC timer";

const REG_LVT_TIMER: usize = 0x320;
const REG_TIMER_INITIAL: usize = 0x380;
const REG_TIMER_CURRENT: usize = 0x390;
const REG_TIMER_DIVIDE: usize = 0x3e0;

const LVT_MASKED: u32 = 1 << 16;

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

/// APIC timer counts per second (after [`start_timer`]).
static APIC_HZ: AtomicU64 = AtomicU64::new(1_000_000_000 / 16);

/// Calibrates the APIC timer and the TSC, and leaves the timer in one-shot mode, stopped.
/// Returns the TSC's rate in Hz.
pub fn start_timer() -> u64 {
    lapic_write(REG_TIMER_DIVIDE, 0x3); // divide by 16
    lapic_write(REG_LVT_TIMER, LVT_MASKED);
    lapic_write(REG_TIMER_INITIAL, u32::MAX);
    let tsc_start = cycles();
    let finished = pit_wait();
    let tsc_elapsed = cycles().wrapping_sub(tsc_start);
    let elapsed = u32::MAX - lapic_read(REG_TIMER_CURRENT);
    let (apic_hz, tsc_hz) = if finished && elapsed > 0 && tsc_elapsed > 0 {
        (
            u64::from(elapsed) * 1000 / CALIBRATION_MS,
            tsc_elapsed.saturating_mul(1000) / CALIBRATION_MS,
        )
    } else {
        println!("apic: PIT calibration failed; assuming a 1 GHz bus and TSC");
        (1_000_000_000 / 16, 1_000_000_000)
    };
    APIC_HZ.store(apic_hz, Ordering::Relaxed);
    // One-shot: the timer stops at zero until armed again.
    lapic_write(REG_TIMER_INITIAL, 0);
    lapic_write(REG_LVT_TIMER, TIMER_VECTOR as u32);
    tsc_hz
}

/// Fires the timer interrupt once, `ns` nanoseconds from now (at least one APIC count;
/// at most 2^32 counts, about a minute: the caller re-arms for what is left).
pub fn arm_timer(ns: u64) {
    let counts = u128::from(ns) * u128::from(APIC_HZ.load(Ordering::Relaxed)) / 1_000_000_000;
    let counts = u32::try_from(counts).unwrap_or(u32::MAX).max(1);
    lapic_write(REG_TIMER_INITIAL, counts);
}

/// The time-stamp counter.
pub fn cycles() -> u64 {
    // SAFETY: rdtsc is available on every x86_64 CPU and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The counter of [`crate::probe`]: the TSC (one tick per instruction under QEMU's
/// `-icount shift=0`).
#[inline(always)]
pub fn probe_counter() -> u64 {
    cycles()
}
