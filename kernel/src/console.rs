//! The kernel console: formatted output over the architecture's polled serial port.
//!
//! Output is serialised by a spin lock taken with interrupts disabled, so an interrupt handler
//! that prints cannot deadlock against the code it interrupted. The crash path does not take
//! the lock at all (see [`crate::crash`]): a report must come out even if the lock is held by
//! the code that faulted.

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

/// Prints formatted text; used by the `print!`/`println!` macros.
pub fn print(args: fmt::Arguments) {
    arch::without_interrupts(|| {
        let _guard = LOCK.lock();
        // Console::write_str never fails.
        let _ = Console.write_fmt(args);
    });
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
