//! Generates the client code of the PCI bus manager (sysroot/kl/drivers: Pci.idl,
//! PciBus.edl) into OUT_DIR, for finding a device on x86_64.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let sysroot = ostrog_idl::sysroot();
    ostrog_idl::generate_in_build_script(
        &sysroot.join("kl/drivers"),
        std::slice::from_ref(&sysroot),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
