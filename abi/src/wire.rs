//! The one reader and writer of the message layout of [`crate::message`].
//!
//! The kernel (copy, stamp, handle slots), the security module's validator and rules
//! (`ostrog_ksm::message::MessageView`) and the generated transport runtime (`spec_rt`, used
//! by programs and by the kernel's core endpoints) all find the parts of a message here, so
//! they cannot disagree about where a slot, a field or an arena reference is.
//!
//! Positions inside the fixed part and the arena are *body positions*: offsets from the
//! start of the fixed part, the coordinates of `ostrog_idl::layout`. Every access is
//! bounds-checked and returns an `Option` or a `Result`; nothing here panics, whatever the
//! bytes say.

use crate::message::{
    ArenaRef, HandleSlot, Header, ARENA_REF_SIZE, HANDLE_SLOT_SIZE, HEADER_SIZE, MAX_HANDLES,
};

/// Why a message, or a part of it, does not fit the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than a header, or than its header says.
    Truncated,
    /// Longer than its header says.
    TrailingBytes,
    /// More handle slots than a message may carry (the header's count).
    TooManyHandles(u32),
    /// A field lies outside the body.
    FieldOutOfBounds,
    /// An [`ArenaRef`] points outside the arena.
    ArenaOutOfBounds,
    /// Arena data does not start at its alignment.
    Misaligned,
    /// A string, byte buffer or sequence is longer than its bound.
    TooLong {
        /// The bound.
        bound: u32,
        /// The length found.
        len: u32,
    },
}

/// A message whose header agrees with its length: header, at most [`MAX_HANDLES`] slots,
/// fixed part and arena add up to exactly the bytes given.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    header: Header,
    slots: &'a [u8],
    body: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Checks the header against the length of `message`.
    pub fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let header = Header::read(message).ok_or(WireError::Truncated)?;
        if header.handle_count as usize > MAX_HANDLES {
            return Err(WireError::TooManyHandles(header.handle_count));
        }
        let total = header.total_size().ok_or(WireError::Truncated)?;
        if total > message.len() {
            return Err(WireError::Truncated);
        }
        if total < message.len() {
            return Err(WireError::TrailingBytes);
        }
        let fixed = header.fixed_offset();
        let slots = message
            .get(HEADER_SIZE..fixed)
            .ok_or(WireError::Truncated)?;
        let body = message.get(fixed..).ok_or(WireError::Truncated)?;
        Ok(Reader {
            header,
            slots,
            body,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Handle slot `index`, if the message has it.
    pub fn slot(&self, index: usize) -> Option<HandleSlot> {
        let at = index.checked_mul(HANDLE_SLOT_SIZE)?;
        HandleSlot::read(self.slots.get(at..)?)
    }

    /// Every handle slot, in order.
    pub fn slots(&self) -> impl Iterator<Item = HandleSlot> + 'a {
        self.slots
            .chunks_exact(HANDLE_SLOT_SIZE)
            .filter_map(HandleSlot::read)
    }

    /// The fixed part and the arena.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Size of the fixed part (the body position where the arena starts).
    pub fn fixed_size(&self) -> usize {
        self.header.fixed_size as usize
    }

    /// `N` bytes at body position `pos`.
    pub fn read<const N: usize>(&self, pos: usize) -> Option<[u8; N]> {
        self.body.get(pos..pos.checked_add(N)?)?.try_into().ok()
    }

    /// The little-endian `u32` at body position `pos`.
    pub fn u32(&self, pos: usize) -> Option<u32> {
        self.read(pos).map(u32::from_le_bytes)
    }

    /// The [`ArenaRef`] at body position `pos`.
    pub fn arena_ref(&self, pos: usize) -> Option<ArenaRef> {
        ArenaRef::read(self.body.get(pos..)?)
    }

    /// Resolves the [`ArenaRef`] at `pos` to `(body position, length)`, checking that the
    /// length is within `bound`, that the data starts `align`-aligned in the arena and that
    /// `length * stride` bytes lie inside the arena.
    pub fn arena(
        &self,
        pos: usize,
        bound: u32,
        stride: usize,
        align: usize,
    ) -> Result<(usize, usize), WireError> {
        let r = self.arena_ref(pos).ok_or(WireError::FieldOutOfBounds)?;
        if r.len > bound {
            return Err(WireError::TooLong { bound, len: r.len });
        }
        let offset = r.offset as usize;
        if offset.checked_rem(align).is_some_and(|rest| rest != 0) {
            return Err(WireError::Misaligned);
        }
        let len = r.len as usize;
        let end = len
            .checked_mul(stride)
            .and_then(|bytes| bytes.checked_add(offset))
            .and_then(|end| end.checked_add(self.fixed_size()))
            .ok_or(WireError::ArenaOutOfBounds)?;
        if end > self.body.len() {
            return Err(WireError::ArenaOutOfBounds);
        }
        Ok((self.fixed_size().saturating_add(offset), len))
    }

    /// The bytes of body positions `start..start + len`.
    pub fn bytes(&self, start: usize, len: usize) -> Option<&'a [u8]> {
        self.body.get(start..start.checked_add(len)?)
    }
}

/// Where data of `len` bytes aligned to `align` starts in an arena whose first
/// `arena_len` bytes are taken: the encoders put it there, and the validator expects it
/// there (the bytes skipped are padding, zero).
pub fn arena_next(arena_len: usize, align: usize) -> Option<usize> {
    arena_len.checked_next_multiple_of(align)
}

/// Writes `bytes` at `pos` of `out` (a body or a whole message); false if they do not fit.
pub fn put(out: &mut [u8], pos: usize, bytes: &[u8]) -> bool {
    match pos
        .checked_add(bytes.len())
        .and_then(|end| out.get_mut(pos..end))
    {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

/// A whole message being written in place: the kernel's stamp and handle numbers, and the
/// head of a message an encoder assembles.
pub struct Writer<'a> {
    message: &'a mut [u8],
}

impl<'a> Writer<'a> {
    /// Writes into `message`, which starts with the header.
    pub fn new(message: &'a mut [u8]) -> Self {
        Writer { message }
    }

    /// Writes the header; false if the message is shorter than one.
    pub fn set_header(&mut self, header: &Header) -> bool {
        header.write(self.message)
    }

    /// Writes the sender's class and SID into the header, whatever was there.
    pub fn stamp(&mut self, src_class: u32, src_sid: u64) -> bool {
        match Header::read(self.message) {
            Some(header) => self.set_header(&Header {
                src_class,
                src_sid,
                ..header
            }),
            None => false,
        }
    }

    /// Writes handle slot `index`; false if the header has no such slot.
    pub fn set_slot(&mut self, index: usize, slot: HandleSlot) -> bool {
        let count = Header::read(self.message).map_or(0, |h| h.handle_count as usize);
        if index >= count {
            return false;
        }
        let at = index
            .checked_mul(HANDLE_SLOT_SIZE)
            .and_then(|o| o.checked_add(HEADER_SIZE));
        match at.and_then(|at| self.message.get_mut(at..)) {
            Some(dst) => slot.write(dst),
            None => false,
        }
    }
}

impl HandleSlot {
    /// Reads a slot from the start of `bytes`.
    pub fn read(bytes: &[u8]) -> Option<HandleSlot> {
        let (handle, rights_and_mode) = read_pair(bytes)?;
        Some(HandleSlot {
            handle,
            rights_and_mode,
        })
    }

    /// Writes the slot into the first 8 bytes of `out`; false if `out` is too short.
    pub fn write(&self, out: &mut [u8]) -> bool {
        write_pair(out, self.handle, self.rights_and_mode)
    }
}

impl ArenaRef {
    /// Reads a reference from the start of `bytes`.
    pub fn read(bytes: &[u8]) -> Option<ArenaRef> {
        let (offset, len) = read_pair(bytes)?;
        Some(ArenaRef { offset, len })
    }

    /// Writes the reference into the first 8 bytes of `out`; false if `out` is too short.
    pub fn write(&self, out: &mut [u8]) -> bool {
        write_pair(out, self.offset, self.len)
    }
}

// Both slots and arena references are two little-endian `u32`s.
const _: () = assert!(HANDLE_SLOT_SIZE == 8 && ARENA_REF_SIZE == 8);

fn read_pair(bytes: &[u8]) -> Option<(u32, u32)> {
    let first: [u8; 4] = bytes.get(0..4)?.try_into().ok()?;
    let second: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    Some((u32::from_le_bytes(first), u32::from_le_bytes(second)))
}

fn write_pair(out: &mut [u8], first: u32, second: u32) -> bool {
    put(out, 0, &first.to_le_bytes()) && put(out, 4, &second.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::HANDLE_MOVE;

    /// A message with one slot, an 8-byte fixed part (an `ArenaRef`) and `arena`.
    fn message(arena: &[u8], r: ArenaRef) -> [u8; 64] {
        let mut m = [0u8; 64];
        let h = Header {
            handle_count: 1,
            fixed_size: 8,
            arena_size: arena.len() as u32,
            ..Header::default()
        };
        assert!(Writer::new(&mut m).set_header(&h));
        assert!(r.write(&mut m[48..]));
        assert!(put(&mut m, 56, arena));
        m
    }

    #[test]
    fn reads_slots_fields_and_arena_data() {
        let mut m = message(b"abcdefgh", ArenaRef { offset: 2, len: 3 });
        let slot = HandleSlot {
            handle: 7,
            rights_and_mode: HANDLE_MOVE << 16 | 3,
        };
        assert!(Writer::new(&mut m).set_slot(0, slot));
        assert!(!Writer::new(&mut m).set_slot(1, slot));
        let r = Reader::parse(&m).unwrap();
        assert_eq!(r.slot(0), Some(slot));
        assert_eq!(r.slot(1), None);
        assert_eq!(r.slots().count(), 1);
        assert_eq!(r.u32(0), Some(2));
        assert_eq!(r.u32(14), None);
        assert_eq!(r.arena(0, 3, 1, 1), Ok((10, 3)));
        assert_eq!(r.bytes(10, 3), Some(&b"cde"[..]));
        assert_eq!(
            r.arena(0, 2, 1, 1),
            Err(WireError::TooLong { bound: 2, len: 3 })
        );
        assert_eq!(r.arena(0, 3, 1, 8), Err(WireError::Misaligned));
        assert_eq!(r.arena(0, 3, 3, 1), Err(WireError::ArenaOutOfBounds));
        assert_eq!(r.arena(12, 3, 1, 1), Err(WireError::FieldOutOfBounds));
    }

    #[test]
    fn lengths_must_agree_with_the_header() {
        let m = message(b"abcdefgh", ArenaRef::default());
        assert!(Reader::parse(&m).is_ok());
        assert_eq!(Reader::parse(&m[..63]).err(), Some(WireError::Truncated));
        assert_eq!(Reader::parse(&m[..39]).err(), Some(WireError::Truncated));
        let mut longer = [0u8; 65];
        longer[..64].copy_from_slice(&m);
        assert_eq!(Reader::parse(&longer).err(), Some(WireError::TrailingBytes));
        let mut many = m;
        assert!(put(&mut many, 12, &9u32.to_le_bytes()));
        assert_eq!(
            Reader::parse(&many).err(),
            Some(WireError::TooManyHandles(9))
        );
    }

    #[test]
    fn stamp_keeps_the_rest_of_the_header() {
        let mut m = message(b"", ArenaRef::default());
        assert!(Writer::new(&mut m[..40]).stamp(3, 0x1_0000_0002));
        let h = Header::read(&m).unwrap();
        assert_eq!(
            (h.src_class, h.src_sid, h.fixed_size),
            (3, 0x1_0000_0002, 8)
        );
        assert!(!Writer::new(&mut m[..39]).stamp(3, 4));
        assert_eq!(arena_next(5, 8), Some(8));
        assert_eq!(arena_next(5, 0), None);
        assert!(!put(&mut m, usize::MAX, b"x"));
    }
}
