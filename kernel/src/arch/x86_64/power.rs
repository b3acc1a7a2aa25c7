//! Ending the machine.
//!
//! Under QEMU the `isa-debug-exit` device (I/O port 0xf4, added by the Ostrog tools) ends the
//! emulator with exit code `(status << 1) | 1`; the harness decodes it back. On a real PC that
//! port is unused and the write has no effect, so the CPU is halted with interrupts off
//! (powering a PC off needs ACPI, which comes with the driver work).

use x86_64::instructions::port::Port;

use crate::power::ExitStatus;

const DEBUG_EXIT_PORT: u16 = 0xf4;

pub fn power_off(status: ExitStatus) -> ! {
    // SAFETY: writing the debug-exit port either ends the emulator or is ignored.
    unsafe { Port::<u32>::new(DEBUG_EXIT_PORT).write(status as u32) };
    crate::console::print_unlocked(format_args!("halted; it is safe to power off\n"));
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
