//! How the kernel ends: the status it reports to whoever started the machine.
//!
//! Under QEMU the status becomes the emulator's exit code (see the test harness); on real
//! hardware the machine powers off or halts.

/// Status reported when the machine powers off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitStatus {
    /// Everything ran and nothing is left to do.
    Success = 0,
    /// The kernel panicked.
    Panic = 2,
    /// The kernel took an exception it did not expect.
    KernelFault = 3,
}
