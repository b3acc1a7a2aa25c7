//! Build script of the kernel library:
//! - names the linker script of the target architecture for the kernel binary, whose build
//!   script reads it as `DEP_OSTROG_KERNEL_LINKER_SCRIPT` (each script lives next to the
//!   arch code that depends on its symbols);
//! - generates the server side of the core endpoints.
//!
//! The security module and the ROMFS are the kernel binary's (see `ostrog_kernel::main!`):
//! nothing here depends on the solution.

use std::path::PathBuf;

/// Generates the server side of the core endpoints from `sysroot/kl/core` into `OUT_DIR`.
fn generate_core_endpoints(manifest_dir: &str) {
    let sysroot = PathBuf::from(manifest_dir).join("../sysroot");
    ostrog_idl::generate_in_build_script(
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
        println!("cargo:linker_script={script}");
        println!("cargo:rerun-if-changed={script}");
    }
    generate_core_endpoints(&dir);
    println!("cargo:rerun-if-changed=build.rs");
}
