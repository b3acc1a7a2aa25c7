//! VfsRamFs: serves kl.Vfs on its endpoint `vfs` with the RAM file system of the `vfs`
//! library, until no client can reach it. File data lives in chunks of memory from
//! `vmm.Allocate`; ROMFS files are mapped with `romfs.Read` and `vmm.Map` while open.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod server;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("VfsRamFs: the VFS server runs on Ostrog only (build it for a bare-metal target)");
    std::process::exit(1);
}
