//! The hand-written security module of the kernel's scenario tests (the tests of the IPC path
//! must not depend on the policy compiler). Its policy, in words:
//!
//! * every class of the test image is known: the kernel, Einit, the IPC test solution
//!   (package `ipctest`) and the test programs the kernel starts directly (`ostrog.start=`);
//! * requests for method `Forbidden` (MID 2) of endpoint `ipc` (RIID 0) of `ipctest.Server`
//!   and `ipctest.Vault` are denied;
//! * starting a process of class `ipctest.Unwanted` is denied;
//! * `console.Read` and `console.Poll` of class `console-denied` are denied;
//! * `io.AllocDma` of class `dma-denied` is denied;
//! * `io.PciWrite` of class `pci` to PCI device 31 of bus 0 (`q35`'s ICH9 functions) is
//!   denied (a message too short to hold the address too);
//! * a `security` query of `ipctest.Client` (`ipctest.Approve.Check(in UInt32 port)`) is
//!   granted only for a port above 80 (a message too short to hold the port is denied);
//! * a class it does not know is denied everything;
//! * everything else is granted.
//!
//! Every denial is audited; grants are counted but not audited (the IPC test makes
//! thousands). It checks message structure only as far as the kernel already does: message
//! validation against IDL types is the job of the compiled modules.

use ostrog_ksm::{
    AuditRecord, AuditSink, ClassId, DenyReason, Event, EventKind, RuleResult, SecurityModule,
    Verdict,
};

const CLASSES: [&str; 54] = [
    "kl.core.Core",
    "Einit",
    "ipctest.Client",
    "ipctest.Server",
    "ipctest.Vault",
    "ipctest.Hostile",
    "ipctest.Unwanted",
    "bench.Client",
    "bench.Server",
    "hello",
    "spin-a",
    "spin-b",
    "fault-jump",
    "fault-code-write",
    "fault-kernel-read",
    "null-bench",
    "threads",
    "syscall-fuzz",
    "Broken",
    "ipc-bench",
    "ipc-bench-server",
    "fault-stack-overflow",
    "spawner",
    "mmio",
    "irq",
    "ports",
    "ports-unclaimed",
    "soak",
    "fpu",
    "stray-victim",
    "soft-int",
    "trapper",
    "trap-no-stack",
    "memory",
    "futex",
    "fault-guard",
    "entropy",
    "audit-note",
    "quota-hog",
    "quota-peer",
    "trap-nested-fault",
    "pipes",
    "forker",
    "console-reader",
    "console-denied",
    "notify",
    "dma",
    "dma-denied",
    "timers",
    "pci",
    "kfuzz",
    "dcm-link",
    "kl.core.DCM",
    "fastpath",
];

const CORE: ClassId = 0;
const SERVER: ClassId = 3;
const VAULT: ClassId = 4;
const UNWANTED: ClassId = 6;
const CLIENT: ClassId = 2;
/// A class denied console input (`console.Read` and `console.Poll`).
const CONSOLE_DENIED: ClassId = class_named("console-denied");

/// The number of class `name` in [`CLASSES`] (at compile time: a name that is not there
/// does not build).
const fn class_named(name: &str) -> ClassId {
    let mut i = 0;
    while i < CLASSES.len() {
        if str_eq(CLASSES[i], name) {
            return i as ClassId;
        }
        i += 1;
    }
    panic!("no such class in CLASSES")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
/// `console` in `Core.edl` and its `Read` and `Poll` in `Console.idl`.
const CONSOLE_RIID: u32 = 6;
const CONSOLE_INPUT_MIDS: [u32; 2] = [1, 2];
/// A class denied DMA memory (`io.AllocDma`).
const DMA_DENIED: ClassId = class_named("dma-denied");
/// `io` in `Core.edl` and its `AllocDma` in `IO.idl`.
const IO_RIID: u32 = 8;
const ALLOC_DMA_MID: u32 = 5;
/// A class whose `io.PciWrite` the policy judges by the function it names.
const PCI: ClassId = class_named("pci");
const PCI_WRITE_MID: u32 = 8;

/// Endpoints of `kl.core.Core` (Core.edl order) and their methods (IDL order).
const CORE_METHODS: [(&str, &[&str]); 13] = [
    (
        "task",
        &[
            "Create",
            "Start",
            "Wait",
            "Exit",
            "Info",
            "Count",
            "Args",
            "TrapEntry",
            "Kill",
            "SetMemoryLimit",
            "MemoryUsage",
            "Give",
            "Given",
            "Fork",
            "Signal",
            "Pending",
            "Sender",
            "AcceptNotify",
            "NotifyExit",
            "Parent",
            "Alive",
        ],
    ),
    ("thread", &["Create", "Exit", "Join", "Yield"]),
    ("channel", &["Connect", "Link", "Notify", "NotifyClient"]),
    ("handle", &["Lookup", "Close", "Duplicate", "Sid"]),
    (
        "vmm",
        &["Allocate", "Free", "Protect", "Share", "Map", "AllocateAt"],
    ),
    ("time", &["Now", "Sleep", "SleepNs"]),
    ("console", &["Write", "Read", "Poll"]),
    ("audit", &["Read", "Note"]),
    (
        "io",
        &[
            "MapMmio",
            "ClaimIrq",
            "WaitIrq",
            "ReleaseIrq",
            "ClaimPorts",
            "AllocDma",
            "FreeDma",
            "PciRead",
            "PciWrite",
            "PciBarSize",
        ],
    ),
    ("romfs", &["Read"]),
    ("futex", &["Wait", "Wake"]),
    ("entropy", &["Read"]),
    ("pipe", &["Create", "Read", "Write", "Poll"]),
];
const ECHO_METHODS: [&str; 6] = ["Echo", "Keep", "Forbidden", "Touch", "Hoard", "Release"];

/// The scenario tests' policy (see the module's documentation).
pub struct ScenarioPolicy;

impl ScenarioPolicy {
    fn decide_event(
        &self,
        event: &Event<'_>,
    ) -> (Verdict, Option<DenyReason>, Option<RuleResult<'static>>) {
        let known = |c: ClassId| (c as usize) < CLASSES.len();
        if !known(event.src_class) || !known(event.dst_class) {
            return (Verdict::Denied, Some(DenyReason::Unknown), None);
        }
        let denied_rule = RuleResult {
            object: "base",
            method: "deny",
            granted: false,
        };
        match event.kind {
            EventKind::Execute if event.dst_class == UNWANTED => {
                (Verdict::Denied, Some(DenyReason::Rule), Some(denied_rule))
            }
            EventKind::Request
                if (event.dst_class == SERVER || event.dst_class == VAULT)
                    && event.riid == 0
                    && event.mid == 2 =>
            {
                (Verdict::Denied, Some(DenyReason::Rule), Some(denied_rule))
            }
            EventKind::Request
                if event.src_class == CONSOLE_DENIED
                    && event.dst_class == CORE
                    && event.riid == CONSOLE_RIID
                    && CONSOLE_INPUT_MIDS.contains(&event.mid) =>
            {
                (Verdict::Denied, Some(DenyReason::Rule), Some(denied_rule))
            }
            EventKind::Request
                if event.src_class == DMA_DENIED
                    && event.dst_class == CORE
                    && event.riid == IO_RIID
                    && event.mid == ALLOC_DMA_MID =>
            {
                (Verdict::Denied, Some(DenyReason::Rule), Some(denied_rule))
            }
            EventKind::Request
                if event.src_class == PCI
                    && event.dst_class == CORE
                    && event.riid == IO_RIID
                    && event.mid == PCI_WRITE_MID
                    && Self::first_u32(event.message).is_none_or(|a| a >> 11 == 31) =>
            {
                (Verdict::Denied, Some(DenyReason::Rule), Some(denied_rule))
            }
            EventKind::Security => {
                let port = Self::first_u32(event.message);
                let assert = RuleResult {
                    object: "base",
                    method: "assert",
                    granted: port.is_some_and(|p| p > 80),
                };
                match (event.src_class, port) {
                    (CLIENT, Some(p)) if p > 80 => (Verdict::Granted, None, None),
                    (CLIENT, Some(_)) => (Verdict::Denied, Some(DenyReason::Rule), Some(assert)),
                    (CLIENT, None) => (Verdict::Denied, Some(DenyReason::Malformed), None),
                    _ => (Verdict::Denied, Some(DenyReason::NoBinding), None),
                }
            }
            _ => (Verdict::Granted, None, None),
        }
    }
}

impl ScenarioPolicy {
    /// The first `u32` of the fixed part, if the message has one.
    fn first_u32(message: &[u8]) -> Option<u32> {
        let header = ostrog_abi_header(message)?;
        let at = 40 + 8 * header.0 as usize;
        if header.1 < 4 {
            return None;
        }
        let b = message.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// `(handle_count, fixed_size)` of a message header.
fn ostrog_abi_header(message: &[u8]) -> Option<(u32, u32)> {
    let word = |i: usize| -> Option<u32> {
        let b = message.get(i * 4..i * 4 + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    Some((word(3)?, word(4)?))
}

impl SecurityModule for ScenarioPolicy {
    fn class_id(&self, name: &str) -> Option<ClassId> {
        let index = CLASSES.iter().position(|c| *c == name)?;
        ClassId::try_from(index).ok()
    }

    fn class_name(&self, class: ClassId) -> &str {
        CLASSES.get(class as usize).copied().unwrap_or("?")
    }

    fn method_name(&self, class: ClassId, riid: u32, mid: u32) -> Option<(&str, &str)> {
        if class == CORE {
            let (endpoint, methods) = CORE_METHODS.get(riid as usize)?;
            return Some((endpoint, methods.get(mid as usize)?));
        }
        if (class == SERVER || class == VAULT) && riid == 0 {
            return Some(("ipc", ECHO_METHODS.get(mid as usize)?));
        }
        None
    }

    fn decide(&mut self, event: &Event<'_>, audit: &mut dyn AuditSink) -> Verdict {
        let (verdict, reason, rule) = self.decide_event(event);
        if verdict == Verdict::Denied {
            // Responses and errors name the server's method: the server is their source.
            let server = match event.kind {
                EventKind::Response | EventKind::Error => event.src_class,
                _ => event.dst_class,
            };
            let (endpoint, method) = match event.kind {
                EventKind::Execute => ("", ""),
                EventKind::Security => ("security", "Check"),
                _ => self
                    .method_name(server, event.riid, event.mid)
                    .unwrap_or(("?", "?")),
            };
            let rules = rule.as_slice();
            audit.record(&AuditRecord {
                kind: event.kind,
                src_sid: event.src_sid,
                src_class: self.class_name(event.src_class),
                dst_sid: event.dst_sid,
                dst_class: self.class_name(event.dst_class),
                endpoint,
                method,
                rules,
                verdict,
                reason,
                src_class_id: event.src_class,
                dst_class_id: event.dst_class,
            });
        }
        verdict
    }
}

impl ostrog_kernel::Module for ScenarioPolicy {
    const SOLUTION: &'static str = "kernel scenario tests (hand-written module)";

    fn module() -> alloc::boxed::Box<dyn SecurityModule> {
        alloc::boxed::Box::new(ScenarioPolicy)
    }
}
