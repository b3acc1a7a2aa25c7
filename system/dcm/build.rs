//! Generates the server code of `kl.core.DCM` (sysroot/kl/core/DCM.edl,
//! ServiceDirectory.idl) into OUT_DIR.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let sysroot = ostrog_idl::sysroot();
    ostrog_idl::generate_in_build_script(
        &sysroot.join("kl/core"),
        std::slice::from_ref(&sysroot),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
