//! What the module reports: audit records.
//!
//! A record describes one decision: the event, both parties, the endpoint and method, the
//! result of every model rule or expression the policy ran (as far as the audit profile asks
//! for them), and the verdict. The module hands records to an [`AuditSink`]; the kernel's
//! sink copies them into its audit log (read by Klog through the `audit` core endpoint), the
//! host's PAL test runner prints or collects them.
//!
//! Records borrow everything: producing one never allocates.

use crate::event::{ClassId, EventKind, Sid, Verdict};

/// Why an event was denied (`None` in a record of a granted event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// No binding of the policy covers the event (default deny).
    NoBinding,
    /// The message does not have the IDL type of its method (checked before any rule).
    Malformed,
    /// A rule returned "denied", or an expression failed (missing key, bad SID, index out of
    /// range, ...).
    Rule,
    /// The module does not know a class, endpoint or method the event names.
    Unknown,
}

impl DenyReason {
    pub fn describe(self) -> &'static str {
        match self {
            DenyReason::NoBinding => "no binding covers the event",
            DenyReason::Malformed => "malformed message",
            DenyReason::Rule => "a rule denied",
            DenyReason::Unknown => "unknown class, endpoint or method",
        }
    }
}

/// The result of one model call made while deciding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleResult<'a> {
    /// Policy object (`"base"`, `"door_state"`, `"re"`, ...).
    pub object: &'a str,
    /// Model method (`"grant"`, `"enter"`, `"match"`, ...).
    pub method: &'a str,
    /// True if the rule granted (or the expression evaluated).
    pub granted: bool,
}

/// One decision.
#[derive(Clone, Copy, Debug)]
pub struct AuditRecord<'a> {
    pub kind: EventKind,
    pub src_sid: Sid,
    pub src_class: &'a str,
    pub dst_sid: Sid,
    pub dst_class: &'a str,
    /// Qualified endpoint name (`"main.door"`), empty for `execute`.
    pub endpoint: &'a str,
    /// Method name, empty for `execute`.
    pub method: &'a str,
    /// Model calls and their results, in the order they ran.
    pub rules: &'a [RuleResult<'a>],
    pub verdict: Verdict,
    /// Why it was denied.
    pub reason: Option<DenyReason>,
    /// `ClassId`s, for sinks that keep numbers rather than names.
    pub src_class_id: ClassId,
    pub dst_class_id: ClassId,
}

/// Where audit records go.
pub trait AuditSink {
    fn record(&mut self, record: &AuditRecord<'_>);
}

/// Drops every record.
pub struct NullAudit;

impl AuditSink for NullAudit {
    fn record(&mut self, _record: &AuditRecord<'_>) {}
}

impl core::fmt::Display for AuditRecord<'_> {
    /// One readable line: `denied request Client(7) -> Server(9) main.door.Open: base.grant=granted ...`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} {} {}({}) -> {}({})",
            self.verdict.word(),
            self.kind.keyword(),
            self.src_class,
            self.src_sid,
            self.dst_class,
            self.dst_sid
        )?;
        if !self.method.is_empty() {
            if self.endpoint.is_empty() {
                write!(f, " {}", self.method)?;
            } else {
                write!(f, " {}.{}", self.endpoint, self.method)?;
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let sep = if i == 0 { ":" } else { "," };
            write!(
                f,
                "{sep} {}.{}={}",
                rule.object,
                rule.method,
                if rule.granted { "granted" } else { "denied" }
            )?;
        }
        if let Some(reason) = self.reason {
            write!(f, " ({})", reason.describe())?;
        }
        Ok(())
    }
}
