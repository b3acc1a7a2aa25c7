//! # The Ostrog microkernel
//!
//! Ostrog is a microkernel in the KasperskyOS tradition: programs interact only through typed,
//! synchronous IPC, and a security module compiled from the solution's policy judges every
//! event. This crate is the kernel as a library: a solution's kernel is a small binary that
//! names its security module and its ROMFS and hands over to [`run`] (see [`main!`]). Its
//! design principles, in order of priority:
//!
//! 1. **Nothing a process does may bring the kernel down.** Code reachable from a system call
//!    returns errors; it does not panic. A panic is a kernel bug and is reported as one.
//! 2. **One arch-independent core.** Everything outside [`arch`] is the same on every CPU and
//!    assumes neither 64-bit pointers nor a particular page-table shape. The `arch` module
//!    exposes a fixed set of names (see its documentation); an unsupported target is a
//!    `compile_error!`.
//! 3. **Static configuration.** What runs, and what may talk to what, is fixed when the image
//!    is built. The kernel discovers only the machine (memory, devices) at boot.
//! 4. **Simple over clever.** A reader should be able to follow the boot path and the message
//!    path ([`ipc`]: entry, copy, stamp, decide, deliver) in one sitting.
//! 5. **The kernel enforces, it never decides.** Every event goes to the solution's security
//!    module through one hook ([`security`]); the kernel knows classes only as numbers.
//!
//! ## Boot sequence
//! The architecture's entry code brings the CPU to a known state (64-bit mode, kernel mapped
//! in the upper half, a stack, a console, exception vectors) and calls [`kernel_main`] with a
//! [`boot::BootInfo`] describing physical memory and the command line; [`kernel_main`] hands
//! over to the binary's entry, which calls [`run`] with the binary's module and ROMFS. From
//! there on the sequence is the same on every architecture: memory map, frame allocator,
//! heap, interrupt controller and timer, the security module, the kernel's own `execute`
//! event, then Einit (which starts the solution through the core endpoints, [`core_endpoints`]).
//! When every process has ended the machine powers off.
//!
//! ## Visibility rules
//! A kernel binary uses only [`run`], [`main!`] and the [`Module`] trait. The other modules
//! are `pub` but meant for the crate itself: their items are `pub(crate)` in spirit even
//! where written `pub`. `unsafe` appears only where the hardware needs it (arch code, the
//! direct map, the allocator) and each block says why it is sound.

#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;

#[macro_use]
pub mod console;
pub mod console_input;

pub mod arch;
pub mod boot;
pub mod cmdline;
pub mod core_endpoints;
pub mod crash;
pub mod entropy;
pub mod fastpath;
pub mod fork;
pub mod idl;
pub mod ipc;
pub mod irq;
pub mod judge;
pub mod mm;
pub mod notify;
pub mod object;
pub mod power;
pub mod probe;
pub mod program;
pub mod quota;
pub mod romfs;
pub mod sched;
pub mod security;
pub mod selftest;
pub mod sid;
pub mod syscall;
pub mod task;
pub mod time;
pub mod trap_redirect;
pub mod usercopy;

use boot::BootInfo;

/// Timer frequency requested from the architecture's periodic timer.
pub const TICK_HZ: u32 = 100;

pub use security::Module;

/// The entry of a solution's kernel binary: boots with the security module `M` and the ROMFS
/// archive `romfs` (a cpio archive, usually `include_bytes!` of the image builder's file).
/// Called once, by the function [`main!`] defines, on the boot CPU with interrupts disabled.
pub fn run<M: Module>(info: &BootInfo, romfs: &'static [u8]) -> ! {
    romfs::install(romfs);
    boot(info, security::init::<M>)
}

/// Defines the entry of a solution's kernel binary: `ostrog_kernel::main!(Module, ROMFS)`
/// boots the kernel with the security module `Module` (a type implementing [`Module`]) and
/// the ROMFS archive `ROMFS` (a `&'static [u8]`). The binary is `#![no_std]`,
/// `#![no_main]`; the architecture's boot code (in this library) reaches the entry through
/// [`kernel_main`].
#[macro_export]
macro_rules! main {
    ($module:ty, $romfs:expr $(,)?) => {
        /// The kernel's entry into this binary (see `ostrog_kernel::kernel_main`).
        #[no_mangle]
        fn ostrog_kernel_entry(info: &$crate::boot::BootInfo) -> ! {
            $crate::run::<$module>(info, $romfs)
        }
    };
}

/// Called once by the architecture's entry code, on the boot CPU, with interrupts disabled:
/// hands over to the entry that [`main!`] defined in the kernel binary.
pub fn kernel_main(info: &BootInfo) -> ! {
    extern "Rust" {
        fn ostrog_kernel_entry(info: &BootInfo) -> !;
    }
    // SAFETY: `main!` defines this symbol with this signature in the kernel binary; a binary
    // without it does not link. It is an ordinary Rust function with no precondition.
    unsafe { ostrog_kernel_entry(info) }
}

/// The arch-independent boot sequence; `install_security` installs the binary's module.
fn boot(info: &BootInfo, install_security: fn(bool)) -> ! {
    println!();
    println!(
        "Ostrog {} ({}) booting",
        env!("CARGO_PKG_VERSION"),
        arch::NAME
    );
    let cmdline = cmdline::CommandLine::parse(info.cmdline());
    if !info.cmdline().is_empty() {
        println!("command line: {}", info.cmdline());
    }

    arch::init_fpu(&cmdline);
    boot::print_memory_map(info);
    mm::init(info);

    arch::init_interrupts();
    core_endpoints::io::print_reserved();
    time::start();
    arch::enable_interrupts();
    println!(
        "timer: {} Hz via {}, one-shot deadlines; clock {} kHz",
        TICK_HZ,
        arch::TIMER_NAME,
        time::counter_hz() / 1000
    );
    println!("entropy: {}", entropy::init());

    if let Some(test) = cmdline.selftest() {
        selftest::run(test);
    }

    if let Some(bytes) = cmdline.get("ostrog.max_message") {
        match bytes.parse() {
            Ok(n) if ipc::set_max_message(n) => println!("ipc: messages of up to {n} bytes"),
            _ => println!(
                "ipc: ignoring ostrog.max_message={bytes} (expected {} to {} bytes)",
                ipc::MIN_MAX_MESSAGE,
                ipc::MAX_MAX_MESSAGE
            ),
        }
    }
    match cmdline.get("ostrog.ipc_fast") {
        None | Some("on") => {}
        Some("off") => {
            fastpath::disable();
            println!("ipc: the fast path is off: every message takes the full path");
        }
        Some(other) => println!("ipc: ignoring ostrog.ipc_fast={other} (expected on or off)"),
    }
    install_security(cmdline.get("ostrog.audit") == Some("console"));
    let initial = program::initial(&cmdline);
    let before = mm::usage();
    if !initial.is_empty() && core_endpoints::start_kernel_and_einit(&initial) > 0 {
        // Read just before the first program is scheduled; `cargo xtask bench boot` turns it
        // into instructions from reset (one tick per instruction, or per 16 on AArch64,
        // under QEMU's `-icount shift=0`).
        let counter = arch::cycles();
        println!(
            "boot: counter {counter} at the first user program ({} Hz)",
            time::counter_hz()
        );
        sched::run();
        // Everything the programs made the kernel hold is freed by now.
        let after = mm::usage();
        println!(
            "memory: heap {} bytes in use ({} before Einit), frames {} in use ({} before Einit)",
            after.heap, before.heap, after.frames, before.frames
        );
        match after.frames.checked_sub(before.frames) {
            Some(0) => println!("memory: every frame the programs used is free again"),
            _ => println!("memory: frames in use differ from before Einit"),
        }
        let (calls, answers) = fastpath::taken();
        println!("ipc: fast path taken by {calls} calls and {answers} answers");
        probe::report();
        println!("all processes have ended; powering off");
        arch::power_off(arch::ExitStatus::Success)
    }

    // Nothing to run: show that the timer ticks, then power off.
    let ticks_to_show = cmdline.ticks().unwrap_or(5);
    let mut shown = 0;
    while shown < ticks_to_show {
        // Every tick is shown, even when a slow (emulated or overloaded) host delivers
        // several between two wake-ups.
        let now = time::ticks().min(ticks_to_show);
        while shown < now {
            shown += 1;
            println!("tick {shown}");
        }
        if shown < ticks_to_show {
            arch::wait_for_interrupt();
        }
    }
    println!("nothing left to run; powering off");
    arch::power_off(arch::ExitStatus::Success)
}
