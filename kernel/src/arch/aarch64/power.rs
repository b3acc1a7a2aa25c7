//! Ending the machine on AArch64: semihosting exit (under a test harness) or PSCI.
//!
//! With `ostrog.exit=semihosting` on the command line the kernel reports its status through
//! the semihosting call `SYS_EXIT_EXTENDED`, which QEMU (started with `-semihosting`) turns
//! into its own exit code. Otherwise it calls PSCI `SYSTEM_OFF` through the conduit the device
//! tree names (`hvc` or `smc`). If neither ends the machine, the CPU halts.

use core::sync::atomic::{AtomicU8, Ordering};

use crate::power::ExitStatus;

const SEMIHOSTING: u8 = 1;
const PSCI_HVC: u8 = 2;
const PSCI_SMC: u8 = 4;

static METHOD: AtomicU8 = AtomicU8::new(0);

/// Semihosting operation `SYS_EXIT_EXTENDED`.
const SYS_EXIT_EXTENDED: u64 = 0x20;
/// Reason code `ADP_Stopped_ApplicationExit`.
const APPLICATION_EXIT: u64 = 0x2_0026;
/// PSCI `SYSTEM_OFF` function id.
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;

pub fn set_semihosting(enabled: bool) {
    if enabled {
        METHOD.fetch_or(SEMIHOSTING, Ordering::Relaxed);
    }
}

pub fn set_psci_method(method: Option<&str>) {
    match method {
        Some("hvc") => METHOD.fetch_or(PSCI_HVC, Ordering::Relaxed),
        Some("smc") => METHOD.fetch_or(PSCI_SMC, Ordering::Relaxed),
        _ => 0,
    };
}

pub fn power_off(status: ExitStatus) -> ! {
    let method = METHOD.load(Ordering::Relaxed);
    if method & SEMIHOSTING != 0 {
        let block = [APPLICATION_EXIT, status as u64];
        // SAFETY: the semihosting call reads the two-word block and ends the machine; the
        // harness enabled semihosting (that is what the command-line option says).
        unsafe {
            core::arch::asm!(
                "hlt #0xf000",
                inout("x0") SYS_EXIT_EXTENDED => _,
                in("x1") block.as_ptr(),
                options(nostack)
            );
        }
    }
    if method & PSCI_HVC != 0 {
        // SAFETY: PSCI SYSTEM_OFF does not return when it succeeds.
        unsafe { core::arch::asm!("hvc #0", inout("x0") PSCI_SYSTEM_OFF => _, options(nostack)) };
    } else if method & PSCI_SMC != 0 {
        // SAFETY: as above, through the secure monitor.
        unsafe { core::arch::asm!("smc #0", inout("x0") PSCI_SYSTEM_OFF => _, options(nostack)) };
    }
    halt_silently()
}

/// Stops this CPU for good (interrupts masked).
pub fn halt_silently() -> ! {
    loop {
        // SAFETY: masks interrupts and waits; nothing else changes.
        unsafe { core::arch::asm!("msr daifset, #0xf", "wfi", options(nostack)) };
    }
}
