//! DiskCrashedBlock: a 4 MiB disk in memory whose power was cut in the middle of a write
//! loop, served as kl.drivers.Block. Before serving, it runs the disk file system itself
//! (the `vfs` library, as VfsSdCardFs does) on the fresh disk: /data/Checker/log gets
//! 64-byte records, each fsync'ed, until the power is cut at a fixed sector write (that
//! sector torn: half new, half old; nothing written after it lands). The checker then
//! reads the disk through disk.CrashedFs, a VfsSdCardFs that mounts it as after a reboot.
#![no_std]
#![no_main]

use disk_blocks::idl::disk_crashed_disk::{self, CrashedDiskEndpoints};
use disk_blocks::idl::kl_drivers_block::BlockServer;
use disk_blocks::{RamBlock, SECTORS};
use vfs::disk::{self, BlockDevice, SECTOR};
use vfs::errno::{EIO, ENOENT};
use vfs::fs::{Host, O_APPEND, O_CREATE, O_WRITE, R};

ostrog_rt::main!(main);

struct Disk(RamBlock);

impl CrashedDiskEndpoints for Disk {
    fn blk(&mut self) -> &mut dyn BlockServer {
        &mut self.0
    }
}

/// The sector write the power is cut at.
const CUT_AT: u64 = 1017;
/// Bytes of a record.
const RECORD: usize = 64;

/// The disk until the power is cut.
struct Powered<'a> {
    disk: &'a mut [u8],
    writes: u64,
}

impl BlockDevice for Powered<'_> {
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> R<()> {
        let at = sector as usize * SECTOR;
        match (self.writes > CUT_AT, self.disk.get(at..at + buf.len())) {
            (false, Some(bytes)) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            _ => Err(EIO),
        }
    }

    fn write(&mut self, sector: u64, data: &[u8]) -> R<()> {
        for (i, new) in data.chunks(SECTOR).enumerate() {
            let at = (sector as usize + i) * SECTOR;
            let Some(old) = self.disk.get_mut(at..at + SECTOR) else {
                return Err(EIO);
            };
            if self.writes >= CUT_AT {
                if self.writes == CUT_AT {
                    old[..SECTOR / 2].copy_from_slice(&new[..SECTOR / 2]);
                }
                self.writes = CUT_AT + 1;
                return Err(EIO);
            }
            old.copy_from_slice(new);
            self.writes += 1;
        }
        Ok(())
    }

    fn flush(&mut self) -> R<()> {
        match self.writes > CUT_AT {
            true => Err(EIO),
            false => Ok(()),
        }
    }
}

/// No ROMFS and no clock are needed here.
struct Nothing;

impl Host for Nothing {
    fn rom_open(&mut self, _name: &str) -> R<(usize, u64)> {
        Err(ENOENT)
    }
    fn rom_bytes(&mut self, _id: usize) -> &[u8] {
        &[]
    }
    fn rom_close(&mut self, _id: usize) {}
    fn now_ns(&mut self) -> u64 {
        0
    }
}

/// Record `i`: its number, then letters that depend on it, then a newline.
fn record(i: usize) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    let head = [
        b'r',
        b'0' + (i / 1000 % 10) as u8,
        b'0' + (i / 100 % 10) as u8,
        b'0' + (i / 10 % 10) as u8,
        b'0' + (i % 10) as u8,
        b' ',
    ];
    r[..head.len()].copy_from_slice(&head);
    for (k, b) in r.iter_mut().enumerate().skip(head.len()) {
        *b = b'a' + ((i * 7 + k) % 26) as u8;
    }
    r[RECORD - 1] = b'\n';
    r
}

/// Writes fsync'ed records until the power goes: how many were fsync'ed.
fn write_loop(disk: &mut [u8]) -> Option<usize> {
    let dev = Powered { disk, writes: 0 };
    let (mut fs, _) = disk::mount(dev, SECTORS, Nothing).ok()?;
    fs.mkdir(1, "/data/Checker", 0o755).ok()?;
    let (f, _) = fs
        .open(1, "/data/Checker/log", O_WRITE | O_CREATE | O_APPEND, 0o644)
        .ok()?;
    let mut synced = 0;
    for i in 0..10_000 {
        if fs.write(1, f, None, &record(i)) != Ok(RECORD) || fs.fsync(1, f).is_err() {
            break;
        }
        synced = i + 1;
    }
    Some(synced)
}

fn main() -> i32 {
    let Some(memory) = disk_blocks::memory() else {
        ostrog_rt::println!("crashed-disk: no memory for the disk");
        return 1;
    };
    match write_loop(memory) {
        Some(n) => ostrog_rt::println!(
            "crashed-disk: the power was cut at sector write {CUT_AT}, during record {n}; \
             {n} records were fsync'ed"
        ),
        None => {
            ostrog_rt::println!("crashed-disk: the write loop did not start");
            return 1;
        }
    }
    let mut disk = Disk(RamBlock { disk: memory });
    ostrog_rt::server::serve("crashed-disk", |_header, request| {
        disk_crashed_disk::dispatch(&mut disk, request)
    })
}
