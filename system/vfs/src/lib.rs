//! VfsRamFs, the VFS server of `kl.VfsRamFs` (interface `kl.Vfs`, sysroot/kl/Vfs.idl): a RAM
//! file system with the ROMFS read-only under `/rom`. The file system ([`fs`]) is independent
//! of the kernel and unit-tested on the host; the native server (`src/main.rs`) puts it
//! behind the generated dispatcher. See docs/files.md.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod disk;
pub mod errno;
pub mod fs;
pub mod snapshot;
