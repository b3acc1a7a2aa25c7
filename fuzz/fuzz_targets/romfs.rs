//! Arbitrary bytes as a ROMFS image: the reader must accept or refuse; what it accepts
//! lists only valid entries, finds each by its name, and writes back (through the writer)
//! into an archive with the same files.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(archive) = ostrog_romfs::Archive::new(data) {
        ostrog_fuzz::check_archive(&archive);
    }
});
