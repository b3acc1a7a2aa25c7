//! The RAM file system against a host backend: operations, their errors, and hostile
//! input (bad paths, `..`, huge lengths, unknown and other clients' file numbers,
//! exhaustion of the whole file system and of one client's share).

use std::collections::BTreeMap;

use vfs::errno::*;
use vfs::fs::*;

#[derive(Default)]
struct Host {
    chunks: BTreeMap<usize, Vec<u8>>,
    next: usize,
    roms: BTreeMap<usize, Vec<u8>>,
    now: u64,
    /// Refuse allocations beyond this many chunks (the server's memory running out).
    limit: Option<usize>,
    /// Clients whose process has ended (`alive` is false for them).
    dead: std::collections::BTreeSet<u64>,
    /// How many times the file system asked whether a client is alive.
    asked: usize,
}

impl Backend for Host {
    fn alloc_chunk(&mut self) -> Option<usize> {
        if self.limit.is_some_and(|l| self.chunks.len() >= l) {
            return None;
        }
        self.next += 1;
        self.chunks.insert(self.next, vec![0; CHUNK]);
        Some(self.next)
    }
    fn free_chunk(&mut self, id: usize) {
        assert!(self.chunks.remove(&id).is_some(), "double free of {id}");
    }
    fn read_chunk(&mut self, id: usize, offset: usize, buf: &mut [u8]) -> Result<(), i32> {
        let c = self.chunks.get(&id).expect("a live chunk");
        buf.copy_from_slice(&c[offset..offset + buf.len()]);
        Ok(())
    }
    fn write_chunk(&mut self, id: usize, offset: usize, data: &[u8]) -> Result<usize, i32> {
        let c = self.chunks.get_mut(&id).expect("a live chunk");
        c[offset..offset + data.len()].copy_from_slice(data);
        Ok(id)
    }
}

impl vfs::fs::Host for Host {
    fn rom_open(&mut self, name: &str) -> Result<(usize, u64), i32> {
        let data = match name {
            "hello" => b"hello from the ROMFS\n".to_vec(),
            "etc/app/app.conf" => b"level = 3\n".to_vec(),
            _ => return Err(ENOENT),
        };
        self.next += 1;
        let len = data.len() as u64;
        self.roms.insert(self.next, data);
        Ok((self.next, len))
    }
    fn rom_bytes(&mut self, id: usize) -> &[u8] {
        &self.roms[&id]
    }
    fn rom_close(&mut self, id: usize) {
        assert!(self.roms.remove(&id).is_some());
    }
    fn now_ns(&mut self) -> u64 {
        self.now += 1;
        self.now
    }
    fn alive(&mut self, sid: u64) -> bool {
        self.asked += 1;
        !self.dead.contains(&sid)
    }
}

const A: u64 = 100;
const B: u64 = 200;
const RW: u32 = O_READ | O_WRITE;

fn fs() -> Fs<Host> {
    let mut fs = Fs::new(Host::default());
    fs.mkdir(0, "/data", 0o755).unwrap();
    fs
}

#[test]
fn files_are_written_read_and_listed() {
    let mut fs = fs();
    let (f, mode) = fs.open(A, "/data/a.txt", RW | O_CREATE, 0o644).unwrap();
    assert_eq!(mode, S_IFREG | 0o644);
    assert_eq!(fs.write(A, f, None, b"hello").unwrap(), 5);
    assert_eq!(fs.seek(A, f, 0, 0).unwrap(), 0);
    assert_eq!(fs.read(A, f, None, 100).unwrap(), b"hello");
    assert_eq!(fs.read(A, f, None, 100).unwrap(), b"");
    assert_eq!(fs.read(A, f, Some(1), 3).unwrap(), b"ell");
    // A hole reads as zeros; a write across chunks.
    let far = CHUNK as u64 * 2 - 2;
    fs.write(A, f, Some(far), b"abcd").unwrap();
    assert_eq!(fs.fstat(A, f).unwrap().size, far + 4);
    assert_eq!(fs.read(A, f, Some(far - 2), 6).unwrap(), b"\0\0abcd");
    fs.truncate(A, f, 3).unwrap();
    fs.truncate(A, f, 10).unwrap();
    assert_eq!(fs.read(A, f, Some(0), 10).unwrap(), b"hel\0\0\0\0\0\0\0");
    fs.close(A, f).unwrap();
    fs.mkdir(A, "/data/sub", 0o755).unwrap();
    let (d, mode) = fs.open(A, "/data", O_READ | O_DIRECTORY, 0).unwrap();
    assert_eq!(mode & S_IFDIR, S_IFDIR);
    let records = fs.readdir(A, d, 4096).unwrap();
    let names: Vec<String> = parse(&records).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, [".", "..", "a.txt", "sub"]);
    assert!(fs.readdir(A, d, 4096).unwrap().is_empty());
    // Too small a buffer for even one entry.
    fs.seek(A, d, 0, 0).unwrap();
    assert_eq!(fs.readdir(A, d, 8), Err(EINVAL));
    fs.close(A, d).unwrap();
    assert_eq!(fs.open_count(A), 0);
}

fn parse(mut r: &[u8]) -> Vec<(String, u8)> {
    let mut out = Vec::new();
    while r.len() >= 10 {
        let len = r[9] as usize;
        out.push((String::from_utf8(r[10..10 + len].to_vec()).unwrap(), r[8]));
        r = &r[10 + len..];
    }
    out
}

#[test]
fn open_flags_behave_as_on_linux() {
    let mut fs = fs();
    assert_eq!(fs.open(A, "/data/x", O_READ, 0), Err(ENOENT));
    let (f, _) = fs
        .open(A, "/data/x", O_WRITE | O_CREATE | O_EXCL, 0o600)
        .unwrap();
    fs.write(A, f, None, b"12345").unwrap();
    assert_eq!(fs.read(A, f, None, 1), Err(EBADF), "not opened for reading");
    fs.close(A, f).unwrap();
    assert_eq!(
        fs.open(A, "/data/x", O_WRITE | O_CREATE | O_EXCL, 0),
        Err(EEXIST)
    );
    let (f, _) = fs.open(A, "/data/x", O_WRITE | O_APPEND, 0).unwrap();
    fs.write(A, f, None, b"6").unwrap();
    assert_eq!(fs.write(A, f, Some(0), b"0"), Ok(1));
    fs.close(A, f).unwrap();
    assert_eq!(fs.stat("/data/x").unwrap().size, 6);
    let (f, _) = fs.open(A, "/data/x", O_WRITE | O_TRUNC, 0).unwrap();
    assert_eq!(fs.fstat(A, f).unwrap().size, 0);
    assert_eq!(fs.write(A, 99, None, b"x"), Err(EBADF));
    fs.close(A, f).unwrap();
    assert_eq!(fs.open(A, "/data/x", O_READ | O_DIRECTORY, 0), Err(ENOTDIR));
    assert_eq!(fs.open(A, "/data", O_WRITE, 0), Err(EISDIR));
    assert_eq!(fs.open(A, "/data/x/y", O_READ, 0), Err(ENOTDIR));
    assert_eq!(fs.open(A, "/nodir/y", O_WRITE | O_CREATE, 0), Err(ENOENT));
}

#[test]
fn only_canonical_absolute_paths_are_taken() {
    let mut fs = fs();
    for bad in [
        "",
        "data",
        "/data/",
        "//data",
        "/data/./x",
        "/data/../rom/hello",
        "/data//x",
        "/..",
        "/data/x\0",
    ] {
        assert_eq!(
            fs.open(A, bad, RW | O_CREATE, 0).map(|_| ()),
            Err(EINVAL),
            "{bad:?}"
        );
        assert_eq!(fs.stat(bad).map(|_| ()), Err(EINVAL), "{bad:?}");
        assert_eq!(fs.mkdir(A, bad, 0), Err(EINVAL), "{bad:?}");
        assert_eq!(fs.unlink(bad), Err(EINVAL), "{bad:?}");
    }
    let long = format!("/data/{}", "x".repeat(256));
    assert_eq!(fs.mkdir(A, &long, 0), Err(ENAMETOOLONG));
    let huge = "/a".repeat(1000);
    assert_eq!(fs.stat(&huge).map(|_| ()), Err(ENAMETOOLONG));
    assert_eq!(fs.open_count(A), 0);
}

#[test]
fn the_romfs_is_read_only_under_rom() {
    let mut fs = fs();
    let (f, mode) = fs.open(A, "/rom/hello", O_READ, 0).unwrap();
    assert_eq!(mode, S_IFREG | 0o444);
    assert_eq!(fs.read(A, f, None, 5).unwrap(), b"hello");
    assert_eq!(fs.seek(A, f, -6, 2).unwrap(), 15);
    assert_eq!(fs.read(A, f, None, 100).unwrap(), b"ROMFS\n");
    assert_eq!(fs.write(A, f, None, b"x"), Err(EBADF));
    fs.close(A, f).unwrap();
    assert!(fs.backend.roms.is_empty(), "the mapping is released");
    assert_eq!(fs.open(A, "/rom/hello", RW, 0).map(|_| ()), Err(EROFS));
    assert_eq!(
        fs.open(A, "/rom/new", O_WRITE | O_CREATE, 0).map(|_| ()),
        Err(EROFS)
    );
    assert_eq!(
        fs.open(A, "/rom/missing", O_READ, 0).map(|_| ()),
        Err(ENOENT)
    );
    assert_eq!(fs.stat("/rom/hello").unwrap().size, 21);
    assert_eq!(fs.stat("/rom").unwrap().mode, S_IFDIR | 0o555);
    assert_eq!(fs.mkdir(A, "/rom/d", 0), Err(EROFS));
    assert_eq!(fs.mkdir(A, "/rom", 0), Err(EEXIST));
    assert_eq!(fs.unlink("/rom/hello"), Err(EROFS));
    assert_eq!(fs.rmdir("/rom"), Err(EBUSY));
    assert_eq!(fs.rename("/rom/hello", "/data/h"), Err(EROFS));
    assert_eq!(fs.rename("/data", "/rom/d"), Err(EROFS));
    assert_eq!(fs.rename("/rom", "/data/r"), Err(EBUSY));
    let (d, _) = fs.open(A, "/rom", O_READ | O_DIRECTORY, 0).unwrap();
    let names: Vec<String> = parse(&fs.readdir(A, d, 4096).unwrap())
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(names, [".", ".."]);
    fs.close(A, d).unwrap();
}

#[test]
fn a_romfs_name_with_folders_is_a_path_under_rom() {
    let mut fs = fs();
    let (f, mode) = fs.open(A, "/rom/etc/app/app.conf", O_READ, 0).unwrap();
    assert_eq!(mode, S_IFREG | 0o444);
    assert_eq!(fs.read(A, f, None, 100).unwrap(), b"level = 3\n");
    fs.close(A, f).unwrap();
    assert_eq!(fs.stat("/rom/etc/app/app.conf").unwrap().size, 10);
    // The ROMFS holds files only: its folders are not seen, and nothing under /rom changes.
    assert_eq!(fs.stat("/rom/etc").map(|_| ()), Err(ENOENT));
    assert_eq!(fs.stat("/rom/etc/app/other").map(|_| ()), Err(ENOENT));
    assert_eq!(
        fs.open(A, "/rom/etc/app/app.conf", RW, 0).map(|_| ()),
        Err(EROFS)
    );
    assert_eq!(fs.unlink("/rom/etc/app/app.conf"), Err(EROFS));
    assert_eq!(fs.mkdir(A, "/rom/etc/x", 0), Err(EROFS));
    assert_eq!(fs.rename("/rom/etc/app/app.conf", "/data/c"), Err(EROFS));
    assert!(fs.backend.roms.is_empty());
}

#[test]
fn one_client_cannot_use_another_clients_files() {
    let mut fs = fs();
    let (f, _) = fs.open(A, "/data/secret", RW | O_CREATE, 0o600).unwrap();
    fs.write(A, f, None, b"A's").unwrap();
    assert_eq!(fs.read(B, f, Some(0), 10), Err(EBADF));
    assert_eq!(fs.write(B, f, Some(0), b"x"), Err(EBADF));
    assert_eq!(fs.seek(B, f, 0, 0), Err(EBADF));
    assert_eq!(fs.fstat(B, f), Err(EBADF));
    assert_eq!(fs.truncate(B, f, 0), Err(EBADF));
    assert_eq!(fs.readdir(B, f, 100), Err(EBADF));
    assert_eq!(fs.close(B, f), Err(EBADF));
    // B's own file gets B's number 0: the same number, another file.
    let (g, _) = fs.open(B, "/data/other", RW | O_CREATE, 0).unwrap();
    assert_eq!(g, f);
    assert_eq!(fs.read(B, g, Some(0), 10).unwrap(), b"");
    assert_eq!(fs.read(A, f, Some(0), 10).unwrap(), b"A's");
    for n in [u32::MAX, 64, 1 << 31] {
        assert_eq!(fs.read(A, n, None, 1), Err(EBADF));
        assert_eq!(fs.close(A, n), Err(EBADF));
    }
}

#[test]
fn unlinked_files_live_while_open_and_directories_must_be_empty() {
    let mut fs = fs();
    let (f, _) = fs.open(A, "/data/tmp", RW | O_CREATE, 0).unwrap();
    fs.write(A, f, None, &[7; 40_000]).unwrap();
    let used = fs.chunks_used();
    fs.unlink("/data/tmp").unwrap();
    assert_eq!(fs.stat("/data/tmp"), Err(ENOENT));
    assert_eq!(fs.read(A, f, Some(39_999), 5).unwrap(), [7]);
    assert_eq!(fs.chunks_used(), used);
    fs.close(A, f).unwrap();
    assert_eq!(fs.chunks_used(), 0);
    assert!(fs.backend.chunks.is_empty());
    fs.mkdir(A, "/data/d", 0o755).unwrap();
    fs.mkdir(A, "/data/d/e", 0o755).unwrap();
    assert_eq!(fs.rmdir("/data/d"), Err(ENOTEMPTY));
    assert_eq!(fs.unlink("/data/d"), Err(EISDIR));
    assert_eq!(fs.rmdir("/"), Err(EBUSY));
    assert_eq!(fs.rename("/data/d", "/data/d/e/f"), Err(EINVAL));
    fs.rename("/data/d/e", "/data/e").unwrap();
    fs.rmdir("/data/d").unwrap();
    assert_eq!(fs.rmdir("/data/d"), Err(ENOENT));
    // A rename over a file replaces it.
    for (name, text) in [("/data/x", b"x"), ("/data/y", b"y")] {
        let (f, _) = fs.open(A, name, O_WRITE | O_CREATE, 0).unwrap();
        fs.write(A, f, None, text).unwrap();
        fs.close(A, f).unwrap();
    }
    fs.rename("/data/x", "/data/y").unwrap();
    let (f, _) = fs.open(A, "/data/y", O_READ, 0).unwrap();
    assert_eq!(fs.read(A, f, None, 5).unwrap(), b"x");
    assert_eq!(fs.rename("/data/y", "/data/e"), Err(EISDIR));
    assert_eq!(fs.rename("/data/e", "/data/y"), Err(ENOTDIR));
    assert_eq!(fs.rename("/data/none", "/data/z"), Err(ENOENT));
}

#[test]
fn a_client_cannot_exhaust_the_server() {
    let mut fs = fs();
    // Open files: CLIENT_FILES each, then EMFILE; others are not affected.
    let (f, _) = fs.open(A, "/data/f", RW | O_CREATE, 0).unwrap();
    fs.close(A, f).unwrap();
    let mut open = Vec::new();
    loop {
        match fs.open(A, "/data/f", O_READ, 0) {
            Ok((f, _)) => open.push(f),
            Err(e) => {
                assert_eq!(e, EMFILE);
                break;
            }
        }
    }
    assert_eq!(open.len(), CLIENT_FILES);
    assert!(fs.open(B, "/data/f", O_READ, 0).is_ok());
    for f in open {
        fs.close(A, f).unwrap();
    }
    // Data: CLIENT_CHUNKS each, then ENOSPC; the file is at most FILE_MAX bytes.
    let (f, _) = fs.open(A, "/data/big", RW | O_CREATE, 0).unwrap();
    assert_eq!(fs.write(A, f, Some(FILE_MAX), b"x"), Err(EFBIG));
    assert_eq!(fs.write(A, f, Some(u64::MAX - 1), b"xy"), Err(EFBIG));
    assert_eq!(fs.truncate(A, f, u64::MAX), Err(EFBIG));
    assert_eq!(fs.seek(A, f, i64::MIN, 0), Err(EINVAL));
    assert_eq!(fs.seek(A, f, 0, 7), Err(EINVAL));
    let piece = vec![1u8; CHUNK];
    let mut written = 0u64;
    while let Ok(n) = fs.write(A, f, None, &piece) {
        written += n as u64;
        if n == 0 {
            break;
        }
    }
    assert_eq!(written, FILE_MAX);
    assert_eq!(fs.chunks_used(), CLIENT_CHUNKS);
    let (g, _) = fs.open(A, "/data/more", RW | O_CREATE, 0).unwrap();
    assert_eq!(fs.write(A, g, None, b"x"), Err(ENOSPC));
    // B still has its share.
    let (h, _) = fs.open(B, "/data/b", RW | O_CREATE, 0).unwrap();
    assert_eq!(fs.write(B, h, None, &piece), Ok(CHUNK));
    // And the whole file system its bound: a third client finds it full.
    let mut n = 0;
    while fs.write(B, h, None, &piece).is_ok() {
        n += 1;
    }
    assert!(n < CLIENT_CHUNKS);
    assert!(fs.chunks_used() <= MAX_CHUNKS);
    let (k, _) = fs.open(300, "/data/c", RW | O_CREATE, 0).unwrap();
    assert_eq!(fs.write(300, k, None, b"x"), Err(ENOSPC));
    // Freeing gives it back.
    fs.truncate(A, f, 0).unwrap();
    assert_eq!(fs.write(300, k, None, b"x"), Ok(1));
    // Nodes: CLIENT_NODES each.
    let mut made = 0;
    while fs.mkdir(400, &format!("/data/n{made}"), 0).is_ok() {
        made += 1;
    }
    assert_eq!(made, CLIENT_NODES);
    assert_eq!(fs.mkdir(400, "/data/one-more", 0), Err(ENOSPC));
}

#[test]
fn the_servers_memory_running_out_is_enospc() {
    let mut fs = Fs::new(Host {
        limit: Some(1),
        ..Host::default()
    });
    let (f, _) = fs.open(A, "/f", RW | O_CREATE, 0).unwrap();
    assert_eq!(fs.write(A, f, None, &vec![1; CHUNK + 1]), Err(ENOSPC));
    assert_eq!(fs.fstat(A, f).unwrap().size, 0);
    assert_eq!(fs.chunks_used(), 0);
    assert_eq!(fs.write(A, f, None, &[1; 10]), Ok(10));
}

#[test]
fn names_are_bounded_in_all() {
    let mut fs = fs();
    let long = |i: usize| format!("/data/{i:03}{}", "n".repeat(252));
    let mut made = 0;
    let err = loop {
        match fs.mkdir(A + made as u64 / 200, &long(made), 0) {
            Ok(()) => made += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, ENOSPC);
    assert!(made * 255 <= NAME_BYTES && (made + 1) * 255 > NAME_BYTES - 16);
    // A rename to a name of the same length fits; to a longer one, when full, is refused
    // as a whole; removing a name gives room back.
    fs.rename(&long(0), &long(999)).unwrap();
    while fs.mkdir(A + 9, &format!("/data/{made}"), 0).is_ok() {
        made += 1;
    }
    let short = format!("/data/{}", made - 1);
    assert_eq!(fs.rename(&short, &long(997)), Err(ENOSPC));
    assert!(fs.stat(&short).is_ok());
    fs.rmdir(&long(999)).unwrap();
    fs.mkdir(A, &long(998), 0).unwrap();
}

const C: u64 = 300;

#[test]
fn a_granted_file_is_shared_with_its_position() {
    let mut fs = fs();
    let (f, _) = fs.open(A, "/data/shared", RW | O_CREATE, 0o644).unwrap();
    fs.write(A, f, None, b"parent ").unwrap();
    // Granted under the receiver's tag 1 (its stdout); nothing waits for anyone else.
    fs.grant(A, f, B, 1).unwrap();
    assert_eq!(fs.grant_count(B), 1);
    assert_eq!(fs.inherited(C).unwrap(), []);
    let taken = fs.inherited(B).unwrap();
    assert_eq!(taken.len(), 1);
    let (tag, g) = taken[0];
    assert_eq!(tag, 1);
    // One open file: the receiver writes where the granter left off, and the other way.
    fs.write(B, g, None, b"child ").unwrap();
    fs.write(A, f, None, b"again").unwrap();
    assert_eq!(fs.read(A, f, Some(0), 100).unwrap(), b"parent child again");
    assert_eq!(fs.seek(B, g, 0, 1).unwrap(), 18);
    // Each side closes its own number; the file stays open for the other.
    fs.close(A, f).unwrap();
    assert_eq!(fs.read(B, g, Some(0), 6).unwrap(), b"parent");
    assert_eq!(fs.read(A, f, Some(0), 6), Err(EBADF));
    // Unlinked while the receiver holds it: readable until its last close frees it.
    fs.unlink("/data/shared").unwrap();
    assert_eq!(fs.read(B, g, Some(7), 5).unwrap(), b"child");
    let used = fs.chunks_used();
    assert!(used > 0);
    fs.close(B, g).unwrap();
    assert_eq!(fs.chunks_used(), 0);
    assert_eq!(fs.open_count(A) + fs.open_count(B), 0);
}

#[test]
fn grants_are_taken_once_and_only_by_their_receiver() {
    let mut fs = fs();
    let (f, _) = fs.open(A, "/data/x", RW | O_CREATE, 0o644).unwrap();
    fs.write(A, f, None, b"secret").unwrap();
    fs.grant(A, f, B, 0).unwrap();
    // Another client takes nothing and cannot use the granter's number.
    assert_eq!(fs.inherited(C).unwrap(), []);
    assert_eq!(fs.read(C, f, Some(0), 6), Err(EBADF));
    let taken = fs.inherited(B).unwrap();
    assert_eq!(taken.len(), 1);
    // Taking again finds nothing: the grant was consumed.
    assert_eq!(fs.inherited(B).unwrap(), []);
    assert_eq!(fs.open_count(B), 1);
    // The receiver cannot grant onwards what it does not hold, nor a number of the
    // granter's that it does not have; a grant of its own file is fine.
    assert_eq!(fs.grant(B, 7, C, 0), Err(EBADF));
    assert_eq!(fs.grant(C, f, B, 0), Err(EBADF));
    fs.grant(B, taken[0].1, C, 0).unwrap();
    let (_, h) = fs.inherited(C).unwrap()[0];
    assert_eq!(fs.read(C, h, Some(0), 6).unwrap(), b"secret");
}

#[test]
fn hostile_grants_are_refused() {
    let mut fs = fs();
    let (f, _) = fs.open(A, "/data/y", RW | O_CREATE, 0o644).unwrap();
    // To nobody (SID 0), to oneself, of an unknown number.
    assert_eq!(fs.grant(A, f, 0, 0), Err(EINVAL));
    assert_eq!(fs.grant(A, f, A, 0), Err(EINVAL));
    assert_eq!(fs.grant(A, 63, B, 0), Err(EBADF));
    assert_eq!(fs.grant(A, u32::MAX, B, 0), Err(EBADF));
    // One grant per tag.
    fs.grant(A, f, B, 5).unwrap();
    assert_eq!(fs.grant(A, f, B, 5), Err(EEXIST));
    // At most CLIENT_GRANTS wait for one receiver.
    for tag in 0..CLIENT_GRANTS as u32 - 1 {
        fs.grant(A, f, B, 100 + tag).unwrap();
    }
    assert_eq!(fs.grant_count(B), CLIENT_GRANTS);
    assert_eq!(fs.grant(A, f, B, 9999), Err(EMFILE));
    // At most MAX_CLIENTS receivers (SIDs nobody may ever use included).
    let mut to = 1000;
    let err = loop {
        match fs.grant(A, f, to, 0) {
            Ok(()) => to += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, ENFILE);
    assert_eq!(to - 1000, MAX_CLIENTS as u64 - 1);
    // Withdrawing gives all of them back; the file closes with the granter's last number.
    assert_eq!(fs.withdraw(A, B), CLIENT_GRANTS);
    for s in 1000..to {
        assert_eq!(fs.withdraw(A, s), 1);
    }
    // Another client cannot withdraw the granter's grants.
    fs.grant(A, f, B, 1).unwrap();
    assert_eq!(fs.withdraw(C, B), 0);
    assert_eq!(fs.grant_count(B), 1);
    assert_eq!(fs.withdraw(A, B), 1);
    fs.unlink("/data/y").unwrap();
    fs.write(A, f, None, &[1; 10]).unwrap();
    assert!(fs.chunks_used() > 0);
    fs.close(A, f).unwrap();
    assert_eq!(fs.chunks_used(), 0);
}

#[test]
fn inherited_is_all_or_nothing() {
    let mut fs = fs();
    let (f, _) = fs.open(A, "/data/z", RW | O_CREATE, 0o644).unwrap();
    fs.grant(A, f, B, 0).unwrap();
    fs.grant(A, f, B, 1).unwrap();
    // The receiver's table has room for one only.
    let mut mine = Vec::new();
    while fs.open_count(B) < CLIENT_FILES - 1 {
        mine.push(fs.open(B, "/rom/hello", O_READ, 0).unwrap().0);
    }
    assert_eq!(fs.inherited(B), Err(EMFILE));
    assert_eq!(fs.grant_count(B), 2);
    fs.close(B, mine.pop().unwrap()).unwrap();
    let taken = fs.inherited(B).unwrap();
    assert_eq!(taken.iter().map(|t| t.0).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(fs.open_count(B), CLIENT_FILES);
    // Both numbers name the one open file: its position is shared.
    fs.write(B, taken[0].1, None, b"ab").unwrap();
    fs.write(B, taken[1].1, None, b"cd").unwrap();
    assert_eq!(fs.read(A, f, Some(0), 10).unwrap(), b"abcd");
}

#[test]
fn clients_that_ended_without_closing_are_reclaimed_when_room_is_needed() {
    let mut fs = fs();
    // MAX_CLIENTS clients each hold two numbers; the first one's file is unlinked with
    // data in it, so only its open numbers keep the data.
    let first = 5000;
    let mut files = Vec::new();
    for c in 0..MAX_CLIENTS as u64 {
        let path = format!("/data/c{c}");
        let (f, _) = fs.open(first + c, &path, RW | O_CREATE, 0o644).unwrap();
        fs.open(first + c, &path, O_READ, 0).unwrap();
        files.push(f);
    }
    fs.write(first, files[0], None, &[7; 100]).unwrap();
    fs.unlink("/data/c0").unwrap();
    let used = fs.chunks_used();
    // While they all live, another client gets ENFILE, after asking about each once.
    assert_eq!(fs.open(A, "/data/a", RW | O_CREATE, 0o644), Err(ENFILE));
    assert_eq!(fs.backend.asked, MAX_CLIENTS);
    assert_eq!(fs.client_count(), MAX_CLIENTS);
    // Two of them end (killed: nothing closed). The next open reclaims both tables.
    fs.backend.dead.insert(first);
    fs.backend.dead.insert(first + 1);
    let (a, _) = fs.open(A, "/data/a", RW | O_CREATE, 0o644).unwrap();
    assert_eq!(fs.client_count(), MAX_CLIENTS - 1);
    assert_eq!(fs.open_count(first), 0);
    assert_eq!(fs.open_count(first + 1), 0);
    assert_eq!(
        fs.chunks_used(),
        used - 1,
        "the unlinked file's data went with them"
    );
    assert_eq!(fs.read(first, files[0], Some(0), 1), Err(EBADF));
    // The live clients keep theirs; with a slot free nobody is asked again.
    let asked = fs.backend.asked;
    fs.write(first + 2, files[2], None, b"still").unwrap();
    assert_eq!(fs.open_count(first + 2), 2);
    fs.open(B, "/data/b", RW | O_CREATE, 0o644).unwrap();
    assert_eq!(fs.backend.asked, asked);
    // Grants waiting for receivers that ended are dropped to make room; a grant a dead
    // client made to a live one stays, and the receiver takes it.
    let mut to = 9000;
    while fs.grant(A, a, to, 0).is_ok() {
        to += 1;
    }
    assert_eq!(fs.grant(A, a, to, 0), Err(ENFILE));
    fs.backend.dead.insert(9000);
    fs.grant(A, a, to, 0).unwrap();
    assert_eq!(fs.grant_count(9000), 0);
    fs.grant(first + 2, files[2], 9001, 1).unwrap();
    fs.backend.dead.insert(first + 2);
    assert_eq!(fs.reclaim(), 1);
    assert_eq!(fs.open_count(first + 2), 0);
    let taken = fs.inherited(9001).unwrap();
    assert_eq!(taken.len(), 2);
    let (_, mine) = taken.iter().find(|(tag, _)| *tag == 1).copied().unwrap();
    assert_eq!(fs.read(9001, mine, Some(0), 100).unwrap(), b"still");
}
