//! Security identifiers.
//!
//! Every kernel object that can be named (a process, a thread, later a channel, a memory
//! region, an interrupt) gets a SID when it is created. SIDs are never reused, so a SID in an
//! audit record or in the security module's state can never come to mean a different object.
//! 64 bits make wrap-around unreachable (one SID per nanosecond lasts 584 years).

use core::sync::atomic::{AtomicU64, Ordering};

/// A security identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sid(pub u64);

/// The kernel's own SID.
pub const KERNEL: Sid = Sid(1);

static NEXT: AtomicU64 = AtomicU64::new(2);

impl Sid {
    /// A fresh SID, never handed out before.
    #[allow(clippy::new_without_default)] // a default SID would hide that each call allocates
    pub fn new() -> Sid {
        Sid(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl core::fmt::Display for Sid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}
