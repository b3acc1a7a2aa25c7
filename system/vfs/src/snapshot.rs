//! The tree of a file system as bytes (what a disk keeps, `crate::disk`), and back: the
//! decoder is also the consistency checker, so a tree read from a disk is used only if
//! every bound and every link in it holds. Little-endian throughout:
//!
//! ```text
//! u32 count                       nodes that follow, the root first
//! count × node:
//!   u32 number, u8 type (1 directory, 2 file), u16 permission bits, u64 mtime_ns
//!   directory: u32 entries, entries × (u8 name length, name, u32 node number)
//!   file:      u64 size, u32 chunks, chunks × u32 chunk id
//! ```
//!
//! Only what a directory names is recorded: a file unlinked while open is gone after a
//! reboot, and /rom is never recorded (the root gets it back on load).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::errno::EIO;
use crate::fs::{
    Backend, Fs, Kind, Limits, Node, CHUNK, MAX_NODES, NAME_BYTES, NAME_MAX, R, ROM, ROM_ENTRY,
};

const DIR: u8 = 1;
const FILE: u8 = 2;

/// Who is charged for the nodes of an earlier boot: no client (only the whole file
/// system's bounds apply to them).
pub const EARLIER_BOOT: u64 = u64::MAX;

/// The tree of `fs` as bytes, and every chunk it names.
pub fn encode<B: Backend>(fs: &Fs<B>) -> (Vec<u8>, Vec<usize>) {
    let mut out = vec![0u8; 4];
    let mut chunks = Vec::new();
    let mut count = 0u32;
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        let Some(Some(node)) = fs.nodes.get(i) else {
            continue;
        };
        count += 1;
        out.extend_from_slice(&(i as u32).to_le_bytes());
        let ty = match node.kind {
            Kind::Dir(_) => DIR,
            Kind::File { .. } => FILE,
        };
        out.push(ty);
        out.extend_from_slice(&(node.perm as u16).to_le_bytes());
        out.extend_from_slice(&node.mtime.to_le_bytes());
        match &node.kind {
            Kind::Dir(children) => {
                let entries = children.iter().filter(|(_, &c)| c != ROM_ENTRY);
                out.extend_from_slice(&(entries.clone().count() as u32).to_le_bytes());
                for (name, &c) in entries {
                    out.push(name.len() as u8);
                    out.extend_from_slice(name.as_bytes());
                    out.extend_from_slice(&(c as u32).to_le_bytes());
                    stack.push(c);
                }
            }
            Kind::File { chunks: list, size } => {
                out.extend_from_slice(&size.to_le_bytes());
                out.extend_from_slice(&(list.len() as u32).to_le_bytes());
                for &c in list {
                    out.extend_from_slice(&(c as u32).to_le_bytes());
                    chunks.push(c);
                }
            }
        }
    }
    out[..4].copy_from_slice(&count.to_le_bytes());
    (out, chunks)
}

/// A bounds-checked reader: running past the end is `EIO` (a damaged tree).
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(EIO);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> R<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> R<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> R<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
}

/// Whether `name` may be a directory entry (what `crate::fs::components` lets through).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\0')
}

/// The file system of a checked tree, over `backend`.
pub fn load<B: Backend>(backend: B, tree: Tree) -> Fs<B> {
    Fs::from_parts(
        backend,
        tree.limits,
        tree.nodes,
        tree.count,
        tree.chunk_count,
        tree.name_bytes,
    )
}

/// Checks the tree of `fs` as a mount would (see [`parse`]): `Ok` if consistent.
pub fn check<B: Backend>(fs: &Fs<B>, ids: usize) -> R<()> {
    let (bytes, _) = encode(fs);
    parse(fs.limits, ids, &bytes).map(|_| ())
}

/// A decoded and checked tree ([`parse`]), for [`load`].
pub struct Tree {
    limits: Limits,
    nodes: Vec<Option<Node>>,
    count: usize,
    chunk_count: usize,
    name_bytes: usize,
}

/// The tree `bytes` describe, with bounds `limits`; chunk ids must be below `ids`. `EIO`
/// unless it is consistent: every number in range, every node named exactly once and
/// reachable from the root (a tree: no cycle, no orphan, no second link), names valid and
/// unique, each file's chunk count its size's, no chunk in two places, and every bound of
/// [`Limits`] and of the node and name budgets kept.
pub fn parse(limits: Limits, ids: usize, bytes: &[u8]) -> R<Tree> {
    let mut r = Reader { bytes };
    let count = r.u32()? as usize;
    if count == 0 || count > MAX_NODES {
        return Err(EIO);
    }
    let mut nodes: Vec<Option<Node>> = Vec::new();
    let mut seen_chunks = vec![false; ids];
    let mut chunk_count = 0usize;
    let mut name_bytes = ROM.len();
    for k in 0..count {
        let i = r.u32()? as usize;
        if i >= MAX_NODES || (k == 0) != (i == 0) {
            return Err(EIO);
        }
        if nodes.len() <= i {
            nodes.resize_with(i + 1, || None);
        }
        if nodes[i].is_some() {
            return Err(EIO);
        }
        let ty = r.u8()?;
        let perm = u32::from(r.u16()?);
        if perm & !0o7777 != 0 {
            return Err(EIO);
        }
        let mtime = r.u64()?;
        let kind = match ty {
            DIR => {
                let entries = r.u32()? as usize;
                if entries >= MAX_NODES {
                    return Err(EIO);
                }
                let mut children = BTreeMap::new();
                if i == 0 {
                    children.insert(String::from(ROM), ROM_ENTRY);
                }
                for _ in 0..entries {
                    let len = usize::from(r.u8()?);
                    let name = core::str::from_utf8(r.take(len)?).map_err(|_| EIO)?;
                    let child = r.u32()? as usize;
                    name_bytes += name.len();
                    if !valid_name(name)
                        || child == 0
                        || child >= MAX_NODES
                        || name_bytes > NAME_BYTES
                        || children.insert(String::from(name), child).is_some()
                    {
                        return Err(EIO);
                    }
                }
                Kind::Dir(children)
            }
            FILE => {
                let size = r.u64()?;
                let n = r.u32()? as usize;
                if size > limits.file_max() || n != (size as usize).div_ceil(CHUNK) {
                    return Err(EIO);
                }
                let mut chunks = Vec::with_capacity(n);
                for _ in 0..n {
                    let c = r.u32()? as usize;
                    match seen_chunks.get_mut(c) {
                        Some(seen) if !*seen => *seen = true,
                        _ => return Err(EIO),
                    }
                    chunks.push(c);
                }
                chunk_count += n;
                if chunk_count > limits.chunks {
                    return Err(EIO);
                }
                Kind::File { chunks, size }
            }
            _ => return Err(EIO),
        };
        nodes[i] = Some(Node {
            kind,
            perm,
            mtime,
            owner: EARLIER_BOOT,
            linked: true,
            opens: 0,
        });
    }
    if !r.bytes.is_empty() {
        return Err(EIO);
    }
    if !matches!(
        nodes.first(),
        Some(Some(Node {
            kind: Kind::Dir(_),
            ..
        }))
    ) {
        return Err(EIO);
    }
    // A tree: walking from the root reaches every node exactly once.
    let mut reached = vec![false; nodes.len()];
    reached[0] = true;
    let mut stack = vec![0usize];
    let mut walked = 1usize;
    while let Some(i) = stack.pop() {
        if let Some(Some(Node {
            kind: Kind::Dir(children),
            ..
        })) = nodes.get(i)
        {
            for &c in children.values().filter(|&&c| c != ROM_ENTRY) {
                match (nodes.get(c), reached.get_mut(c)) {
                    (Some(Some(_)), Some(r)) if !*r => {
                        *r = true;
                        walked += 1;
                        stack.push(c);
                    }
                    _ => return Err(EIO),
                }
            }
        }
    }
    if walked != count {
        return Err(EIO);
    }
    Ok(Tree {
        limits,
        nodes,
        count,
        chunk_count,
        name_bytes,
    })
}
