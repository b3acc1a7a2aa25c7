//! The Math model: integer arithmetic that fails instead of wrapping.
//!
//! PSL integers are the IDL's fixed-width integers (`UInt8` .. `UInt64`, `SInt8` .. `SInt64`).
//! The public documentation lists `+ - *`, the bitwise `| & ~` (1.3+), `math.neg`, `math.abs`,
//! `math.sum`, `math.product` and casts named after the target type, but says nothing about
//! overflow. Wrapping arithmetic in a security policy is a classic hole (`size + offset`
//! wrapping below a limit), so every operation here is *checked*: overflow is an expression
//! failure ([`ExprError::Overflow`]) and therefore a denial. Casts are checked the same way:
//! `math.uint8 (300)` fails with [`ExprError::CastOutOfRange`] rather than yielding 44, and a
//! negative value never casts to an unsigned type.
//!
//! Typing: an arithmetic operation works on two operands of one type and yields that type.
//! Where PSL mixes types (`message.len + 1`, with `len : UInt16`, and an integer literal),
//! the policy compiler converts operands to a common type with [`cast`] first, which itself
//! fails if a value does not fit. Comparisons across types do not need this: see
//! [`crate::logic::cmp`], which compares mathematical values.
//!
//! The bitwise operators cannot fail. `~` on an unsigned value flips all bits of its width
//! (`~0u8 == 255`), on a signed one it is two's complement (`~0i8 == -1`), as in Rust.

use crate::expr::{Expr, ExprError};

mod sealed {
    pub trait Sealed {}
}

/// A PSL integer type.
pub trait PslInt: Copy + Eq + Ord + Into<i128> + TryFrom<i128> + sealed::Sealed {
    /// 0 of the type.
    const ZERO: Self;
    /// 1 of the type.
    const ONE: Self;
    /// Checked `+`.
    fn add_checked(self, other: Self) -> Option<Self>;
    /// Checked `-`.
    fn sub_checked(self, other: Self) -> Option<Self>;
    /// Checked `*`.
    fn mul_checked(self, other: Self) -> Option<Self>;
    /// `&`.
    fn bit_and(self, other: Self) -> Self;
    /// `|`.
    fn bit_or(self, other: Self) -> Self;
    /// `^` (not a PSL operator; offered for completeness of the bitwise set).
    fn bit_xor(self, other: Self) -> Self;
    /// `~`.
    fn bit_not(self) -> Self;
}

/// A signed PSL integer type (`SInt8` .. `SInt64`).
pub trait PslSigned: PslInt {
    /// Checked negation (`-i64::MIN` fails).
    fn neg_checked(self) -> Option<Self>;
    /// Checked absolute value (`abs(i64::MIN)` fails).
    fn abs_checked(self) -> Option<Self>;
}

macro_rules! psl_int {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl PslInt for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            fn add_checked(self, other: Self) -> Option<Self> { self.checked_add(other) }
            fn sub_checked(self, other: Self) -> Option<Self> { self.checked_sub(other) }
            fn mul_checked(self, other: Self) -> Option<Self> { self.checked_mul(other) }
            fn bit_and(self, other: Self) -> Self { self & other }
            fn bit_or(self, other: Self) -> Self { self | other }
            fn bit_xor(self, other: Self) -> Self { self ^ other }
            fn bit_not(self) -> Self { !self }
        }
    )*};
}

psl_int!(u8, u16, u32, u64, i8, i16, i32, i64);

macro_rules! psl_signed {
    ($($t:ty),*) => {$(
        impl PslSigned for $t {
            fn neg_checked(self) -> Option<Self> { self.checked_neg() }
            fn abs_checked(self) -> Option<Self> { self.checked_abs() }
        }
    )*};
}

psl_signed!(i8, i16, i32, i64);

/// `a + b`.
pub fn add<T: PslInt>(a: T, b: T) -> Expr<T> {
    a.add_checked(b).ok_or(ExprError::Overflow)
}

/// `a - b` (an unsigned result below zero is an overflow).
pub fn sub<T: PslInt>(a: T, b: T) -> Expr<T> {
    a.sub_checked(b).ok_or(ExprError::Overflow)
}

/// `a * b`.
pub fn mul<T: PslInt>(a: T, b: T) -> Expr<T> {
    a.mul_checked(b).ok_or(ExprError::Overflow)
}

/// `math.neg (x)`.
pub fn neg<T: PslSigned>(x: T) -> Expr<T> {
    x.neg_checked().ok_or(ExprError::Overflow)
}

/// `math.abs (x)`.
pub fn abs<T: PslSigned>(x: T) -> Expr<T> {
    x.abs_checked().ok_or(ExprError::Overflow)
}

/// `math.sum (list)`; 0 for an empty list.
pub fn sum<T: PslInt>(values: &[T]) -> Expr<T> {
    values.iter().try_fold(T::ZERO, |acc, &v| add(acc, v))
}

/// `math.product (list)`; 1 for an empty list.
pub fn product<T: PslInt>(values: &[T]) -> Expr<T> {
    values.iter().try_fold(T::ONE, |acc, &v| mul(acc, v))
}

/// `a & b`.
pub fn bit_and<T: PslInt>(a: T, b: T) -> T {
    a.bit_and(b)
}

/// `a | b`.
pub fn bit_or<T: PslInt>(a: T, b: T) -> T {
    a.bit_or(b)
}

/// `a ^ b`.
pub fn bit_xor<T: PslInt>(a: T, b: T) -> T {
    a.bit_xor(b)
}

/// `~a`.
pub fn bit_not<T: PslInt>(a: T) -> T {
    a.bit_not()
}

/// Converts `x` to `T`, failing if the value does not fit (the PSL casts below are this
/// function at one target type each).
pub fn cast<T: PslInt>(x: impl Into<i128>) -> Expr<T> {
    T::try_from(x.into()).map_err(|_| ExprError::CastOutOfRange)
}

/// `math.uint8 (x)`.
pub fn uint8(x: impl Into<i128>) -> Expr<u8> {
    cast(x)
}

/// `math.uint16 (x)`.
pub fn uint16(x: impl Into<i128>) -> Expr<u16> {
    cast(x)
}

/// `math.uint32 (x)`.
pub fn uint32(x: impl Into<i128>) -> Expr<u32> {
    cast(x)
}

/// `math.uint64 (x)`.
pub fn uint64(x: impl Into<i128>) -> Expr<u64> {
    cast(x)
}

/// `math.sint8 (x)`.
pub fn sint8(x: impl Into<i128>) -> Expr<i8> {
    cast(x)
}

/// `math.sint16 (x)`.
pub fn sint16(x: impl Into<i128>) -> Expr<i16> {
    cast(x)
}

/// `math.sint32 (x)`.
pub fn sint32(x: impl Into<i128>) -> Expr<i32> {
    cast(x)
}

/// `math.sint64 (x)`.
pub fn sint64(x: impl Into<i128>) -> Expr<i64> {
    cast(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arithmetic_overflow_fails_instead_of_wrapping() {
        assert_eq!(add(250u8, 5), Ok(255));
        assert_eq!(add(250u8, 6), Err(ExprError::Overflow));
        assert_eq!(sub(3u32, 4), Err(ExprError::Overflow));
        assert_eq!(sub(-3i32, 4), Ok(-7));
        assert_eq!(mul(1u64 << 32, 1 << 32), Err(ExprError::Overflow));
        assert_eq!(mul(-4i16, 5), Ok(-20));
    }

    #[test]
    fn neg_and_abs_fail_on_the_minimum() {
        assert_eq!(neg(5i8), Ok(-5));
        assert_eq!(neg(i8::MIN), Err(ExprError::Overflow));
        assert_eq!(abs(-7i64), Ok(7));
        assert_eq!(abs(i64::MIN), Err(ExprError::Overflow));
    }

    #[test]
    fn sum_and_product_of_lists() {
        assert_eq!(sum::<u32>(&[]), Ok(0));
        assert_eq!(product::<u32>(&[]), Ok(1));
        assert_eq!(sum(&[1u16, 2, 3]), Ok(6));
        assert_eq!(product(&[2i8, -3, 4]), Ok(-24));
        assert_eq!(sum(&[u8::MAX, 1]), Err(ExprError::Overflow));
        assert_eq!(product(&[16u8, 16]), Err(ExprError::Overflow));
    }

    #[test]
    fn bitwise_operators() {
        assert_eq!(bit_and(0b1100u8, 0b1010), 0b1000);
        assert_eq!(bit_or(0b1100u8, 0b1010), 0b1110);
        assert_eq!(bit_xor(0b1100u8, 0b1010), 0b0110);
        assert_eq!(bit_not(0u8), 255);
        assert_eq!(bit_not(0i8), -1);
    }

    #[test]
    fn casts_check_the_range() {
        assert_eq!(uint8(255u32), Ok(255));
        assert_eq!(uint8(256u32), Err(ExprError::CastOutOfRange));
        assert_eq!(uint16(-1i32), Err(ExprError::CastOutOfRange));
        assert_eq!(uint32(u64::from(u32::MAX)), Ok(u32::MAX));
        assert_eq!(uint64(-1i8), Err(ExprError::CastOutOfRange));
        assert_eq!(uint64(u64::MAX), Ok(u64::MAX));
        assert_eq!(sint8(-128i64), Ok(-128));
        assert_eq!(sint8(128u8), Err(ExprError::CastOutOfRange));
        assert_eq!(sint16(40000u16), Err(ExprError::CastOutOfRange));
        assert_eq!(sint32(-5i64), Ok(-5));
        assert_eq!(sint64(u64::MAX), Err(ExprError::CastOutOfRange));
        assert_eq!(sint64(i64::MIN), Ok(i64::MIN));
    }

    proptest! {
        #[test]
        fn checked_add_agrees_with_wide_arithmetic(a: i32, b: i32) {
            let wide = i128::from(a) + i128::from(b);
            match add(a, b) {
                Ok(v) => prop_assert_eq!(i128::from(v), wide),
                Err(_) => prop_assert!(i32::try_from(wide).is_err()),
            }
        }

        #[test]
        fn casts_round_trip_when_they_succeed(x: i64) {
            if let Ok(v) = uint32(x) {
                prop_assert_eq!(i64::from(v), x);
            } else {
                prop_assert!(!(0..=i64::from(u32::MAX)).contains(&x));
            }
        }
    }
}
