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
//!
//! Some KasperskyOS kernel endpoints have no endpoint of their own on Ostrog
//! ([`FOREIGN`]): the hardware abstraction layer `hal.HAL`, power management `pm.PM`,
//! profiling, CPU frequency, the IOMMU, the XHCI debug port, notifications and the
//! kernel's ROMFS `fs.FS`. A policy may still name them (`endpoint=hal.HAL`, with or
//! without `method=`): a method whose operation Ostrog provides elsewhere selects that
//! Ostrog method (`hal.HAL` `DebugWrite` is `console.Write`, `GetEntropy` is
//! `entropy.Read`, `fs.FS` `Open` is `romfs.Read`), any other method selects nothing, as
//! for [`ABSENT`]; the method names are not checked (they differ between KasperskyOS
//! versions). [`PARAMS`] gives a few parameters of the mapped methods their KasperskyOS
//! names (`Copy`'s `newRightsMask`).
//!
//! Handle rights: KasperskyOS names the rights of a handle `OCAP_*` (`services/ocap.h`),
//! [`OCAP`] gives each the Ostrog rights bits that mean the same, so that a policy can test
//! `message.h.rights` with those names (docs/porting.md, "Handle rights").

use ostrog_abi::handle::{
    RIGHT_CALL, RIGHT_CONTROL, RIGHT_DUPLICATE, RIGHT_RECV, RIGHT_SIGNAL, RIGHT_TRANSFER,
};

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

/// (Ostrog endpoint, Ostrog method, KasperskyOS parameter, Ostrog parameter): the
/// parameters of a method of [`METHODS`] or [`FOREIGN`] under KasperskyOS's names, so that
/// `message.newRightsMask` of `handle.Handle` `Copy` reads the mask of `handle.Duplicate`.
pub const PARAMS: &[(&str, &str, &str, &str)] = &[
    ("handle", "Duplicate", "inHandle", "h"),
    ("handle", "Duplicate", "newRightsMask", "rights"),
    ("handle", "Duplicate", "outHandle", "copy"),
    ("romfs", "Read", "name", "path"),
];

/// The Ostrog parameter a KasperskyOS parameter name of Ostrog's kernel method
/// `endpoint.method` stands for.
pub fn param(endpoint: &str, method: &str, kos: &str) -> Option<&'static str> {
    PARAMS
        .iter()
        .find(|(e, m, k, _)| *e == endpoint && *m == method && *k == kos)
        .map(|(_, _, _, o)| *o)
}

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

/// A KasperskyOS kernel endpoint that Ostrog's `kl.core.Core` has no endpoint for.
#[derive(Debug)]
pub struct Foreign {
    /// The endpoint as KasperskyOS policies name it (`hal.HAL`).
    pub endpoint: &'static str,
    /// Its methods whose operation Ostrog has under another endpoint, each with that
    /// Ostrog `(endpoint, method)`. Any other method name selects nothing: the method
    /// lists differ between KasperskyOS versions, and no Ostrog request is one of them.
    pub mapped: &'static [(&'static str, (&'static str, &'static str))],
    /// What Ostrog does instead of the other methods (docs/porting.md).
    pub instead: &'static str,
}

/// KasperskyOS kernel endpoints without an Ostrog endpoint (the KasperskyOS Community
/// Edition documentation, "Methods of KasperskyOS core endpoints").
pub const FOREIGN: &[Foreign] = &[
    Foreign {
        endpoint: "hal.HAL",
        mapped: &[
            ("DebugWrite", ("console", "Write")),
            ("GetEntropy", ("entropy", "Read")),
        ],
        instead: "drivers map device registers with io.MapMmio; there are no HAL parameters \
                  (GetEnv), privileged-register (GetPrivReg, SetPrivReg, ...) or cache \
                  (FlushCache) calls",
    },
    Foreign {
        endpoint: "fs.FS",
        mapped: &[("Open", ("romfs", "Read"))],
        instead: "romfs.Read opens a ROMFS file and returns all of it in one request, so \
                  Read, GetSize, Close and the others have no request of their own",
    },
    Foreign {
        endpoint: "pm.PM",
        mapped: &[],
        instead: "the machine powers off when the last process ends; one processor runs",
    },
    Foreign {
        endpoint: "cpufreq.CpuFreq",
        mapped: &[],
        instead: "the processor runs at the frequency the board starts it at",
    },
    Foreign {
        endpoint: "profiler.Profiler",
        mapped: &[],
        instead: "kernel paths are measured with `cargo xtask bench` (guest instruction counts)",
    },
    Foreign {
        endpoint: "iommu.IOMMU",
        mapped: &[],
        instead: "no IOMMU is programmed; DMA memory comes from io.AllocDma",
    },
    Foreign {
        endpoint: "xhcidbg.XHCIDBG",
        mapped: &[],
        instead: "diagnostic output goes to the serial console only",
    },
    Foreign {
        endpoint: "notice.Notice",
        mapped: &[],
        instead: "notices between processes are task.Signal and task.Pending",
    },
];

/// The KasperskyOS-only kernel endpoint named `kos`, if it is one.
pub fn foreign(kos: &str) -> Option<&'static Foreign> {
    FOREIGN.iter().find(|f| f.endpoint == kos)
}

/// A KasperskyOS handle right (`services/ocap.h`) and what Ostrog makes of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ocap {
    /// These Ostrog rights bits (`ostrog_abi::handle::RIGHT_*`) mean the same.
    Bits(u32),
    /// Ostrog's handles carry no such right; the text says why and what to write instead.
    Absent(&'static str),
}

/// The rights of KasperskyOS handles by name: the general part (`OCAP_HANDLE_*`), the
/// IPC rights (`OCAP_IPC_*`) and the full masks the kernel gives a new handle
/// (`OCAP_*_FULL`), each as Ostrog's kernel gives them (`kernel/src`: a client end of a
/// channel, a listening endpoint, a task handle from `task.Create`).
pub const OCAP: &[(&str, Ocap)] = &[
    ("OCAP_HANDLE_TRANSFER", Ocap::Bits(RIGHT_TRANSFER)),
    ("OCAP_HANDLE_COPY", Ocap::Bits(RIGHT_DUPLICATE)),
    ("OCAP_IPC_CALL", Ocap::Bits(RIGHT_CALL)),
    (
        "OCAP_IPC_CLIENT",
        Ocap::Bits(RIGHT_CALL | RIGHT_TRANSFER | RIGHT_DUPLICATE),
    ),
    ("OCAP_IPC_SERVER", Ocap::Bits(RIGHT_RECV)),
    ("OCAP_IPC_LISTENER", Ocap::Bits(RIGHT_RECV)),
    (
        "OCAP_TASK_FULL",
        Ocap::Bits(RIGHT_CONTROL | RIGHT_SIGNAL | RIGHT_TRANSFER | RIGHT_DUPLICATE),
    ),
    (
        "OCAP_HANDLE_GET_SID",
        Ocap::Absent(
            "any holder of a handle may ask its SID (handle.Sid): the test is always true",
        ),
    ),
    (
        "OCAP_HANDLE_SET_EVENT",
        Ocap::Absent(
            "Ostrog has no events on user objects; notices are task.Signal (RIGHT_SIGNAL)",
        ),
    ),
    (
        "OCAP_HANDLE_GET_EVENT",
        Ocap::Absent("Ostrog has no events on user objects; notices are task.Pending"),
    ),
    (
        "OCAP_IOPORT_FULL",
        Ocap::Absent("I/O ports are claimed by range with io.ClaimPorts; no handle carries them"),
    ),
    (
        "OCAP_FILE_FULL",
        Ocap::Absent("files are the VFS server's (kl.Vfs), not kernel handles"),
    ),
];

/// What the KasperskyOS right `name` is on Ostrog, if `name` is one.
pub fn ocap(name: &str) -> Option<Ocap> {
    OCAP.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ostrog_abi::handle::RIGHT_MAP_READ;

    #[test]
    fn rights_by_kasperskyos_name_are_the_bits_ostrogs_kernel_gives() {
        assert_eq!(
            ocap("OCAP_HANDLE_TRANSFER"),
            Some(Ocap::Bits(RIGHT_TRANSFER))
        );
        assert_eq!(ocap("OCAP_HANDLE_COPY"), Some(Ocap::Bits(RIGHT_DUPLICATE)));
        assert_eq!(ocap("OCAP_IPC_CALL"), Some(Ocap::Bits(RIGHT_CALL)));
        // A client end of a channel, as channel.Connect and Einit make it.
        assert_eq!(
            ocap("OCAP_IPC_CLIENT"),
            Some(Ocap::Bits(RIGHT_CALL | RIGHT_TRANSFER | RIGHT_DUPLICATE))
        );
        assert_eq!(ocap("OCAP_IPC_SERVER"), Some(Ocap::Bits(RIGHT_RECV)));
        assert!(matches!(ocap("OCAP_HANDLE_GET_SID"), Some(Ocap::Absent(_))));
        assert_eq!(ocap("OCAP_NOT_A_RIGHT"), None);
        // No name stands for a right Ostrog gives no KasperskyOS name (mapping memory).
        assert!(OCAP
            .iter()
            .all(|(_, o)| !matches!(o, Ocap::Bits(b) if b & RIGHT_MAP_READ != 0)));
    }

    #[test]
    fn every_foreign_endpoint_is_unknown_to_ostrog_and_maps_onto_real_methods() {
        for f in FOREIGN {
            assert!(endpoint(f.endpoint).is_none(), "{}", f.endpoint);
            assert!(!f.instead.is_empty());
        }
        assert_eq!(
            foreign("hal.HAL").map(|f| f.mapped.to_vec()),
            Some(vec![
                ("DebugWrite", ("console", "Write")),
                ("GetEntropy", ("entropy", "Read"))
            ])
        );
        assert!(foreign("vmm.VMM").is_none());
    }
}
