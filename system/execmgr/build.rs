//! Generates the server code of `execution_manager.ExecMgrEntity` and the client code of
//! kl.Vfs (sysroot) into OUT_DIR.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let sysroot = ostrog_idl::sysroot();
    for dir in ["execution_manager", "kl"] {
        println!("cargo:rerun-if-changed={}", sysroot.join(dir).display());
    }
    ostrog_idl::generate_in_build_script(
        &sysroot,
        std::slice::from_ref(&sysroot),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
