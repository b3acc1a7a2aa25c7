//! The RAM file system and its per-client tables, over a [`Backend`] (the server's pages
//! and ROMFS, or a fake in the tests). Every operation takes the client's SID, which the
//! kernel stamps on its request: open files are numbered per client, and a client's
//! numbers name nothing for another client. Nobody tells the server when a client ends:
//! when the client tables are full it asks its host which holders are still alive
//! ([`Fs::reclaim`]) and closes what the dead ones left.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::errno::*;
use crate::snapshot::EARLIER_BOOT;

/// Bytes of one data chunk: file contents live in chunks the backend allocates.
pub const CHUNK: usize = 16 * 1024;
/// Chunks of the whole file system (its data capacity: 8 MiB).
pub const MAX_CHUNKS: usize = 512;
/// Chunks one client's files may hold (4 MiB).
pub const CLIENT_CHUNKS: usize = 256;
/// Files and directories of the whole file system (the root included).
pub const MAX_NODES: usize = 512;
/// Files and directories one client may create.
pub const CLIENT_NODES: usize = 256;
/// Open files of one client.
pub const CLIENT_FILES: usize = 64;
/// Clients with open files at one time.
pub const MAX_CLIENTS: usize = 32;
/// Open files granted to one client and not yet taken (`grant`, `inherited`).
pub const CLIENT_GRANTS: usize = CLIENT_FILES;
/// Bytes of all names in directories: names live in the server's fixed heap.
pub const NAME_BYTES: usize = 64 * 1024;
/// Longest path (`PathMax` of kl.Vfs) and longest name in it.
pub const PATH_MAX: usize = 1024;
pub const NAME_MAX: usize = 255;
/// Largest file size.
pub const FILE_MAX: u64 = (CLIENT_CHUNKS * CHUNK) as u64;

/// Open flags (kl.Vfs).
pub const O_READ: u32 = 1;
pub const O_WRITE: u32 = 2;
pub const O_CREATE: u32 = 4;
pub const O_EXCL: u32 = 8;
pub const O_TRUNC: u32 = 16;
pub const O_APPEND: u32 = 32;
pub const O_DIRECTORY: u32 = 64;

/// `st_mode` file types.
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;

/// Where the ROMFS appears.
pub const ROM: &str = "rom";

/// What the file system needs from its host besides storage: the ROMFS and the clock.
pub trait Host {
    /// Opens the ROMFS file `name`: an id and its size; `Err(errno)`.
    fn rom_open(&mut self, name: &str) -> Result<(usize, u64), i32>;
    /// The bytes of an open ROMFS file.
    fn rom_bytes(&mut self, id: usize) -> &[u8];
    fn rom_close(&mut self, id: usize);
    /// Nanoseconds since boot.
    fn now_ns(&mut self) -> u64;
    /// Whether the process with SID `sid` still exists (on Ostrog the kernel's
    /// `task.Alive`; SIDs are never reused). `true` when it cannot be told: only a client
    /// known to have ended is reclaimed ([`Fs::reclaim`]).
    fn alive(&mut self, _sid: u64) -> bool {
        true
    }
}

/// Where file data lives: chunks of [`CHUNK`] bytes in memory (VfsRamFs) or blocks on a
/// disk (`crate::disk`, VfsSdCardFs).
pub trait Backend: Host {
    /// A chunk of [`CHUNK`] bytes reading as zeros; its id. `None`: no room.
    fn alloc_chunk(&mut self) -> Option<usize>;
    fn free_chunk(&mut self, id: usize);
    /// Copies `buf.len()` bytes of chunk `id` from `offset` into `buf`.
    fn read_chunk(&mut self, id: usize, offset: usize, buf: &mut [u8]) -> R<()>;
    /// Writes `data` at `offset` of chunk `id`; the id of the chunk that holds the result
    /// (another one when the store copies on write; `id` is then the store's to free).
    fn write_chunk(&mut self, id: usize, offset: usize, data: &[u8]) -> R<usize>;
    /// Whether `count` more chunks (allocations or copies on write) would succeed.
    fn room(&mut self, _count: usize) -> bool {
        true
    }
    /// Whether the store keeps the file system across boots ([`Backend::commit`]).
    fn persistent(&self) -> bool {
        false
    }
    /// Makes the state durable: `meta`, the encoded tree (`crate::snapshot`), and the
    /// chunks it names. Nothing to do in RAM.
    fn commit(&mut self, _meta: &[u8], _chunks: &[usize]) -> R<()> {
        Ok(())
    }
}

/// The bounds of a file system's data (the node, name and client bounds are constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Chunks of the whole file system.
    pub chunks: usize,
    /// Chunks one client's files may hold; also the largest file, in chunks.
    pub client_chunks: usize,
}

impl Limits {
    /// The RAM file system's: 8 MiB in all, 4 MiB per client and per file.
    pub const RAM: Limits = Limits {
        chunks: MAX_CHUNKS,
        client_chunks: CLIENT_CHUNKS,
    };

    /// The largest file size.
    pub fn file_max(&self) -> u64 {
        (self.client_chunks * CHUNK) as u64
    }
}

pub(crate) enum Kind {
    /// Entries by name: node numbers ([`ROM_ENTRY`] for /rom in the root).
    Dir(BTreeMap<String, usize>),
    File {
        chunks: Vec<usize>,
        size: u64,
    },
}

pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) perm: u32,
    pub(crate) mtime: u64,
    /// The client charged for it and its chunks.
    pub(crate) owner: u64,
    /// In a directory (0 once unlinked, for files; directories are freed at once).
    pub(crate) linked: bool,
    /// Open files naming it.
    pub(crate) opens: u32,
}

/// The root's entry for /rom.
pub(crate) const ROM_ENTRY: usize = usize::MAX;

#[derive(Clone, Copy)]
enum Target {
    Node(usize),
    /// The synthetic directory /rom.
    RomDir,
    Rom(usize, u64),
}

/// An open file: what a client's number names. Numbers in several tables (after a grant)
/// name the same open file and share its position, like duplicated Linux descriptors.
#[derive(Clone, Copy)]
struct Open {
    target: Target,
    flags: u32,
    pos: u64,
    /// Table entries and pending grants naming it.
    refs: u32,
}

/// An open file granted to a client, waiting for it to take it.
#[derive(Clone, Copy)]
struct Grant {
    /// The granting client.
    from: u64,
    /// The receiver's tag for it (the Linux descriptor number, for the personality).
    tag: u32,
    open: usize,
}

/// What `stat` tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub mode: u32,
    pub size: u64,
    pub ino: u64,
    pub nlink: u32,
    pub mtime_ns: u64,
}

/// The file system.
pub struct Fs<B: Backend> {
    pub backend: B,
    pub(crate) nodes: Vec<Option<Node>>,
    pub(crate) node_count: usize,
    pub(crate) chunk_count: usize,
    /// Bytes of the names in directories ([`NAME_BYTES`]).
    pub(crate) name_bytes: usize,
    pub(crate) limits: Limits,
    /// Changed since the last commit (a persistent backend).
    dirty: bool,
    /// Per client: (chunks, nodes) charged.
    usage: BTreeMap<u64, (usize, usize)>,
    /// The open files, named by the clients' tables and the grants.
    opens: Vec<Option<Open>>,
    /// Per client: its open files (indices into `opens`).
    tables: BTreeMap<u64, Vec<Option<usize>>>,
    /// Per receiving client: open files granted to it and not yet taken.
    grants: BTreeMap<u64, Vec<Grant>>,
}

/// A result with a Linux errno as its error.
pub type R<T> = Result<T, i32>;

/// The components of a canonical absolute path (`InvalidPath` otherwise).
pub fn components(path: &str) -> R<Vec<&str>> {
    if path.len() > PATH_MAX {
        return Err(ENAMETOOLONG);
    }
    let rest = path.strip_prefix('/').ok_or(EINVAL)?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut parts = Vec::new();
    for p in rest.split('/') {
        if p.is_empty() || p == "." || p == ".." || p.contains('\0') {
            return Err(EINVAL);
        }
        if p.len() > NAME_MAX {
            return Err(ENAMETOOLONG);
        }
        parts.push(p);
    }
    Ok(parts)
}

impl<B: Backend> Fs<B> {
    /// An empty file system with the RAM's bounds.
    pub fn new(backend: B) -> Fs<B> {
        Self::with_limits(backend, Limits::RAM)
    }

    /// An empty file system (the root, /rom in it) with bounds `limits`.
    pub fn with_limits(mut backend: B, limits: Limits) -> Fs<B> {
        let mut root = BTreeMap::new();
        root.insert(String::from(ROM), ROM_ENTRY);
        let mtime = backend.now_ns();
        let mut fs = Fs {
            backend,
            nodes: Vec::new(),
            node_count: 1,
            chunk_count: 0,
            name_bytes: ROM.len(),
            limits,
            dirty: true,
            usage: BTreeMap::new(),
            opens: Vec::new(),
            tables: BTreeMap::new(),
            grants: BTreeMap::new(),
        };
        fs.nodes.push(Some(Node {
            kind: Kind::Dir(root),
            perm: 0o755,
            mtime,
            owner: 0,
            linked: true,
            opens: 0,
        }));
        fs
    }

    /// A file system of a checked tree (`crate::snapshot::parse`, then `load`).
    pub(crate) fn from_parts(
        backend: B,
        limits: Limits,
        nodes: Vec<Option<Node>>,
        node_count: usize,
        chunk_count: usize,
        name_bytes: usize,
    ) -> Fs<B> {
        Fs {
            backend,
            nodes,
            node_count,
            chunk_count,
            name_bytes,
            limits,
            dirty: false,
            usage: BTreeMap::new(),
            opens: Vec::new(),
            tables: BTreeMap::new(),
            grants: BTreeMap::new(),
        }
    }

    /// The bounds of its data.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn node(&self, i: usize) -> R<&Node> {
        self.nodes.get(i).and_then(Option::as_ref).ok_or(EBADF)
    }

    fn node_mut(&mut self, i: usize) -> R<&mut Node> {
        self.nodes.get_mut(i).and_then(Option::as_mut).ok_or(EBADF)
    }

    /// Where a path leads: the parent directory's node and the last name, or the root.
    fn lookup(&self, parts: &[&str]) -> R<Target> {
        let mut at = 0usize;
        for (i, p) in parts.iter().enumerate() {
            let Kind::Dir(children) = &self.node(at)?.kind else {
                return Err(ENOTDIR);
            };
            match children.get(*p) {
                Some(&ROM_ENTRY) if at == 0 => {
                    return match parts.len() - i {
                        1 => Ok(Target::RomDir),
                        _ => Err(ENOENT),
                    };
                }
                Some(&n) => at = n,
                None => return Err(ENOENT),
            }
        }
        Ok(Target::Node(at))
    }

    /// The parent directory of a path's last component, and that name.
    fn parent<'a>(&self, parts: &[&'a str]) -> R<(usize, &'a str)> {
        let (name, dir) = parts.split_last().ok_or(EEXIST)?;
        if dir.first() == Some(&ROM) {
            return Err(EROFS);
        }
        match self.lookup(dir)? {
            Target::Node(n) => match self.node(n)?.kind {
                Kind::Dir(_) => Ok((n, name)),
                Kind::File { .. } => Err(ENOTDIR),
            },
            Target::RomDir => Err(EROFS),
            Target::Rom(..) => Err(ENOTDIR),
        }
    }

    /// The ROMFS name of a path under /rom: the components after `/rom`, joined by `/`
    /// (`/rom/etc/app.conf` is the ROMFS file `etc/app.conf`, shipped from a solution's
    /// `files/etc/app.conf`).
    fn rom_name(parts: &[&str]) -> Option<String> {
        match parts {
            [ROM, rest @ ..] if !rest.is_empty() => Some(rest.join("/")),
            _ => None,
        }
    }

    fn charge(&mut self, sid: u64, chunks: usize, nodes: usize) -> R<()> {
        let (c, n) = self.usage.get(&sid).copied().unwrap_or((0, 0));
        // What an earlier boot made is charged to no client: only the totals bound it.
        let client = sid != EARLIER_BOOT;
        if nodes > 0 && (self.node_count + nodes > MAX_NODES || client && n + nodes > CLIENT_NODES)
        {
            return Err(ENOSPC);
        }
        if chunks > 0
            && (self.chunk_count + chunks > self.limits.chunks
                || client && c + chunks > self.limits.client_chunks)
        {
            return Err(ENOSPC);
        }
        if client {
            self.usage.insert(sid, (c + chunks, n + nodes));
        }
        self.node_count += nodes;
        self.chunk_count += chunks;
        Ok(())
    }

    fn credit(&mut self, sid: u64, chunks: usize, nodes: usize) {
        let (c, n) = self.usage.get(&sid).copied().unwrap_or((0, 0));
        let now = (c.saturating_sub(chunks), n.saturating_sub(nodes));
        if now == (0, 0) {
            self.usage.remove(&sid);
        } else {
            self.usage.insert(sid, now);
        }
        self.node_count = self.node_count.saturating_sub(nodes);
        self.chunk_count = self.chunk_count.saturating_sub(chunks);
    }

    fn new_node(&mut self, sid: u64, kind: Kind, perm: u32) -> R<usize> {
        self.charge(sid, 0, 1)?;
        self.dirty = true;
        let node = Node {
            kind,
            perm: perm & 0o7777,
            mtime: self.backend.now_ns(),
            owner: sid,
            linked: true,
            opens: 0,
        };
        match self.nodes.iter().position(Option::is_none) {
            Some(i) => {
                self.nodes[i] = Some(node);
                Ok(i)
            }
            None => {
                self.nodes.push(Some(node));
                Ok(self.nodes.len() - 1)
            }
        }
    }

    /// Frees a node nothing names any more (no directory entry, no open file).
    fn release(&mut self, i: usize) {
        let gone = self
            .node(i)
            .is_ok_and(|n| !n.linked && n.opens == 0 && i != 0);
        if !gone {
            return;
        }
        if let Some(node) = self.nodes[i].take() {
            let mut chunks = 0;
            if let Kind::File { chunks: list, .. } = node.kind {
                chunks = list.len();
                for c in list {
                    self.backend.free_chunk(c);
                }
            }
            self.credit(node.owner, chunks, 1);
        }
    }

    /// Sets a file's length: chunks freed or allocated (zeroed), charged to its owner.
    fn resize(&mut self, i: usize, size: u64) -> R<()> {
        if size > self.limits.file_max() {
            return Err(EFBIG);
        }
        let want = (size as usize).div_ceil(CHUNK);
        let owner = self.node(i)?.owner;
        let (have, old) = match &self.node(i)?.kind {
            Kind::File { chunks, size } => (chunks.len(), *size),
            Kind::Dir(_) => return Err(EISDIR),
        };
        // Bytes past a shrunk length must read as zero if the file grows again: the tail
        // of the last chunk kept is zeroed (a write, so maybe a copy on write).
        let tail = size < old && !(size as usize).is_multiple_of(CHUNK);
        self.make_room(want.saturating_sub(have) + usize::from(tail))?;
        self.dirty = true;
        if want > have {
            self.charge(owner, want - have, 0)?;
            let mut fresh = Vec::new();
            for _ in have..want {
                match self.backend.alloc_chunk() {
                    Some(c) => fresh.push(c),
                    None => {
                        for c in fresh {
                            self.backend.free_chunk(c);
                        }
                        self.credit(owner, want - have, 0);
                        return Err(ENOSPC);
                    }
                }
            }
            if let Kind::File { chunks, .. } = &mut self.node_mut(i)?.kind {
                chunks.extend(fresh);
            }
        } else if want < have {
            let mut dropped = Vec::new();
            if let Kind::File { chunks, .. } = &mut self.node_mut(i)?.kind {
                dropped = chunks.split_off(want);
            }
            for c in dropped.iter() {
                self.backend.free_chunk(*c);
            }
            self.credit(owner, dropped.len(), 0);
        }
        if tail {
            let from = size as usize % CHUNK;
            let zeros = alloc::vec![0u8; CHUNK - from];
            self.put(i, size as usize / CHUNK, from, &zeros)?;
        }
        let now = self.backend.now_ns();
        let n = self.node_mut(i)?;
        n.mtime = now;
        if let Kind::File { size: s, .. } = &mut n.kind {
            *s = size;
        }
        Ok(())
    }

    /// Makes sure `count` chunks can be allocated or copied: with a persistent backend,
    /// a commit frees the chunks the last one kept (`crate::disk`). Called before a change
    /// starts, so a commit never records half an operation.
    fn make_room(&mut self, count: usize) -> R<()> {
        if count == 0 || self.backend.room(count) {
            return Ok(());
        }
        if self.backend.persistent() {
            self.sync()?;
            if self.backend.room(count) {
                return Ok(());
            }
        }
        Err(ENOSPC)
    }

    /// Writes `data` at `offset` of the `index`-th chunk of file `n`.
    fn put(&mut self, n: usize, index: usize, offset: usize, data: &[u8]) -> R<()> {
        let c = *self.chunk_list(n)?.get(index).ok_or(EIO)?;
        let now = self.backend.write_chunk(c, offset, data)?;
        self.dirty = true;
        if now != c {
            if let Kind::File { chunks, .. } = &mut self.node_mut(n)?.kind {
                chunks[index] = now;
            }
        }
        Ok(())
    }

    /// Makes the whole file system durable (a persistent backend; nothing in RAM).
    pub fn sync(&mut self) -> R<()> {
        if !self.backend.persistent() || !self.dirty {
            return Ok(());
        }
        let (meta, chunks) = crate::snapshot::encode(self);
        self.backend.commit(&meta, &chunks)?;
        self.dirty = false;
        Ok(())
    }

    /// [`Fs::sync`] after a change that succeeded in memory.
    fn synced<T>(&mut self, result: R<T>) -> R<T> {
        let value = result?;
        self.sync()?;
        Ok(value)
    }

    fn chunk_list(&self, i: usize) -> R<&Vec<usize>> {
        match &self.node(i)?.kind {
            Kind::File { chunks, .. } => Ok(chunks),
            Kind::Dir(_) => Err(EISDIR),
        }
    }

    /// The index in `opens` of the client's file `file`.
    fn open_index(&self, sid: u64, file: u32) -> R<usize> {
        self.tables
            .get(&sid)
            .and_then(|t| t.get(file as usize))
            .and_then(|o| *o)
            .ok_or(EBADF)
    }

    fn open_entry(&self, sid: u64, file: u32) -> R<Open> {
        let i = self.open_index(sid, file)?;
        self.opens.get(i).and_then(|o| *o).ok_or(EBADF)
    }

    fn set_pos(&mut self, sid: u64, file: u32, pos: u64) {
        if let Ok(i) = self.open_index(sid, file) {
            if let Some(Some(o)) = self.opens.get_mut(i) {
                o.pos = pos;
            }
        }
    }

    /// Stores a new open file (one reference): its index. There are never more open files
    /// than table entries and grants, both bounded.
    fn new_open(&mut self, open: Open) -> usize {
        match self.opens.iter().position(Option::is_none) {
            Some(i) => {
                self.opens[i] = Some(open);
                i
            }
            None => {
                self.opens.push(Some(open));
                self.opens.len() - 1
            }
        }
    }

    /// Drops one reference to an open file; the last closes it.
    fn unref(&mut self, i: usize) {
        let Some(Some(o)) = self.opens.get_mut(i) else {
            return;
        };
        o.refs = o.refs.saturating_sub(1);
        if o.refs > 0 {
            return;
        }
        let target = o.target;
        self.opens[i] = None;
        match target {
            Target::Node(n) => {
                if let Ok(node) = self.node_mut(n) {
                    node.opens = node.opens.saturating_sub(1);
                }
                self.release(n);
            }
            Target::Rom(id, _) => self.backend.rom_close(id),
            Target::RomDir => {}
        }
    }

    /// A free number in the client's table (the table made if it has none).
    fn free_slot(&mut self, sid: u64) -> R<usize> {
        if !self.tables.contains_key(&sid) && self.tables.len() >= MAX_CLIENTS {
            self.reclaim();
            if self.tables.len() >= MAX_CLIENTS {
                return Err(ENFILE);
            }
        }
        let t = self.tables.entry(sid).or_default();
        match t.iter().position(Option::is_none) {
            Some(i) => Ok(i),
            None if t.len() < CLIENT_FILES => {
                t.push(None);
                Ok(t.len() - 1)
            }
            None => Err(EMFILE),
        }
    }

    fn drop_empty_table(&mut self, sid: u64) {
        if self
            .tables
            .get(&sid)
            .is_some_and(|t| t.iter().all(Option::is_none))
        {
            self.tables.remove(&sid);
        }
    }

    /// Opens `path`: the client's number for it and its `st_mode`.
    pub fn open(&mut self, sid: u64, path: &str, flags: u32, mode: u32) -> R<(u32, u32)> {
        let parts = components(path)?;
        let writing = flags & (O_WRITE | O_TRUNC | O_APPEND) != 0;
        let slot = self.free_slot(sid)?;
        let result = self.open_target(sid, &parts, flags, mode, writing);
        let target = match result {
            Ok(t) => t,
            Err(e) => {
                self.drop_empty_table(sid);
                return Err(e);
            }
        };
        let kind = match target {
            Target::Node(n) => {
                let node = self.node_mut(n)?;
                node.opens += 1;
                match node.kind {
                    Kind::Dir(_) => S_IFDIR | node.perm,
                    Kind::File { .. } => S_IFREG | node.perm,
                }
            }
            Target::RomDir => S_IFDIR | 0o555,
            Target::Rom(..) => S_IFREG | 0o444,
        };
        let i = self.new_open(Open {
            target,
            flags,
            pos: 0,
            refs: 1,
        });
        if let Some(t) = self.tables.get_mut(&sid) {
            t[slot] = Some(i);
        }
        Ok((slot as u32, kind))
    }

    fn open_target(
        &mut self,
        sid: u64,
        parts: &[&str],
        flags: u32,
        mode: u32,
        writing: bool,
    ) -> R<Target> {
        if let Some(name) = Self::rom_name(parts) {
            if writing || flags & O_CREATE != 0 {
                return Err(EROFS);
            }
            if flags & O_DIRECTORY != 0 {
                return Err(ENOTDIR);
            }
            let (id, size) = self.backend.rom_open(&name)?;
            return Ok(Target::Rom(id, size));
        }
        let found = match self.lookup(parts) {
            Ok(t) => Some(t),
            Err(ENOENT) if flags & O_CREATE != 0 => None,
            Err(e) => return Err(e),
        };
        match found {
            Some(_) if flags & O_CREATE != 0 && flags & O_EXCL != 0 => Err(EEXIST),
            Some(Target::RomDir) if writing => Err(EROFS),
            Some(Target::Node(n)) => {
                let is_dir = matches!(self.node(n)?.kind, Kind::Dir(_));
                if is_dir && (writing || flags & O_CREATE != 0) {
                    return Err(EISDIR);
                }
                if !is_dir && flags & O_DIRECTORY != 0 {
                    return Err(ENOTDIR);
                }
                if !is_dir && flags & O_TRUNC != 0 && flags & O_WRITE != 0 {
                    self.resize(n, 0)?;
                }
                Ok(Target::Node(n))
            }
            Some(t) => Ok(t),
            None => {
                if flags & O_DIRECTORY != 0 {
                    return Err(EINVAL);
                }
                let (dir, name) = self.parent(parts)?;
                self.name_fits(name.len())?;
                let n = self.new_node(
                    sid,
                    Kind::File {
                        chunks: Vec::new(),
                        size: 0,
                    },
                    mode,
                )?;
                self.link(dir, name, n)?;
                Ok(Target::Node(n))
            }
        }
    }

    /// Names `n` `name` in `dir` (the caller has checked that the name is free).
    fn link(&mut self, dir: usize, name: &str, n: usize) -> R<()> {
        let now = self.backend.now_ns();
        self.dirty = true;
        let d = self.node_mut(dir)?;
        d.mtime = now;
        match &mut d.kind {
            Kind::Dir(children) => {
                children.insert(String::from(name), n);
                self.name_bytes += name.len();
                Ok(())
            }
            Kind::File { .. } => Err(ENOTDIR),
        }
    }

    /// Takes the entry `name` out of `dir`.
    fn unlink_name(&mut self, dir: usize, name: &str) -> R<()> {
        self.dirty = true;
        if let Kind::Dir(c) = &mut self.node_mut(dir)?.kind {
            if c.remove(name).is_some() {
                self.name_bytes = self.name_bytes.saturating_sub(name.len());
            }
        }
        Ok(())
    }

    /// Whether a new name of `len` bytes fits the names' budget.
    fn name_fits(&self, len: usize) -> R<()> {
        match self.name_bytes + len > NAME_BYTES {
            true => Err(ENOSPC),
            false => Ok(()),
        }
    }

    pub fn close(&mut self, sid: u64, file: u32) -> R<()> {
        let i = self.open_index(sid, file)?;
        if let Some(t) = self.tables.get_mut(&sid) {
            t[file as usize] = None;
        }
        self.drop_empty_table(sid);
        self.unref(i);
        // A persistent backend commits what changed (docs/files.md, "When data is durable").
        self.sync()
    }

    /// Grants the client's open file `file` to client `to`, which takes it with
    /// [`Fs::inherited`] and then shares it (and its position) with the granter. `tag` is
    /// the receiver's name for it (one grant per tag). A client cannot grant to itself or
    /// to SID 0; at most [`CLIENT_GRANTS`] grants wait per receiver, for at most
    /// [`MAX_CLIENTS`] receivers.
    pub fn grant(&mut self, sid: u64, file: u32, to: u64, tag: u32) -> R<()> {
        let i = self.open_index(sid, file)?;
        if to == 0 || to == sid {
            return Err(EINVAL);
        }
        if !self.grants.contains_key(&to) && self.grants.len() >= MAX_CLIENTS {
            self.reclaim();
            if self.grants.len() >= MAX_CLIENTS {
                return Err(ENFILE);
            }
        }
        let pending = self.grants.entry(to).or_default();
        if pending.iter().any(|g| g.tag == tag) {
            return Err(EEXIST);
        }
        if pending.len() >= CLIENT_GRANTS {
            return Err(EMFILE);
        }
        pending.push(Grant {
            from: sid,
            tag,
            open: i,
        });
        if let Some(Some(o)) = self.opens.get_mut(i) {
            o.refs += 1;
        }
        Ok(())
    }

    /// Withdraws every grant the client made to `to` that `to` has not taken (for a child
    /// that never started): how many.
    pub fn withdraw(&mut self, sid: u64, to: u64) -> usize {
        let Some(pending) = self.grants.get_mut(&to) else {
            return 0;
        };
        let mut gone = Vec::new();
        pending.retain(|g| {
            let mine = g.from == sid;
            if mine {
                gone.push(g.open);
            }
            !mine
        });
        if pending.is_empty() {
            self.grants.remove(&to);
        }
        for &i in &gone {
            self.unref(i);
        }
        gone.len()
    }

    /// Takes every open file granted to the client into its table: (tag, file number)
    /// pairs in the order granted; empty if none waits. All or nothing: if the table
    /// cannot hold them all (`EMFILE`, `ENFILE`), they stay granted.
    pub fn inherited(&mut self, sid: u64) -> R<Vec<(u32, u32)>> {
        let want = self.grants.get(&sid).map_or(0, Vec::len);
        if want == 0 {
            return Ok(Vec::new());
        }
        if !self.tables.contains_key(&sid) && self.tables.len() >= MAX_CLIENTS {
            self.reclaim();
            if self.tables.len() >= MAX_CLIENTS {
                return Err(ENFILE);
            }
        }
        if CLIENT_FILES - self.open_count(sid) < want {
            return Err(EMFILE);
        }
        let pending = self.grants.remove(&sid).unwrap_or_default();
        let mut out = Vec::with_capacity(pending.len());
        for g in pending {
            // Cannot fail: room was checked above.
            let slot = self.free_slot(sid)?;
            if let Some(t) = self.tables.get_mut(&sid) {
                t[slot] = Some(g.open);
            }
            out.push((g.tag, slot as u32));
        }
        Ok(out)
    }

    /// Frees what clients that have ended left behind: the table of each SID with a table
    /// or waiting grants that the host says is gone ([`Host::alive`]), closing its files
    /// as `Close` would, and the grants waiting for it. Grants a dead client made to a live
    /// one stay (the receiver takes them). Done when a new client would exceed
    /// [`MAX_CLIENTS`] (tables or grant lists), so a client that ended without closing
    /// (killed, or not the personality's) costs a slot only until one is needed: at most
    /// `2 * MAX_CLIENTS` questions to the host per full table. How many clients were
    /// reclaimed.
    pub fn reclaim(&mut self) -> usize {
        let mut sids: Vec<u64> = self.tables.keys().copied().collect();
        for &sid in self.grants.keys() {
            if !sids.contains(&sid) {
                sids.push(sid);
            }
        }
        let mut reclaimed = 0;
        for sid in sids {
            if self.backend.alive(sid) {
                continue;
            }
            reclaimed += 1;
            for i in self
                .tables
                .remove(&sid)
                .unwrap_or_default()
                .into_iter()
                .flatten()
            {
                self.unref(i);
            }
            for g in self.grants.remove(&sid).unwrap_or_default() {
                self.unref(g.open);
            }
        }
        if reclaimed > 0 {
            // A persistent backend commits the closes; a failure leaves the last commit,
            // which the next one repeats.
            let _ = self.sync();
        }
        reclaimed
    }

    /// Clients with a table of open files (for tests and diagnostics).
    pub fn client_count(&self) -> usize {
        self.tables.len()
    }

    /// Grants waiting for a client (for tests and diagnostics).
    pub fn grant_count(&self, sid: u64) -> usize {
        self.grants.get(&sid).map_or(0, Vec::len)
    }

    /// Up to `size` bytes at `at` (the position if `None`, which then advances).
    pub fn read(&mut self, sid: u64, file: u32, at: Option<u64>, size: usize) -> R<Vec<u8>> {
        let o = self.open_entry(sid, file)?;
        if o.flags & O_READ == 0 {
            return Err(EBADF);
        }
        let pos = at.unwrap_or(o.pos);
        let size = size.min(CHUNK);
        let out = match o.target {
            Target::RomDir => return Err(EISDIR),
            Target::Rom(id, len) => {
                let bytes = self.backend.rom_bytes(id);
                let from = pos.min(len) as usize;
                let to = (from + size).min(len as usize);
                bytes.get(from..to).unwrap_or(&[]).to_vec()
            }
            Target::Node(n) => {
                let len = match self.node(n)?.kind {
                    Kind::File { size, .. } => size,
                    Kind::Dir(_) => return Err(EISDIR),
                };
                let mut out = Vec::new();
                let mut p = pos;
                while p < len && out.len() < size {
                    let c = *self
                        .chunk_list(n)?
                        .get((p / CHUNK as u64) as usize)
                        .ok_or(EIO)?;
                    let off = (p % CHUNK as u64) as usize;
                    let take = (CHUNK - off).min(size - out.len()).min((len - p) as usize);
                    let start = out.len();
                    out.resize(start + take, 0);
                    self.backend.read_chunk(c, off, &mut out[start..])?;
                    p += take as u64;
                }
                out
            }
        };
        if at.is_none() {
            self.set_pos(sid, file, pos + out.len() as u64);
        }
        Ok(out)
    }

    /// Writes `data` at `at` (the position, or the end with `O_APPEND`, if `None`).
    pub fn write(&mut self, sid: u64, file: u32, at: Option<u64>, data: &[u8]) -> R<usize> {
        let o = self.open_entry(sid, file)?;
        if o.flags & O_WRITE == 0 {
            return Err(EBADF);
        }
        let Target::Node(n) = o.target else {
            return Err(EBADF);
        };
        let len = match self.node(n)?.kind {
            Kind::File { size, .. } => size,
            Kind::Dir(_) => return Err(EISDIR),
        };
        let pos = match at {
            Some(p) => p,
            None if o.flags & O_APPEND != 0 => len,
            None => o.pos,
        };
        if data.is_empty() {
            return Ok(0);
        }
        let end = pos.checked_add(data.len() as u64).ok_or(EFBIG)?;
        let file_max = self.limits.file_max();
        if pos >= file_max {
            return Err(EFBIG);
        }
        let end = end.min(file_max);
        // Room for the chunks the write adds and for a copy of each it changes.
        let have = self.chunk_list(n)?.len();
        let first = (pos / CHUNK as u64) as usize;
        let last = (end as usize).div_ceil(CHUNK);
        let added = last.saturating_sub(have);
        let changed = have.min(last).saturating_sub(first);
        self.make_room(added + changed)?;
        if end > len {
            self.resize(n, end)?;
        }
        let mut done = 0usize;
        let total = (end - pos) as usize;
        while done < total {
            let p = pos + done as u64;
            let off = (p % CHUNK as u64) as usize;
            let take = (CHUNK - off).min(total - done);
            if let Err(e) = self.put(
                n,
                (p / CHUNK as u64) as usize,
                off,
                &data[done..done + take],
            ) {
                if done == 0 {
                    return Err(e);
                }
                break;
            }
            done += take;
        }
        let now = self.backend.now_ns();
        self.node_mut(n)?.mtime = now;
        if at.is_none() {
            self.set_pos(sid, file, pos + done as u64);
        }
        Ok(done)
    }

    pub fn seek(&mut self, sid: u64, file: u32, offset: i64, whence: u32) -> R<u64> {
        let o = self.open_entry(sid, file)?;
        let base = match whence {
            0 => 0,
            1 => o.pos,
            2 => match o.target {
                Target::Node(n) => match self.node(n)?.kind {
                    Kind::File { size, .. } => size,
                    Kind::Dir(_) => 0,
                },
                Target::Rom(_, size) => size,
                Target::RomDir => 0,
            },
            _ => return Err(EINVAL),
        };
        let pos = base.checked_add_signed(offset).ok_or(EINVAL)?;
        if pos > i64::MAX as u64 {
            return Err(EINVAL);
        }
        self.set_pos(sid, file, pos);
        Ok(pos)
    }

    fn stat_node(&self, n: usize) -> R<Stat> {
        let node = self.node(n)?;
        let (mode, size, nlink) = match &node.kind {
            Kind::Dir(children) => {
                let subdirs = children
                    .values()
                    .filter(|&&c| {
                        c == usize::MAX
                            || self.node(c).is_ok_and(|c| matches!(c.kind, Kind::Dir(_)))
                    })
                    .count();
                (S_IFDIR | node.perm, 4096, 2 + subdirs as u32)
            }
            Kind::File { size, .. } => (S_IFREG | node.perm, *size, u32::from(node.linked)),
        };
        Ok(Stat {
            mode,
            size,
            ino: n as u64 + 1,
            nlink,
            mtime_ns: node.mtime,
        })
    }

    fn stat_target(&mut self, t: Target) -> R<Stat> {
        match t {
            Target::Node(n) => self.stat_node(n),
            Target::RomDir => Ok(Stat {
                mode: S_IFDIR | 0o555,
                size: 0,
                ino: ROM_INO,
                nlink: 2,
                mtime_ns: 0,
            }),
            Target::Rom(_, size) => Ok(Stat {
                mode: S_IFREG | 0o444,
                size,
                ino: ROM_INO + 1,
                nlink: 1,
                mtime_ns: 0,
            }),
        }
    }

    pub fn stat(&mut self, path: &str) -> R<Stat> {
        let parts = components(path)?;
        if let Some(name) = Self::rom_name(&parts) {
            let (id, size) = self.backend.rom_open(&name)?;
            self.backend.rom_close(id);
            return self.stat_target(Target::Rom(id, size));
        }
        let t = self.lookup(&parts)?;
        self.stat_target(t)
    }

    pub fn fstat(&mut self, sid: u64, file: u32) -> R<Stat> {
        let o = self.open_entry(sid, file)?;
        self.stat_target(o.target)
    }

    /// Directory entries from the position, as packed records, as many as fit `room` bytes
    /// of Linux `dirent64` records.
    pub fn readdir(&mut self, sid: u64, file: u32, room: usize) -> R<Vec<u8>> {
        let o = self.open_entry(sid, file)?;
        let (me, parent, dir) = match o.target {
            Target::Node(n) => {
                if !matches!(self.node(n)?.kind, Kind::Dir(_)) {
                    return Err(ENOTDIR);
                }
                let parent = self.parent_of(n).map_or(1, |p| p as u64 + 1);
                (n as u64 + 1, parent, Some(n))
            }
            // The ROMFS cannot be listed (romfs.Read names one file at a time).
            Target::RomDir => (ROM_INO, 1, None),
            Target::Rom(..) => return Err(ENOTDIR),
        };
        // The entries are read in place (no copy of the directory: the heap is small).
        let children = match dir.map(|n| self.node(n).map(|n| &n.kind)) {
            Some(Ok(Kind::Dir(c))) => Some(c),
            _ => None,
        };
        let kind_of = |c: usize| match c {
            usize::MAX => (ROM_INO, 4u8),
            c => match self.node(c).map(|n| &n.kind) {
                Ok(Kind::Dir(_)) => (c as u64 + 1, 4),
                _ => (c as u64 + 1, 8),
            },
        };
        let dots = [(".", (me, 4u8)), ("..", (parent, 4u8))];
        let all = dots.into_iter().chain(
            children
                .into_iter()
                .flatten()
                .map(|(name, &c)| (name.as_str(), kind_of(c))),
        );
        let total = 2 + children.map_or(0, |c| c.len());
        let mut out = Vec::new();
        let mut used = 0usize;
        let mut index = o.pos as usize;
        for (name, (ino, ty)) in all.skip(index) {
            let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
            if used + reclen > room || out.len() + 10 + name.len() > CHUNK {
                break;
            }
            used += reclen;
            out.extend_from_slice(&ino.to_le_bytes());
            out.push(ty);
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            index += 1;
        }
        if out.is_empty() && index < total {
            return Err(EINVAL);
        }
        self.set_pos(sid, file, index as u64);
        Ok(out)
    }

    fn parent_of(&self, n: usize) -> Option<usize> {
        self.nodes
            .iter()
            .enumerate()
            .find_map(|(i, node)| match node {
                Some(Node {
                    kind: Kind::Dir(c), ..
                }) if c.values().any(|&v| v == n) => Some(i),
                _ => None,
            })
    }

    pub fn mkdir(&mut self, sid: u64, path: &str, mode: u32) -> R<()> {
        let result = self.make_dir(sid, path, mode);
        self.synced(result)
    }

    fn make_dir(&mut self, sid: u64, path: &str, mode: u32) -> R<()> {
        let parts = components(path)?;
        if parts.first() == Some(&ROM) {
            return Err(if parts.len() == 1 { EEXIST } else { EROFS });
        }
        let (dir, name) = self.parent(&parts)?;
        if self.lookup(&parts).is_ok() {
            return Err(EEXIST);
        }
        self.name_fits(name.len())?;
        let n = self.new_node(sid, Kind::Dir(BTreeMap::new()), mode)?;
        self.link(dir, name, n)
    }

    fn unlink_entry(&mut self, path: &str, want_dir: bool) -> R<()> {
        let parts = components(path)?;
        if parts.is_empty() {
            return Err(if want_dir { EBUSY } else { EISDIR });
        }
        if parts.first() == Some(&ROM) {
            return Err(if parts.len() == 1 { EBUSY } else { EROFS });
        }
        let (dir, name) = self.parent(&parts)?;
        let Target::Node(n) = self.lookup(&parts)? else {
            return Err(EROFS);
        };
        match (&self.node(n)?.kind, want_dir) {
            (Kind::Dir(c), true) if !c.is_empty() => return Err(ENOTEMPTY),
            (Kind::Dir(_), false) => return Err(EISDIR),
            (Kind::File { .. }, true) => return Err(ENOTDIR),
            _ => {}
        }
        let now = self.backend.now_ns();
        self.unlink_name(dir, name)?;
        self.node_mut(dir)?.mtime = now;
        self.node_mut(n)?.linked = false;
        self.release(n);
        Ok(())
    }

    pub fn unlink(&mut self, path: &str) -> R<()> {
        let result = self.unlink_entry(path, false);
        self.synced(result)
    }

    pub fn rmdir(&mut self, path: &str) -> R<()> {
        let result = self.unlink_entry(path, true);
        self.synced(result)
    }

    pub fn rename(&mut self, from: &str, to: &str) -> R<()> {
        let result = self.move_entry(from, to);
        self.synced(result)
    }

    fn move_entry(&mut self, from: &str, to: &str) -> R<()> {
        let src = components(from)?;
        let dst = components(to)?;
        // The root and /rom are mount points; under /rom nothing changes.
        if src.is_empty() || dst.is_empty() || src == [ROM] || dst == [ROM] {
            return Err(EBUSY);
        }
        if src.first() == Some(&ROM) || dst.first() == Some(&ROM) {
            return Err(EROFS);
        }
        let Target::Node(n) = self.lookup(&src)? else {
            return Err(EROFS);
        };
        let (sdir, sname) = self.parent(&src)?;
        let (ddir, dname) = self.parent(&dst)?;
        let src_is_dir = matches!(self.node(n)?.kind, Kind::Dir(_));
        // A directory cannot move into itself.
        if src_is_dir && dst.len() > src.len() && dst[..src.len()] == src[..] {
            return Err(EINVAL);
        }
        if let Ok(Target::Node(old)) = self.lookup(&dst) {
            if old == n {
                return Ok(());
            }
            match (&self.node(old)?.kind, src_is_dir) {
                (Kind::Dir(c), true) if !c.is_empty() => return Err(ENOTEMPTY),
                (Kind::Dir(_), false) => return Err(EISDIR),
                (Kind::File { .. }, true) => return Err(ENOTDIR),
                _ => {}
            }
            self.unlink_name(ddir, dname)?;
            self.node_mut(old)?.linked = false;
            self.release(old);
        }
        // The new name must fit the budget (the old one goes) before anything changes.
        if self.lookup(&dst).is_err() {
            self.name_fits(dname.len().saturating_sub(sname.len()))?;
        }
        self.unlink_name(sdir, sname)?;
        self.link(ddir, dname, n)?;
        let now = self.backend.now_ns();
        self.node_mut(sdir)?.mtime = now;
        Ok(())
    }

    pub fn truncate(&mut self, sid: u64, file: u32, size: u64) -> R<()> {
        let o = self.open_entry(sid, file)?;
        if o.flags & O_WRITE == 0 {
            return Err(EINVAL);
        }
        match o.target {
            Target::Node(n) => self.resize(n, size),
            _ => Err(EINVAL),
        }
    }

    /// With a persistent backend, commits the whole file system (not only this file).
    pub fn fsync(&mut self, sid: u64, file: u32) -> R<()> {
        self.open_entry(sid, file)?;
        self.sync()
    }

    /// Open files of a client (for tests and diagnostics).
    pub fn open_count(&self, sid: u64) -> usize {
        self.tables
            .get(&sid)
            .map_or(0, |t| t.iter().flatten().count())
    }

    /// Chunks in use in the whole file system.
    pub fn chunks_used(&self) -> usize {
        self.chunk_count
    }
}

/// Inode number of /rom (and, plus one, of every ROMFS file).
const ROM_INO: u64 = 1 << 32;
