//! Generates Rust from the spec corpus into OUT_DIR; a failing check fails the build with
//! the rendered diagnostics.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("idl" | "cdl" | "edl")
        ) {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let corpus = manifest.join("../tests/corpus");
    println!("cargo:rerun-if-changed={}", corpus.display());
    println!("cargo:rerun-if-changed=../src");
    let mut list = Vec::new();
    files(&corpus, &mut list);
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut messages = Vec::new();
    let errors = ostrog_idl::gen_cli(&list, &[corpus], &out_dir, &mut messages)
        .expect("writing generated code");
    if errors > 0 {
        panic!("{}", String::from_utf8_lossy(&messages));
    }
}
