//! Probes on the message path: where the instructions of a Call+Reply round trip go.
//!
//! Compiled in only with the kernel's `probes` feature (the image `cargo xtask bench ipc`
//! builds for its breakdown); without it every function here is empty and inlined away, so
//! the measured kernel is the shipped one. With it, [`mark`] reads the architecture's
//! probe counter ([`crate::arch::probe_counter`]: the TSC on x86_64, the PMU cycle counter
//! on AArch64; both count guest instructions under QEMU's `-icount shift=0`) and charges the
//! time since the previous mark to the [`Stage`] that just ended. A stretch longer than
//! [`GAP`] is not a stage of a round trip (the boot, an idle wait, a program's own work) and
//! is counted apart. [`report`] prints the totals per round trip when the machine powers off.
//!
//! The probes cost instructions of their own (a counter read and a few additions each,
//! about ten marks per round trip): the breakdown says where the time goes, the figure
//! without probes says how much there is.

#[cfg(feature = "probes")]
use core::sync::atomic::{AtomicU64, Ordering};

/// A stretch of the message path, named by what it did.
#[derive(Clone, Copy)]
#[repr(usize)]
pub enum Stage {
    /// From the previous system call's return to this one's dispatch: the user program, and
    /// the architecture's entry and exit code (trap, register save and restore).
    UserAndTrap,
    /// Decoding the registers and finding the current thread.
    Entry,
    /// A `Call`'s handle, channel, endpoint and server looked up.
    Lookup,
    /// The message copied from user memory into the kernel's buffer, its header checked.
    CopyIn,
    /// Handles resolved, header stamped (the kernel's own checks before the policy).
    Validation,
    /// The security module's decision (its IDL validation, dispatch, rules, commit) and
    /// the kernel's count of verdicts.
    Decision,
    /// The call queued, receivers woken; a delivered call taken off the queue; a response
    /// handed to its caller.
    Queue,
    /// Blocking, the scheduler, the context switch, and waking in the other thread.
    Switch,
    /// The message copied to the receiver's memory, buffers recycled.
    CopyOut,
    /// From the last mark to the system call's return to the architecture.
    Exit,
}

/// Number of [`Stage`]s.
#[cfg(feature = "probes")]
const STAGES: usize = 10;

/// Names printed by [`report`], in [`Stage`] order.
#[cfg(feature = "probes")]
const NAMES: [&str; STAGES] = [
    "user program and trap entry/exit",
    "entry (decode, current thread)",
    "lookup (handle, channel, endpoint)",
    "copy in (user to kernel buffer)",
    "validation (header, handles, stamp)",
    "decision (security module)",
    "queue and hand-over",
    "switch (block, schedule, resume)",
    "copy out (kernel buffer to user)",
    "exit (to the architecture)",
];

/// A stretch longer than this many counts is not part of a round trip.
#[cfg(feature = "probes")]
const GAP: u64 = 200_000;

#[cfg(feature = "probes")]
static LAST: AtomicU64 = AtomicU64::new(0);
#[cfg(feature = "probes")]
static TOTALS: [AtomicU64; STAGES] = [const { AtomicU64::new(0) }; STAGES];
#[cfg(feature = "probes")]
static GAPS: AtomicU64 = AtomicU64::new(0);
#[cfg(feature = "probes")]
static TRIPS: AtomicU64 = AtomicU64::new(0);

/// Charges the time since the previous mark to `stage`.
#[inline(always)]
pub fn mark(stage: Stage) {
    #[cfg(feature = "probes")]
    {
        let now = crate::arch::probe_counter();
        let since = now.wrapping_sub(LAST.swap(now, Ordering::Relaxed));
        if since > GAP {
            GAPS.fetch_add(1, Ordering::Relaxed);
        } else if let Some(total) = TOTALS.get(stage as usize) {
            total.fetch_add(since, Ordering::Relaxed);
        }
    }
    #[cfg(not(feature = "probes"))]
    let _ = stage;
}

/// Counts one round trip (a `Call` to a server).
#[inline(always)]
pub fn round_trip() {
    #[cfg(feature = "probes")]
    TRIPS.fetch_add(1, Ordering::Relaxed);
}

/// Prints the totals per round trip (nothing without the `probes` feature).
pub fn report() {
    #[cfg(feature = "probes")]
    {
        let trips = TRIPS.load(Ordering::Relaxed);
        if trips == 0 {
            return;
        }
        let mut sum = 0;
        for (name, total) in NAMES.iter().zip(TOTALS.iter()) {
            let total = total.load(Ordering::Relaxed);
            sum += total;
            println!("probe: {:>6} {name}", total / trips);
        }
        println!(
            "probe: {:>6} total per round trip over {trips} round trips ({} gaps left out)",
            sum / trips,
            GAPS.load(Ordering::Relaxed)
        );
    }
}
