//! The I/O APIC: device interrupt lines (GSIs) for driver processes.
//!
//! QEMU `q35` (and nearly every PC) has one I/O APIC at [`PHYS`] with 24 inputs. Input `n`
//! (GSI `n`) is routed to vector [`VECTOR_BASE`]` + n`, fixed delivery, physical destination
//! the boot CPU's local APIC. Every input starts masked; a line a driver claims is unmasked
//! ([`crate::irq`]) and masked again while a firing waits for its driver. The trigger mode
//! follows the PC convention: inputs 0..15 are ISA interrupts (edge, active high), 16 and up
//! PCI-style (level; active high as QEMU's ACPI tables describe them; real boards say
//! active low there, which needs the ACPI MADT and DSDT the kernel does not read yet).
//! The end of a level-triggered interrupt reaches the I/O APIC through the local APIC's
//! EOI broadcast.
//!
//! The legacy 8259 PICs stay disabled (see [`super::apic`]).

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::{apic, paging};

/// Where the I/O APIC's registers are on PCs (also kept from processes by
/// [`super::apic::kernel_devices`]).
pub const PHYS: u64 = 0xfec0_0000;
/// Vector of input 0.
pub const VECTOR_BASE: u64 = 64;
/// Inputs the kernel has vectors for.
pub const MAX_INPUTS: u32 = 24;
/// GSI 0 (PIT through the 8259 cascade) and GSI 2 (the PIT, the legacy timer): never
/// device lines for drivers.
const TIMER_GSIS: [u32; 2] = [0, 2];

const IOREGSEL: usize = 0x00;
const IOWIN: usize = 0x10;
const REG_VERSION: u32 = 0x01;
const fn redirection(gsi: u32) -> u32 {
    0x10 + 2 * gsi
}
const MASKED: u32 = 1 << 16;
const LEVEL: u32 = 1 << 15;

static BASE: AtomicU64 = AtomicU64::new(0);
static INPUTS: AtomicU32 = AtomicU32::new(0);

fn write(reg: u32, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: `base` is the uncached mapping of the I/O APIC's register page; IOREGSEL and
    // IOWIN are inside it. The kernel runs on one CPU with interrupts disabled, so the
    // select-then-access pair is never interleaved with another.
    unsafe {
        core::ptr::write_volatile((base as usize + IOREGSEL) as *mut u32, reg);
        core::ptr::write_volatile((base as usize + IOWIN) as *mut u32, value);
    }
}

fn read(reg: u32) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    // SAFETY: as for `write`.
    unsafe {
        core::ptr::write_volatile((base as usize + IOREGSEL) as *mut u32, reg);
        core::ptr::read_volatile((base as usize + IOWIN) as *const u32)
    }
}

/// Maps the I/O APIC and masks every input.
pub fn init() {
    let virt = paging::map_mmio(PHYS, 4096);
    BASE.store(virt as u64, Ordering::Relaxed);
    let inputs = ((read(REG_VERSION) >> 16) & 0xff) + 1;
    let inputs = inputs.min(MAX_INPUTS);
    INPUTS.store(inputs, Ordering::Relaxed);
    for gsi in 0..inputs {
        write(redirection(gsi), MASKED | (VECTOR_BASE as u32 + gsi));
        write(redirection(gsi) + 1, 0);
    }
}

/// Whether a process may claim `gsi`.
pub fn claimable(gsi: u32) -> bool {
    gsi < INPUTS.load(Ordering::Relaxed) && !TIMER_GSIS.contains(&gsi)
}

/// Routes `gsi` to its vector on the boot CPU and unmasks it.
pub fn enable(gsi: u32) {
    if gsi >= INPUTS.load(Ordering::Relaxed) {
        return;
    }
    let trigger = if gsi >= 16 { LEVEL } else { 0 };
    // Destination first, while the entry is still masked.
    write(redirection(gsi) + 1, apic::id() << 24);
    write(redirection(gsi), trigger | (VECTOR_BASE as u32 + gsi));
}

/// Masks or unmasks `gsi`, keeping its routing.
pub fn set_masked(gsi: u32, masked: bool) {
    if gsi >= INPUTS.load(Ordering::Relaxed) {
        return;
    }
    let low = read(redirection(gsi));
    let low = if masked { low | MASKED } else { low & !MASKED };
    write(redirection(gsi), low);
}
