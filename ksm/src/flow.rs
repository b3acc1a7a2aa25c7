//! The Flow model: one finite-state machine per SID.
//!
//! A Flow object is configured with its states, an initial state and, for each state, the
//! states it may go to. The policy compiler turns state names into indices ([`StateId`],
//! position in `states`) and the transition map into a static table, so the runtime never
//! compares names while deciding.
//!
//! * `init {sid}` binds a new FSM, in the initial state, to `sid`. Denied if `sid` already has
//!   one, or if the pool (sized by the policy) is full.
//! * `fini {sid}` removes the FSM of `sid`. Denied if there is none (the docs leave this open;
//!   a `fini` of nothing is more likely a policy error than an intent, so it denies).
//! * `enter {sid, state}` moves to `state` if the transition table lists it for the current
//!   state. A self-transition is allowed only if listed (nothing in the docs says staying put
//!   is implicit, and the secure reading is that it is not). Denied if `sid` has no FSM.
//! * `allow {sid, states}` is granted iff the current state is one of `states`.
//! * `query {sid}` is an expression yielding the current state (for `choice`); it fails if
//!   `sid` has no FSM.
//!
//! State changes are transactional (see [`crate::txn`]): an `enter` in an event that ends
//! denied leaves the FSM where it was.
//!
//! The FSMs live in a [`SidPool`] of `P` slots. KasperskyOS's Flow takes no pool size; ours
//! needs one because memory is fixed at build time: the policy compiler takes it from the
//! object's config (our extension) or uses a default.
//!
//! Audit: a profile may list `omit` states; results of this object's rules are not audited
//! while the FSM is in one of them. "Is in" is read as *the state before the call* (for
//! `enter`, the state being left), see [`crate::profile`].

use crate::base::verdict_of;
use crate::event::{Sid, Verdict};
use crate::expr::{Expr, ExprError};
use crate::txn::{SidPool, Transactional};

/// A state, as its index in the object's `states`.
pub type StateId = u16;

/// The static description of a Flow object.
#[derive(Debug)]
pub struct FlowConfig {
    /// State names, in declaration order.
    pub states: &'static [&'static str],
    /// The initial state.
    pub initial: StateId,
    /// `transitions[s]`: the states reachable from `s` (a missing or empty entry: none).
    pub transitions: &'static [&'static [StateId]],
}

impl FlowConfig {
    /// True if every state index in the config names a state. The generated code can check
    /// this at compile time: `const _: () = assert!(CONFIG.is_valid());`.
    // Indexing and counting in a `const fn` (where `get` is not available): every index is
    // below the length it was compared with, so neither can fail.
    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    pub const fn is_valid(&self) -> bool {
        let n = self.states.len();
        if n == 0 || n > (StateId::MAX as usize) || self.initial as usize >= n {
            return false;
        }
        if self.transitions.len() > n {
            return false;
        }
        let mut i = 0;
        while i < self.transitions.len() {
            let targets = self.transitions[i];
            let mut j = 0;
            while j < targets.len() {
                if targets[j] as usize >= n {
                    return false;
                }
                j += 1;
            }
            i += 1;
        }
        true
    }

    /// The index of a state name.
    pub fn state_id(&self, name: &str) -> Option<StateId> {
        let index = self.states.iter().position(|s| *s == name)?;
        StateId::try_from(index).ok()
    }

    /// The name of a state.
    pub fn state_name(&self, state: StateId) -> Option<&'static str> {
        self.states.get(usize::from(state)).copied()
    }

    /// True if `to` may follow `from`.
    pub fn allows(&self, from: StateId, to: StateId) -> bool {
        self.transitions
            .get(usize::from(from))
            .is_some_and(|targets| targets.contains(&to))
    }
}

/// A Flow policy object with room for `P` FSMs.
#[derive(Debug)]
pub struct Flow<const P: usize> {
    config: &'static FlowConfig,
    fsms: SidPool<StateId, P>,
}

impl<const P: usize> Flow<P> {
    /// A Flow object with no FSM yet.
    pub const fn new(config: &'static FlowConfig) -> Self {
        Flow {
            config,
            fsms: SidPool::new(),
        }
    }

    /// The object's configuration.
    pub fn config(&self) -> &'static FlowConfig {
        self.config
    }

    /// `init {sid}`.
    pub fn init(&mut self, sid: Sid) -> Verdict {
        if !self.config.is_valid() {
            return Verdict::Denied;
        }
        verdict_of(self.fsms.bind(sid, self.config.initial).is_ok())
    }

    /// `fini {sid}`.
    pub fn fini(&mut self, sid: Sid) -> Verdict {
        verdict_of(self.fsms.release(sid))
    }

    /// `enter {sid, state}`.
    pub fn enter(&mut self, sid: Sid, state: StateId) -> Verdict {
        let config = self.config;
        let Some(current) = self.fsms.get_mut(sid) else {
            return Verdict::Denied;
        };
        if !config.allows(*current, state) {
            return Verdict::Denied;
        }
        *current = state;
        Verdict::Granted
    }

    /// `allow {sid, states}`.
    pub fn allow(&self, sid: Sid, states: &[StateId]) -> Verdict {
        verdict_of(self.fsms.get(sid).is_some_and(|s| states.contains(s)))
    }

    /// `query {sid}`.
    pub fn query(&self, sid: Sid) -> Expr<StateId> {
        self.fsms.get(sid).copied().ok_or(ExprError::NotBound)
    }

    /// The current state of `sid`'s FSM, if any (for audit `omit`).
    pub fn state_of(&self, sid: Sid) -> Option<StateId> {
        self.fsms.get(sid).copied()
    }
}

impl<const P: usize> Transactional for Flow<P> {
    fn commit(&mut self) {
        self.fsms.commit();
    }

    fn rollback(&mut self) {
        self.fsms.rollback();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::conclude;

    // The service FSM of the reference: sleep -> started -> {stopped, finished}, ...
    const SLEEP: StateId = 0;
    const STARTED: StateId = 1;
    const STOPPED: StateId = 2;
    const FINISHED: StateId = 3;
    static SERVICE: FlowConfig = FlowConfig {
        states: &["sleep", "started", "stopped", "finished"],
        initial: SLEEP,
        transitions: &[&[STARTED], &[STOPPED, FINISHED], &[STARTED, FINISHED]],
    };
    const _: () = assert!(SERVICE.is_valid());

    #[test]
    fn fsm_follows_the_transition_table() {
        let mut flow: Flow<4> = Flow::new(&SERVICE);
        assert_eq!(flow.init(10), Verdict::Granted);
        assert_eq!(flow.init(10), Verdict::Denied);
        assert_eq!(flow.query(10), Ok(SLEEP));
        assert_eq!(flow.enter(10, STOPPED), Verdict::Denied);
        assert_eq!(flow.enter(10, STARTED), Verdict::Granted);
        assert_eq!(
            flow.enter(10, STARTED),
            Verdict::Denied,
            "no implicit self-transition"
        );
        assert_eq!(flow.allow(10, &[STARTED, STOPPED]), Verdict::Granted);
        assert_eq!(flow.allow(10, &[SLEEP]), Verdict::Denied);
        assert_eq!(flow.enter(10, FINISHED), Verdict::Granted);
        assert_eq!(
            flow.enter(10, STARTED),
            Verdict::Denied,
            "finished is final"
        );
        assert_eq!(flow.enter(10, 99), Verdict::Denied);
        assert_eq!(
            SERVICE.state_name(flow.query(10).unwrap_or(0)),
            Some("finished")
        );
        assert_eq!(SERVICE.state_id("stopped"), Some(STOPPED));
    }

    #[test]
    fn unbound_sids_are_denied_and_queries_fail() {
        let mut flow: Flow<1> = Flow::new(&SERVICE);
        assert_eq!(flow.enter(3, STARTED), Verdict::Denied);
        assert_eq!(flow.allow(3, &[SLEEP]), Verdict::Denied);
        assert_eq!(flow.query(3), Err(ExprError::NotBound));
        assert_eq!(flow.fini(3), Verdict::Denied);
        assert_eq!(flow.init(1), Verdict::Granted);
        assert_eq!(flow.init(2), Verdict::Denied, "pool of one is full");
        assert_eq!(flow.fini(1), Verdict::Granted);
        assert_eq!(flow.init(2), Verdict::Granted);
    }

    #[test]
    fn enter_followed_by_a_denying_rule_leaves_the_state_unchanged() {
        let mut flow: Flow<2> = Flow::new(&SERVICE);
        flow.init(7);
        flow.commit();
        // One event: enter succeeds, then an assert denies.
        let entered = flow.enter(7, STARTED);
        assert_eq!(entered, Verdict::Granted);
        assert_eq!(flow.query(7), Ok(STARTED), "later rules see the change");
        let verdict = if entered.is_granted() && crate::base::assert(false).is_granted() {
            Verdict::Granted
        } else {
            Verdict::Denied
        };
        conclude(verdict, &mut [&mut flow]);
        assert_eq!(flow.query(7), Ok(SLEEP));
        // The same event granted is kept.
        flow.enter(7, STARTED);
        conclude(Verdict::Granted, &mut [&mut flow]);
        assert_eq!(flow.query(7), Ok(STARTED));
    }

    #[test]
    fn invalid_configs_are_detected_and_deny() {
        static BAD: FlowConfig = FlowConfig {
            states: &["a"],
            initial: 0,
            transitions: &[&[1]],
        };
        static EMPTY: FlowConfig = FlowConfig {
            states: &[],
            initial: 0,
            transitions: &[],
        };
        assert!(!BAD.is_valid());
        assert!(!EMPTY.is_valid());
        let mut flow: Flow<1> = Flow::new(&BAD);
        assert_eq!(flow.init(1), Verdict::Denied);
    }
}
