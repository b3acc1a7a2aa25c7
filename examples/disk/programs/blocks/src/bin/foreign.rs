//! DiskForeignBlock: a 4 MiB disk in memory holding another format (a FAT-like boot
//! sector), served as kl.drivers.Block. The disk VFS server must leave it as it is.
#![no_std]
#![no_main]

use disk_blocks::idl::disk_foreign_disk::{self, ForeignDiskEndpoints};
use disk_blocks::idl::kl_drivers_block::BlockServer;
use disk_blocks::RamBlock;

ostrog_rt::main!(main);

struct Disk(RamBlock);

impl ForeignDiskEndpoints for Disk {
    fn blk(&mut self) -> &mut dyn BlockServer {
        &mut self.0
    }
}

/// The first bytes of a FAT boot sector: a jump, an OEM name, 512 bytes a sector.
const BOOT: [u8; 13] = [
    0xeb, 0x3c, 0x90, b'M', b'S', b'D', b'O', b'S', b'5', b'.', b'0', 0x00, 0x02,
];

fn main() -> i32 {
    let Some(disk) = disk_blocks::memory() else {
        ostrog_rt::println!("foreign-disk: no memory for the disk");
        return 1;
    };
    disk[..BOOT.len()].copy_from_slice(&BOOT);
    disk[510] = 0x55;
    disk[511] = 0xaa;
    let mut boot = [0u8; 512];
    boot.copy_from_slice(&disk[..512]);
    let mut disk = Disk(RamBlock { disk });
    let status = ostrog_rt::server::serve("foreign-disk", |_header, request| {
        disk_foreign_disk::dispatch(&mut disk, request)
    });
    // The server never wrote to it.
    let untouched = disk.0.disk[..512] == boot && disk.0.disk[512..].iter().all(|&b| b == 0);
    ostrog_rt::println!("foreign-disk: left as it was: {untouched}");
    status
}
