//! The boot console on AArch64: a PL011 UART, polled, transmit only.
//!
//! The UART's address comes from the device tree. Writing is two registers (wait while the
//! transmit FIFO is full, then write the data register), which is why no driver crate is
//! used; the UART keeps the configuration the firmware or QEMU gave it.

use core::sync::atomic::{AtomicU64, Ordering};

use super::paging;

/// Physical address of the PL011, 0 until the device tree named one.
static BASE: AtomicU64 = AtomicU64::new(0);

const DR: usize = 0x00;
const FR: usize = 0x18;
const FR_TXFF: u32 = 1 << 5;

pub fn init(base: u64) {
    BASE.store(base, Ordering::Relaxed);
}

/// The UART's register range, for the kernel page tables.
pub fn mmio_range() -> Option<(u64, u64)> {
    match BASE.load(Ordering::Relaxed) {
        0 => None,
        base => Some((base, 0x1000)),
    }
}

pub fn console_write(bytes: &[u8]) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    let regs = paging::phys_to_virt(crate::boot::PhysAddr(base));
    for &byte in bytes {
        // SAFETY: `regs` is the PL011 named by the device tree, mapped as device memory by
        // the boot tables and by the kernel's tables (see `mmio_range`); FR and DR are its
        // flag and data registers.
        unsafe {
            // Bounded: a wedged UART must not hang the kernel (a byte may then be lost).
            let mut spins = 0u32;
            while (regs.add(FR) as *const u32).read_volatile() & FR_TXFF != 0 && spins < 100_000 {
                spins += 1;
                core::hint::spin_loop();
            }
            (regs.add(DR) as *mut u32).write_volatile(u32::from(byte));
        }
    }
}
