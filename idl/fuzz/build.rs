//! Generates Rust from the spec corpus (`idl/tests/corpus`) into OUT_DIR, exactly as the
//! `ostrog-idl-gen-test` crate does, so that the fuzz targets exercise the code programs get.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let corpus = manifest.join("../tests/corpus");
    println!("cargo:rerun-if-changed={}", corpus.display());
    println!("cargo:rerun-if-changed=../src");
    let files = ostrog_idl::spec_files_under(&corpus);
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut messages = Vec::new();
    let errors = ostrog_idl::gen_cli(&files, &[corpus], &out_dir, &mut messages)
        .expect("writing generated code");
    if errors > 0 {
        panic!("{}", String::from_utf8_lossy(&messages));
    }
}
