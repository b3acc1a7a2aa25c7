//! Generates the transport code of the solution's interfaces (../../spec) into OUT_DIR.

fn main() {
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let spec = dir.join("../../spec");
    ostrog_idl::generate_in_build_script(
        &spec,
        &[spec.clone(), ostrog_idl::sysroot()],
        Some("::ostrog_rt::idl::spec_rt"),
    );
}
