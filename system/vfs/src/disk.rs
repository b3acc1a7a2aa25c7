//! The disk file system of VfsSdCardFs: the tree of [`crate::fs`] kept on a block device,
//! crash-safe by copy-on-write and two alternating checkpoints (docs/files.md, "The disk
//! file system"). Layout, in 512-byte sectors:
//!
//! ```text
//! 0, 1        superblock slots 0 and 1 (the rest of sectors 0-31 stays zero)
//! 32..288     metadata area 0 (128 KiB): the encoded tree (crate::snapshot)
//! 288..544    metadata area 1
//! 544..       data blocks of CHUNK (16 KiB, 32 sectors) each, numbered from 0
//! ```
//!
//! A commit (FSync, Close, a namespace change) writes the tree into the area of slot
//! `seq % 2` (the one the last commit did not use), flushes, writes that slot's superblock
//! (sequence number, the tree's length and CRC-32, its own CRC-32), and flushes again. A
//! mount takes the valid superblock with the highest sequence number whose tree passes its
//! CRC and the consistency checks of [`crate::snapshot::decode`]. File data is never
//! written over in a block the last commit names: such a block is copied to a free one
//! first, and a block freed since then is reused only after the next commit. So a power
//! cut at any point leaves the last committed tree and every block it names intact.

use alloc::vec;
use alloc::vec::Vec;

use crate::errno::*;
use crate::fs::{Backend, Fs, Host, Limits, CHUNK, R};
use crate::snapshot;

/// Bytes of a sector.
pub const SECTOR: usize = 512;
/// Largest transfer of one request (`DataMax` of kl.drivers.Block).
pub const IO_MAX: usize = 16 * 1024;
/// Sectors of one data block (a chunk).
const BLOCK_SECTORS: u64 = (CHUNK / SECTOR) as u64;
/// Sectors before the metadata areas (the superblocks, then zeros).
const HEADER_SECTORS: u64 = 32;
/// Sectors of one metadata area, and its bytes.
const AREA_SECTORS: u64 = 256;
pub const AREA_BYTES: usize = AREA_SECTORS as usize * SECTOR;
/// The first sector of the data blocks.
pub const DATA_START: u64 = HEADER_SECTORS + 2 * AREA_SECTORS;
/// Data blocks used at most (64 MiB; a larger disk's rest is unused): the heap holds
/// their lists and the tree.
pub const MAX_BLOCKS: usize = 4096;
/// Data blocks a disk must have at least.
pub const MIN_BLOCKS: usize = 4;

const MAGIC: [u8; 8] = *b"OSTROGFS";
const VERSION: u32 = 1;
/// Bytes of a superblock covered by its CRC, which follows them.
const SUPER_BODY: usize = 40;

/// A block device as the server reaches it (kl.drivers.Block): whole sectors, at most
/// [`IO_MAX`] bytes a request. Errors are errno values.
pub trait BlockDevice {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> R<()>;
    fn write(&mut self, sector: u64, data: &[u8]) -> R<()>;
    /// Returns when everything written before is on stable storage.
    fn flush(&mut self) -> R<()>;
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// One superblock slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Super {
    seq: u64,
    meta_len: u32,
    meta_crc: u32,
    blocks: u32,
}

impl Super {
    fn write(&self, sector: &mut [u8]) {
        sector.fill(0);
        sector[0..8].copy_from_slice(&MAGIC);
        sector[8..12].copy_from_slice(&VERSION.to_le_bytes());
        sector[12..16].copy_from_slice(&((self.seq % 2) as u32).to_le_bytes());
        sector[16..24].copy_from_slice(&self.seq.to_le_bytes());
        sector[24..28].copy_from_slice(&self.meta_len.to_le_bytes());
        sector[28..32].copy_from_slice(&self.meta_crc.to_le_bytes());
        sector[32..36].copy_from_slice(&self.blocks.to_le_bytes());
        let crc = crc32(&sector[..SUPER_BODY]);
        sector[SUPER_BODY..SUPER_BODY + 4].copy_from_slice(&crc.to_le_bytes());
    }

    /// The superblock in slot `slot`'s sector, if it is one (magic, version, CRC, slot).
    fn read(sector: &[u8], slot: u64) -> Option<Super> {
        let u32_at =
            |i: usize| u32::from_le_bytes([sector[i], sector[i + 1], sector[i + 2], sector[i + 3]]);
        if sector.len() < SECTOR
            || sector[0..8] != MAGIC
            || u32_at(8) != VERSION
            || u32_at(SUPER_BODY) != crc32(&sector[..SUPER_BODY])
        {
            return None;
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&sector[16..24]);
        let s = Super {
            seq: u64::from_le_bytes(seq),
            meta_len: u32_at(24),
            meta_crc: u32_at(28),
            blocks: u32_at(32),
        };
        (u64::from(u32_at(12)) == slot && s.seq % 2 == slot).then_some(s)
    }
}

/// The first sector of metadata area `slot`.
fn area(slot: u64) -> u64 {
    HEADER_SECTORS + slot * AREA_SECTORS
}

/// The first sector of data block `b`.
fn block_sector(b: usize) -> u64 {
    DATA_START + b as u64 * BLOCK_SECTORS
}

/// The bounds of a file system of `blocks` data blocks: a sixteenth (at least one block)
/// stays free for copies on write; a client and a file may have half of the rest.
pub fn limits(blocks: usize) -> Limits {
    let chunks = blocks - (blocks / 16).max(1);
    Limits {
        chunks,
        client_chunks: (chunks / 2).max(1),
    }
}

/// The store of a disk file system: data blocks on `dev`, the ROMFS and clock of `host`.
pub struct Disk<D: BlockDevice, H: Host> {
    dev: D,
    host: H,
    /// Data blocks of this file system.
    blocks: usize,
    /// Sequence number of the last commit.
    seq: u64,
    /// Blocks the file system in memory uses.
    live: Vec<bool>,
    /// Blocks the last commit names: never written over until the next one.
    durable: Vec<bool>,
    /// Live blocks never written: they read as zeros (a commit writes the zeros).
    unwritten: Vec<bool>,
    /// Blocks neither live nor durable.
    free: usize,
    /// Where the next allocation starts looking.
    next: usize,
    buf: Vec<u8>,
}

/// Why a disk cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountError {
    /// Smaller than the header, the metadata areas and [`MIN_BLOCKS`] blocks.
    TooSmall,
    /// Not all zero at the start, and no superblock with a consistent tree: another
    /// format, or a damaged disk. It is left as it is.
    Foreign,
    /// The device failed (errno).
    Device(i32),
}

/// How a disk was mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mounted {
    /// It was all zero at the start: formatted, with an empty `/data`.
    Formatted,
    /// The commit with this sequence number.
    Found(u64),
}

impl<D: BlockDevice, H: Host> Disk<D, H> {
    fn new(dev: D, host: H, blocks: usize, seq: u64) -> Self {
        Disk {
            dev,
            host,
            blocks,
            seq,
            live: vec![false; blocks],
            durable: vec![false; blocks],
            unwritten: vec![false; blocks],
            free: blocks,
            next: 0,
            buf: vec![0; CHUNK],
        }
    }

    /// The device (for tests: what a power cut left).
    pub fn device(&mut self) -> &mut D {
        &mut self.dev
    }

    /// Data blocks of this file system.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// Sequence number of the last commit.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn count_free(&mut self) {
        self.free = (0..self.blocks)
            .filter(|&b| !self.live[b] && !self.durable[b])
            .count();
    }

    fn check(&self, id: usize, offset: usize, len: usize) -> R<()> {
        match id < self.blocks && offset.checked_add(len).is_some_and(|e| e <= CHUNK) {
            true => Ok(()),
            false => Err(EIO),
        }
    }

    /// Writes `bytes` (a multiple of [`SECTOR`]) from `sector`, in requests of [`IO_MAX`].
    fn write_run(&mut self, sector: u64, bytes: &[u8]) -> R<()> {
        for (i, piece) in bytes.chunks(IO_MAX).enumerate() {
            self.dev
                .write(sector + (i * IO_MAX / SECTOR) as u64, piece)?;
        }
        Ok(())
    }
}

impl<D: BlockDevice, H: Host> Host for Disk<D, H> {
    fn rom_open(&mut self, name: &str) -> R<(usize, u64)> {
        self.host.rom_open(name)
    }
    fn rom_bytes(&mut self, id: usize) -> &[u8] {
        self.host.rom_bytes(id)
    }
    fn rom_close(&mut self, id: usize) {
        self.host.rom_close(id)
    }
    fn now_ns(&mut self) -> u64 {
        self.host.now_ns()
    }
    fn alive(&mut self, sid: u64) -> bool {
        self.host.alive(sid)
    }
}

impl<D: BlockDevice, H: Host> Backend for Disk<D, H> {
    fn alloc_chunk(&mut self) -> Option<usize> {
        let b = (0..self.blocks)
            .map(|k| (self.next + k) % self.blocks)
            .find(|&b| !self.live[b] && !self.durable[b])?;
        self.live[b] = true;
        self.unwritten[b] = true;
        self.free -= 1;
        self.next = (b + 1) % self.blocks;
        Some(b)
    }

    fn free_chunk(&mut self, id: usize) {
        if id < self.blocks && self.live[id] {
            self.live[id] = false;
            self.unwritten[id] = false;
            if !self.durable[id] {
                self.free += 1;
            }
        }
    }

    fn read_chunk(&mut self, id: usize, offset: usize, buf: &mut [u8]) -> R<()> {
        self.check(id, offset, buf.len())?;
        if self.unwritten[id] || buf.is_empty() {
            buf.fill(0);
            return Ok(());
        }
        let first = offset / SECTOR;
        let end = (offset + buf.len()).div_ceil(SECTOR);
        let sector = block_sector(id) + first as u64;
        let scratch = &mut self.buf[..(end - first) * SECTOR];
        self.dev.read(sector, scratch)?;
        let from = offset - first * SECTOR;
        buf.copy_from_slice(&scratch[from..from + buf.len()]);
        Ok(())
    }

    fn write_chunk(&mut self, id: usize, offset: usize, data: &[u8]) -> R<usize> {
        self.check(id, offset, data.len())?;
        if !self.live[id] {
            return Err(EIO);
        }
        if self.durable[id] {
            // Copy on write: the last commit's block stays as it is.
            let new = self.alloc_chunk().ok_or(ENOSPC)?;
            let mut whole = core::mem::take(&mut self.buf);
            let result = match self.unwritten[id] {
                true => {
                    whole.fill(0);
                    Ok(())
                }
                false => self.dev.read(block_sector(id), &mut whole),
            }
            .and_then(|()| {
                whole[offset..offset + data.len()].copy_from_slice(data);
                self.dev.write(block_sector(new), &whole)
            });
            self.buf = whole;
            if let Err(e) = result {
                self.free_chunk(new);
                return Err(e);
            }
            self.unwritten[new] = false;
            self.free_chunk(id);
            return Ok(new);
        }
        if self.unwritten[id] {
            self.buf.fill(0);
            self.buf[offset..offset + data.len()].copy_from_slice(data);
            let whole = core::mem::take(&mut self.buf);
            let result = self.dev.write(block_sector(id), &whole);
            self.buf = whole;
            result?;
            self.unwritten[id] = false;
            return Ok(id);
        }
        // A block only this boot's changes name: written in place, whole sectors.
        let first = offset / SECTOR;
        let end = (offset + data.len()).div_ceil(SECTOR);
        let sector = block_sector(id) + first as u64;
        let mut scratch = core::mem::take(&mut self.buf);
        let run = &mut scratch[..(end - first) * SECTOR];
        let result = (|| {
            if !offset.is_multiple_of(SECTOR) || !(offset + data.len()).is_multiple_of(SECTOR) {
                self.dev.read(sector, run)?;
            }
            let from = offset - first * SECTOR;
            run[from..from + data.len()].copy_from_slice(data);
            self.dev.write(sector, run)
        })();
        self.buf = scratch;
        result.map(|()| id)
    }

    fn room(&mut self, count: usize) -> bool {
        self.free >= count
    }

    fn persistent(&self) -> bool {
        true
    }

    fn commit(&mut self, meta: &[u8], chunks: &[usize]) -> R<()> {
        if meta.len() > AREA_BYTES {
            return Err(ENOSPC);
        }
        if chunks.iter().any(|&c| c >= self.blocks) {
            return Err(EIO);
        }
        let result = self.write_commit(meta, chunks);
        match result {
            Ok(()) => {
                self.durable.fill(false);
                for &c in chunks {
                    self.durable[c] = true;
                }
            }
            // Whether the new superblock landed is unknown: both trees' blocks stay
            // untouched until a commit succeeds (which rewrites the same slot).
            Err(_) => {
                for &c in chunks {
                    self.durable[c] = true;
                }
            }
        }
        self.count_free();
        result
    }
}

impl<D: BlockDevice, H: Host> Disk<D, H> {
    fn write_commit(&mut self, meta: &[u8], chunks: &[usize]) -> R<()> {
        // Blocks allocated but never written must read as zeros after a reboot too.
        for &c in chunks {
            if self.unwritten[c] {
                self.buf.fill(0);
                let zeros = core::mem::take(&mut self.buf);
                let result = self.dev.write(block_sector(c), &zeros);
                self.buf = zeros;
                result?;
                self.unwritten[c] = false;
            }
        }
        let seq = self.seq + 1;
        let slot = seq % 2;
        let mut padded = Vec::from(meta);
        padded.resize(meta.len().div_ceil(SECTOR).max(1) * SECTOR, 0);
        self.write_run(area(slot), &padded)?;
        self.dev.flush()?;
        let mut sector = [0u8; SECTOR];
        Super {
            seq,
            meta_len: meta.len() as u32,
            meta_crc: crc32(meta),
            blocks: self.blocks as u32,
        }
        .write(&mut sector);
        self.dev.write(slot, &sector)?;
        self.dev.flush()?;
        self.seq = seq;
        Ok(())
    }
}

/// Reads `len` bytes from `sector` on, in requests of [`IO_MAX`].
fn read_run<D: BlockDevice>(dev: &mut D, sector: u64, len: usize) -> R<Vec<u8>> {
    let mut out = vec![0u8; len.div_ceil(SECTOR) * SECTOR];
    for (i, piece) in out.chunks_mut(IO_MAX).enumerate() {
        dev.read(sector + (i * IO_MAX / SECTOR) as u64, piece)?;
    }
    out.truncate(len);
    Ok(out)
}

/// Mounts the file system on `dev` of `sectors` sectors, or formats it if its first
/// [`CHUNK`] bytes are all zero (a fresh disk). A disk with anything else and no valid
/// superblock is [`MountError::Foreign`] and is not written to.
#[allow(clippy::type_complexity)]
pub fn mount<D: BlockDevice, H: Host>(
    mut dev: D,
    sectors: u64,
    host: H,
) -> Result<(Fs<Disk<D, H>>, Mounted), MountError> {
    if sectors < DATA_START + (MIN_BLOCKS as u64) * BLOCK_SECTORS {
        return Err(MountError::TooSmall);
    }
    let fit = ((sectors - DATA_START) / BLOCK_SECTORS).min(MAX_BLOCKS as u64) as usize;
    let head = read_run(&mut dev, 0, CHUNK).map_err(MountError::Device)?;
    if head.iter().all(|&b| b == 0) {
        let disk = Disk::new(dev, host, fit, 0);
        let mut fs = Fs::with_limits(disk, limits(fit));
        // `/data`, where a policy gives each class a folder; the mkdir commits.
        fs.mkdir(0, "/data", 0o755).map_err(MountError::Device)?;
        return Ok((fs, Mounted::Formatted));
    }
    let mut found: Vec<Super> = (0..2u64)
        .filter_map(|slot| {
            let at = slot as usize * SECTOR;
            Super::read(&head[at..at + SECTOR], slot)
        })
        .collect();
    found.sort_by_key(|s| core::cmp::Reverse(s.seq));
    for s in found {
        let blocks = s.blocks as usize;
        if !(MIN_BLOCKS..=fit).contains(&blocks) || s.meta_len as usize > AREA_BYTES {
            continue;
        }
        let meta =
            read_run(&mut dev, area(s.seq % 2), s.meta_len as usize).map_err(MountError::Device)?;
        if crc32(&meta) != s.meta_crc {
            continue;
        }
        let Ok(tree) = snapshot::parse(limits(blocks), blocks, &meta) else {
            continue;
        };
        let mut fs = snapshot::load(Disk::new(dev, host, blocks, s.seq), tree);
        let (_, chunks) = snapshot::encode(&fs);
        let disk = &mut fs.backend;
        for c in chunks {
            disk.live[c] = true;
            disk.durable[c] = true;
        }
        disk.count_free();
        return Ok((fs, Mounted::Found(s.seq)));
    }
    Err(MountError::Foreign)
}
