//! The interrupt controllers: the local APIC, the I/O APIC, and the legacy PICs kept out of
//! the way.
//!
//! The legacy 8259 PICs are remapped away from the exception vectors and masked; every
//! interrupt comes through the local APIC, which also drives the kernel's tick
//! ([`super::timer`]) and takes the end of every interrupt.
//!
//! Device lines come through the I/O APIC. QEMU `q35` (and nearly every PC) has one at
//! [`IOAPIC_PHYS`] with 24 inputs. Input `n` (GSI `n`) is routed to vector
//! [`VECTOR_BASE`]` + n`, fixed delivery, physical destination the boot CPU's local APIC.
//! Every input starts masked; a line a driver claims is unmasked ([`crate::irq`]) and masked
//! again while a firing waits for its driver. The trigger mode follows the PC convention:
//! inputs 0..15 are ISA interrupts (edge, active high), 16 and up PCI-style (level; active
//! high as QEMU's ACPI tables describe them; real boards say active low there, which needs
//! the ACPI MADT and DSDT the kernel does not read yet). The end of a level-triggered
//! interrupt reaches the I/O APIC through the local APIC's EOI broadcast.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

use super::paging;
use super::trap::{PIC_BASE, SPURIOUS_VECTOR};

/// Maps the interrupt controllers with every device interrupt masked.
pub fn init_interrupts() {
    init_local_apic();
    init_ioapic();
}

// --- The local APIC ---------------------------------------------------------------------

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_GLOBAL_ENABLE: u64 = 1 << 11;

const REG_ID: usize = 0x20;
const REG_TPR: usize = 0x80;
const REG_EOI: usize = 0xb0;
const REG_SVR: usize = 0xf0;
const REG_ISR: usize = 0x100;
const REG_ICR_LOW: usize = 0x300;
const REG_ICR_HIGH: usize = 0x310;

static LAPIC_BASE: AtomicU64 = AtomicU64::new(0);
/// Physical address of the local APIC's registers.
static LAPIC_PHYS: AtomicU64 = AtomicU64::new(0);

/// Physical address of the local APIC (no process may map it, see [`super::reserved`]).
pub fn lapic_phys() -> u64 {
    LAPIC_PHYS.load(Ordering::Relaxed)
}

/// Writes local APIC register `reg` (an architectural offset; [`super::timer`] uses the
/// timer's).
pub fn lapic_write(reg: usize, value: u32) {
    let base = LAPIC_BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: `base` is the uncached mapping of this CPU's local APIC page, and `reg` is one
    // of the architectural register offsets, all inside that page and 16-byte aligned.
    unsafe { core::ptr::write_volatile((base as usize + reg) as *mut u32, value) }
}

/// Reads local APIC register `reg`.
pub fn lapic_read(reg: usize) -> u32 {
    let base = LAPIC_BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    // SAFETY: as for `lapic_write`.
    unsafe { core::ptr::read_volatile((base as usize + reg) as *const u32) }
}

fn outb(port: u16, value: u8) {
    // SAFETY: the PIC ports are owned by this module; writes have no memory effects.
    unsafe { Port::new(port).write(value) }
}

/// Remaps both 8259s to PIC_BASE.. and masks every line.
fn disable_legacy_pic() {
    let base = PIC_BASE as u8;
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, base);
    outb(0xa1, base + 8);
    outb(0x21, 4);
    outb(0xa1, 2);
    outb(0x21, 1);
    outb(0xa1, 1);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

fn init_local_apic() {
    disable_legacy_pic();
    let mut msr = Msr::new(IA32_APIC_BASE);
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; setting the global enable bit keeps
    // the APIC at its current base.
    let phys = unsafe {
        let value = msr.read();
        msr.write(value | APIC_GLOBAL_ENABLE);
        value & 0x000f_ffff_ffff_f000
    };
    LAPIC_PHYS.store(phys, Ordering::Relaxed);
    let virt = paging::map_mmio(phys, 4096);
    LAPIC_BASE.store(virt as u64, Ordering::Relaxed);
    lapic_write(REG_SVR, 0x100 | SPURIOUS_VECTOR as u32);
    lapic_write(REG_TPR, 0);
}

/// This CPU's local APIC id (where the I/O APIC sends device interrupts).
fn lapic_id() -> u32 {
    lapic_read(REG_ID) >> 24
}

/// Whether the local APIC has `vector` in service: an interrupt it delivered, which needs an
/// end of interrupt, rather than a CPU exception (vectors 16 and up; 0-15 are never
/// delivered by the APIC).
pub fn in_service(vector: u64) -> bool {
    if !(16..256).contains(&vector) {
        return false;
    }
    let reg = REG_ISR + 0x10 * (vector / 32) as usize;
    lapic_read(reg) & (1 << (vector % 32)) != 0
}

/// Sends this CPU an interrupt at `vector` (fixed delivery), or an NMI when `nmi`: the
/// self tests use it to stand in for a device or a forged MSI.
pub fn send_to_self(vector: u8, nmi: bool) {
    const DELIVERY_NMI: u32 = 0b100 << 8;
    lapic_write(REG_ICR_HIGH, lapic_id() << 24);
    lapic_write(
        REG_ICR_LOW,
        if nmi { DELIVERY_NMI } else { u32::from(vector) },
    );
}

pub fn end_of_interrupt() {
    lapic_write(REG_EOI, 0);
}

// --- The I/O APIC -----------------------------------------------------------------------

/// Where the I/O APIC's registers are on PCs (also kept from processes by
/// [`super::reserved`]).
pub const IOAPIC_PHYS: u64 = 0xfec0_0000;
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

static IOAPIC_BASE: AtomicU64 = AtomicU64::new(0);
static INPUTS: AtomicU32 = AtomicU32::new(0);

fn ioapic_write(reg: u32, value: u32) {
    let base = IOAPIC_BASE.load(Ordering::Relaxed);
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

fn ioapic_read(reg: u32) -> u32 {
    let base = IOAPIC_BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    // SAFETY: as for `ioapic_write`.
    unsafe {
        core::ptr::write_volatile((base as usize + IOREGSEL) as *mut u32, reg);
        core::ptr::read_volatile((base as usize + IOWIN) as *const u32)
    }
}

/// Maps the I/O APIC and masks every input.
fn init_ioapic() {
    let virt = paging::map_mmio(IOAPIC_PHYS, 4096);
    IOAPIC_BASE.store(virt as u64, Ordering::Relaxed);
    let inputs = ((ioapic_read(REG_VERSION) >> 16) & 0xff) + 1;
    let inputs = inputs.min(MAX_INPUTS);
    INPUTS.store(inputs, Ordering::Relaxed);
    for gsi in 0..inputs {
        ioapic_write(redirection(gsi), MASKED | (VECTOR_BASE as u32 + gsi));
        ioapic_write(redirection(gsi) + 1, 0);
    }
}

/// Whether a process may claim `gsi` (an I/O APIC input, not a timer's).
pub fn irq_claimable(gsi: u32) -> bool {
    gsi < INPUTS.load(Ordering::Relaxed) && !TIMER_GSIS.contains(&gsi)
}

/// Routes `gsi` to its vector on the boot CPU and unmasks it.
pub fn enable_irq(gsi: u32) {
    if gsi >= INPUTS.load(Ordering::Relaxed) {
        return;
    }
    let trigger = if gsi >= 16 { LEVEL } else { 0 };
    // Destination first, while the entry is still masked.
    ioapic_write(redirection(gsi) + 1, lapic_id() << 24);
    ioapic_write(redirection(gsi), trigger | (VECTOR_BASE as u32 + gsi));
}

/// Masks or unmasks `gsi`, keeping its routing.
fn set_masked(gsi: u32, masked: bool) {
    if gsi >= INPUTS.load(Ordering::Relaxed) {
        return;
    }
    let low = ioapic_read(redirection(gsi));
    let low = if masked { low | MASKED } else { low & !MASKED };
    ioapic_write(redirection(gsi), low);
}

/// Masks device interrupt line `gsi` at the I/O APIC.
pub fn mask_irq(gsi: u32) {
    set_masked(gsi, true);
}

/// Unmasks device interrupt line `gsi`.
pub fn unmask_irq(gsi: u32) {
    set_masked(gsi, false);
}
