//! x86_64: PC-compatible machines (QEMU `q35`, real PCs), booted by PVH or Multiboot2.

mod apic;
mod boot;
mod console;
mod context;
mod fpu;
mod gdt;
mod ioapic;
mod ioports;
mod paging;
mod power;
mod reserved;
mod syscall;
mod trap;

pub use console::console_write;
pub use context::{prepare_user_thread, switch_context};
pub use fpu::{init as init_fpu, ExtendedState};
pub use ioports::set_io_ports;
pub use paging::{
    activate_kernel_space, init_paging, map_kernel_page, phys_to_virt, unmap_kernel_page,
    AddressSpace, KERNEL_STACKS,
};
pub use power::power_off;
pub use reserved::{kernel_devices, ports_claimable};
pub use syscall::set_kernel_stack;
pub use trap::inject_strays;

pub const NAME: &str = "x86_64";
pub const TIMER_NAME: &str = "local APIC timer";

pub fn init_interrupts() {
    apic::init();
    ioapic::init();
}

/// Whether a process may claim interrupt line `line` (an I/O APIC input, not a timer's).
pub fn irq_claimable(line: u32) -> bool {
    ioapic::claimable(line)
}

/// Routes a claimed I/O APIC input to this CPU and unmasks it.
pub fn enable_irq(line: u32) {
    ioapic::enable(line);
}

/// Masks a device interrupt line at the I/O APIC.
pub fn mask_irq(line: u32) {
    ioapic::set_masked(line, true);
}

/// Unmasks a device interrupt line.
pub fn unmask_irq(line: u32) {
    ioapic::set_masked(line, false);
}

pub fn start_timer(hz: u32) {
    apic::start_timer(hz);
}

pub fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}

/// Disables interrupts; returns whether they were enabled.
pub fn disable_interrupts() -> bool {
    let were = x86_64::instructions::interrupts::are_enabled();
    x86_64::instructions::interrupts::disable();
    were
}

pub fn wait_for_interrupt() {
    x86_64::instructions::interrupts::enable_and_hlt();
}

/// The time-stamp counter.
pub fn cycles() -> u64 {
    // SAFETY: rdtsc is available on every x86_64 CPU and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

pub fn breakpoint() {
    x86_64::instructions::interrupts::int3();
}

/// Executes an instruction that does not exist (`ud2`).
pub fn illegal_instruction() {
    // SAFETY: ud2 raises #UD and nothing else; used only by the self tests.
    unsafe { core::arch::asm!("ud2") };
}

/// Switches to the stack ending at `top` and calls `f` there (the kernel-stack guard self
/// test); never returns.
pub fn run_on_stack(top: usize, f: extern "C" fn() -> !) -> ! {
    // SAFETY: the caller gives a mapped kernel stack; `f` never returns, so nothing of the
    // abandoned stack is used again.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "call {f}",
            top = in(reg) top,
            f = in(reg) f,
            options(noreturn)
        )
    }
}
