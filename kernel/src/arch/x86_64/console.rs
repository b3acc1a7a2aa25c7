//! The boot console: the first 16550 UART (COM1, I/O port 0x3f8), polled.
//!
//! Polled output works from the first instruction of Rust code to the crash path, needs no
//! interrupts and no memory mapping, and is what QEMU's `-serial stdio` shows. Input is
//! polled too ([`console_read`], from the timer tick: [`crate::console_input`]).

use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;
const LINE_STATUS: u16 = COM1 + 5;
const TRANSMIT_EMPTY: u8 = 0x20;
const DATA_READY: u8 = 0x01;

fn outb(port: u16, value: u8) {
    // SAFETY: COM1's registers are owned by the console; writing them has no effect on memory.
    unsafe { Port::new(port).write(value) }
}

fn inb(port: u16) -> u8 {
    // SAFETY: as above; reading the line status register has no side effects.
    unsafe { Port::new(port).read() }
}

/// 115200 baud, 8N1, FIFOs on, interrupts off.
pub fn init() {
    outb(COM1 + 1, 0x00); // no interrupts
    outb(COM1 + 3, 0x80); // divisor latch access
    outb(COM1, 0x01); // divisor 1: 115200 baud
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); // 8 bits, no parity, one stop bit
    outb(COM1 + 2, 0xc7); // FIFOs on and cleared, 14-byte threshold
    outb(COM1 + 4, 0x03); // DTR, RTS
}

pub fn console_write(bytes: &[u8]) {
    for &b in bytes {
        let mut spins = 0u32;
        // A missing UART reads as 0xff (transmitter empty), so this cannot hang forever;
        // the bound also protects against a wedged device.
        while inb(LINE_STATUS) & TRANSMIT_EMPTY == 0 && spins < 100_000 {
            spins += 1;
            core::hint::spin_loop();
        }
        outb(COM1, b);
    }
}

/// The next received byte, if the UART holds one. A missing UART reads as 0xff in every
/// register, which is taken as "nothing received" (not an endless stream of 0xff bytes).
pub fn console_read() -> Option<u8> {
    let status = inb(LINE_STATUS);
    if status == 0xff || status & DATA_READY == 0 {
        return None;
    }
    Some(inb(COM1))
}
