//! The Ostrog host tool as a library: used by the `cargo ostrog` command and by `cargo xtask`.
//!
//! - [`setup`]: installs what is missing on a fresh Debian machine (QEMU, Rust targets).
//! - [`arch`]: the target architectures and how each is emulated.
//! - [`kernel`]: builds the kernel image for an architecture.
//! - [`linux`]: the Linux programs of a solution (built for musl, or prebuilt) and the
//!   personality that runs them.
//! - [`qemu`]: boots an image, on the terminal or captured with a timeout, and decodes the
//!   status the kernel reported when it powered off.

pub mod arch;
pub mod expand;
pub mod files;
pub mod fill;
pub mod graph;
pub mod image;
pub mod iso;
pub mod kernel;
pub mod linux;
pub mod qemu;
pub mod sdk;
pub mod setup;
pub mod solution;
pub mod template;

use std::path::PathBuf;

/// The root of the Ostrog source tree (kernel sources live here).
///
/// `OSTROG_ROOT` overrides the location recorded at build time, so that an installed
/// `cargo-ostrog` can be pointed at a moved checkout.
pub fn source_root() -> PathBuf {
    if let Some(root) = std::env::var_os("OSTROG_ROOT") {
        return PathBuf::from(root);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
