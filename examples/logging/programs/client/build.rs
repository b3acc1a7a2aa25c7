//! Generates the client code of logrr.Log (the SDK tree's `logrr/`) into OUT_DIR, to build
//! a record over RecordMax by hand.

fn main() {
    let sysroot = ostrog_idl::sysroot();
    ostrog_idl::generate_in_build_script(
        &sysroot.join("logrr"),
        std::slice::from_ref(&sysroot),
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
