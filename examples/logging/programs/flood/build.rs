//! Generates the client code of kl.Vfs (the SDK tree's `kl/`) into OUT_DIR.

fn main() {
    let sysroot = ostrog_idl::sysroot();
    ostrog_idl::generate_in_build_script(
        &sysroot.join("kl"),
        std::slice::from_ref(&sysroot),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
