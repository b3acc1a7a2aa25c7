//! DiskRamBlock: a fresh (all-zero) 4 MiB disk in memory, served as kl.drivers.Block.
#![no_std]
#![no_main]

use disk_blocks::idl::disk_ram_disk::{self, RamDiskEndpoints};
use disk_blocks::idl::kl_drivers_block::BlockServer;
use disk_blocks::RamBlock;

ostrog_rt::main!(main);

struct Disk(RamBlock);

impl RamDiskEndpoints for Disk {
    fn blk(&mut self) -> &mut dyn BlockServer {
        &mut self.0
    }
}

fn main() -> i32 {
    let Some(disk) = disk_blocks::memory() else {
        ostrog_rt::println!("ram-disk: no memory for the disk");
        return 1;
    };
    let mut disk = Disk(RamBlock { disk });
    ostrog_rt::server::serve("ram-disk", |_header, request| {
        disk_ram_disk::dispatch(&mut disk, request)
    })
}
