//! The Pred and Bool models: comparisons and Boolean combinators.
//!
//! Comparisons (`== != < <= > >=`) on integers compare *mathematical values*, whatever the
//! widths and signedness of the two sides: `message.x < -1` with `x : UInt32` is false for
//! every `x`, never "true because -1 became 4294967295". [`cmp`] widens both sides to `i128`,
//! which holds every PSL integer exactly. Text and other scalars compare with Rust's `==`.
//!
//! `bool.all ([])` is true and `bool.any ([])` is false, as documented. `==>` is the
//! implication `!a || b`. `bool.cond` is the ternary choice; both branches are already
//! evaluated values (an expression failure in either branch fails the `cond`, which the
//! generated code gets for free by evaluating both with `?` before calling [`cond`]; this is
//! the secure reading of an undocumented point: a failing branch is not silently skipped).

use core::cmp::Ordering;

/// Compares two integers of any PSL types by value.
pub fn cmp(a: impl Into<i128>, b: impl Into<i128>) -> Ordering {
    a.into().cmp(&b.into())
}

/// `a == b` on integers of any types.
pub fn eq(a: impl Into<i128>, b: impl Into<i128>) -> bool {
    cmp(a, b) == Ordering::Equal
}

/// `a != b` on integers of any types.
pub fn ne(a: impl Into<i128>, b: impl Into<i128>) -> bool {
    cmp(a, b) != Ordering::Equal
}

/// `a < b` on integers of any types.
pub fn lt(a: impl Into<i128>, b: impl Into<i128>) -> bool {
    cmp(a, b) == Ordering::Less
}

/// `a <= b` on integers of any types.
pub fn le(a: impl Into<i128>, b: impl Into<i128>) -> bool {
    cmp(a, b) != Ordering::Greater
}

/// `a > b` on integers of any types.
pub fn gt(a: impl Into<i128>, b: impl Into<i128>) -> bool {
    cmp(a, b) == Ordering::Greater
}

/// `a >= b` on integers of any types.
pub fn ge(a: impl Into<i128>, b: impl Into<i128>) -> bool {
    cmp(a, b) != Ordering::Less
}

/// `pred.empty (x)` for a list, set, sequence or map given as its elements.
pub fn empty<T>(items: &[T]) -> bool {
    items.is_empty()
}

/// `pred.empty (text)`.
pub fn empty_text(text: &str) -> bool {
    text.is_empty()
}

/// `bool.all (list)`: true on `[]`.
pub fn all(values: &[bool]) -> bool {
    values.iter().all(|&v| v)
}

/// `bool.any (list)`: false on `[]`.
pub fn any(values: &[bool]) -> bool {
    values.iter().any(|&v| v)
}

/// `a ==> b`.
pub fn implies(a: bool, b: bool) -> bool {
    !a || b
}

/// `bool.cond { if : c, then : t, else : e }`.
pub fn cond<T>(condition: bool, then: T, otherwise: T) -> T {
    if condition {
        then
    } else {
        otherwise
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_use_mathematical_values_across_types() {
        assert!(!lt(u32::MAX, -1i8));
        assert!(gt(u32::MAX, -1i8));
        assert!(eq(255u8, 255i64));
        assert!(ne(u64::MAX, -1i64));
        assert!(le(3u16, 3u64));
        assert!(ge(0i8, 0u8));
        assert_eq!(cmp(i64::MIN, u64::MAX), Ordering::Less);
    }

    #[test]
    fn boolean_combinators() {
        assert!(all(&[]));
        assert!(!any(&[]));
        assert!(all(&[true, true]));
        assert!(!all(&[true, false]));
        assert!(any(&[false, true]));
        assert!(implies(false, false));
        assert!(!implies(true, false));
        assert_eq!(cond(true, "a", "b"), "a");
        assert_eq!(cond(false, 1, 2), 2);
        assert!(empty::<u8>(&[]));
        assert!(!empty(&[1]));
        assert!(empty_text(""));
    }
}
