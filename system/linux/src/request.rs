//! Encoding of the core requests the tree has no generated proxies for yet (the native
//! shell's `pending` module sends them), kept here so that their layout is checked on the
//! host against `ostrog_abi::wire`.
//!
//! MERGE: goes with `src/native/pending.rs` when the generated proxies of `task.TrapEntry`,
//! `vmm.AllocateAt`, `romfs.Read` and `futex.*` are in `ostrog_rt::sys`.

use ostrog_abi::message::{HandleSlot, Header, FLAG_ERROR, HEADER_SIZE};
use ostrog_abi::wire::Reader;

/// Writes a request of endpoint `riid`, method `mid`: an optional string (first parameter,
/// its arena reference first in the fixed part), then the fixed parameters `fixed` (already
/// laid out with their alignment); the fixed part padded to 8 with zeros. Its length, or
/// `None` if `out` is too small.
pub fn encode(
    riid: u32,
    mid: u32,
    fixed: &[u8],
    string: Option<&[u8]>,
    out: &mut [u8],
) -> Option<usize> {
    let arena = string.unwrap_or(&[]);
    let fixed_len = fixed.len() + if string.is_some() { 8 } else { 0 };
    let fixed_size = fixed_len.next_multiple_of(8);
    let total = HEADER_SIZE + fixed_size + arena.len();
    let out = out.get_mut(..total)?;
    out.fill(0);
    Header {
        riid,
        mid,
        fixed_size: u32::try_from(fixed_size).ok()?,
        arena_size: u32::try_from(arena.len()).ok()?,
        ..Header::default()
    }
    .write(out);
    let mut at = HEADER_SIZE;
    if string.is_some() {
        // ArenaRef { offset: 0, len }
        out[at + 4..at + 8].copy_from_slice(&(arena.len() as u32).to_le_bytes());
        at += 8;
    }
    out[at..at + fixed.len()].copy_from_slice(fixed);
    let arena_at = HEADER_SIZE + fixed_size;
    out[arena_at..].copy_from_slice(arena);
    Some(total)
}

/// A decoded answer: its fixed part (copied into `out` as far as it fits) and first handle,
/// or the status of an error response (a kernel `Status` value, negative).
pub fn decode(
    riid: u32,
    mid: u32,
    answer: &[u8],
    out: &mut [u8],
) -> Result<Option<HandleSlot>, i32> {
    const MALFORMED: i32 = -1; // Status::InvalidArgument
    let r = Reader::parse(answer).map_err(|_| MALFORMED)?;
    if r.header().riid != riid || r.header().mid != mid {
        return Err(MALFORMED);
    }
    let fixed = r.body().get(..r.fixed_size()).ok_or(MALFORMED)?;
    if r.header().flags & FLAG_ERROR != 0 {
        return Err(r.u32(0).map_or(MALFORMED, |s| s as i32));
    }
    let take = out.len().min(fixed.len());
    out[..take].copy_from_slice(&fixed[..take]);
    Ok(r.slot(0))
}
