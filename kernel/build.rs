//! Build script of the kernel:
//! - selects the linker script of the target architecture (each script lives next to the arch
//!   code that depends on its symbols);
//! - chooses the ROMFS archive to embed: the file named by `OSTROG_ROMFS` (written by the
//!   image builder), or an empty archive.

use std::path::PathBuf;

/// A cpio (newc) archive holding only the end-of-archive marker.
fn empty_archive() -> Vec<u8> {
    let name = b"TRAILER!!!\0";
    let mut header = String::from("070701");
    // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
    // namesize, check
    for field in [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, name.len(), 0] {
        header.push_str(&format!("{field:08x}"));
    }
    let mut bytes = header.into_bytes();
    bytes.extend_from_slice(name);
    while bytes.len() % 4 != 0 {
        bytes.push(0);
    }
    bytes
}

fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let script = format!("{dir}/src/arch/{arch}/linker.ld");
    if std::path::Path::new(&script).exists() {
        println!("cargo:rustc-link-arg-bins=-T{script}");
        println!("cargo:rerun-if-changed={script}");
    }

    println!("cargo:rerun-if-env-changed=OSTROG_ROMFS");
    let romfs = match std::env::var_os("OSTROG_ROMFS") {
        Some(path) => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            path
        }
        None => {
            let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
            let path = out.join("empty.cpio");
            if let Err(e) = std::fs::write(&path, empty_archive()) {
                panic!("cannot write {}: {e}", path.display());
            }
            path
        }
    };
    println!("cargo:rustc-env=OSTROG_ROMFS_FILE={}", romfs.display());
    println!("cargo:rerun-if-changed=build.rs");
}
