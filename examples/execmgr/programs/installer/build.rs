//! Generates the client code of kl.Vfs and of the execution manager
//! (execution_manager.IApplicationController), both in the SDK tree, into OUT_DIR.

fn main() {
    let sysroot = ostrog_idl::sysroot();
    ostrog_idl::generate_in_build_script(
        &sysroot,
        std::slice::from_ref(&sysroot),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
