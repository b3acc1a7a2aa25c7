//! The message validator: is this message of its method's IDL type?
//!
//! KasperskyOS checks message structure before any rule runs and denies malformed messages
//! (always audited). Our check is table-driven: the policy compiler translates each method's
//! `ostrog_idl::layout::MessageLayout` (request, response or error) into a static
//! [`MessageDesc`], a `const`-constructible tree of [`TypeDesc`]s, and the generated `decide`
//! calls [`validate_event`] with the descriptor of the event's method before anything else.
//!
//! A message is well formed for a descriptor when (agreeing with the generated decoders of
//! `spec_rt.rs`, plus the header's reserved bits):
//!
//! * the header is complete, has at most `MAX_HANDLES` slots and exactly as many as the
//!   kernel attached, and header, slots, fixed part and arena add up to exactly the length;
//! * `flags` equals the descriptor's (`0` or `FLAG_ERROR`: no unknown bit set) and the
//!   header's reserved word is zero; every handle slot's mode is copy or move;
//! * `fixed_size` equals the method's fixed size, and for [`validate_event`] the header's
//!   RIID and MID are those of the event;
//! * every parameter, recursively through structs, arrays, unions and sequence elements:
//!   handle indices are below the slot count; union tags name a variant; strings, byte
//!   buffers and sequences are within their bound and inside the arena, sequence data
//!   8-aligned in the arena; strings are UTF-8;
//! * nothing is carried that the policy cannot see: every handle slot is named by exactly
//!   one `Handle` parameter (a slot no parameter names would reach the receiver unjudged),
//!   the parameters naming slots 0, 1, 2, ... in the order they are checked (as the
//!   generated encoders number them), and the arena holds exactly the parameters' data, in the order the generated encoders
//!   write it (each reference starts where the previous one ended, sequences rounded up to
//!   8 bytes, and the arena ends where the last one does). A message is therefore exactly as
//!   long as its parameters need, and a method without variable-size parameters has an empty
//!   arena;
//! * padding is zero: the gaps between fields of the fixed part, of structs, union payloads,
//!   array and sequence elements and after their last field up to the type's size, and the
//!   gap before 8-aligned sequence data in the arena. Otherwise padding would carry bytes to
//!   the receiver that no rule reads. This is checked last, so a message with another defect
//!   reports that one.
//!
//! Descriptors are trusted (they come from the policy compiler), but the validator does not
//! rely on them to be consistent: a field that lies outside the fixed part or a nesting
//! deeper than [`MAX_DEPTH`] is reported as malformed rather than read out of bounds or
//! recursed without end. The work is bounded by the message size: elements of zero size are
//! checked once, dense data (integers, arrays and structs of them without gaps) is not walked
//! at all, and each padding byte is read once.

use core::cell::Cell;

use crate::event::Event;
use crate::message::{MessageView, SEQUENCE_ALIGN};
use ostrog_abi::message::{FLAG_ERROR, HANDLE_COPY, HANDLE_MOVE};
use ostrog_abi::wire::arena_next;

/// Deepest nesting of types the validator follows (the IDL front end allows 64).
pub const MAX_DEPTH: u32 = 64;

/// Why a message is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Shorter than a header, or than its header says.
    Truncated,
    /// Longer than its header says.
    TrailingBytes,
    /// More handle slots than a message may carry.
    TooManyHandles,
    /// The header's handle count differs from the handles the kernel attached.
    HandleCountMismatch,
    /// A slot's mode is neither copy nor move.
    BadHandleMode,
    /// RIID or MID differ from the event's.
    WrongMethod,
    /// Flags other than the message kind's.
    UnexpectedFlags,
    /// The reserved header word is not zero.
    ReservedNotZero,
    /// `fixed_size` is not the method's.
    WrongFixedSize,
    /// A field lies outside its region (a descriptor inconsistent with the message).
    FieldOutOfBounds,
    /// An `ArenaRef` points outside the arena.
    ArenaOutOfBounds,
    /// Sequence data is not 8-aligned in the arena.
    Misaligned,
    /// A string, byte buffer or sequence is longer than its bound.
    TooLong,
    /// A string is not UTF-8.
    InvalidUtf8,
    /// A union tag names no variant.
    BadUnionTag,
    /// A handle index is not below the number of slots.
    BadHandleIndex,
    /// A handle slot that no `Handle` parameter names (the policy would never see it), or
    /// one that two parameters name.
    UnnamedHandle,
    /// The `Handle` parameters do not name the slots in order (the first slot 0, the next
    /// slot 1, ...), which is how the generated encoder writes them: a message has one form.
    HandlesOutOfOrder,
    /// Arena bytes that no parameter uses: data not where the previous parameter's ended
    /// (after alignment), or bytes after the last parameter's data.
    UnusedArena,
    /// The descriptor nests deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A padding byte (a gap between fields, after the last field of a type, or before
    /// aligned arena data) is not zero.
    NonzeroPadding,
}

/// Width and signedness of an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntKind {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
}

impl IntKind {
    /// Size in bytes.
    pub const fn size(self) -> u32 {
        match self {
            IntKind::U8 | IntKind::I8 => 1,
            IntKind::U16 | IntKind::I16 => 2,
            IntKind::U32 | IntKind::I32 => 4,
            IntKind::U64 | IntKind::I64 => 8,
        }
    }
}

/// The shape of a type on the wire (mirrors `ostrog_idl::layout::LayoutKind`).
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// A little-endian integer; every bit pattern is valid.
    Int(IntKind),
    /// A `u32` handle-slot index.
    Handle,
    /// An `ArenaRef` to at most `bound` bytes.
    Bytes { bound: u32 },
    /// An `ArenaRef` to at most `bound` bytes of UTF-8.
    String { bound: u32 },
    /// An `ArenaRef` to at most `bound` elements, 8-aligned, `element.size` bytes apart.
    Sequence {
        bound: u32,
        element: &'static TypeDesc,
    },
    /// `len` elements `element.size` bytes apart.
    Array {
        len: u32,
        element: &'static TypeDesc,
    },
    /// Fields at their offsets.
    Struct { fields: &'static [FieldDesc] },
    /// A `u32` tag at offset 0 and variant `tag` at `payload_offset`.
    Union {
        payload_offset: u32,
        variants: &'static [TypeDesc],
    },
}

/// A type's size (its stride in arrays and sequences) and shape.
#[derive(Clone, Copy, Debug)]
pub struct TypeDesc {
    /// Bytes occupied.
    pub size: u32,
    /// What is there.
    pub shape: Shape,
}

impl TypeDesc {
    /// An integer.
    pub const fn int(kind: IntKind) -> Self {
        TypeDesc {
            size: kind.size(),
            shape: Shape::Int(kind),
        }
    }

    /// A handle index.
    pub const HANDLE: TypeDesc = TypeDesc {
        size: 4,
        shape: Shape::Handle,
    };

    /// `string<bound>`.
    pub const fn string(bound: u32) -> Self {
        TypeDesc {
            size: 8,
            shape: Shape::String { bound },
        }
    }

    /// `bytes<bound>`.
    pub const fn bytes(bound: u32) -> Self {
        TypeDesc {
            size: 8,
            shape: Shape::Bytes { bound },
        }
    }

    /// `sequence<element, bound>`.
    pub const fn sequence(element: &'static TypeDesc, bound: u32) -> Self {
        TypeDesc {
            size: 8,
            shape: Shape::Sequence { bound, element },
        }
    }
}

/// A named part (parameter, field) and its offset in the enclosing struct or fixed part.
#[derive(Clone, Copy, Debug)]
pub struct FieldDesc {
    /// IDL name (for diagnostics and tools).
    pub name: &'static str,
    /// Offset relative to the enclosing struct or the fixed part.
    pub offset: u32,
    /// Its type.
    pub ty: TypeDesc,
}

impl FieldDesc {
    /// The part `name` of type `ty` at `offset`.
    pub const fn new(name: &'static str, offset: u32, ty: TypeDesc) -> Self {
        FieldDesc { name, offset, ty }
    }

    /// An integer part.
    pub const fn int(name: &'static str, offset: u32, kind: IntKind) -> Self {
        Self::new(name, offset, TypeDesc::int(kind))
    }

    /// A handle part.
    pub const fn handle(name: &'static str, offset: u32) -> Self {
        Self::new(name, offset, TypeDesc::HANDLE)
    }

    /// A `string<bound>` part.
    pub const fn string(name: &'static str, offset: u32, bound: u32) -> Self {
        Self::new(name, offset, TypeDesc::string(bound))
    }

    /// A `bytes<bound>` part.
    pub const fn bytes(name: &'static str, offset: u32, bound: u32) -> Self {
        Self::new(name, offset, TypeDesc::bytes(bound))
    }
}

/// One kind of message of one method (request, response or error response).
#[derive(Clone, Copy, Debug)]
pub struct MessageDesc {
    /// The method's fixed size.
    pub fixed_size: u32,
    /// The header flags the message must have (`0`, or `FLAG_ERROR` for error responses).
    pub flags: u32,
    /// The parameters.
    pub params: &'static [FieldDesc],
}

impl MessageDesc {
    /// A request or response with `fixed_size` bytes of fixed part and `params`.
    pub const fn new(fixed_size: u32, params: &'static [FieldDesc]) -> Self {
        MessageDesc {
            fixed_size,
            flags: 0,
            params,
        }
    }

    /// An error response with `fixed_size` bytes of fixed part and `params`.
    pub const fn error(fixed_size: u32, params: &'static [FieldDesc]) -> Self {
        MessageDesc {
            fixed_size,
            flags: FLAG_ERROR,
            params,
        }
    }
}

/// Checks `message` (with `handle_count` handles attached by the kernel) against `desc`.
pub fn validate(desc: &MessageDesc, message: &[u8], handle_count: usize) -> Result<(), Malformed> {
    let view = MessageView::parse_counted(message, &[], handle_count)?;
    check_message(desc, &view)
}

/// Checks the message of `event` against `desc`, including that the header's RIID and MID
/// are the event's.
pub fn validate_event(desc: &MessageDesc, event: &Event<'_>) -> Result<(), Malformed> {
    let view = MessageView::of(event)?;
    if view.header().riid != event.riid || view.header().mid != event.mid {
        return Err(Malformed::WrongMethod);
    }
    check_message(desc, &view)
}

fn check_message(desc: &MessageDesc, view: &MessageView<'_>) -> Result<(), Malformed> {
    let header = view.header();
    if header.flags != desc.flags {
        return Err(Malformed::UnexpectedFlags);
    }
    if header.reserved != 0 {
        return Err(Malformed::ReservedNotZero);
    }
    if header.fixed_size != desc.fixed_size {
        return Err(Malformed::WrongFixedSize);
    }
    for index in 0..header.handle_count as usize {
        let mode = view
            .slot_rights_and_mode(index)
            .ok_or(Malformed::Truncated)?
            >> 16;
        if mode != HANDLE_COPY && mode != HANDLE_MOVE {
            return Err(Malformed::BadHandleMode);
        }
    }
    let checker = Checker {
        view,
        named: Cell::new(0),
        cursor: Cell::new(0),
        padding_clean: Cell::new(true),
    };
    checker.fields(0, view.fixed_size(), desc.params, 0)?;
    let all_slots = 1u32
        .checked_shl(header.handle_count)
        .map_or(u32::MAX, |b| b.wrapping_sub(1));
    if checker.named.get() != all_slots {
        return Err(Malformed::UnnamedHandle);
    }
    if checker.cursor.get() != header.arena_size as usize {
        return Err(Malformed::UnusedArena);
    }
    if !checker.padding_clean.get() {
        return Err(Malformed::NonzeroPadding);
    }
    Ok(())
}

struct Checker<'v, 'a> {
    view: &'v MessageView<'a>,
    /// Handle slots named so far (bit `i`: slot `i`).
    named: Cell<u32>,
    /// Where the next parameter's arena data must start (arena offset).
    cursor: Cell<usize>,
    /// False once a nonzero padding byte was seen (reported after every other check).
    padding_clean: Cell<bool>,
}

/// True if every bit pattern of the type is valid and it has no padding (nothing to check).
fn is_dense(ty: &TypeDesc, depth: u32) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let next = depth.saturating_add(1);
    match ty.shape {
        Shape::Int(_) => true,
        Shape::Array { len, element } => {
            element.size.checked_mul(len) == Some(ty.size) && is_dense(element, next)
        }
        Shape::Struct { fields } => {
            let mut covered = 0u32;
            for f in fields {
                if f.offset != covered || !is_dense(&f.ty, next) {
                    return false;
                }
                covered = match covered.checked_add(f.ty.size) {
                    Some(c) => c,
                    None => return false,
                };
            }
            covered == ty.size
        }
        _ => false,
    }
}

impl Checker<'_, '_> {
    /// Checks a value of type `ty` at body position `pos`, which must end by `end`.
    fn value(&self, pos: usize, end: usize, ty: &TypeDesc, depth: u32) -> Result<(), Malformed> {
        if depth > MAX_DEPTH {
            return Err(Malformed::TooDeep);
        }
        let next = depth.saturating_add(1);
        let value_end = pos
            .checked_add(ty.size as usize)
            .ok_or(Malformed::FieldOutOfBounds)?;
        if value_end > end {
            return Err(Malformed::FieldOutOfBounds);
        }
        match ty.shape {
            Shape::Int(_) => Ok(()),
            Shape::Handle => {
                let index = self.read_u32(pos)?;
                if index >= self.view.header().handle_count {
                    return Err(Malformed::BadHandleIndex);
                }
                let bit = 1u32.checked_shl(index).ok_or(Malformed::BadHandleIndex)?;
                if self.named.get() & bit != 0 {
                    return Err(Malformed::UnnamedHandle);
                }
                if index != self.named.get().count_ones() {
                    return Err(Malformed::HandlesOutOfOrder);
                }
                self.named.set(self.named.get() | bit);
                Ok(())
            }
            Shape::Bytes { bound } => self.arena(pos, bound, 1, 1).map(|_| ()),
            Shape::String { bound } => {
                let (start, len) = self.arena(pos, bound, 1, 1)?;
                let data = self
                    .view
                    .data(start, len)
                    .ok_or(Malformed::ArenaOutOfBounds)?;
                core::str::from_utf8(data)
                    .map(|_| ())
                    .map_err(|_| Malformed::InvalidUtf8)
            }
            Shape::Sequence { bound, element } => {
                let stride = element.size as usize;
                let (start, len) = self.arena(pos, bound, stride, SEQUENCE_ALIGN)?;
                let arena_end = self.view.body().len();
                self.elements(start, len, arena_end, element, next)
            }
            Shape::Array { len, element } => {
                self.elements(pos, len as usize, value_end, element, next)?;
                let used = (len as usize)
                    .checked_mul(element.size as usize)
                    .and_then(|bytes| bytes.checked_add(pos))
                    .ok_or(Malformed::FieldOutOfBounds)?;
                self.padding(used, value_end)
            }
            Shape::Struct { fields } => self.fields(pos, value_end, fields, next),
            Shape::Union {
                payload_offset,
                variants,
            } => {
                let tag = self.read_u32(pos)?;
                let variant = variants.get(tag as usize).ok_or(Malformed::BadUnionTag)?;
                let at = pos
                    .checked_add(payload_offset as usize)
                    .ok_or(Malformed::FieldOutOfBounds)?;
                self.padding(pos.saturating_add(4), at.min(value_end))?;
                self.value(at, value_end, variant, next)?;
                self.padding(at.saturating_add(variant.size as usize), value_end)
            }
        }
    }

    /// Checks `fields` of a struct (or the parameters of a fixed part) at body position
    /// `pos` whose size ends at `end`, and that the bytes no field covers are zero.
    fn fields(
        &self,
        pos: usize,
        end: usize,
        fields: &[FieldDesc],
        depth: u32,
    ) -> Result<(), Malformed> {
        let mut covered = pos;
        for field in fields {
            let at = pos
                .checked_add(field.offset as usize)
                .ok_or(Malformed::FieldOutOfBounds)?;
            self.padding(covered, at.min(end))?;
            self.value(at, end, &field.ty, depth)?;
            covered = covered.max(at.saturating_add(field.ty.size as usize));
        }
        self.padding(covered, end)
    }

    /// Notes whether body positions `start..end` (padding; none if `end <= start`) are zero.
    fn padding(&self, start: usize, end: usize) -> Result<(), Malformed> {
        if start < end {
            let bytes = self
                .view
                .body()
                .get(start..end)
                .ok_or(Malformed::FieldOutOfBounds)?;
            if bytes.iter().any(|&b| b != 0) {
                self.padding_clean.set(false);
            }
        }
        Ok(())
    }

    /// Checks `len` elements of `element` from `start`, ending by `end`.
    fn elements(
        &self,
        start: usize,
        len: usize,
        end: usize,
        element: &TypeDesc,
        depth: u32,
    ) -> Result<(), Malformed> {
        if len == 0 || is_dense(element, depth) {
            // Dense data still has to fit; the region check of the caller covers arrays, and
            // `arena` covers sequences.
            return Ok(());
        }
        let stride = element.size as usize;
        // Zero-size elements all sit at `start`: one check covers them all.
        let count = if stride == 0 { 1 } else { len };
        for i in 0..count {
            let at = i
                .checked_mul(stride)
                .and_then(|o| o.checked_add(start))
                .ok_or(Malformed::FieldOutOfBounds)?;
            self.value(at, end, element, depth)?;
        }
        Ok(())
    }

    /// The arena data of the reference at `pos` (see [`ostrog_abi::wire::Reader::arena`]), which must
    /// start where the previous parameter's data ended, rounded up to `align` (the bytes
    /// skipped are padding).
    fn arena(
        &self,
        pos: usize,
        bound: u32,
        stride: usize,
        align: usize,
    ) -> Result<(usize, usize), Malformed> {
        let (start, len) = self.view.wire().arena(pos, bound, stride, align)?;
        let offset = start
            .checked_sub(self.view.fixed_size())
            .ok_or(Malformed::ArenaOutOfBounds)?;
        let expected = arena_next(self.cursor.get(), align).ok_or(Malformed::UnusedArena)?;
        if offset != expected {
            return Err(Malformed::UnusedArena);
        }
        let fixed = self.view.fixed_size();
        self.padding(
            fixed.saturating_add(self.cursor.get()),
            fixed.saturating_add(expected),
        )?;
        let bytes = len.checked_mul(stride).ok_or(Malformed::ArenaOutOfBounds)?;
        let next = offset
            .checked_add(bytes)
            .ok_or(Malformed::ArenaOutOfBounds)?;
        self.cursor.set(next);
        Ok((start, len))
    }

    fn read_u32(&self, pos: usize) -> Result<u32, Malformed> {
        self.view.u32(pos).map_err(|_| Malformed::FieldOutOfBounds)
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
