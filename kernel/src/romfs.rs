//! The ROMFS: the read-only file system built into the kernel image.
//!
//! The image builder packs the solution's executables into a cpio (newc) archive and the
//! kernel's build script embeds it (`OSTROG_ROMFS` at build time; an empty archive when
//! unset). Files are used in place: nothing is copied until a program is loaded.

use ostrog_romfs::Archive;

static IMAGE: &[u8] = include_bytes!(env!("OSTROG_ROMFS_FILE"));

/// The contents of the file `name`, if the ROMFS has it.
pub fn find(name: &str) -> Option<&'static [u8]> {
    Archive::new(IMAGE).ok()?.find(name)
}

/// Prints the files in the ROMFS (for the boot log).
pub fn list() {
    match Archive::new(IMAGE) {
        Ok(archive) => {
            for entry in archive.entries().flatten() {
                println!("romfs: {} ({} bytes)", entry.name, entry.data.len());
            }
        }
        Err(e) => println!("romfs: the built-in archive is damaged: {e}"),
    }
}
