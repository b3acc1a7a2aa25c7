//! # Positions in a validated message, for the generated rule functions
//!
//! A PSL path such as `message.req.items.[2].port` becomes a chain of body positions:
//! [`off`] for a struct field or an array element, [`variant`] for a union member, and
//! [`Items`] for the elements of an array or sequence. Every step is checked; a position
//! the message does not have is an expression failure, never a panic. [`key_put`] and
//! [`items_key`] turn read values into the fixed-width keys of HashSet and StaticMap.

use crate::arith::{fold, len_of};
use crate::expr::{Expr, ExprError};
use crate::message::{MessageView, Sequence};

/// `pos + add` in the message body.
pub fn off(pos: usize, add: u64) -> Expr<usize> {
    usize::try_from(add)
        .ok()
        .and_then(|a| pos.checked_add(a))
        .ok_or(ExprError::BadField)
}

/// The variant `tag` of the union at `pos`: a union holding another variant has no such
/// field (an expression failure).
pub fn variant(v: MessageView<'_>, pos: usize, tag: u32, payload: u64) -> Expr<usize> {
    if v.u32(pos)? != tag {
        return Err(ExprError::UnknownKey);
    }
    off(pos, payload)
}

/// Writes `bytes` into a HashSet entry key at `at` (the compiler sized the key to fit).
pub fn key_put(key: &mut [u8], at: usize, bytes: &[u8]) {
    for (d, s) in key.iter_mut().skip(at).zip(bytes) {
        *d = *s;
    }
}

/// The StaticMap key index of message `UInt8` items: copied into a buffer of the longest
/// key's length (`N`); a longer list is no key.
pub fn items_key<const N: usize>(
    v: MessageView<'_>,
    items: Items,
    index: impl Fn(&[u8]) -> Expr<usize>,
) -> Expr<usize> {
    if items.len > N {
        return Err(ExprError::UnknownKey);
    }
    let mut buf = [0u8; N];
    for (i, slot) in buf.iter_mut().enumerate().take(items.len) {
        *slot = v.u8(items.at(len_of(i))?)?;
    }
    index(buf.get(..items.len).ok_or(ExprError::UnknownKey)?)
}

/// Elements of a message array or sequence, by body position.
#[derive(Clone, Copy, Debug)]
pub struct Items {
    /// Position of the first element.
    pub start: usize,
    /// Number of elements.
    pub len: usize,
    /// Size of one element.
    pub stride: usize,
}

impl Items {
    /// The elements of a sequence of elements `stride` bytes wide.
    pub fn of(s: Sequence, stride: u32) -> Items {
        Items {
            start: s.element(0u32).unwrap_or(0),
            len: s.len(),
            stride: stride as usize,
        }
    }

    /// Position of element `index`.
    pub fn at(&self, index: impl Into<i128>) -> Expr<usize> {
        let i = usize::try_from(index.into()).map_err(|_| ExprError::IndexOutOfRange)?;
        if i >= self.len {
            return Err(ExprError::IndexOutOfRange);
        }
        i.checked_mul(self.stride)
            .and_then(|o| o.checked_add(self.start))
            .ok_or(ExprError::IndexOutOfRange)
    }
}

/// `math.sum` (or, with `product`, `math.product`) of message items read by `read`.
pub fn fold_items(
    v: MessageView<'_>,
    items: Items,
    read: impl Fn(&MessageView<'_>, usize) -> Expr<i128>,
    lo: i128,
    hi: i128,
    product: bool,
) -> Expr<i128> {
    let values = (0..items.len).map(|i| read(&v, items.at(len_of(i))?));
    fold(values, lo, hi, product)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_positions_are_bounded() {
        let items = Items {
            start: 8,
            len: 3,
            stride: 4,
        };
        assert_eq!(items.at(0), Ok(8));
        assert_eq!(items.at(2), Ok(16));
        assert_eq!(items.at(3), Err(ExprError::IndexOutOfRange));
        assert_eq!(items.at(-1), Err(ExprError::IndexOutOfRange));
    }

    #[test]
    fn offsets_do_not_wrap() {
        assert_eq!(off(4, 4), Ok(8));
        assert_eq!(off(usize::MAX, 1), Err(ExprError::BadField));
    }

    #[test]
    fn keys_take_what_fits() {
        let mut k = [0u8; 4];
        key_put(&mut k, 2, &[7, 8, 9]);
        assert_eq!(k, [0, 0, 7, 8]);
    }
}
