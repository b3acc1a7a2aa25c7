//! Audit profiles: which model-call results an audit record shows.
//!
//! A PSL audit profile maps *runtime levels* to per-object conditions:
//!
//! ```text
//! audit profile trace =
//!   { 0 : { base : { kss : ["denied"] } }
//!   , 1 : { session : { kss : ["granted", "denied"], omit : ["closed"] } }
//!   }
//! ```
//!
//! The policy compiler turns each profile into a static [`AuditProfile`]. At a runtime level,
//! a call of an object's rule or expression is *selected* for the record if:
//!
//! * the object appears at that level and its `kss` list holds the call's result
//!   (`"granted"`, or `"denied"`; for an expression, "granted" means it evaluated and
//!   "denied" that it failed); objects not listed are not audited;
//! * for a Flow object, the FSM was not in an `omit` state *before* the call;
//! * for the Regex object, the operation (`match` or `select`) is in its `emit` list. A
//!   profile entry without `emit` is compiled as both (the `kss` list alone then decides);
//!   `emit : []` records no Regex call.
//!
//! Which level's entry applies is not documented when the runtime level has no key of its
//! own; we take the entry of the greatest key not above the runtime level (levels as
//! increasing verbosity: a level above the highest key is as verbose as the highest key),
//! and nothing below the lowest key. Auxiliary models (Pred, Bool, Math, Struct) are never
//! audited: the compiler emits no call record for them.

use crate::flow::StateId;

/// Which results of an object are recorded (`kss : [...]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// `"granted"` is listed.
    pub granted: bool,
    /// `"denied"` is listed.
    pub denied: bool,
}

impl Outcomes {
    /// `kss : []`.
    pub const NONE: Outcomes = Outcomes {
        granted: false,
        denied: false,
    };
    /// `kss : ["denied"]`.
    pub const DENIED: Outcomes = Outcomes {
        granted: false,
        denied: true,
    };
    /// `kss : ["granted", "denied"]`.
    pub const ALL: Outcomes = Outcomes {
        granted: true,
        denied: true,
    };

    /// True if a result is listed.
    pub fn includes(self, granted: bool) -> bool {
        if granted {
            self.granted
        } else {
            self.denied
        }
    }
}

/// The two operations of the Regex model (`emit` conditions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegexOp {
    /// `re.match`.
    Match,
    /// `re.select`.
    Select,
}

/// Which Regex operations are recorded (`emit : [...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegexEmit {
    /// `"match"` is listed.
    pub matches: bool,
    /// `"select"` is listed.
    pub select: bool,
}

impl RegexEmit {
    /// Both operations (also what a profile without `emit` means).
    pub const ALL: RegexEmit = RegexEmit {
        matches: true,
        select: true,
    };
}

/// The audit condition of one object at one level.
#[derive(Clone, Copy, Debug)]
pub struct ObjectAudit {
    /// Policy object name (`"base"`, `"session"`, `"re"`).
    pub object: &'static str,
    /// `kss`.
    pub kss: Outcomes,
    /// Flow: states in which nothing is recorded.
    pub omit: &'static [StateId],
    /// Regex: operations recorded.
    pub emit: RegexEmit,
}

impl ObjectAudit {
    /// An object audited for `kss`, with no model-specific condition.
    pub const fn new(object: &'static str, kss: Outcomes) -> Self {
        ObjectAudit {
            object,
            kss,
            omit: &[],
            emit: RegexEmit::ALL,
        }
    }
}

/// The objects audited at one runtime level.
#[derive(Clone, Copy, Debug)]
pub struct ProfileLevel {
    /// The level key.
    pub level: u32,
    /// Audited objects.
    pub objects: &'static [ObjectAudit],
}

/// An audit profile.
#[derive(Clone, Copy, Debug)]
pub struct AuditProfile {
    /// Profile name.
    pub name: &'static str,
    /// Levels, in any order.
    pub levels: &'static [ProfileLevel],
}

/// What is known about one model call, for the profile to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallDetail {
    /// No model-specific condition applies.
    Plain,
    /// A Flow call; the FSM's state before the call (`None`: no FSM for the SID).
    Flow(Option<StateId>),
    /// A Regex call.
    Regex(RegexOp),
}

/// One model call, as the generated code reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// Policy object.
    pub object: &'static str,
    /// Model method.
    pub method: &'static str,
    /// Model-specific facts.
    pub detail: CallDetail,
}

impl Call {
    /// A call with no model-specific condition.
    pub const fn new(object: &'static str, method: &'static str) -> Self {
        Call {
            object,
            method,
            detail: CallDetail::Plain,
        }
    }
}

impl AuditProfile {
    /// The `empty` profile of `nk/base.psl`: nothing is recorded (except what is always
    /// recorded, see [`crate::decision`]).
    pub const EMPTY: AuditProfile = AuditProfile {
        name: "empty",
        levels: &[],
    };

    /// The entry that applies at `runtime_level`.
    pub fn at(&self, runtime_level: u32) -> Option<&ProfileLevel> {
        self.levels
            .iter()
            .filter(|l| l.level <= runtime_level)
            .max_by_key(|l| l.level)
    }

    /// True if the result of `call` is recorded at `runtime_level`.
    pub fn selects(&self, runtime_level: u32, call: &Call, granted: bool) -> bool {
        let Some(entry) = self.at(runtime_level) else {
            return false;
        };
        let Some(object) = entry.objects.iter().find(|o| o.object == call.object) else {
            return false;
        };
        if !object.kss.includes(granted) {
            return false;
        }
        match call.detail {
            CallDetail::Plain => true,
            CallDetail::Flow(state) => !state.is_some_and(|s| object.omit.contains(&s)),
            CallDetail::Regex(RegexOp::Match) => object.emit.matches,
            CallDetail::Regex(RegexOp::Select) => object.emit.select,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOSED: StateId = 0;
    static TRACE: AuditProfile = AuditProfile {
        name: "trace",
        levels: &[
            ProfileLevel {
                level: 0,
                objects: &[ObjectAudit::new("base", Outcomes::DENIED)],
            },
            ProfileLevel {
                level: 2,
                objects: &[
                    ObjectAudit {
                        object: "session",
                        kss: Outcomes::ALL,
                        omit: &[CLOSED],
                        emit: RegexEmit::ALL,
                    },
                    ObjectAudit {
                        object: "re",
                        kss: Outcomes::ALL,
                        omit: &[],
                        emit: RegexEmit {
                            matches: false,
                            select: true,
                        },
                    },
                ],
            },
        ],
    };

    #[test]
    fn levels_select_the_nearest_lower_entry() {
        assert_eq!(TRACE.at(0).map(|l| l.level), Some(0));
        assert_eq!(TRACE.at(1).map(|l| l.level), Some(0));
        assert_eq!(TRACE.at(7).map(|l| l.level), Some(2));
        assert!(AuditProfile::EMPTY.at(0).is_none());
    }

    #[test]
    fn kss_omit_and_emit() {
        let base = Call::new("base", "assert");
        assert!(TRACE.selects(0, &base, false));
        assert!(!TRACE.selects(0, &base, true));
        assert!(!TRACE.selects(2, &base, false), "not listed at level 2");
        let enter = |state| Call {
            object: "session",
            method: "enter",
            detail: CallDetail::Flow(state),
        };
        assert!(TRACE.selects(2, &enter(Some(1)), true));
        assert!(
            !TRACE.selects(2, &enter(Some(CLOSED)), true),
            "omitted state"
        );
        assert!(TRACE.selects(2, &enter(None), false));
        let re = |op| Call {
            object: "re",
            method: "match",
            detail: CallDetail::Regex(op),
        };
        assert!(!TRACE.selects(2, &re(RegexOp::Match), true));
        assert!(TRACE.selects(2, &re(RegexOp::Select), true));
        assert!(!AuditProfile::EMPTY.selects(0, &base, false));
    }
}
