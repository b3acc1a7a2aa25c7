//! Reading a message: the generated code's only way into `Event::message`.
//!
//! Layout (see `ostrog_abi::message`): a 40-byte header, `handle_count` handle slots, the
//! fixed part (`fixed_size` bytes) and the arena (`arena_size` bytes), found by the one
//! reader of that layout, `ostrog_abi::wire::Reader`, which the kernel and the generated
//! decoders use too. The policy compiler knows where every parameter is from
//! `ostrog_idl::layout` and reads it through a [`MessageView`] by *body position*: the offset
//! from the start of the fixed part, the same coordinates as the generated decoders use. A parameter at fixed-part offset `o` is at body
//! position `o`; a sequence element is at the position [`Sequence::element`] returns.
//!
//! Messages are validated ([`crate::validate`]) before any rule runs, so on a validated
//! message these reads cannot fail. They are bounds-checked all the same: the reader never
//! panics and never trusts the policy compiler to have validated first; a read that does not
//! fit is an expression failure ([`ExprError::BadField`]), which denies.

use crate::event::{Event, HandleInfo};
use crate::expr::{Expr, ExprError};
use crate::validate::Malformed;
use ostrog_abi::message::{ArenaRef, Header, MAX_HANDLES};
use ostrog_abi::wire::{Reader, WireError};

pub use ostrog_abi::message::SEQUENCE_ALIGN;

/// A message whose header agrees with its length, read through the one reader of the
/// layout ([`ostrog_abi::wire::Reader`]), with the handle information the kernel attached.
#[derive(Clone, Copy, Debug)]
pub struct MessageView<'a> {
    wire: Reader<'a>,
    handles: &'a [HandleInfo],
}

impl From<WireError> for Malformed {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Truncated => Malformed::Truncated,
            WireError::TrailingBytes => Malformed::TrailingBytes,
            WireError::TooManyHandles(_) => Malformed::TooManyHandles,
            WireError::FieldOutOfBounds => Malformed::FieldOutOfBounds,
            WireError::ArenaOutOfBounds => Malformed::ArenaOutOfBounds,
            WireError::Misaligned => Malformed::Misaligned,
            WireError::TooLong { .. } => Malformed::TooLong,
        }
    }
}

impl<'a> MessageView<'a> {
    /// The message of `event`, with the handle information the kernel attached.
    pub fn of(event: &Event<'a>) -> Result<Self, Malformed> {
        Self::parse(event.message, event.handles)
    }

    /// Checks that the header, handle slots, fixed part and arena add up to exactly
    /// `message.len()` bytes, that there are at most `MAX_HANDLES` slots, and that `handles`
    /// describes each slot.
    pub fn parse(message: &'a [u8], handles: &'a [HandleInfo]) -> Result<Self, Malformed> {
        Self::parse_counted(message, handles, handles.len())
    }

    /// [`MessageView::parse`] expecting `handle_count` slots (`handles` may be empty when
    /// only the layout is checked).
    pub(crate) fn parse_counted(
        message: &'a [u8],
        handles: &'a [HandleInfo],
        handle_count: usize,
    ) -> Result<Self, Malformed> {
        // The slot count is judged before the length, so a message with too many slots or
        // other slots than the kernel attached says so whatever its length.
        let count = Header::read(message)
            .ok_or(Malformed::Truncated)?
            .handle_count as usize;
        if count > MAX_HANDLES {
            return Err(Malformed::TooManyHandles);
        }
        if count != handle_count {
            return Err(Malformed::HandleCountMismatch);
        }
        Ok(MessageView {
            wire: Reader::parse(message)?,
            handles,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        self.wire.header()
    }

    /// The fixed part and the arena.
    pub fn body(&self) -> &'a [u8] {
        self.wire.body()
    }

    /// Size of the fixed part.
    pub fn fixed_size(&self) -> usize {
        self.wire.fixed_size()
    }

    /// `rights_and_mode` of handle slot `index`.
    pub fn slot_rights_and_mode(&self, index: usize) -> Option<u32> {
        self.wire.slot(index).map(|s| s.rights_and_mode)
    }

    /// `N` bytes at body position `pos`.
    pub fn read<const N: usize>(&self, pos: usize) -> Expr<[u8; N]> {
        self.wire.read(pos).ok_or(ExprError::BadField)
    }

    /// A `UInt8` at `pos`.
    pub fn u8(&self, pos: usize) -> Expr<u8> {
        self.read(pos).map(u8::from_le_bytes)
    }

    /// A `UInt16` at `pos`.
    pub fn u16(&self, pos: usize) -> Expr<u16> {
        self.read(pos).map(u16::from_le_bytes)
    }

    /// A `UInt32` at `pos`.
    pub fn u32(&self, pos: usize) -> Expr<u32> {
        self.read(pos).map(u32::from_le_bytes)
    }

    /// A `UInt64` at `pos`.
    pub fn u64(&self, pos: usize) -> Expr<u64> {
        self.read(pos).map(u64::from_le_bytes)
    }

    /// An `SInt8` at `pos`.
    pub fn i8(&self, pos: usize) -> Expr<i8> {
        self.read(pos).map(i8::from_le_bytes)
    }

    /// An `SInt16` at `pos`.
    pub fn i16(&self, pos: usize) -> Expr<i16> {
        self.read(pos).map(i16::from_le_bytes)
    }

    /// An `SInt32` at `pos`.
    pub fn i32(&self, pos: usize) -> Expr<i32> {
        self.read(pos).map(i32::from_le_bytes)
    }

    /// An `SInt64` at `pos`.
    pub fn i64(&self, pos: usize) -> Expr<i64> {
        self.read(pos).map(i64::from_le_bytes)
    }

    /// The `ArenaRef` at `pos`.
    pub fn arena_ref(&self, pos: usize) -> Expr<ArenaRef> {
        self.wire.arena_ref(pos).ok_or(ExprError::BadField)
    }

    /// The one reader underneath (the validator resolves arena references with it).
    pub(crate) fn wire(&self) -> &Reader<'a> {
        &self.wire
    }

    /// The bytes of body positions `start..start + len`.
    pub(crate) fn data(&self, start: usize, len: usize) -> Option<&'a [u8]> {
        self.wire.bytes(start, len)
    }

    /// The `bytes<bound>` whose `ArenaRef` is at `pos`.
    pub fn bytes(&self, pos: usize, bound: u32) -> Expr<&'a [u8]> {
        let (start, len) = self
            .wire
            .arena(pos, bound, 1, 1)
            .map_err(|_| ExprError::BadField)?;
        self.data(start, len).ok_or(ExprError::BadField)
    }

    /// The `string<bound>` whose `ArenaRef` is at `pos`.
    pub fn string(&self, pos: usize, bound: u32) -> Expr<&'a str> {
        core::str::from_utf8(self.bytes(pos, bound)?).map_err(|_| ExprError::BadField)
    }

    /// The `sequence<T, bound>` whose `ArenaRef` is at `pos`, elements `stride` bytes apart.
    pub fn sequence(&self, pos: usize, bound: u32, stride: u32) -> Expr<Sequence> {
        let (start, len) = self
            .wire
            .arena(pos, bound, stride as usize, SEQUENCE_ALIGN)
            .map_err(|_| ExprError::BadField)?;
        Ok(Sequence {
            start,
            len,
            stride: stride as usize,
        })
    }

    /// The handle whose slot index is at `pos` (PSL `HandleDesc`: `.handle` is its SID,
    /// `.rights` the rights the receiver gets).
    pub fn handle(&self, pos: usize) -> Expr<HandleInfo> {
        let index = self.u32(pos)? as usize;
        if index >= self.header().handle_count as usize {
            return Err(ExprError::BadField);
        }
        self.handles.get(index).copied().ok_or(ExprError::BadField)
    }
}

/// Where a sequence's elements are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sequence {
    start: usize,
    len: usize,
    stride: usize,
}

impl Sequence {
    /// Number of elements (`size (message.seq)`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there is no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Body position of element `index` (`message.seq.[index]`).
    pub fn element(&self, index: impl Into<i128>) -> Expr<usize> {
        let index = usize::try_from(index.into()).map_err(|_| ExprError::IndexOutOfRange)?;
        if index >= self.len {
            return Err(ExprError::IndexOutOfRange);
        }
        index
            .checked_mul(self.stride)
            .and_then(|o| o.checked_add(self.start))
            .ok_or(ExprError::IndexOutOfRange)
    }
}
