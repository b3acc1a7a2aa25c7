//! Build script of the kernel:
//! - selects the linker script of the target architecture (each script lives next to the arch
//!   code that depends on its symbols);
//! - chooses the ROMFS archive to embed: the file named by `OSTROG_ROMFS` (written by the
//!   image builder), or an empty archive;
//! - chooses the security module: the Rust file named by `OSTROG_KSM` (generated from the
//!   solution's policy, or a hand-written test module). Without one the build fails, unless
//!   `OSTROG_INSECURE=1` asks for an insecure kernel explicitly (it grants everything and
//!   says so at boot).

// A build script reports failure by panicking; the kernel's deny list is for the kernel.
#![allow(clippy::panic)]

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

/// Generates the server side of the core endpoints from `sysroot/kl/core` into `OUT_DIR`.
fn generate_core_endpoints(manifest_dir: &str) {
    let sysroot = PathBuf::from(manifest_dir).join("../sysroot");
    ostrog_spec::generate_in_build_script(
        &sysroot.join("kl/core"),
        std::slice::from_ref(&sysroot),
        None,
    );
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

    println!("cargo:rerun-if-env-changed=OSTROG_KSM");
    println!("cargo:rerun-if-env-changed=OSTROG_INSECURE");
    let ksm = match std::env::var_os("OSTROG_KSM") {
        Some(path) => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            path
        }
        None if std::env::var("OSTROG_INSECURE").as_deref() == Ok("1") => {
            let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
            let path = out.join("insecure_ksm.rs");
            let text = "pub const INSECURE: bool = true;\n\
                        pub const SOLUTION: &str = \"(none)\";\n\
                        pub fn module() -> alloc::boxed::Box<dyn ostrog_ksm::SecurityModule> {\n    \
                            alloc::boxed::Box::new(crate::security::GrantAll::default())\n}\n";
            if let Err(e) = std::fs::write(&path, text) {
                panic!("cannot write {}: {e}", path.display());
            }
            path
        }
        None => {
            eprintln!(
                "error: no security module: set OSTROG_KSM to the module generated from the \
                 solution's policy (`cargo ostrog build` does this), or OSTROG_INSECURE=1 to \
                 build an insecure kernel that grants every event"
            );
            std::process::exit(1);
        }
    };
    println!("cargo:rustc-env=OSTROG_KSM_FILE={}", ksm.display());

    generate_core_endpoints(&dir);
    println!("cargo:rerun-if-changed=build.rs");
}
