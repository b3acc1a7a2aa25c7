//! The disk file system (VfsSdCardFs) on an in-memory disk that can lose power: after a cut
//! at any sector write (the sector being written torn, writes since the last flush kept or
//! lost at random), a mount finds a consistent tree holding everything fsync'ed. Also:
//! formatting, remounting, foreign and damaged disks (errors, never a panic), exhaustion.

use std::collections::BTreeMap;

use vfs::disk::{self, BlockDevice, MountError, Mounted, DATA_START, SECTOR};
use vfs::errno::*;
use vfs::fs::*;
use vfs::snapshot;

/// A deterministic random sequence (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A disk in memory. Reads see every write; only a flush makes writes durable. With
/// `crash_at`, the sector write of that number is torn and the disk dies: every later
/// request fails with EIO, and [`MemDisk::power_cut`] tells what a reboot would find.
#[derive(Clone)]
struct MemDisk {
    current: Vec<u8>,
    durable: Vec<u8>,
    /// Sector writes since the last flush, in order: (sector, bytes).
    pending: Vec<(u64, Vec<u8>)>,
    writes: u64,
    flushes: u64,
    crash_at: Option<u64>,
    crashed: bool,
}

impl MemDisk {
    fn new(sectors: u64) -> MemDisk {
        let image = vec![0u8; sectors as usize * SECTOR];
        MemDisk::from_image(image)
    }

    fn from_image(image: Vec<u8>) -> MemDisk {
        MemDisk {
            current: image.clone(),
            durable: image,
            pending: Vec::new(),
            writes: 0,
            flushes: 0,
            crash_at: None,
            crashed: false,
        }
    }

    fn sectors(&self) -> u64 {
        (self.current.len() / SECTOR) as u64
    }

    fn range(&self, sector: u64, len: usize) -> Result<std::ops::Range<usize>, i32> {
        let start = sector as usize * SECTOR;
        if !len.is_multiple_of(SECTOR) || len > disk::IO_MAX || start + len > self.current.len() {
            return Err(EINVAL);
        }
        Ok(start..start + len)
    }

    /// The disk a reboot finds: what was flushed, then each write since (the torn one
    /// included) kept or lost at random.
    fn power_cut(&self, rng: &mut Rng) -> Vec<u8> {
        let mut image = self.durable.clone();
        for (sector, bytes) in &self.pending {
            if rng.below(2) == 0 {
                let at = *sector as usize * SECTOR;
                image[at..at + SECTOR].copy_from_slice(bytes);
            }
        }
        image
    }
}

impl BlockDevice for MemDisk {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), i32> {
        if self.crashed {
            return Err(EIO);
        }
        let r = self.range(sector, buf.len())?;
        buf.copy_from_slice(&self.current[r]);
        Ok(())
    }

    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), i32> {
        if self.crashed {
            return Err(EIO);
        }
        self.range(sector, data.len())?;
        for (i, new) in data.chunks(SECTOR).enumerate() {
            let s = sector + i as u64;
            let at = s as usize * SECTOR;
            if self.crash_at == Some(self.writes) {
                // Torn: the first half new, the rest as it was.
                let mut torn = self.current[at..at + SECTOR].to_vec();
                torn[..SECTOR / 2].copy_from_slice(&new[..SECTOR / 2]);
                self.pending.push((s, torn));
                self.crashed = true;
                return Err(EIO);
            }
            self.writes += 1;
            self.current[at..at + SECTOR].copy_from_slice(new);
            self.pending.push((s, new.to_vec()));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), i32> {
        if self.crashed {
            return Err(EIO);
        }
        for (sector, bytes) in self.pending.drain(..) {
            let at = sector as usize * SECTOR;
            self.durable[at..at + SECTOR].copy_from_slice(&bytes);
        }
        self.flushes += 1;
        Ok(())
    }
}

#[derive(Default)]
struct Clock {
    now: u64,
    roms: usize,
}

impl Host for Clock {
    fn rom_open(&mut self, name: &str) -> Result<(usize, u64), i32> {
        match name {
            "hello" => {
                self.roms += 1;
                Ok((self.roms, 5))
            }
            _ => Err(ENOENT),
        }
    }
    fn rom_bytes(&mut self, _id: usize) -> &[u8] {
        b"hello"
    }
    fn rom_close(&mut self, _id: usize) {}
    fn now_ns(&mut self) -> u64 {
        self.now += 1;
        self.now
    }
}

type DiskFs = Fs<disk::Disk<MemDisk, Clock>>;

fn mount(dev: MemDisk) -> Result<(DiskFs, Mounted), MountError> {
    let sectors = dev.sectors();
    disk::mount(dev, sectors, Clock::default())
}

/// 2 MiB: 111 data blocks.
const SECTORS: u64 = 4096;
const RW: u32 = O_READ | O_WRITE;
const SID: u64 = 7;

/// What a file system holds: path -> `None` (a directory) or the file's bytes.
type Tree = BTreeMap<String, Option<Vec<u8>>>;

/// Everything under `/` but /rom, read through kl.Vfs's operations.
fn dump(fs: &mut DiskFs) -> Tree {
    let mut out = Tree::new();
    let mut dirs = vec![String::from("/")];
    while let Some(dir) = dirs.pop() {
        let (d, _) = fs
            .open(99, &dir, O_READ | O_DIRECTORY, 0)
            .expect("open dir");
        loop {
            let r = fs.readdir(99, d, 4096).expect("readdir");
            if r.is_empty() {
                break;
            }
            let mut at = 0;
            while at + 10 <= r.len() {
                let ty = r[at + 8];
                let len = r[at + 9] as usize;
                let name = String::from_utf8(r[at + 10..at + 10 + len].to_vec()).unwrap();
                at += 10 + len;
                if name == "." || name == ".." || (dir == "/" && name == "rom") {
                    continue;
                }
                let path = match dir.as_str() {
                    "/" => format!("/{name}"),
                    _ => format!("{dir}/{name}"),
                };
                if ty == 4 {
                    out.insert(path.clone(), None);
                    dirs.push(path);
                } else {
                    let (f, _) = fs.open(99, &path, O_READ, 0).expect("open file");
                    let mut data = Vec::new();
                    loop {
                        let chunk = fs.read(99, f, None, CHUNK).expect("read");
                        if chunk.is_empty() {
                            break;
                        }
                        data.extend(chunk);
                    }
                    fs.close(99, f).expect("close");
                    out.insert(path, Some(data));
                }
            }
        }
        fs.close(99, d).expect("close dir");
    }
    out
}

fn fresh() -> DiskFs {
    let (fs, how) = mount(MemDisk::new(SECTORS)).expect("format");
    assert_eq!(how, Mounted::Formatted);
    fs
}

/// The device of a file system, powered off after its last flush (nothing pending lost
/// or kept at random: flushed state plus everything written).
fn reboot(mut fs: DiskFs) -> DiskFs {
    let image = fs.backend.device().current.clone();
    let (fs, how) = mount(MemDisk::from_image(image)).expect("remount");
    assert!(matches!(how, Mounted::Found(_)));
    fs
}

#[test]
fn a_fresh_disk_is_formatted_and_files_survive_a_reboot() {
    let mut fs = fresh();
    assert_eq!(fs.stat("/data").unwrap().mode, S_IFDIR | 0o755);
    fs.mkdir(SID, "/data/app", 0o750).unwrap();
    let (f, _) = fs.open(SID, "/data/app/log", RW | O_CREATE, 0o640).unwrap();
    let text: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(fs.write(SID, f, None, &text), Ok(text.len()));
    fs.fsync(SID, f).unwrap();
    let ino = fs.stat("/data/app/log").unwrap().ino;
    let mut fs = reboot(fs);
    let st = fs.stat("/data/app/log").unwrap();
    assert_eq!((st.mode, st.size, st.ino), (S_IFREG | 0o640, 40_000, ino));
    assert_eq!(fs.stat("/data/app").unwrap().mode, S_IFDIR | 0o750);
    let (f, _) = fs.open(SID, "/data/app/log", O_READ, 0).unwrap();
    assert_eq!(fs.read(SID, f, Some(0), CHUNK).unwrap(), &text[..CHUNK]);
    assert_eq!(fs.read(SID, f, Some(39_990), 100).unwrap(), &text[39_990..]);
    // The ROMFS is under /rom as on VfsRamFs, and read-only.
    assert_eq!(fs.stat("/rom/hello").unwrap().size, 5);
    assert_eq!(fs.mkdir(SID, "/rom/x", 0o755), Err(EROFS));
    snapshot::check(&fs, fs.backend.blocks()).unwrap();
}

#[test]
fn overwrites_copy_blocks_and_shrunk_tails_read_as_zero() {
    let mut fs = fresh();
    let (f, _) = fs.open(SID, "/data/f", RW | O_CREATE, 0o644).unwrap();
    fs.write(SID, f, Some(0), &[1u8; 20_000]).unwrap();
    fs.fsync(SID, f).unwrap();
    fs.write(SID, f, Some(100), &[2u8; 50]).unwrap();
    fs.truncate(SID, f, 120).unwrap();
    fs.truncate(SID, f, 30_000).unwrap();
    fs.fsync(SID, f).unwrap();
    let mut fs = reboot(fs);
    let (f, _) = fs.open(SID, "/data/f", O_READ, 0).unwrap();
    let mut data = fs.read(SID, f, Some(0), CHUNK).unwrap();
    data.extend(fs.read(SID, f, Some(CHUNK as u64), CHUNK).unwrap());
    let mut want = vec![1u8; 100];
    want.extend([2u8; 20]);
    want.resize(30_000, 0);
    assert_eq!(data, want);
}

#[test]
fn unsynced_changes_are_gone_after_a_power_cut_and_synced_ones_stay() {
    let mut fs = fresh();
    let (f, _) = fs.open(SID, "/data/f", RW | O_CREATE, 0o644).unwrap();
    fs.write(SID, f, None, b"kept").unwrap();
    fs.fsync(SID, f).unwrap();
    fs.write(SID, f, None, b" lost").unwrap();
    // Power off now: nothing since the last flush reaches the disk.
    let image = fs.backend.device().durable.clone();
    let (mut fs, _) = mount(MemDisk::from_image(image)).unwrap();
    let (f, _) = fs.open(SID, "/data/f", O_READ, 0).unwrap();
    assert_eq!(fs.read(SID, f, None, 100).unwrap(), b"kept");
}

#[test]
fn a_disk_that_is_not_ours_is_left_alone() {
    // Random bytes (another file system, or damage): not formatted, not written.
    let mut rng = Rng(42);
    let image: Vec<u8> = (0..SECTORS as usize * SECTOR)
        .map(|_| rng.next() as u8)
        .collect();
    let dev = MemDisk::from_image(image.clone());
    assert_eq!(mount(dev).err(), Some(MountError::Foreign));
    // Zero but for an ext2-like superblock at byte 1024: still not a fresh disk.
    let mut image = vec![0u8; SECTORS as usize * SECTOR];
    image[1024 + 56] = 0x53;
    image[1024 + 57] = 0xef;
    assert_eq!(
        mount(MemDisk::from_image(image)).err(),
        Some(MountError::Foreign)
    );
    // Too small for the layout.
    assert_eq!(
        mount(MemDisk::new(DATA_START + 10)).err(),
        Some(MountError::TooSmall)
    );
}

/// Writes a superblock for `meta` into slot `seq % 2` of `image` (as the file system
/// would): a tree that passes the checksum, whatever its contents.
fn forge(image: &mut [u8], seq: u64, meta: &[u8], blocks: u32) {
    let slot = (seq % 2) as usize;
    let area = (32 + slot * 256) * SECTOR;
    image[area..area + meta.len()].copy_from_slice(meta);
    let s = &mut image[slot * SECTOR..(slot + 1) * SECTOR];
    s.fill(0);
    s[0..8].copy_from_slice(b"OSTROGFS");
    s[8..12].copy_from_slice(&1u32.to_le_bytes());
    s[12..16].copy_from_slice(&(slot as u32).to_le_bytes());
    s[16..24].copy_from_slice(&seq.to_le_bytes());
    s[24..28].copy_from_slice(&(meta.len() as u32).to_le_bytes());
    s[28..32].copy_from_slice(&disk::crc32(meta).to_le_bytes());
    s[32..36].copy_from_slice(&blocks.to_le_bytes());
    let crc = disk::crc32(&s[..40]);
    s[40..44].copy_from_slice(&crc.to_le_bytes());
}

/// The tree bytes of the newest commit of `image`.
fn newest_meta(image: &[u8]) -> (u64, Vec<u8>, u32) {
    let mut best = None;
    for slot in 0..2usize {
        let s = &image[slot * SECTOR..(slot + 1) * SECTOR];
        if &s[0..8] != b"OSTROGFS" {
            continue;
        }
        let seq = u64::from_le_bytes(s[16..24].try_into().unwrap());
        let len = u32::from_le_bytes(s[24..28].try_into().unwrap()) as usize;
        let blocks = u32::from_le_bytes(s[32..36].try_into().unwrap());
        let area = (32 + slot * 256) * SECTOR;
        if best.as_ref().is_none_or(|(b, _, _)| seq > *b) {
            best = Some((seq, image[area..area + len].to_vec(), blocks));
        }
    }
    best.unwrap()
}

#[test]
fn damaged_trees_are_refused_without_a_panic() {
    let mut fs = fresh();
    for d in 0..4 {
        fs.mkdir(SID, &format!("/data/d{d}"), 0o755).unwrap();
        let (f, _) = fs
            .open(SID, &format!("/data/d{d}/file"), RW | O_CREATE, 0o644)
            .unwrap();
        fs.write(SID, f, None, &vec![d as u8; 20_000]).unwrap();
        fs.close(SID, f).unwrap();
    }
    let image = fs.backend.device().current.clone();
    let (seq, meta, blocks) = newest_meta(&image);
    let mut rng = Rng(7);
    let (mut refused, mut taken) = (0, 0);
    for round in 0..3000 {
        let mut bad = meta.clone();
        match round % 4 {
            // A few bytes changed.
            0 | 1 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(bad.len() as u64) as usize;
                    bad[i] = rng.next() as u8;
                }
            }
            // Cut short, or grown.
            2 => bad.truncate(rng.below(bad.len() as u64) as usize),
            _ => bad.extend((0..1 + rng.below(16)).map(|_| rng.next() as u8)),
        }
        let mut img = image.clone();
        // The newer slot, with the checksum fixed: only the tree's checks stand between
        // the bytes and the file system. The older slot is destroyed.
        forge(&mut img, seq + 1, &bad, blocks);
        let other = ((seq % 2) as usize) * SECTOR;
        img[other..other + SECTOR].fill(0xff);
        match mount(MemDisk::from_image(img)) {
            Err(MountError::Foreign) => refused += 1,
            Err(e) => panic!("unexpected {e:?}"),
            Ok((mut fs, _)) => {
                taken += 1;
                snapshot::check(&fs, fs.backend.blocks()).unwrap();
                // Usable: every file reads, and a new one can be written and committed.
                dump(&mut fs);
                let (f, _) = fs.open(SID, "/new-file", RW | O_CREATE, 0o644).unwrap();
                fs.write(SID, f, None, &[9; 5000]).unwrap();
                fs.fsync(SID, f).unwrap();
            }
        }
    }
    assert!(refused > 1000, "refused {refused}, taken {taken}");
}

#[test]
fn a_torn_or_damaged_newest_commit_falls_back_to_the_one_before() {
    let mut fs = fresh();
    let (f, _) = fs.open(SID, "/data/f", RW | O_CREATE, 0o644).unwrap();
    fs.write(SID, f, None, b"one").unwrap();
    fs.fsync(SID, f).unwrap();
    let image = fs.backend.device().current.clone();
    let (seq, _, _) = newest_meta(&image);
    // The newest superblock torn: the commit before it (no /data/f) is mounted.
    let mut torn = image.clone();
    let at = (seq % 2) as usize * SECTOR;
    torn[at + 20..at + SECTOR].fill(0);
    let (mut fs, how) = mount(MemDisk::from_image(torn)).unwrap();
    assert_eq!(how, Mounted::Found(seq - 1));
    assert_eq!(fs.stat("/data/f").err(), Some(ENOENT));
    assert_eq!(fs.stat("/data").unwrap().mode, S_IFDIR | 0o755);
}

#[test]
fn a_full_disk_is_enospc_and_overwrites_still_work() {
    let mut fs = fresh();
    let limits = fs.limits();
    let mut made = Vec::new();
    // Several clients fill the disk (one client may hold half of it).
    'fill: for sid in 1..10u64 {
        for i in 0.. {
            let path = format!("/data/c{sid}-{i}");
            let (f, _) = fs.open(sid, &path, RW | O_CREATE, 0o644).unwrap();
            let r = fs.write(sid, f, None, &vec![sid as u8; CHUNK]);
            fs.close(sid, f).unwrap();
            match r {
                Ok(_) => made.push((sid, path)),
                Err(ENOSPC) if fs.chunks_used() == limits.chunks => break 'fill,
                Err(ENOSPC) => break,
                Err(e) => panic!("errno {e}"),
            }
        }
    }
    assert_eq!(fs.chunks_used(), limits.chunks);
    // Every file can still be overwritten (copies on write, commits free the old blocks).
    for (sid, path) in &made {
        let (f, _) = fs.open(*sid, path, RW, 0).unwrap();
        assert_eq!(fs.write(*sid, f, Some(0), &vec![0xee; CHUNK]), Ok(CHUNK));
        fs.close(*sid, f).unwrap();
    }
    let mut fs = reboot(fs);
    let (sid, path) = &made[made.len() / 2];
    let (f, _) = fs.open(*sid, path, O_READ, 0).unwrap();
    assert_eq!(fs.read(*sid, f, None, CHUNK).unwrap(), vec![0xee; CHUNK]);
    fs.close(*sid, f).unwrap();
    // Files of an earlier boot can be removed; the space comes back.
    for (_, path) in &made {
        fs.unlink(path).unwrap();
    }
    assert_eq!(fs.chunks_used(), 0);
}

/// One run of a random workload (seeded) on a formatted disk that dies at sector write
/// `crash_at`: every state the disk may hold afterwards (from the last acknowledged fsync
/// on), and the disk.
fn workload(seed: u64, crash_at: Option<u64>) -> (Vec<Tree>, MemDisk, u64) {
    let mut fs = fresh();
    fs.backend.device().crash_at = crash_at.map(|c| c + fs.backend.device().writes);
    let start = fs.backend.device().writes;
    let mut rng = Rng(seed);
    let mut model = Tree::new();
    model.insert("/data".into(), None);
    let mut candidates = vec![model.clone()];
    let mut open: Vec<(u32, String)> = Vec::new();
    let dirs = ["/data", "/data/a", "/data/b"];
    for _ in 0..120 {
        if fs.backend.device().crashed {
            break;
        }
        let dir = dirs[rng.below(3) as usize];
        let path = format!("{dir}/f{}", rng.below(4));
        let mut after = model.clone();
        let op = rng.below(100);
        let ok = match op {
            // Opens (creates) a file.
            0..=14 if open.len() < 6 => {
                let trunc = rng.below(4) == 0;
                let parent_ok = matches!(model.get(dir), Some(None));
                if parent_ok && !matches!(after.get(&path), Some(None)) {
                    let e = after.entry(path.clone()).or_insert(Some(Vec::new()));
                    if trunc {
                        *e = Some(Vec::new());
                    }
                }
                let flags = RW | O_CREATE | if trunc { O_TRUNC } else { 0 };
                match fs.open(SID, &path, flags, 0o644) {
                    Ok((f, _)) => {
                        open.push((f, path.clone()));
                        true
                    }
                    Err(_) => false,
                }
            }
            // Writes somewhere in an open file (appends, overwrites, holes).
            15..=49 if !open.is_empty() => {
                let (f, p) = open[rng.below(open.len() as u64) as usize].clone();
                let len = after[&p].as_ref().unwrap().len() as u64;
                let at = rng.below(len + 3000);
                let most = if rng.below(4) == 0 { 40_000 } else { 600 };
                let n = 1 + rng.below(most) as usize;
                let byte = rng.next() as u8;
                let data = vec![byte; n];
                let file = after.get_mut(&p).unwrap().as_mut().unwrap();
                if file.len() < at as usize + n {
                    file.resize(at as usize + n, 0);
                }
                file[at as usize..at as usize + n].copy_from_slice(&data);
                fs.write(SID, f, Some(at), &data) == Ok(n)
            }
            50..=59 if !open.is_empty() => {
                let (f, _) = open[rng.below(open.len() as u64) as usize].clone();
                let r = fs.fsync(SID, f);
                if r.is_ok() {
                    // Acknowledged: the disk may never go back before this.
                    candidates.clear();
                    candidates.push(model.clone());
                }
                r.is_ok()
            }
            60..=69 if !open.is_empty() => {
                let (f, _) = open.remove(rng.below(open.len() as u64) as usize);
                fs.close(SID, f).is_ok()
            }
            70..=74 if !open.is_empty() => {
                let (f, p) = open[rng.below(open.len() as u64) as usize].clone();
                let len = after[&p].as_ref().unwrap().len() as u64;
                let size = rng.below(len + 20_000);
                after
                    .get_mut(&p)
                    .unwrap()
                    .as_mut()
                    .unwrap()
                    .resize(size as usize, 0);
                fs.truncate(SID, f, size).is_ok()
            }
            75..=79 => {
                let d = dirs[1 + rng.below(2) as usize];
                after.entry(d.into()).or_insert(None);
                fs.mkdir(SID, d, 0o755).is_ok()
            }
            80..=87 if !open.iter().any(|(_, p)| *p == path) => {
                after.remove(&path);
                fs.unlink(&path).is_ok()
            }
            88..=95 => {
                let to = format!("{}/f{}", dirs[rng.below(3) as usize], rng.below(4));
                let busy = open.iter().any(|(_, p)| *p == path || *p == to);
                let to_parent = to.rsplit_once('/').unwrap().0;
                if busy
                    || !matches!(model.get(&path), Some(Some(_)))
                    || !matches!(model.get(to_parent), Some(None))
                    || to == path
                {
                    continue;
                }
                let data = after.remove(&path).unwrap();
                after.insert(to.clone(), data);
                fs.rename(&path, &to).is_ok()
            }
            96..=99 => {
                let d = dirs[1 + rng.below(2) as usize];
                if after.keys().any(|k| k.starts_with(&format!("{d}/"))) {
                    continue;
                }
                after.remove(d);
                fs.rmdir(d).is_ok()
            }
            _ => continue,
        };
        // The operation may have committed its result before the disk died.
        candidates.push(after.clone());
        if ok {
            model = after;
        }
    }
    let writes = fs.backend.device().writes - start;
    if crash_at.is_none() {
        candidates = vec![model];
    }
    (candidates, fs.backend.device().clone(), writes)
}

#[test]
fn a_power_cut_at_any_write_keeps_every_fsynced_change_and_a_consistent_tree() {
    let mut checked = 0;
    for seed in [1u64, 2, 3] {
        let (_, _, total) = workload(seed, None);
        assert!(total > 200, "seed {seed}: only {total} sector writes");
        let step = (total / 150).max(1);
        let mut at = 0;
        while at < total {
            let (candidates, dev, _) = workload(seed, Some(at));
            assert!(
                dev.crashed,
                "seed {seed}: no crash at write {at} of {total}"
            );
            let mut rng = Rng(seed * 1_000_003 + at);
            for cut in 0..2 {
                let image = dev.power_cut(&mut rng);
                let (mut fs, _) = mount(MemDisk::from_image(image)).unwrap_or_else(|e| {
                    panic!("seed {seed}, crash at {at}, cut {cut}: mount failed: {e:?}")
                });
                snapshot::check(&fs, fs.backend.blocks()).unwrap();
                let found = dump(&mut fs);
                assert!(
                    candidates.contains(&found),
                    "seed {seed}, crash at {at}, cut {cut}: the disk holds a state that was \
                     never committed: {:?}",
                    found.keys().collect::<Vec<_>>()
                );
                // The recovered disk works: a new file survives the next reboot.
                let (f, _) = fs.open(SID, "/data/after", RW | O_CREATE, 0o644).unwrap();
                fs.write(SID, f, None, &[5; 30_000]).unwrap();
                fs.fsync(SID, f).unwrap();
                let mut fs = reboot(fs);
                assert_eq!(fs.stat("/data/after").unwrap().size, 30_000);
                checked += 1;
            }
            at += step;
        }
    }
    assert!(checked > 600, "{checked} power cuts checked");
}
