//! Expression failure.
//!
//! PSL distinguishes *rules*, which answer granted or denied, from *expressions*, which
//! compute a value (`message.size + 1`, `flow.query {sid : dst_sid}`, `re.match {...}`). An
//! expression can "run incorrectly": an addition overflows, a cast does not fit, an index is
//! out of range, a SID has no table in a model, a key is unknown. KasperskyOS documents only
//! the consequence, which we adopt without exception: **a failed expression makes the event
//! denied**, whatever rule it was feeding (an `assert` of a failed comparison denies even
//! though the comparison never produced `false`, and a `deny` of a failed expression denies
//! too, not "grants because the argument was not true").
//!
//! In Rust an expression is a `Result`: [`Expr<T>`] is `Result<T, ExprError>`, so that the
//! generated code can chain computations with `?` inside a helper and turn the first failure
//! into a denial at one place ([`crate::decision::Decision::fail`]). [`ExprError`] says which
//! kind of failure it was, for audit and tests; the verdict does not depend on the kind.

use core::fmt;

/// Why an expression could not be evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExprError {
    /// An arithmetic operation overflowed its type (`+ - *`, `neg`, `abs`, `sum`, `product`).
    Overflow,
    /// A cast (`math.uint8 (...)` ...) got a value its target type cannot hold.
    CastOutOfRange,
    /// An index (`.[i]`) is past the end of a sequence, array or list.
    IndexOutOfRange,
    /// The SID has no table, FSM or level in the model object.
    NotBound,
    /// A key is not one of the object's keys (StaticMap) or a state is not one of its states
    /// (Flow).
    UnknownKey,
    /// A message field could not be read: outside the message, not UTF-8, over its bound.
    /// (Validated messages never produce this; it guards the reader against misuse.)
    BadField,
    /// A regular expression could not be used (its compiled automaton did not load, or the
    /// search gave up).
    Regex,
    /// A `choice` had no branch for the value and no `_` branch.
    NoBranch,
}

impl ExprError {
    /// A short description for audit lines and test failures.
    pub fn describe(self) -> &'static str {
        match self {
            ExprError::Overflow => "arithmetic overflow",
            ExprError::CastOutOfRange => "value out of range of the cast",
            ExprError::IndexOutOfRange => "index out of range",
            ExprError::NotBound => "SID not bound in the model object",
            ExprError::UnknownKey => "unknown key or state",
            ExprError::BadField => "message field unreadable",
            ExprError::Regex => "regular expression unusable",
            ExprError::NoBranch => "no choice branch for the value",
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The value of an expression, or why it failed.
pub type Expr<T> = Result<T, ExprError>;
