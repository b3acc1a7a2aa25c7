//! The layout of an IPC message, shared by the kernel, the generated transport code and the
//! security module.
//!
//! A message is one contiguous byte buffer:
//!
//! ```text
//! offset 0            Header (40 bytes)
//! offset 40           handle slots: handle_count x HandleSlot (8 bytes each)
//! offset 40 + 8*h     fixed part: the method's fixed-size parameters, fixed_size bytes
//! after the fixed part  arena: variable-size data, arena_size bytes
//! ```
//!
//! * All integers are little-endian. Fixed parameters are laid out in declaration order, each
//!   at an offset (relative to the start of the fixed part) aligned to its natural alignment
//!   (1, 2, 4 or 8 bytes; structs and arrays to the largest alignment of their members). The
//!   fixed part starts 8-byte aligned, so these alignments hold in the whole buffer.
//! * A variable-size parameter (`string<N>`, `bytes<N>`, `sequence<T,N>`) occupies an
//!   [`ArenaRef`] (8 bytes, 4-aligned) in the fixed part: an offset relative to the start of the
//!   arena and a length in bytes (for sequences: in elements). `string` data is UTF-8 without a
//!   terminator. Elements of a sequence are laid out in the arena like fixed parameters, the
//!   first aligned to 8 bytes from the arena start.
//! * A `Handle` parameter occupies a `u32` in the fixed part: the index of its [`HandleSlot`].
//!   The kernel moves or copies the handles named by the slots and rewrites each slot's
//!   `handle` field with the receiver's handle number; it never needs the IDL types for that.
//! * The kernel stamps `src_sid` and `src_class` on delivery; whatever the sender put there is
//!   overwritten.
//!
//! A message is *well formed* for a method when: its RIID and MID name that method; `fixed_size`
//! equals the method's fixed size; every `ArenaRef` lies inside the arena; string data is valid
//! UTF-8 and within its bound; sequence and bytes lengths are within their bounds; union tags
//! name a variant; handle indices are below `handle_count`. The generated decoders check all of
//! this, and the security module judges only well-formed messages. The module's validator
//! also requires that nothing travels unseen: every handle slot named by exactly one `Handle`
//! parameter, and the arena exactly the parameters' data, each reference starting where the
//! previous one's data ended (8-aligned for sequences), in the order the encoders write it,
//! and every padding byte (between fields, after a type's last field, before aligned arena
//! data) zero. [`crate::wire`] is the one reader and writer of this layout.

/// Size of [`Header`] in bytes.
pub const HEADER_SIZE: usize = 40;
/// Size of one [`HandleSlot`] in bytes.
pub const HANDLE_SLOT_SIZE: usize = 8;
/// Size of one [`ArenaRef`] in bytes.
pub const ARENA_REF_SIZE: usize = 8;
/// Default maximum size of a whole message (header, slots, fixed part and arena).
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;
/// Maximum number of handles one message may carry.
pub const MAX_HANDLES: usize = 8;
/// Alignment of sequence data in the arena (from the arena's start).
pub const SEQUENCE_ALIGN: usize = 8;

/// `flags`: the message is an error response (it carries error parameters).
pub const FLAG_ERROR: u32 = 1 << 0;

/// `HandleSlot::mode`: the sender keeps its handle; the receiver gets a copy.
pub const HANDLE_COPY: u32 = 0;
/// `HandleSlot::mode`: the handle moves to the receiver and is closed in the sender.
pub const HANDLE_MOVE: u32 = 1;

/// The first 40 bytes of every message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Header {
    /// Endpoint index within the server's class (runtime implementation id).
    pub riid: u32,
    /// Method index within the endpoint's interface.
    pub mid: u32,
    /// [`FLAG_ERROR`] and reserved bits (must be zero).
    pub flags: u32,
    /// Number of [`HandleSlot`]s after the header.
    pub handle_count: u32,
    /// Size of the fixed part in bytes (a multiple of 8).
    pub fixed_size: u32,
    /// Size of the arena in bytes.
    pub arena_size: u32,
    /// Class of the sender (its number in the solution's security module), stamped by the
    /// kernel.
    pub src_class: u32,
    /// Reserved, must be zero (keeps `src_sid` 8-byte aligned).
    pub reserved: u32,
    /// SID of the sender, stamped by the kernel.
    pub src_sid: u64,
}

impl Header {
    /// Reads a header from the start of `bytes`, if there are enough of them.
    pub fn read(bytes: &[u8]) -> Option<Header> {
        let word = |i: usize| -> Option<u32> {
            let b = bytes.get(i * 4..i * 4 + 4)?;
            Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        Some(Header {
            riid: word(0)?,
            mid: word(1)?,
            flags: word(2)?,
            handle_count: word(3)?,
            fixed_size: word(4)?,
            arena_size: word(5)?,
            src_class: word(6)?,
            reserved: word(7)?,
            src_sid: u64::from(word(8)?) | u64::from(word(9)?) << 32,
        })
    }

    /// Writes the header into the first 40 bytes of `out`; false if `out` is too short.
    pub fn write(&self, out: &mut [u8]) -> bool {
        let Some(dst) = out.get_mut(..HEADER_SIZE) else {
            return false;
        };
        let words = [
            self.riid,
            self.mid,
            self.flags,
            self.handle_count,
            self.fixed_size,
            self.arena_size,
            self.src_class,
            self.reserved,
            self.src_sid as u32,
            (self.src_sid >> 32) as u32,
        ];
        for (chunk, word) in dst.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        true
    }

    /// Offset of the fixed part from the start of the message.
    pub fn fixed_offset(&self) -> usize {
        HEADER_SIZE + self.handle_count as usize * HANDLE_SLOT_SIZE
    }

    /// Offset of the arena from the start of the message.
    pub fn arena_offset(&self) -> usize {
        self.fixed_offset() + self.fixed_size as usize
    }

    /// Total size of the message this header describes, or `None` if it overflows.
    pub fn total_size(&self) -> Option<usize> {
        (self.handle_count as usize)
            .checked_mul(HANDLE_SLOT_SIZE)?
            .checked_add(HEADER_SIZE)?
            .checked_add(self.fixed_size as usize)?
            .checked_add(self.arena_size as usize)
    }
}

/// A handle carried by a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct HandleSlot {
    /// The handle number in the sender's table (rewritten for the receiver on delivery).
    pub handle: u32,
    /// Low 16 bits: rights to keep (the receiver gets the intersection with the sender's
    /// rights; rights are never widened). High 16 bits: [`HANDLE_COPY`] or [`HANDLE_MOVE`].
    pub rights_and_mode: u32,
}

/// Where a variable-size parameter lives in the arena.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ArenaRef {
    /// Offset from the start of the arena, in bytes.
    pub offset: u32,
    /// Length in bytes (`string`, `bytes`) or elements (`sequence`).
    pub len: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_sizes_add_up() {
        let h = Header {
            riid: 1,
            mid: 2,
            flags: FLAG_ERROR,
            handle_count: 2,
            fixed_size: 16,
            arena_size: 10,
            src_class: 3,
            reserved: 0,
            src_sid: 0x1_0000_0007,
        };
        let mut buf = [0u8; HEADER_SIZE];
        assert!(h.write(&mut buf));
        assert_eq!(Header::read(&buf), Some(h));
        assert_eq!(h.fixed_offset(), 56);
        assert_eq!(h.arena_offset(), 72);
        assert_eq!(h.total_size(), Some(82));
        assert_eq!(Header::read(&buf[..39]), None);
    }
}
