//! The Struct model: element access and sizes.
//!
//! `list.[i]` is 0-based and an index past the end is an expression failure
//! ([`ExprError::IndexOutOfRange`]), hence a denial; indices arrive as any PSL integer, so a
//! negative index fails the same way. `size (x)` (seen in official 1.3/1.4 examples, not in
//! the reference pages) is the number of elements of a sequence, list, set or array, or the
//! number of *bytes* of a text or `bytes` value; we give it that meaning. Field access
//! (`message.s.field`) needs no runtime function: the policy compiler turns it into an offset
//! (see [`crate::message`]).

use crate::expr::{Expr, ExprError};

/// `items.[index]`.
pub fn index<T>(items: &[T], index: impl Into<i128>) -> Expr<&T> {
    usize::try_from(index.into())
        .ok()
        .and_then(|i| items.get(i))
        .ok_or(ExprError::IndexOutOfRange)
}

/// `size (items)`: number of elements, as a `UInt64`.
pub fn size<T>(items: &[T]) -> u64 {
    items.len() as u64
}

/// `size (text)`: number of bytes, as a `UInt64`.
pub fn size_text(text: &str) -> u64 {
    text.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_checked() {
        let items = [10u8, 20, 30];
        assert_eq!(index(&items, 0u8), Ok(&10));
        assert_eq!(index(&items, 2i64), Ok(&30));
        assert_eq!(index(&items, 3u32), Err(ExprError::IndexOutOfRange));
        assert_eq!(index(&items, -1i32), Err(ExprError::IndexOutOfRange));
        assert_eq!(index(&items, u64::MAX), Err(ExprError::IndexOutOfRange));
    }

    #[test]
    fn sizes() {
        assert_eq!(size(&[1u8, 2, 3]), 3);
        assert_eq!(size::<u32>(&[]), 0);
        assert_eq!(size_text("Ж1"), 3);
    }
}
