//! Generates the server code of `kl.VfsRamFs` and `kl.VfsSdCardFs` (sysroot/kl/Vfs.idl,
//! VfsRamFs.edl, VfsSdCardFs.edl) and the client code of kl.drivers.Block into OUT_DIR.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let sysroot = ostrog_idl::sysroot();
    println!(
        "cargo:rerun-if-changed={}",
        sysroot.join("kl/Vfs.idl").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        sysroot.join("kl/VfsRamFs.edl").display()
    );
    ostrog_idl::generate_in_build_script(
        &sysroot.join("kl"),
        std::slice::from_ref(&sysroot),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
