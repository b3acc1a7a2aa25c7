//! The VFS servers of interface `kl.Vfs` (sysroot/kl/Vfs.idl): VfsRamFs (`kl.VfsRamFs`, a
//! RAM file system) and VfsSdCardFs (`kl.VfsSdCardFs`, the same tree on a disk, crash-safe:
//! [`disk`], [`snapshot`]), both with the ROMFS read-only under `/rom`. The file systems are
//! independent of the kernel and unit-tested on the host; the native servers (`src/main.rs`,
//! `src/sdcard.rs`) put them behind the generated dispatcher. See docs/files.md.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod disk;
pub mod errno;
pub mod fs;
pub mod snapshot;
