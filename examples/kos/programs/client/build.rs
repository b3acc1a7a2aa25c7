//! Generates the transport code of the solution's interfaces (../../spec) and of the SDK's
//! entropy service (kl.EntropyEntity, which brings kl.Entropy) into OUT_DIR.

fn main() {
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let spec = dir.join("../../spec");
    let sysroot = ostrog_idl::sysroot();
    let mut files = ostrog_idl::spec_files_under(&spec);
    files.push(sysroot.join("kl/EntropyEntity.edl"));
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let checked = ostrog_idl::load_and_check(&files, &[spec, sysroot]);
    if checked.error_count() > 0 {
        let mut messages = Vec::new();
        let _ = checked.report(&mut messages);
        panic!("{}", String::from_utf8_lossy(&messages));
    }
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(e) = ostrog_idl::gen::write_all_sharing_runtime(
        &checked.model,
        &out,
        Some("::ostrog_rt::idl::spec_rt"),
    ) {
        panic!("cannot generate code: {e}");
    }
}
