//! The Base model: `grant`, `deny`, `assert`, `set_level`.
//!
//! Base rules carry no state except the *audit runtime level*, which `set_level` changes.
//!
//! * `grant ()` is granted.
//! * `deny ()` is denied; `deny (b)` is denied if `b` is true and granted if false.
//! * `assert (b)` is granted iff `b` is true.
//! * `set_level (n)` changes the audit runtime level and is granted. The level is model state
//!   like any other, so it is transactional ([`RuntimeLevel`] is a [`TxCell`]): a
//!   `set_level` in an event that ends denied has no effect. The record of the event that
//!   changes the level is filtered by the level in force when the event arrived.
//!
//! The argument of `deny` and `assert` may be an expression that fails; the `_expr` forms take
//! an [`Expr<bool>`] and deny on failure, so that `deny (x + 1 > 3)` with an overflowing
//! `x + 1` denies instead of granting "because the argument was not true".

use crate::event::Verdict;
use crate::expr::Expr;
use crate::txn::{Transactional, TxCell};

/// A verdict from a Boolean: `true` grants.
pub fn verdict_of(granted: bool) -> Verdict {
    if granted {
        Verdict::Granted
    } else {
        Verdict::Denied
    }
}

/// `grant ()`.
pub fn grant() -> Verdict {
    Verdict::Granted
}

/// `deny ()`.
pub fn deny_always() -> Verdict {
    Verdict::Denied
}

/// `deny (condition)`: denied if `condition` holds.
pub fn deny(condition: bool) -> Verdict {
    verdict_of(!condition)
}

/// `deny (expression)`: denied if the expression holds *or fails*.
pub fn deny_expr(condition: Expr<bool>) -> Verdict {
    verdict_of(condition == Ok(false))
}

/// `assert (condition)`.
pub fn assert(condition: bool) -> Verdict {
    verdict_of(condition)
}

/// `assert (expression)`: granted only if the expression evaluates to true.
pub fn assert_expr(condition: Expr<bool>) -> Verdict {
    verdict_of(condition == Ok(true))
}

/// The audit runtime level of a policy (initially the level of `audit default = <p> <n>`).
#[derive(Clone, Copy, Debug)]
pub struct RuntimeLevel {
    level: TxCell<u32>,
}

impl RuntimeLevel {
    /// The level at start-up.
    pub const fn new(initial: u32) -> Self {
        RuntimeLevel {
            level: TxCell::new(initial),
        }
    }

    /// The level in force (as of the last granted event).
    pub fn current(&self) -> u32 {
        self.level.committed()
    }

    /// The level as changed by the event being decided.
    pub fn pending(&self) -> u32 {
        self.level.get()
    }

    /// `set_level (level)`: granted.
    pub fn set_level(&mut self, level: u32) -> Verdict {
        self.level.set(level);
        Verdict::Granted
    }
}

impl Transactional for RuntimeLevel {
    fn commit(&mut self) {
        self.level.commit();
    }

    fn rollback(&mut self) {
        self.level.rollback();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::ExprError;

    #[test]
    fn base_rules() {
        assert_eq!(grant(), Verdict::Granted);
        assert_eq!(deny_always(), Verdict::Denied);
        assert_eq!(deny(true), Verdict::Denied);
        assert_eq!(deny(false), Verdict::Granted);
        assert_eq!(assert(true), Verdict::Granted);
        assert_eq!(assert(false), Verdict::Denied);
    }

    #[test]
    fn failed_expressions_deny_in_both_assert_and_deny() {
        assert_eq!(assert_expr(Err(ExprError::Overflow)), Verdict::Denied);
        assert_eq!(deny_expr(Err(ExprError::Overflow)), Verdict::Denied);
        assert_eq!(deny_expr(Ok(false)), Verdict::Granted);
        assert_eq!(assert_expr(Ok(true)), Verdict::Granted);
    }

    #[test]
    fn set_level_is_transactional() {
        let mut level = RuntimeLevel::new(0);
        assert_eq!(level.set_level(2), Verdict::Granted);
        assert_eq!((level.current(), level.pending()), (0, 2));
        level.rollback();
        assert_eq!(level.pending(), 0);
        level.set_level(3);
        level.commit();
        assert_eq!(level.current(), 3);
    }
}
