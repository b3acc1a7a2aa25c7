//! The boot console on AArch64: a PL011 UART, polled.
//!
//! The UART's address comes from the device tree. Writing is two registers (wait while the
//! transmit FIFO is full, then write the data register), reading two more (receive FIFO
//! empty? then the data register), which is why no driver crate is used; the UART keeps the
//! configuration the firmware or QEMU gave it, except that [`init`] turns on the FIFOs and
//! the receiver (input is polled from the timer tick: [`crate::console_input`]).

use core::sync::atomic::{AtomicU64, Ordering};

use super::paging;

/// Physical address of the PL011, 0 until the device tree named one.
static BASE: AtomicU64 = AtomicU64::new(0);

const DR: usize = 0x00;
const FR: usize = 0x18;
const LCR_H: usize = 0x2c;
const CR: usize = 0x30;
const FR_TXFF: u32 = 1 << 5;
const FR_RXFE: u32 = 1 << 4;
const LCR_H_FEN: u32 = 1 << 4;
const CR_UARTEN: u32 = 1 << 0;
const CR_TXE: u32 = 1 << 8;
const CR_RXE: u32 = 1 << 9;
/// Receive error flags in the data register (framing, parity, break, overrun).
const DR_ERRORS: u32 = 0xf00;

pub fn init(base: u64) {
    BASE.store(base, Ordering::Relaxed);
    let regs = paging::phys_to_virt(crate::boot::PhysAddr(base));
    // SAFETY: `regs` is the PL011 named by the device tree (mapped by the boot tables, as
    // for `console_write`); LCR_H and CR are its line and control registers. The FIFOs hold
    // input between two timer ticks; the receiver must be on for input at all.
    unsafe {
        let lcr = (regs.add(LCR_H) as *const u32).read_volatile();
        if lcr & LCR_H_FEN == 0 {
            (regs.add(LCR_H) as *mut u32).write_volatile(lcr | LCR_H_FEN);
        }
        let cr = (regs.add(CR) as *const u32).read_volatile();
        let want = CR_UARTEN | CR_TXE | CR_RXE;
        if cr & want != want {
            (regs.add(CR) as *mut u32).write_volatile(cr | want);
        }
    }
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

/// The next received byte, if the UART holds one; a byte received with an error (framing,
/// parity, break, overrun) is dropped.
pub fn console_read() -> Option<u8> {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return None;
    }
    let regs = paging::phys_to_virt(crate::boot::PhysAddr(base));
    // SAFETY: as in `console_write`: the PL011's flag and data registers; reading DR pops
    // one byte of the receive FIFO, which only this function does.
    unsafe {
        if (regs.add(FR) as *const u32).read_volatile() & FR_RXFE != 0 {
            return None;
        }
        let data = (regs.add(DR) as *const u32).read_volatile();
        if data & DR_ERRORS != 0 {
            return None;
        }
        Some((data & 0xff) as u8)
    }
}
