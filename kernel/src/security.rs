//! The security hook: the one place where the kernel asks the security module.
//!
//! Every event (a process start, a request, a response, an error response) passes through
//! [`decide`] before it takes effect. The module is the solution's: the image builder
//! compiles it from the policy and the kernel's build script includes it (see `build.rs`);
//! the kernel only enforces the verdict and never interprets policy. A kernel built without
//! a module exists only when someone asked for an insecure image, and it says so at boot.
//!
//! The module's audit records are kept in the kernel's audit log, a bounded queue of text
//! lines that the `audit` core endpoint hands out (Klog reads it); when the log is full the
//! oldest records are dropped and counted. With `ostrog.audit=console` on the command line
//! each record is also printed as it is made (for tests and bring-up).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};

use ostrog_ksm::{AuditRecord, AuditSink, ClassId, Event, SecurityModule, Verdict};
use spin::Mutex;

mod solution {
    include!(env!("OSTROG_KSM_FILE"));
}

/// Records the log keeps before dropping the oldest.
pub const AUDIT_CAPACITY: usize = 512;

struct Hook {
    module: Option<Box<dyn SecurityModule>>,
    log: AuditLog,
}

/// The kernel's audit log.
pub struct AuditLog {
    records: VecDeque<String>,
    dropped: u32,
    echo: bool,
    /// Events decided since boot (granted, denied).
    pub decided: (u64, u64),
}

impl AuditLog {
    fn push(&mut self, line: String) {
        if self.echo {
            println!("[audit] {line}");
        }
        if self.records.len() >= AUDIT_CAPACITY {
            self.records.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.records.push_back(line);
    }
}

impl AuditSink for AuditLog {
    fn record(&mut self, record: &AuditRecord<'_>) {
        self.push(record.to_string());
    }
}

static HOOK: Mutex<Hook> = Mutex::new(Hook {
    module: None,
    log: AuditLog {
        records: VecDeque::new(),
        dropped: 0,
        echo: false,
        decided: (0, 0),
    },
});

/// The class of the kernel itself.
pub const CORE_CLASS_NAME: &str = "kl.core.Core";

/// Installs the solution's module. Called once at boot.
pub fn init(echo_audit: bool) {
    let mut hook = HOOK.lock();
    hook.module = Some(solution::module());
    hook.log.echo = echo_audit;
    if solution::INSECURE {
        println!("**************************************************************");
        println!("*** Booting an insecure kernel! No security module: every  ***");
        println!("*** event is granted. Build with a policy for real use.    ***");
        println!("**************************************************************");
    } else {
        println!("security: module of solution `{}`", solution::SOLUTION);
    }
}

/// The module's number for class `name`.
pub fn class_id(name: &str) -> Option<ClassId> {
    HOOK.lock().module.as_ref()?.class_id(name)
}

/// Decides one event. Without a module (before [`init`]) everything is denied.
pub fn decide(event: &Event<'_>) -> Verdict {
    let mut hook = HOOK.lock();
    let Hook { module, log } = &mut *hook;
    let verdict = match module {
        Some(module) => module.decide(event, log),
        None => Verdict::Denied,
    };
    match verdict {
        Verdict::Granted => log.decided.0 += 1,
        Verdict::Denied => log.decided.1 += 1,
    }
    verdict
}

/// Records an attempt the kernel refused before it became an event the module could judge:
/// a handle that names nothing, a message that is not one, a buffer that is not the
/// caller's. The module never sees these, but the audit log must show every refusal.
pub fn audit_refusal(class: &str, sid: u64, handle: u32, status: ostrog_abi::Status) {
    let line = alloc::format!(
        "denied call {class}({sid}) through handle {handle:#x}: {} (refused by the kernel before the policy)",
        status.name()
    );
    HOOK.lock().log.push(line);
}

/// Endpoint and method names of a request to `class`, for reports.
pub fn method_name(class: ClassId, riid: u32, mid: u32) -> Option<(String, String)> {
    let hook = HOOK.lock();
    let (e, m) = hook.module.as_ref()?.method_name(class, riid, mid)?;
    Some((e.to_string(), m.to_string()))
}

/// Takes the oldest audit lines that fit in `max` bytes (each ends with a newline) and the
/// number of records dropped since the last call.
pub fn take_audit(max: usize) -> (String, u32) {
    let mut hook = HOOK.lock();
    let log = &mut hook.log;
    let mut out = String::new();
    while let Some(line) = log.records.front() {
        if out.len() + line.len() + 1 > max {
            if out.is_empty() {
                // A record longer than a whole read is cut rather than blocking the log.
                let mut cut = max.saturating_sub(1);
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.push_str(line.get(..cut).unwrap_or(""));
                out.push('\n');
                log.records.pop_front();
            }
            break;
        }
        out.push_str(line);
        out.push('\n');
        log.records.pop_front();
    }
    (out, core::mem::take(&mut log.dropped))
}

/// Events decided since boot: (granted, denied).
pub fn decided() -> (u64, u64) {
    HOOK.lock().log.decided
}

/// The module of an insecure kernel: every event is granted, classes are numbered as they
/// are first named. Only built when the image was explicitly requested insecure.
#[derive(Default)]
pub struct GrantAll {
    classes: Mutex<alloc::vec::Vec<String>>,
}

impl SecurityModule for GrantAll {
    fn class_id(&self, name: &str) -> Option<ClassId> {
        let mut classes = self.classes.lock();
        let index = match classes.iter().position(|c| c == name) {
            Some(i) => i,
            None => {
                classes.push(name.to_string());
                classes.len() - 1
            }
        };
        ClassId::try_from(index).ok()
    }

    fn class_name(&self, _class: ClassId) -> &str {
        // Names cannot be borrowed out of the lock; an insecure kernel audits nothing anyway.
        "?"
    }

    fn method_name(&self, _class: ClassId, _riid: u32, _mid: u32) -> Option<(&str, &str)> {
        None
    }

    fn decide(&mut self, _event: &Event<'_>, _audit: &mut dyn AuditSink) -> Verdict {
        Verdict::Granted
    }
}
