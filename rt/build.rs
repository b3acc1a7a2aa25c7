//! Generates the client proxies of the core endpoints from `sysroot/kl/core` into `OUT_DIR`.

use std::path::PathBuf;

fn main() {
    let sysroot =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("../sysroot");
    ostrog_idl::generate_in_build_script(
        &sysroot.join("kl/core"),
        std::slice::from_ref(&sysroot),
        None,
    );
}
