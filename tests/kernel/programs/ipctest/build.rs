//! Generates the transport code of the `ipctest` package.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let spec = dir.join("spec");
    ostrog_idl::generate_in_build_script(
        &spec.join("ipctest"),
        std::slice::from_ref(&spec),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
