//! # PSL integer arithmetic, checked against the range of the PSL type
//!
//! The generated rule functions compute every integer in `i128` and check it against the
//! range of its PSL type (`UInt8` ... `SInt64`), given as `lo, hi`: operands are first
//! converted to the common type of the operation (a value that does not fit fails the
//! cast), then the result must fit (or the operation overflowed). Both are expression
//! failures ([`crate::expr`]), so the event is denied.

use crate::expr::{Expr, ExprError};

/// `v` if it lies in `lo..=hi`, else a failed cast.
pub fn to_range(v: i128, lo: i128, hi: i128) -> Expr<i128> {
    if v < lo || v > hi {
        Err(ExprError::CastOutOfRange)
    } else {
        Ok(v)
    }
}

/// The result of an operation if it was computed and lies in `lo..=hi`, else an overflow.
pub fn result_in(v: Option<i128>, lo: i128, hi: i128) -> Expr<i128> {
    match v {
        Some(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(ExprError::Overflow),
    }
}

/// `a + b`.
pub fn ar_add(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(
        to_range(a, lo, hi)?.checked_add(to_range(b, lo, hi)?),
        lo,
        hi,
    )
}

/// `a - b`.
pub fn ar_sub(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(
        to_range(a, lo, hi)?.checked_sub(to_range(b, lo, hi)?),
        lo,
        hi,
    )
}

/// `a * b`.
pub fn ar_mul(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(
        to_range(a, lo, hi)?.checked_mul(to_range(b, lo, hi)?),
        lo,
        hi,
    )
}

/// `a & b`.
pub fn ar_and(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    Ok(to_range(a, lo, hi)? & to_range(b, lo, hi)?)
}

/// `a | b`.
pub fn ar_or(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    Ok(to_range(a, lo, hi)? | to_range(b, lo, hi)?)
}

/// `math.neg (a)`.
pub fn ar_neg(a: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(to_range(a, lo, hi)?.checked_neg(), lo, hi)
}

/// `math.abs (a)`.
pub fn ar_abs(a: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(to_range(a, lo, hi)?.checked_abs(), lo, hi)
}

/// `~a` for an unsigned value of `bits` bits.
pub fn bnot_unsigned(a: i128, bits: u32) -> i128 {
    let mask = 1i128
        .checked_shl(bits)
        .map_or(i128::MAX, |m| m.wrapping_sub(1));
    !a & mask
}

/// A length as a PSL integer.
pub fn len_of(n: usize) -> i128 {
    i128::try_from(n).unwrap_or(i128::MAX)
}

/// `math.sum` (or, with `product`, `math.product`) of bytes.
pub fn fold_bytes(bytes: &[u8], lo: i128, hi: i128, product: bool) -> Expr<i128> {
    fold(bytes.iter().map(|b| Ok(i128::from(*b))), lo, hi, product)
}

/// The checked sum (or product) of `values`; the first value that failed fails the fold.
pub fn fold(
    values: impl Iterator<Item = Expr<i128>>,
    lo: i128,
    hi: i128,
    product: bool,
) -> Expr<i128> {
    let mut acc: i128 = if product { 1 } else { 0 };
    for x in values {
        let x = x?;
        acc = if product {
            ar_mul(acc, x, lo, hi)?
        } else {
            ar_add(acc, x, lo, hi)?
        };
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_out_of_the_type_fail_the_cast_and_results_out_of_it_overflow() {
        assert_eq!(ar_add(300, 1, 0, 255), Err(ExprError::CastOutOfRange));
        assert_eq!(ar_add(255, 1, 0, 255), Err(ExprError::Overflow));
        assert_eq!(ar_sub(0, 1, 0, 255), Err(ExprError::Overflow));
        assert_eq!(ar_mul(16, 16, 0, 255), Err(ExprError::Overflow));
        assert_eq!(ar_neg(-128, -128, 127), Err(ExprError::Overflow));
        assert_eq!(ar_abs(-5, -128, 127), Ok(5));
        assert_eq!(ar_and(6, 3, 0, 255), Ok(2));
        assert_eq!(ar_or(6, 3, 0, 255), Ok(7));
    }

    #[test]
    fn unsigned_complement_keeps_the_width() {
        assert_eq!(bnot_unsigned(0, 8), 255);
        assert_eq!(bnot_unsigned(0xf0, 8), 0x0f);
    }

    #[test]
    fn byte_folds_are_checked() {
        assert_eq!(fold_bytes(&[1, 2, 3], 0, 255, false), Ok(6));
        assert_eq!(
            fold_bytes(&[16, 16], 0, 255, true),
            Err(ExprError::Overflow)
        );
        assert_eq!(fold_bytes(&[], 0, 255, true), Ok(1));
    }
}
