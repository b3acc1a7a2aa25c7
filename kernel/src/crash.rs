//! Crash reporting: what the console shows when the kernel itself fails.
//!
//! Two ways in: an unexpected CPU exception in kernel mode (the arch trap handler fills in a
//! [`TrapReport`]) and a Rust panic. Both print a report that names what happened, then power
//! the machine off with a failure status so that a test harness sees the failure instead of a
//! hang. A fault while reporting a fault stops the machine at once.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch;
use crate::console::print_unlocked;
use crate::power::ExitStatus;

/// An exception the kernel did not expect, as the architecture saw it.
pub struct TrapReport<'a> {
    /// Human name of the exception, e.g. "page fault".
    pub what: &'a str,
    /// Architecture vector or exception class number.
    pub vector: u64,
    /// Error code or syndrome, where the CPU provides one.
    pub error_code: Option<u64>,
    /// A decoding of the error code, e.g. "write, not present, kernel mode".
    pub detail: Option<&'a str>,
    /// The address that caused the fault, where the CPU provides one.
    pub fault_addr: Option<u64>,
    /// Program counter at the time of the exception.
    pub pc: u64,
    /// All general registers, named as the architecture names them.
    pub regs: &'a [(&'a str, u64)],
}

/// The decoded detail of a trap (what kind of fault, read or write, which mode), formatted
/// into a fixed buffer: the report must not need the heap, which may be what failed. Text
/// beyond the buffer is dropped.
pub struct TrapDetail {
    buf: [u8; 96],
    len: usize,
}

impl Default for TrapDetail {
    fn default() -> TrapDetail {
        TrapDetail {
            buf: [0; 96],
            len: 0,
        }
    }
}

impl TrapDetail {
    /// The text written so far, or `None` if nothing was.
    pub fn text(&self) -> Option<&str> {
        let bytes = self.buf.get(..self.len).filter(|b| !b.is_empty())?;
        Some(core::str::from_utf8(bytes).unwrap_or(""))
    }
}

impl Write for TrapDetail {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

static CRASHING: AtomicBool = AtomicBool::new(false);

fn enter_crash() {
    if CRASHING.swap(true, Ordering::SeqCst) {
        // A second failure while reporting the first: stop without printing more.
        arch::power_off(ExitStatus::KernelFault);
    }
}

/// Reports an unexpected kernel exception and powers off. Never returns.
pub fn kernel_trap(report: &TrapReport) -> ! {
    arch::disable_interrupts();
    enter_crash();
    print_unlocked(format_args!(
        "\n*** KERNEL FAULT: {} (vector {}) ***\n",
        report.what, report.vector
    ));
    if let Some(code) = report.error_code {
        match report.detail {
            Some(detail) => print_unlocked(format_args!("  error code: {code:#x} ({detail})\n")),
            None => print_unlocked(format_args!("  error code: {code:#x}\n")),
        }
    }
    if let Some(addr) = report.fault_addr {
        print_unlocked(format_args!("  faulting address: {addr:#018x}\n"));
    }
    print_unlocked(format_args!("  pc: {:#018x}\n  registers:\n", report.pc));
    for row in report.regs.chunks(3) {
        print_unlocked(format_args!("   "));
        for (name, value) in row {
            print_unlocked(format_args!(" {name:>6}={value:#018x}"));
        }
        print_unlocked(format_args!("\n"));
    }
    print_unlocked(format_args!("system halted\n"));
    arch::power_off(ExitStatus::KernelFault)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    arch::disable_interrupts();
    enter_crash();
    print_unlocked(format_args!("\n*** KERNEL PANIC: {} ***\n", info.message()));
    if let Some(location) = info.location() {
        print_unlocked(format_args!(
            "  at {}:{}:{}\n",
            location.file(),
            location.line(),
            location.column()
        ));
    }
    print_unlocked(format_args!("system halted\n"));
    arch::power_off(ExitStatus::Panic)
}
