//! Links the personality (for Ostrog, not the host) at `linux::PERSONALITY_BASE`, above
//! every address a Linux executable, its `brk` and its fixed mappings may use.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        // Keep in step with `PERSONALITY_BASE` in src/lib.rs.
        println!("cargo:rustc-link-arg-bins=--image-base=0x70000000");
        // The client code of kl.Vfs (the file calls' server, docs/files.md), of the other
        // services (sysroot/kl) and of the log server (sysroot/logrr).
        let sysroot = ostrog_idl::sysroot();
        ostrog_idl::generate_in_build_script(
            &sysroot,
            std::slice::from_ref(&sysroot),
            Some("::ostrog_rt::idl::spec_rt"),
        );
    }
}
