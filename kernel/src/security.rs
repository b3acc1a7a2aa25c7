//! The security hook: the one place where the kernel asks the security module.
//!
//! Every event (a process start, a request, a response, an error response, a security
//! query) passes through [`decide`] before it takes effect, called only by
//! [`crate::judge`], which builds the event. The module is the kernel binary's [`Module`]:
//! the solution's, compiled from its policy by the image builder, or one of the kernel's test
//! modules. The kernel only enforces the verdict and never interprets policy. A module that
//! grants everything unjudged exists only when someone asked for an insecure image, and the
//! kernel says so at boot.
//!
//! The module's audit records are kept in the kernel's audit log, a bounded queue of text
//! lines that the `audit` core endpoint hands out (Klog reads it). Each record has a
//! *source*, the subject whose event it records (a process, or the kernel itself); when the
//! log is full the sources share it fairly (see [`AuditLog::push`]): one noisy source loses
//! its own records, never those of the others, and every loss is counted by source and
//! reported in the log (`N records of CLASS(SID) suppressed`). Memory is bounded: at most
//! [`AUDIT_CAPACITY`] records and [`AUDIT_SOURCES`] sources. With `ostrog.audit=console` on
//! the command line each record is also printed as it is made (for tests and bring-up).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use ostrog_ksm::{AuditRecord, AuditSink, ClassId, Event, SecurityModule, Sid, Verdict};
use spin::Mutex;

/// The security module a kernel binary boots with, named as a type: the solution's (compiled
/// from its policy) or one of the kernel's test modules.
pub trait Module {
    /// The solution the module was made for, named in the boot log.
    const SOLUTION: &'static str;
    /// True only for a module that grants every event unjudged: the kernel warns at boot.
    const INSECURE: bool = false;
    /// Makes the module. Called once at boot, when the kernel heap is ready.
    fn module() -> Box<dyn SecurityModule>;
}

/// Records the log keeps.
pub const AUDIT_CAPACITY: usize = 512;
/// Sources the log can name at a time: those with records in the log or losses not yet
/// reported. Only sources holding records lose any (see [`AuditLog::push`]), so at most
/// [`AUDIT_CAPACITY`] entries hold records; the rest is room for losses awaiting a read.
pub const AUDIT_SOURCES: usize = 2 * AUDIT_CAPACITY;
/// Bytes of a read kept for loss reports while some are waiting.
const REPORT_RESERVE: usize = 1024;

struct Hook {
    module: Option<Box<dyn SecurityModule>>,
    log: AuditLog,
}

/// One record in the log and whose it is.
struct Kept {
    source: Sid,
    line: String,
    /// Its place in the order records were made.
    seq: u64,
}

/// A source of records: a process, or the kernel itself. Its identity is the subject of
/// its records (`src` of the event, the caller of a refused call).
struct Source {
    class: String,
    /// Its records in the log.
    held: usize,
    /// Its records lost since the last report.
    lost: u32,
}

/// The kernel's audit log: at most [`AUDIT_CAPACITY`] records, shared fairly between their
/// sources, and a count of every record it could not keep, by source.
pub struct AuditLog {
    records: VecDeque<Kept>,
    sources: BTreeMap<Sid, Source>,
    /// Records lost whose source could not be named (the table of sources was full).
    unnamed: u32,
    /// Sequence number of the next record.
    next_seq: u64,
    echo: bool,
    /// Events decided since boot (granted, denied).
    pub decided: (u64, u64),
}

impl AuditLog {
    /// Keeps a record of `source` (class `class`), or counts its loss.
    ///
    /// While the log has room every record is kept. When it is full, the record of a source
    /// that holds fewer records than the biggest holder is kept and that holder's newest
    /// record is dropped; the record of a source that holds the most is dropped itself. So
    /// with `n` sources in the log each can always keep `AUDIT_CAPACITY / n` records, only a
    /// biggest holder ever loses any, and every loss is counted against the source whose
    /// record was lost, to be reported by [`read_audit`].
    fn push(&mut self, source: Sid, class: &str, line: String) {
        if self.echo {
            println!("[audit] {line}");
        }
        if self.records.len() >= AUDIT_CAPACITY {
            let own = self.sources.get(&source).map_or(0, |s| s.held);
            let top = self
                .sources
                .iter()
                .max_by_key(|(_, s)| s.held)
                .map(|(&sid, s)| (sid, s.held));
            match top {
                Some((top, held)) if held > own => {
                    if let Some(at) = self.records.iter().rposition(|k| k.source == top) {
                        self.records.remove(at);
                    }
                    if let Some(s) = self.sources.get_mut(&top) {
                        s.held = s.held.saturating_sub(1);
                        s.lost = s.lost.saturating_add(1);
                    }
                }
                _ => {
                    self.lose(source, class);
                    return;
                }
            }
        }
        match self.source(source, class) {
            Some(s) => {
                s.held += 1;
                let seq = self.next_seq;
                self.next_seq += 1;
                self.records.push_back(Kept { source, line, seq });
            }
            None => self.unnamed = self.unnamed.saturating_add(1),
        }
    }

    /// The entry of `source`, made if the table has room.
    fn source(&mut self, source: Sid, class: &str) -> Option<&mut Source> {
        if !self.sources.contains_key(&source) && self.sources.len() >= AUDIT_SOURCES {
            return None;
        }
        Some(self.sources.entry(source).or_insert_with(|| Source {
            class: class.to_string(),
            held: 0,
            lost: 0,
        }))
    }

    /// Counts a lost record of `source`.
    fn lose(&mut self, source: Sid, class: &str) {
        match self.source(source, class) {
            Some(s) => s.lost = s.lost.saturating_add(1),
            None => self.unnamed = self.unnamed.saturating_add(1),
        }
    }

    /// Forgets a source with nothing left in the log and nothing to report.
    fn tidy(&mut self, source: Sid) {
        if self
            .sources
            .get(&source)
            .is_some_and(|s| s.held == 0 && s.lost == 0)
        {
            self.sources.remove(&source);
        }
    }
}

impl AuditSink for AuditLog {
    fn record(&mut self, record: &AuditRecord<'_>) {
        self.push(record.src_sid, record.src_class, record.to_string());
    }
}

static HOOK: Mutex<Hook> = Mutex::new(Hook {
    module: None,
    log: AuditLog {
        records: VecDeque::new(),
        sources: BTreeMap::new(),
        unnamed: 0,
        next_seq: 0,
        echo: false,
        decided: (0, 0),
    },
});

/// The class of the kernel itself.
pub const CORE_CLASS_NAME: &str = "kl.core.Core";

/// Installs the module `M`. Called once at boot.
pub fn init<M: Module>(echo_audit: bool) {
    let mut hook = HOOK.lock();
    hook.module = Some(M::module());
    hook.log.echo = echo_audit;
    if M::INSECURE {
        println!("**************************************************************");
        println!("*** Booting an insecure kernel! No security module: every  ***");
        println!("*** event is granted. Build with a policy for real use.    ***");
        println!("**************************************************************");
    } else {
        println!("security: module of solution `{}`", M::SOLUTION);
    }
}

/// The module's number for class `name`.
pub fn class_id(name: &str) -> Option<ClassId> {
    HOOK.lock().module.as_ref()?.class_id(name)
}

/// Decides one event (only [`crate::judge::judge`] asks). Without a module (before
/// [`init`]) everything is denied.
pub fn decide(_judge: &crate::judge::Judge, event: &Event<'_>) -> Verdict {
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
    HOOK.lock().log.push(sid, class, line);
}

/// Records a request the policy granted but a rule of the kernel's own refused (`what`:
/// the request and the rule), so that this denial is in the audit log like the module's.
pub fn audit_kernel_rule(class: &str, sid: u64, what: &str) {
    let line = alloc::format!("denied request {class}({sid}) -> kl.core.Core {what}");
    HOOK.lock().log.push(sid, class, line);
}

/// Records a note of a process (`audit.Note`): `note CLASS(SID): text`, with every byte
/// that is not printable ASCII shown as `?` (a note cannot forge a line break or a
/// terminal control).
pub fn audit_note(class: &str, sid: u64, text: &[u8]) {
    let text: String = text
        .iter()
        .map(|&b| match b {
            b' '..=b'~' => b as char,
            _ => '?',
        })
        .collect();
    let line = alloc::format!("note {class}({sid}): {text}");
    HOOK.lock().log.push(sid, class, line);
}

/// Endpoint and method names of a request to `class`, for reports.
pub fn method_name(class: ClassId, riid: u32, mid: u32) -> Option<(String, String)> {
    let hook = HOOK.lock();
    let (e, m) = hook.module.as_ref()?.method_name(class, riid, mid)?;
    Some((e.to_string(), m.to_string()))
}

/// One read of the audit log: the text handed out, and what it takes from the log once
/// the answer carrying it is delivered ([`commit_audit`]). Until then the log is unchanged,
/// so an answer the policy withholds loses no record.
pub struct AuditRead {
    /// The records, then the loss reports, each line ending with a newline.
    pub text: String,
    /// Lost records the reports count.
    pub reported: u32,
    /// Sequence number of the last record read.
    last: Option<u64>,
    /// Losses reported, by source.
    losses: Vec<(Sid, u32)>,
    /// Losses of unnamed sources reported.
    unnamed: u32,
}

/// Reads the oldest audit lines that fit in `max` bytes (each ends with a newline), then
/// one line per source that lost records since the last report, `N records of
/// CLASS(SID) suppressed ...`, as far as they fit, and counts the lost records those lines
/// report. While reports wait, [`REPORT_RESERVE`] bytes are kept for them, so that a log
/// kept full by a flood cannot hold them back. Nothing is taken until [`commit_audit`].
pub fn read_audit(max: usize) -> AuditRead {
    let hook = HOOK.lock();
    let log = &hook.log;
    let waiting = log.unnamed > 0 || log.sources.values().any(|s| s.lost > 0);
    let budget = match waiting {
        true => max.saturating_sub(REPORT_RESERVE).max(max / 2),
        false => max,
    };
    let mut read = AuditRead {
        text: String::new(),
        reported: 0,
        last: None,
        losses: Vec::new(),
        unnamed: 0,
    };
    let out = &mut read.text;
    for kept in &log.records {
        let line = &kept.line;
        if out.len() + line.len() + 1 > budget {
            if !out.is_empty() {
                break;
            }
            // A record longer than a whole read is cut rather than blocking the log.
            let mut cut = budget.saturating_sub(1);
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(line.get(..cut).unwrap_or(""));
        } else {
            out.push_str(line);
        }
        out.push('\n');
        read.last = Some(kept.seq);
    }
    for (&sid, s) in log.sources.iter().filter(|(_, s)| s.lost > 0) {
        let line = loss_line(s.lost, &s.class, sid);
        if out.len() + line.len() + 1 > max {
            break;
        }
        read.reported = read.reported.saturating_add(s.lost);
        read.losses.push((sid, s.lost));
        out.push_str(&line);
        out.push('\n');
    }
    if log.unnamed > 0 {
        let line = alloc::format!(
            "{} records of sources the audit log could not name suppressed",
            log.unnamed
        );
        if out.len() + line.len() < max {
            read.reported = read.reported.saturating_add(log.unnamed);
            read.unnamed = log.unnamed;
            out.push_str(&line);
            out.push('\n');
        }
    }
    read
}

/// The report of `lost` records of a source.
fn loss_line(lost: u32, class: &str, sid: Sid) -> String {
    alloc::format!(
        "{lost} records of {class}({sid}) suppressed: over its share of the full audit log"
    )
}

/// Takes what a delivered read handed out from the log: its records (those the log has not
/// dropped since) and the losses it reported (losses counted since stay to be reported).
pub fn commit_audit(read: &AuditRead) {
    let mut hook = HOOK.lock();
    let log = &mut hook.log;
    while let Some(kept) = log.records.front() {
        if read.last.is_none_or(|last| kept.seq > last) {
            break;
        }
        let source = kept.source;
        log.records.pop_front();
        if let Some(s) = log.sources.get_mut(&source) {
            s.held = s.held.saturating_sub(1);
        }
        log.tidy(source);
    }
    for &(sid, lost) in &read.losses {
        if let Some(s) = log.sources.get_mut(&sid) {
            s.lost = s.lost.saturating_sub(lost);
            if log.echo {
                println!("[audit] {}", loss_line(lost, &s.class, sid));
            }
        }
        log.tidy(sid);
    }
    log.unnamed = log.unnamed.saturating_sub(read.unnamed);
    // A log its reader emptied gives back the buffer a flood grew (up to AUDIT_CAPACITY
    // records, ~20 KiB): otherwise the kernel's heap stays above its baseline after the
    // programs that made the records are gone (found by the kernel fuzzer, issue 17).
    if log.records.is_empty() {
        log.records.shrink_to_fit();
    }
}

/// Events decided since boot: (granted, denied).
pub fn decided() -> (u64, u64) {
    HOOK.lock().log.decided
}
