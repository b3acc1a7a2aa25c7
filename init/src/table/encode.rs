//! Writing a [`Solution`] as an Einit table.
//!
//! The encoder lays the records out exactly as the decoder expects and then runs the
//! decoder over its own output: whatever the decoder would refuse, the encoder refuses
//! too, so a table that leaves the host always loads in Einit.

use alloc::vec::Vec;

use super::{
    Table, TableError, TableErrorKind, FLAG_DYNAMIC_CONNECTION_MANAGER, FLAG_LINUX, FLAG_PRIORITY,
    HEADER_LEN, MAGIC, MEMORY_PAGE, PRIORITY_SHIFT, VERSION,
};
use crate::solution::Solution;

fn too_large(offset: usize) -> TableError {
    TableError {
        offset,
        kind: TableErrorKind::TooLarge,
    }
}

fn u32_of(n: usize, at: usize) -> Result<u32, TableError> {
    u32::try_from(n).map_err(|_| too_large(at))
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), TableError> {
    put_u32(out, u32_of(s.len(), out.len())?);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Writes `solution` as a table and checks the result with [`Table::parse`].
pub fn encode(solution: &Solution) -> Result<Vec<u8>, TableError> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, VERSION);
    put_u32(&mut out, 0); // total length, patched below
    put_u32(&mut out, u32_of(solution.processes.len(), 16)?);
    put_u32(&mut out, u32_of(solution.channels.len(), 20)?);
    let slots = solution
        .processes
        .len()
        .checked_add(solution.channels.len())
        .ok_or(too_large(16))?;
    let records = slots
        .checked_mul(4)
        .and_then(|n| n.checked_add(HEADER_LEN))
        .ok_or(too_large(16))?;
    out.resize(records, 0);
    let mut offsets = Vec::with_capacity(slots);
    for p in &solution.processes {
        offsets.push(u32_of(out.len(), out.len())?);
        let mut flags = match p.dynamic_connection_manager {
            true => FLAG_DYNAMIC_CONNECTION_MANAGER,
            false => 0,
        };
        if p.linux {
            flags |= FLAG_LINUX;
        }
        if let Some(priority) = p.priority {
            flags |= FLAG_PRIORITY | u32::from(priority) << PRIORITY_SHIFT;
        }
        put_u32(&mut out, flags);
        put_str(&mut out, &p.task)?;
        put_str(&mut out, &p.class)?;
        put_str(&mut out, &p.path)?;
        let argc = u32_of(p.args.len(), out.len())?;
        put_u32(&mut out, argc);
        for a in &p.args {
            put_str(&mut out, a)?;
        }
        let envc = u32_of(p.env.len(), out.len())?;
        put_u32(&mut out, envc);
        for (k, v) in &p.env {
            put_str(&mut out, k)?;
            put_str(&mut out, v)?;
        }
        {
            let pages = p.memory.map_or(0, |m| m.div_ceil(MEMORY_PAGE).max(1));
            let pages = u32::try_from(pages).map_err(|_| too_large(out.len()))?;
            put_u32(&mut out, pages);
        }
    }
    for c in &solution.channels {
        offsets.push(u32_of(out.len(), out.len())?);
        let bad_index = TableError {
            offset: out.len(),
            kind: TableErrorKind::BadProcessIndex,
        };
        put_u32(&mut out, u32::try_from(c.client).map_err(|_| bad_index)?);
        put_u32(&mut out, u32::try_from(c.server).map_err(|_| bad_index)?);
        put_str(&mut out, &c.id)?;
    }
    let total = u32_of(out.len(), 12)?.to_le_bytes();
    if let Some(field) = out.get_mut(12..16) {
        field.copy_from_slice(&total);
    }
    for (slot, offset) in offsets.iter().enumerate() {
        let at = HEADER_LEN + 4 * slot;
        if let Some(field) = out.get_mut(at..at + 4) {
            field.copy_from_slice(&offset.to_le_bytes());
        }
    }
    Table::parse(&out)?;
    Ok(out)
}
