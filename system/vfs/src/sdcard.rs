//! VfsSdCardFs: serves kl.Vfs on its endpoint `vfs` with the disk file system of the `vfs`
//! library (`vfs::disk`) on the block device behind its channel `blk` (kl.drivers.Block),
//! until no client can reach it. A fresh (all-zero) disk is formatted; a disk it cannot
//! use (another format, damaged, read-only, too small) is left as it is, reported on the
//! console, and every request is answered EIO. See docs/files.md.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

// Generated from sysroot/kl: this program uses only part of it.
#[cfg(target_os = "none")]
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

#[cfg(target_os = "none")]
mod blk;
#[cfg(target_os = "none")]
mod rom;
#[cfg(target_os = "none")]
mod server;

#[cfg(target_os = "none")]
mod sdcard {
    use ostrog_rt::println;
    use ostrog_rt::sys::Channel;
    use vfs::disk::{self, Disk, MountError, Mounted, DATA_START, MIN_BLOCKS};
    use vfs::fs::{Fs, CHUNK};

    use crate::blk::Blk;
    use crate::idl;
    use crate::idl::kl_vfs::VfsServer;
    use crate::rom::Rom;
    use crate::server::Server;

    ostrog_rt::main!(main);

    const ME: &str = "VfsSdCardFs";

    impl idl::kl_vfs_sd_card_fs::VfsSdCardFsEndpoints for Server<Disk<Blk, Rom>> {
        fn vfs(&mut self) -> &mut dyn VfsServer {
            self
        }
    }

    /// The file system on the disk behind `blk`, or `None` after saying why not.
    fn start() -> Option<Fs<Disk<Blk, Rom>>> {
        let Ok(channel) = Channel::lookup("blk") else {
            println!("{ME}: no channel named blk (to the block driver)");
            return None;
        };
        let mut blk = Blk::new(channel);
        let (sectors, readonly) = match blk.info() {
            Ok(info) => info,
            Err(e) => {
                println!("{ME}: the block driver does not answer Info (errno {e})");
                return None;
            }
        };
        if readonly {
            println!(
                "{ME}: the disk is read-only, which is not supported: every request fails with EIO"
            );
            return None;
        }
        match disk::mount(blk, sectors, Rom::default()) {
            Ok((fs, how)) => {
                let mib = fs.backend.blocks() * CHUNK / (1024 * 1024);
                match how {
                    Mounted::Formatted => {
                        println!("{ME}: formatted the empty disk: {mib} MiB for files")
                    }
                    Mounted::Found(seq) => {
                        println!("{ME}: mounted the disk ({mib} MiB for files, commit {seq})")
                    }
                }
                Some(fs)
            }
            Err(MountError::Foreign) => {
                println!(
                    "{ME}: the disk is neither empty nor an Ostrog file system (another format, \
                     or damaged): left as it is; every request fails with EIO"
                );
                None
            }
            Err(MountError::TooSmall) => {
                let least = (DATA_START + MIN_BLOCKS as u64 * (CHUNK as u64 / 512)) / 2;
                println!(
                    "{ME}: the disk ({sectors} sectors) is smaller than {least} KiB: every \
                     request fails with EIO"
                );
                None
            }
            Err(MountError::Device(e)) => {
                println!("{ME}: the disk cannot be read (errno {e}): every request fails with EIO");
                None
            }
        }
    }

    fn main() -> i32 {
        let mut server = Server {
            fs: start(),
            sid: 0,
        };
        ostrog_rt::server::serve(ME, |header, request| {
            server.sid = header.src_sid;
            idl::kl_vfs_sd_card_fs::dispatch(&mut server, request)
        })
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("VfsSdCardFs: the VFS server runs on Ostrog only (build it for a bare-metal target)");
    std::process::exit(1);
}
