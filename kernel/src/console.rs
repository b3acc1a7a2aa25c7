//! The kernel console: formatted output over the architecture's polled serial port.
//!
//! Output is serialised by a spin lock taken with interrupts disabled, so an interrupt handler
//! that prints cannot deadlock against the code it interrupted. The crash path does not take
//! the lock at all (see [`crate::crash`]): a report must come out even if the lock is held by
//! the code that faulted.
//!
//! The UART is polled, and at 115200 baud a byte takes 87 µs: a long message written in one
//! go would keep interrupts off (the timer, device lines) for as long as it takes, hundreds
//! of milliseconds for a few kilobytes. So a message is formatted into a small buffer and
//! written a line, or [`CHUNK`] bytes, at a time; the lock and the disabled interrupts last
//! for one chunk only (at most about 11 ms on a real UART), and when the caller runs with
//! interrupts enabled a pending interrupt is taken between chunks. System calls run with
//! interrupts disabled; `console.Write` (the programs' output, [`crate::core_endpoints`]) holds no
//! lock and enables them while it prints. The price: a line longer than a chunk may have an
//! interrupt handler's line in the middle of it.

use core::fmt::{self, Write};
use spin::Mutex;

use crate::arch;

struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.split_inclusive('\n') {
            match chunk.strip_suffix('\n') {
                Some(line) => {
                    arch::console_write(line.as_bytes());
                    arch::console_write(b"\r\n");
                }
                None => arch::console_write(chunk.as_bytes()),
            }
        }
        Ok(())
    }
}

static LOCK: Mutex<()> = Mutex::new(());

/// Bytes written with interrupts disabled, at most.
pub const CHUNK: usize = 128;

/// Collects formatted output and writes it a line or a chunk at a time.
struct Chunked {
    buf: [u8; CHUNK],
    len: usize,
}

impl Chunked {
    fn flush(&mut self) {
        let bytes = self.buf.get(..self.len).unwrap_or(&[]);
        arch::without_interrupts(|| {
            let _guard = LOCK.lock();
            // Console::write_str never fails; the bytes are whole UTF-8 or raw bytes the
            // UART takes as they are.
            for chunk in bytes.split_inclusive(|&b| b == b'\n') {
                match chunk.strip_suffix(b"\n") {
                    Some(line) => {
                        arch::console_write(line);
                        arch::console_write(b"\r\n");
                    }
                    None => arch::console_write(chunk),
                }
            }
        });
        self.len = 0;
    }
}

impl Write for Chunked {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
            if b == b'\n' || self.len == CHUNK {
                self.flush();
            }
        }
        Ok(())
    }
}

/// Prints formatted text; used by the `print!`/`println!` macros. Interrupts are disabled
/// for one line or [`CHUNK`] bytes at a time, never for the whole message.
pub fn print(args: fmt::Arguments) {
    let mut out = Chunked {
        buf: [0; CHUNK],
        len: 0,
    };
    // Chunked::write_str never fails.
    let _ = out.write_fmt(args);
    if out.len > 0 {
        out.flush();
    }
}

/// Prints without taking the console lock. Only for the crash path, where the lock may be
/// held by the code that just failed.
pub fn print_unlocked(args: fmt::Arguments) {
    let _ = Console.write_fmt(args);
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::print(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::console::print(format_args!("{}\n", format_args!($($arg)*))));
}
