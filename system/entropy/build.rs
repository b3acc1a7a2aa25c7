//! Generates the server code of `kl.EntropyEntity` (sysroot/kl/Entropy.idl,
//! EntropyEntity.edl) into OUT_DIR.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let sysroot = ostrog_idl::sysroot();
    for file in ["kl/Entropy.idl", "kl/EntropyEntity.edl"] {
        println!("cargo:rerun-if-changed={}", sysroot.join(file).display());
    }
    ostrog_idl::generate_in_build_script(
        &sysroot.join("kl"),
        std::slice::from_ref(&sysroot),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
