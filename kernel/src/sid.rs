//! Security identifiers, and the identities built on them.
//!
//! Every kernel object that can be named (a process, a thread, a channel, an endpoint, a
//! memory region, an interrupt line) gets a SID when it is created. SIDs are never reused, so
//! a SID in an audit record or in the security module's state can never come to mean a
//! different object. 64 bits make wrap-around unreachable (one SID per nanosecond lasts 584
//! years).
//!
//! Inside the kernel a thread, a process, a channel, an endpoint, a region and an interrupt
//! line are named by distinct types ([`ThreadId`], [`ProcessId`], [`ChannelId`],
//! [`EndpointId`], [`RegionId`], [`IrqId`]), each wrapping its
//! object's SID, so that the type checker refuses a thread where a process is meant. The raw
//! [`Sid`] appears only where an identity leaves the kernel's tables: in an event for the
//! security module, in the audit log, in a message header or a core endpoint's answer.

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

/// Declares an identity: a SID that names one kind of object.
macro_rules! identity {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Sid);

        impl $name {
            /// A fresh identity with a SID never handed out before.
            #[allow(clippy::new_without_default)] // each call allocates a SID
            pub fn new() -> $name {
                $name(Sid::new())
            }

            /// The object's SID, for the security module, the audit log or a message.
            pub fn sid(self) -> Sid {
                self.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

identity!(
    /// A thread.
    ThreadId
);
identity!(
    /// A process (the object a task handle names).
    ProcessId
);
identity!(
    /// The client side of a channel ([`crate::ipc::Channel`]).
    ChannelId
);
identity!(
    /// A server's listening endpoint ([`crate::ipc::Endpoint`]).
    EndpointId
);

identity!(
    /// A shared memory region ([`crate::core_endpoints::vmm::Region`]).
    RegionId
);
identity!(
    /// A claimed interrupt line.
    IrqId
);
identity!(
    /// A pipe ([`crate::core_endpoints::pipe::Pipe`]).
    PipeId
);

impl ProcessId {
    /// The process a program names by its SID (`task.Alive`); whether such a process
    /// exists is for the caller to look up.
    pub fn named(raw: u64) -> ProcessId {
        ProcessId(Sid(raw))
    }
}

impl ThreadId {
    /// The thread a program names by the number `thread.Create` gave it (its SID); whether
    /// such a thread exists is for the caller to look up.
    pub fn named(raw: u64) -> ThreadId {
        ThreadId(Sid(raw))
    }
}
