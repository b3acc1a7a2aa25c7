//! KasperskyOS's names for the kernel's endpoints and methods, so that a policy written
//! against the KasperskyOS kernel compiles on Ostrog and means the same thing.
//!
//! KasperskyOS's `kl.core.Core` holds its endpoints in components, so a policy names them
//! `endpoint=vmm.VMM` (component `vmm`, endpoint `VMM`); Ostrog's `kl.core.Core` has them
//! at the top, `endpoint=vmm`. A selector on `kl.core.Core` (or on no `dst=`) written the
//! KasperskyOS way is read as Ostrog's endpoint ([`ENDPOINTS`]), and a KasperskyOS method
//! whose Ostrog counterpart has another name as that method ([`METHODS`]). A KasperskyOS
//! method Ostrog's kernel has no counterpart for ([`ABSENT`]) selects nothing: a grant of
//! it grants nothing and a denial denies nothing, since Ostrog's kernel never receives that
//! request. The table is docs/porting.md's, "Kernel endpoints".

/// (KasperskyOS endpoint, Ostrog endpoint of `kl.core.Core`).
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("vmm.VMM", "vmm"),
    ("task.Task", "task"),
    ("thread.Thread", "thread"),
    ("handle.Handle", "handle"),
    ("sync.Sync", "futex"),
    ("time.Time", "time"),
    ("io.IO", "io"),
    ("audit.Audit", "audit"),
];

/// (Ostrog endpoint, KasperskyOS method, Ostrog method): the same operation under
/// another name.
pub const METHODS: &[(&str, &str, &str)] = &[
    // Duplicating a handle with fewer rights.
    ("handle", "Copy", "Duplicate"),
];

/// (Ostrog endpoint, KasperskyOS method): operations of the KasperskyOS kernel that
/// Ostrog's does not have (it commits memory when it allocates it, and has no user objects
/// made by servers in the kernel).
pub const ABSENT: &[(&str, &str)] = &[
    ("vmm", "Commit"),
    ("vmm", "Decommit"),
    ("handle", "CreateUserObject"),
];

/// The Ostrog endpoint a KasperskyOS endpoint name stands for.
pub fn endpoint(kos: &str) -> Option<&'static str> {
    ENDPOINTS.iter().find(|(k, _)| *k == kos).map(|(_, o)| *o)
}

/// What a KasperskyOS method of Ostrog endpoint `endpoint` is on Ostrog: `Some(Some(m))`
/// another name, `Some(None)` no counterpart, `None` not a KasperskyOS-only name.
pub fn method(endpoint: &str, kos: &str) -> Option<Option<&'static str>> {
    if let Some((_, _, o)) = METHODS.iter().find(|(e, k, _)| *e == endpoint && *k == kos) {
        return Some(Some(*o));
    }
    ABSENT
        .iter()
        .any(|(e, k)| *e == endpoint && *k == kos)
        .then_some(None)
}
