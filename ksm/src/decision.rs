//! One decision: combining rule results into a verdict, and the audit record of it.
//!
//! The generated `decide` function creates a [`Decision`] per event, reports every model call
//! to it (with the audit profile in force at that point of the policy: global, binding or
//! `match`/`choice` section), and ends with [`Decision::finish`], which
//!
//! 1. computes the verdict: **granted iff at least one rule ran, every rule granted, no
//!    expression failed, and the message was well formed**; an event no binding covered is
//!    denied ([`DenyReason::NoBinding`]);
//! 2. commits or rolls back every stateful object ([`crate::txn::conclude`]);
//! 3. hands one [`AuditRecord`] to the sink if the record has anything to say.
//!
//! A record is emitted when the profile selected at least one call result, and *always* for
//! denials because of a malformed message or of no binding (as KasperskyOS documents), for
//! an unknown class, endpoint or method, and for expression failures: a failure means the
//! policy or a message did something unexpected, which an operator must be able to see even
//! under the `empty` profile (our choice; the documentation is silent).
//!
//! The selected results are kept in a fixed buffer of `N` entries (the compiler can size it
//! from the largest number of audited calls on any path of the policy). If more are
//! selected, the last entry is replaced by `audit.truncated=denied`, so a reader knows the
//! list is incomplete; the verdict never depends on the buffer.
//!
//! The runtime level that filters an event's record is the one in force when the event
//! arrived ([`crate::base::RuntimeLevel::current`]).

use crate::audit::{AuditRecord, AuditSink, DenyReason, RuleResult};
use crate::event::{Event, Verdict};
use crate::expr::{Expr, ExprError};
use crate::profile::{AuditProfile, Call};
use crate::txn::{conclude, Transactional};

/// Names the record needs that only the policy knows.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventNames<'a> {
    /// Class name of the source.
    pub src_class: &'a str,
    /// Class name of the destination.
    pub dst_class: &'a str,
    /// Qualified endpoint name, empty for `execute`.
    pub endpoint: &'a str,
    /// Method name, empty for `execute`.
    pub method: &'a str,
}

const TRUNCATED: RuleResult<'static> = RuleResult {
    object: "audit",
    method: "truncated",
    granted: false,
};

/// The state of one decision, with room for `N` audited results.
#[derive(Debug)]
pub struct Decision<const N: usize> {
    runtime_level: u32,
    rules_run: bool,
    all_granted: bool,
    failure: Option<ExprError>,
    reason: Option<DenyReason>,
    results: [RuleResult<'static>; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> Decision<N> {
    /// A decision of an event arriving at audit runtime level `runtime_level`.
    pub const fn new(runtime_level: u32) -> Self {
        Decision {
            runtime_level,
            rules_run: false,
            all_granted: true,
            failure: None,
            reason: None,
            results: [TRUNCATED; N],
            len: 0,
            truncated: false,
        }
    }

    fn note(&mut self, profile: &AuditProfile, call: &Call, granted: bool) {
        if !profile.selects(self.runtime_level, call, granted) {
            return;
        }
        let result = RuleResult {
            object: call.object,
            method: call.method,
            granted,
        };
        match self.results.get_mut(self.len) {
            Some(slot) => {
                *slot = result;
                self.len = self.len.saturating_add(1);
            }
            None => {
                self.truncated = true;
                if let Some(last) = self.results.last_mut() {
                    *last = TRUNCATED;
                }
            }
        }
    }

    /// Reports a rule's result; returns it, so calls can be chained.
    pub fn rule(&mut self, profile: &AuditProfile, call: Call, verdict: Verdict) -> Verdict {
        self.rules_run = true;
        if !verdict.is_granted() {
            self.all_granted = false;
        }
        self.note(profile, &call, verdict.is_granted());
        verdict
    }

    /// Reports a model expression's result (`flow.query`, `re.match`, `set.contains`, ...);
    /// a failure denies the event. Returns the value for the generated code to use.
    pub fn expr<T>(&mut self, profile: &AuditProfile, call: Call, value: Expr<T>) -> Expr<T> {
        self.note(profile, &call, value.is_ok());
        if let Err(e) = &value {
            self.fail(*e);
        }
        value
    }

    /// An expression outside a model call failed (arithmetic, a cast, an index, a message
    /// read, a `choice` without a branch): the event is denied.
    pub fn fail(&mut self, error: ExprError) {
        self.all_granted = false;
        if self.failure.is_none() {
            self.failure = Some(error);
        }
    }

    /// The message is not of its method's type: denied before any rule runs.
    pub fn malformed(&mut self) {
        self.reason = Some(DenyReason::Malformed);
    }

    /// The event names a class, endpoint or method the policy does not know.
    pub fn unknown(&mut self) {
        if self.reason.is_none() {
            self.reason = Some(DenyReason::Unknown);
        }
    }

    /// The first expression failure, if any.
    pub fn failure(&self) -> Option<ExprError> {
        self.failure
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Verdict {
        if self.reason().is_none() {
            Verdict::Granted
        } else {
            Verdict::Denied
        }
    }

    /// Why the event is denied, `None` if it is granted.
    pub fn reason(&self) -> Option<DenyReason> {
        if let Some(reason) = self.reason {
            return Some(reason);
        }
        if self.failure.is_some() || !self.all_granted {
            return Some(DenyReason::Rule);
        }
        if !self.rules_run {
            return Some(DenyReason::NoBinding);
        }
        None
    }

    /// The results selected for the record, in call order.
    pub fn results(&self) -> &[RuleResult<'static>] {
        self.results.get(..self.len).unwrap_or(&[])
    }

    /// True if the record must be emitted.
    pub fn must_record(&self) -> bool {
        let always = matches!(
            self.reason(),
            Some(DenyReason::NoBinding | DenyReason::Malformed | DenyReason::Unknown)
        );
        always || self.failure.is_some() || self.len > 0 || self.truncated
    }

    /// Ends the decision: commits or rolls back `objects`, emits the record if there is one,
    /// and returns the verdict.
    pub fn finish(
        &self,
        event: &Event<'_>,
        names: &EventNames<'_>,
        audit: &mut dyn AuditSink,
        objects: &mut [&mut dyn Transactional],
    ) -> Verdict {
        let verdict = conclude(self.verdict(), objects);
        if self.must_record() {
            audit.record(&self.record(event, names));
        }
        verdict
    }

    /// The audit record of the decision.
    pub fn record<'a>(&'a self, event: &Event<'_>, names: &EventNames<'a>) -> AuditRecord<'a> {
        AuditRecord {
            kind: event.kind,
            src_sid: event.src_sid,
            src_class: names.src_class,
            dst_sid: event.dst_sid,
            dst_class: names.dst_class,
            endpoint: names.endpoint,
            method: names.method,
            rules: self.results(),
            verdict: self.verdict(),
            reason: self.reason(),
            src_class_id: event.src_class,
            dst_class_id: event.dst_class,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base;
    use crate::flow::{Flow, FlowConfig};
    use crate::profile::{CallDetail, ObjectAudit, Outcomes, ProfileLevel};
    use std::string::{String, ToString};
    use std::vec::Vec;

    struct Collect(Vec<String>);

    impl AuditSink for Collect {
        fn record(&mut self, record: &AuditRecord<'_>) {
            self.0.push(record.to_string());
        }
    }

    static ALL: AuditProfile = AuditProfile {
        name: "all",
        levels: &[ProfileLevel {
            level: 0,
            objects: &[
                ObjectAudit::new("base", Outcomes::ALL),
                ObjectAudit {
                    object: "door",
                    kss: Outcomes::ALL,
                    omit: &[0],
                    emit: crate::profile::RegexEmit::ALL,
                },
            ],
        }],
    };
    static DOOR: FlowConfig = FlowConfig {
        states: &["closed", "opened"],
        initial: 0,
        transitions: &[&[1], &[0]],
    };
    const NAMES: EventNames<'static> = EventNames {
        src_class: "lock.Panel",
        dst_class: "lock.Controller",
        endpoint: "main.door",
        method: "Open",
    };

    fn request() -> Event<'static> {
        Event {
            kind: crate::event::EventKind::Request,
            src_sid: 7,
            src_class: 3,
            dst_sid: 9,
            dst_class: 4,
            riid: 0,
            mid: 0,
            message: &[],
            handles: &[],
        }
    }

    #[test]
    fn no_rule_means_no_binding_and_is_always_recorded() {
        let d: Decision<4> = Decision::new(0);
        let mut sink = Collect(Vec::new());
        assert_eq!(
            d.finish(&request(), &NAMES, &mut sink, &mut []),
            Verdict::Denied
        );
        assert_eq!(
            sink.0,
            ["denied request lock.Panel(7) -> lock.Controller(9) main.door.Open (no binding covers the event)"]
        );
    }

    #[test]
    fn malformed_is_recorded_under_the_empty_profile() {
        let mut d: Decision<4> = Decision::new(0);
        d.malformed();
        d.rule(
            &AuditProfile::EMPTY,
            Call::new("base", "grant"),
            base::grant(),
        );
        let mut sink = Collect(Vec::new());
        assert_eq!(
            d.finish(&request(), &NAMES, &mut sink, &mut []),
            Verdict::Denied
        );
        assert_eq!(sink.0.len(), 1);
        assert!(sink.0[0].ends_with("(malformed message)"));
    }

    #[test]
    fn granted_decisions_under_the_empty_profile_are_silent() {
        let mut d: Decision<4> = Decision::new(0);
        d.rule(
            &AuditProfile::EMPTY,
            Call::new("base", "grant"),
            base::grant(),
        );
        let mut sink = Collect(Vec::new());
        assert_eq!(
            d.finish(&request(), &NAMES, &mut sink, &mut []),
            Verdict::Granted
        );
        assert!(sink.0.is_empty());
    }

    #[test]
    fn the_door_example_end_to_end() {
        // request src=lock.Panel, dst=lock.Controller, Open:
        //   assert (re.match {...}); door_state.enter {sid : dst_sid, state : "opened"}
        let mut door: Flow<4> = Flow::new(&DOOR);
        door.init(9);
        door.commit();
        let mut decide = |code_ok: bool, sink: &mut Collect| {
            let mut d: Decision<4> = Decision::new(0);
            d.rule(&ALL, Call::new("base", "assert"), base::assert(code_ok));
            let call = Call {
                object: "door",
                method: "enter",
                detail: CallDetail::Flow(door.state_of(9)),
            };
            let entered = door.enter(9, 1);
            d.rule(&ALL, call, entered);
            d.finish(&request(), &NAMES, sink, &mut [&mut door])
        };
        let mut sink = Collect(Vec::new());
        assert_eq!(decide(false, &mut sink), Verdict::Denied, "bad code");
        assert_eq!(
            sink.0.last().map(String::as_str),
            Some("denied request lock.Panel(7) -> lock.Controller(9) main.door.Open: base.assert=denied (a rule denied)"),
            "the enter from the omitted state `closed` is not listed"
        );
        assert_eq!(
            decide(true, &mut sink),
            Verdict::Granted,
            "the FSM is still closed"
        );
        assert_eq!(decide(true, &mut sink), Verdict::Denied, "already opened");
        assert_eq!(
            sink.0.last().map(String::as_str),
            Some("denied request lock.Panel(7) -> lock.Controller(9) main.door.Open: base.assert=granted, door.enter=denied (a rule denied)")
        );
    }

    #[test]
    fn expression_failures_deny_and_are_recorded() {
        let mut d: Decision<2> = Decision::new(0);
        d.rule(
            &AuditProfile::EMPTY,
            Call::new("base", "grant"),
            base::grant(),
        );
        let value = d.expr(
            &AuditProfile::EMPTY,
            Call::new("set", "contains"),
            Err::<bool, _>(ExprError::NotBound),
        );
        assert_eq!(value, Err(ExprError::NotBound));
        assert_eq!(d.verdict(), Verdict::Denied);
        assert_eq!(d.reason(), Some(DenyReason::Rule));
        assert_eq!(d.failure(), Some(ExprError::NotBound));
        assert!(d.must_record());
    }

    #[test]
    fn overflowing_results_are_marked_truncated() {
        let mut d: Decision<2> = Decision::new(0);
        for _ in 0..5 {
            d.rule(&ALL, Call::new("base", "grant"), base::grant());
        }
        assert_eq!(d.verdict(), Verdict::Granted);
        let mut sink = Collect(Vec::new());
        d.finish(&request(), &NAMES, &mut sink, &mut []);
        assert!(sink.0[0].ends_with("base.grant=granted, audit.truncated=denied"));
        let empty: Decision<0> = Decision::new(0);
        assert!(empty.results().is_empty());
    }
}
