//! AArch64: QEMU `virt` and boards described by a device tree, entered at EL2 or EL1.

mod boot;
mod console;
mod context;
mod fpu;
mod gic;
mod paging;
mod power;
mod reserved;
mod timer;
mod trap;

use aarch64_cpu::registers::{Readable, DAIF};

pub use console::console_write;
pub use context::{prepare_user_thread, set_kernel_stack, switch_context};
pub use fpu::{init as init_fpu, ExtendedState};
pub use paging::{
    activate_kernel_space, init_paging, map_kernel_page, phys_to_virt, unmap_kernel_page,
    AddressSpace, KERNEL_STACKS,
};
pub use power::power_off;
pub use reserved::{kernel_devices, ports_claimable};
pub use trap::inject_strays;

pub const NAME: &str = "aarch64";
pub const TIMER_NAME: &str = "generic timer (virtual) via GICv2";

/// Device register ranges the kernel page tables must map: console and interrupt controller.
fn mmio_ranges() -> impl Iterator<Item = (u64, u64)> {
    core::iter::once(console::mmio_range())
        .chain(gic::mmio_ranges())
        .flatten()
}

pub fn init_interrupts() {
    gic::init();
}

pub fn start_timer(hz: u32) {
    gic::enable(timer::intid());
    timer::start(hz);
}

/// Whether a process may claim interrupt `line` (an SPI; the timer is a PPI, never one).
pub fn irq_claimable(line: u32) -> bool {
    gic::is_spi(line) && line != timer::intid()
}

/// No I/O ports, nothing to switch.
pub fn set_io_ports(_ranges: &[(u16, u16)]) {}

/// Routes a claimed SPI to this CPU and enables it.
pub fn enable_irq(line: u32) {
    gic::enable_spi(line);
}

/// Masks a device interrupt line (disabled at the distributor).
pub fn mask_irq(line: u32) {
    gic::set_enabled(line, false);
}

/// Unmasks a device interrupt line.
pub fn unmask_irq(line: u32) {
    gic::set_enabled(line, true);
}

pub fn enable_interrupts() {
    // SAFETY: unmasks IRQs; the vector table is installed before the first call.
    unsafe { core::arch::asm!("msr daifclr, #2", options(nomem, nostack)) };
}

/// Masks IRQs; returns whether they were unmasked.
pub fn disable_interrupts() -> bool {
    let were = !DAIF.is_set(DAIF::I);
    // SAFETY: masking interrupts has no other effect.
    unsafe { core::arch::asm!("msr daifset, #2", options(nomem, nostack)) };
    were
}

pub fn wait_for_interrupt() {
    // SAFETY: unmask, then wait; a pending interrupt is taken right after the unmask or wakes
    // the wait, so no wake-up is lost.
    unsafe { core::arch::asm!("msr daifclr, #2", "wfi", options(nomem, nostack)) };
}

/// The virtual counter of the generic timer (a fixed-frequency count, not CPU cycles).
pub fn cycles() -> u64 {
    timer::counter()
}

pub fn breakpoint() {
    // SAFETY: brk raises a breakpoint exception and nothing else; used only by self tests.
    unsafe { core::arch::asm!("brk #0") };
}

/// Executes an instruction that does not exist (`udf`).
pub fn illegal_instruction() {
    // SAFETY: udf raises an undefined-instruction exception; used only by self tests.
    unsafe { core::arch::asm!("udf #0") };
}

/// Switches to the stack ending at `top` and calls `f` there (the kernel-stack guard self
/// test); never returns.
pub fn run_on_stack(top: usize, f: extern "C" fn() -> !) -> ! {
    // SAFETY: the caller gives a mapped kernel stack; `f` never returns, so nothing of the
    // abandoned stack is used again.
    unsafe {
        core::arch::asm!(
            "mov sp, {top}",
            "blr {f}",
            top = in(reg) top,
            f = in(reg) f,
            options(noreturn)
        )
    }
}
