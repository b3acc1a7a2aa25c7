//! The architecture interface.
//!
//! Each architecture is one module under `arch/` with the same file set, each file with the
//! same purpose everywhere (small where a CPU needs little), and exports the same names.
//! Nothing outside this module knows which CPU it runs on. A port writes these files:
//!
//! | file | what it holds |
//! |---|---|
//! | `boot.rs`, `linker.ld` | entry from the loader, boot page tables, [`crate::boot::BootInfo`]; the image layout |
//! | `console.rs` | the polled boot console |
//! | `cpu.rs` | `NAME`; the processor itself: interrupt mask, sleep, deliberate faults, privilege tables (x86 GDT/TSS) |
//! | `trap.rs` | exception and interrupt entry, the trap frame, dispatch, user faults, crash reports |
//! | `syscall.rs` | the system call entry: registers to [`crate::syscall::Args`] and back, and to and from an `ostrog_abi::trap::TrapFrame` |
//! | `context.rs` | thread switch, a new thread's first entry to user mode, the kernel stack for entries |
//! | `paging.rs` | the kernel's page tables, `AddressSpace`, the direct map |
//! | `intc.rs` | the interrupt controller: device lines for drivers, end of interrupt |
//! | `timer.rs` | the periodic tick and the cycle counter |
//! | `fpu.rs` | FP/SIMD for user mode, `ExtendedState` |
//! | `ioports.rs` | user access to I/O ports (nothing where the CPU has none) |
//! | `pci.rs` | PCI configuration space for `io.PciRead`/`io.PciWrite`/`io.PciBarSize` (nothing where the kernel does not give it) |
//! | `reserved.rs` | device ranges no process may claim |
//! | `power.rs` | ending the machine with a status |
//!
//! The names are:
//!
//! | name | what it does |
//! |---|---|
//! | `NAME`, `TIMER_NAME` | architecture and timer names for the banner |
//! | `console_write(&[u8])` | polled write to the boot console, usable at any time |
//! | `console_read() -> Option<u8>` | the next byte the boot console received, if any (polled, [`crate::console_input`]) |
//! | `phys_to_virt(PhysAddr) -> *mut u8` | address of physical memory in the direct map |
//! | `init_paging(&BootInfo)` | replace the boot page tables with the kernel's own |
//! | `init_interrupts()` | interrupt controller up, all device interrupts masked |
//! | `irq_claimable(line) -> bool` | whether a process may claim device interrupt `line` (GIC SPI / I/O APIC GSI; never the kernel's timer) |
//! | `enable_irq(line)` | route a claimed line to this CPU and unmask it |
//! | `mask_irq(line)`, `unmask_irq(line)` | mask / unmask a device line at the controller (masked while a firing waits for its driver, [`crate::irq`]) |
//! | `ports_claimable(first, last) -> Result` | whether a process may claim I/O ports `first..=last` (`AccessDenied` for the kernel's own; `NotSupported` on AArch64, which has no I/O ports) |
//! | `kernel_devices() -> impl Iterator<(start, end)>` | physical ranges no process may map: the reserved-range table of `arch/<arch>/reserved.rs` (docs/devices.md) |
//! | `AddressSpace`, `activate_kernel_space()` | a process's page tables; back to the kernel's own |
//! | `switch_context(save, load)`, `prepare_user_thread(..)`, `set_kernel_stack(top)` | switch kernel stacks; a new thread's first entry to user mode; the stack of the next entry from user mode |
//! | `KERNEL_STACKS`, `map_kernel_page(va, frame)`, `unmap_kernel_page(va)` | the virtual area of thread kernel stacks, mapped in every address space ([`crate::mm::kstack`]) |
//! | `UserRegisters` | the user registers a system call saved (the trap frame on the kernel stack) |
//! | `read_user_frame(&UserRegisters) -> TrapFrame`, `write_user_frame(&mut UserRegisters, &TrapFrame)` | copy the current thread's user registers (and its FS base / `TPIDR_EL0`) to and from an `ostrog_abi::trap::TrapFrame`; a written frame must be `sanitized()`, and the system call returns with every register of it ([`crate::trap_redirect`]) |
//! | `run_on_stack(top, f) -> !` | call `f` on another stack (self test of the stack guard) |
//! | `inject_strays()` | self test: send this CPU interrupts nothing handles, one per tick |
//! | `PCI_CONFIG`, `pci_config_read(address)`, `pci_config_write(address, value)` | whether PCI configuration dwords are reachable, and raw access to them (`bus << 16 \| device << 11 \| function << 8 \| offset`; what may be written is decided by `io`); `pci_bar_probe(address, wide)`, a BAR's all-ones read-back, atomically restored |
//! | `set_io_ports(&[(first, last)])` | let the running process use exactly these port ranges (x86 TSS I/O bitmap; called by the scheduler on every switch; nothing on AArch64) |
//! | `init_fpu(&CommandLine)` | let user mode use the FP/SIMD units (x87/SSE/AVX, AArch64 FP/SIMD); print what is saved |
//! | `ExtendedState` | a thread's user registers beyond the trap frame (FP/SIMD, segment selectors or `TPIDR_EL0`): `default()` (a clean state), `save()`, `restore()`; the scheduler saves and restores them on every switch |
//! | `start_timer() -> u64` | set up (and calibrate) the one-shot timer, whose interrupt calls [`crate::time::on_interrupt`]; returns the rate of `cycles()` in Hz |
//! | `arm_timer(ns)` | fire the timer interrupt once, `ns` from now (replacing what was armed) |
//! | `enable_interrupts()`, `disable_interrupts() -> bool` | the CPU interrupt flag |
//! | `without_interrupts(f)` | run `f` with interrupts disabled, then restore |
//! | `wait_for_interrupt()` | sleep until an interrupt arrives and take it, with interrupts enabled on return (no wake-up lost between enabling and sleeping) |
//! | `cycles() -> u64` | free-running cycle counter (TSC / CNTVCT) |
//! | `probe_counter() -> u64` | the finest counter [`crate::probe`] can read (TSC / PMCCNTR_EL0, started by `start_timer` with the `probes` feature) |
//! | `hardware_random() -> Option<u64>` | the CPU's random-number generator (`RDRAND` / `RNDR`), if it has one ([`crate::entropy`]) |
//! | `breakpoint()`, `illegal_instruction()` | raise the breakpoint / undefined-instruction exception (self tests) |
//! | `power_off(ExitStatus) -> !` | end the machine with a status |
//!
//! The entry code of each architecture builds a [`crate::boot::BootInfo`] and calls
//! [`crate::kernel_main`]. Unexpected exceptions go to [`crate::crash::kernel_trap`].

// The target picks the folder; every folder has the same files, and the names below are
// taken from each by file, so an architecture that lacks one does not build.
#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
use self::x86_64 as imp;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
use self::aarch64 as imp;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("Ostrog supports x86_64 and aarch64; other architectures come later");

pub use crate::power::ExitStatus;
pub use imp::console::{console_read, console_write};
pub use imp::context::{prepare_user_thread, set_kernel_stack, switch_context};
pub use imp::cpu::{
    breakpoint, disable_interrupts, enable_interrupts, hardware_random, illegal_instruction,
    run_on_stack, wait_for_interrupt, NAME,
};
pub use imp::fpu::{init as init_fpu, ExtendedState};
pub use imp::intc::{enable_irq, init_interrupts, irq_claimable, mask_irq, unmask_irq};
pub use imp::ioports::set_io_ports;
pub use imp::paging::{
    activate_kernel_space, init_paging, map_kernel_page, phys_to_virt, unmap_kernel_page,
    AddressSpace, KERNEL_STACKS,
};
pub use imp::pci::{pci_bar_probe, pci_config_read, pci_config_write, PCI_CONFIG};
pub use imp::power::power_off;
pub use imp::reserved::{kernel_devices, ports_claimable};
pub use imp::syscall::{read_user_frame, write_user_frame};
pub use imp::timer::{arm_timer, cycles, probe_counter, start_timer, TIMER_NAME};
pub use imp::trap::{inject_strays, TrapFrame as UserRegisters};

/// Runs `f` with interrupts disabled, restoring the previous state afterwards.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    let were_enabled = disable_interrupts();
    let result = f();
    if were_enabled {
        enable_interrupts();
    }
    result
}
