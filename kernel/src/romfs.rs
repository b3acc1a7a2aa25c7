//! The ROMFS: the read-only file system built into the kernel image.
//!
//! The image builder packs the solution's executables into a cpio (newc) archive; the
//! kernel binary embeds it and hands it to [`crate::run`], which installs it here before
//! anything reads it. Files are used in place: nothing is copied until a program is loaded.

use ostrog_romfs::Archive;
use spin::Once;

/// The archive the kernel binary embeds; empty until [`install`].
static IMAGE: Once<&'static [u8]> = Once::new();

/// Installs the kernel binary's archive. Called once at boot; a second call changes nothing.
pub fn install(archive: &'static [u8]) {
    IMAGE.call_once(|| archive);
}

fn image() -> &'static [u8] {
    IMAGE.get().copied().unwrap_or_default()
}

/// The contents of the file `name`, if the ROMFS has it.
pub fn find(name: &str) -> Option<&'static [u8]> {
    Archive::new(image()).ok()?.find(name)
}

/// Prints the files in the ROMFS (for the boot log).
pub fn list() {
    match Archive::new(image()) {
        Ok(archive) => {
            for entry in archive.entries().flatten() {
                println!("romfs: {} ({} bytes)", entry.name, entry.data.len());
            }
        }
        Err(e) => println!("romfs: the built-in archive is damaged: {e}"),
    }
}
