//! x86_64: PC-compatible machines (QEMU `q35`, real PCs), booted by PVH or Multiboot2.

mod boot;
mod console;
mod context;
mod cpu;
mod fpu;
mod intc;
mod ioports;
mod paging;
mod power;
mod reserved;
mod syscall;
mod timer;
mod trap;

pub use console::console_write;
pub use context::{prepare_user_thread, set_kernel_stack, switch_context};
pub use cpu::{
    breakpoint, disable_interrupts, enable_interrupts, illegal_instruction, run_on_stack,
    wait_for_interrupt,
};
pub use fpu::{init as init_fpu, ExtendedState};
pub use intc::{enable_irq, init_interrupts, irq_claimable, mask_irq, unmask_irq};
pub use ioports::set_io_ports;
pub use paging::{
    activate_kernel_space, init_paging, map_kernel_page, phys_to_virt, unmap_kernel_page,
    AddressSpace, KERNEL_STACKS,
};
pub use power::power_off;
pub use reserved::{kernel_devices, ports_claimable};
pub use timer::{cycles, start_timer, TIMER_NAME};
pub use trap::inject_strays;

pub const NAME: &str = "x86_64";
