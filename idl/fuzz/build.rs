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
    let errors = ostrog_idl::gen_cli(&files, &[corpus.clone()], &out_dir, &mut messages)
        .expect("writing generated code");
    if errors > 0 {
        panic!("{}", String::from_utf8_lossy(&messages));
    }
    let checked = ostrog_idl::load_and_check(&files, &[corpus]);
    std::fs::write(out_dir.join("validate.rs"), validate_all(&checked.model))
        .expect("writing validate.rs");
}

/// `validate_all(msg)`: for the request, response and error message of every method of the
/// corpus, the validator's descriptor (as the policy compiler writes it into a security
/// module) checked against the generated decoder of the same message by `crate::agree`.
fn validate_all(model: &ostrog_idl::Model) -> String {
    use ostrog_idl::gen::names::{camel, module};
    let mut statics = String::new();
    let mut calls = String::new();
    let mut n = 0;
    for (name, package) in &model.packages {
        let Some(interface) = &package.interface else {
            continue;
        };
        for method in &interface.methods {
            let Some(ml) = ostrog_idl::layout(model, name, &method.name) else {
                continue;
            };
            let which = [
                (&ml.request, "Request", false),
                (&ml.response, "Response", false),
                (&ml.error, "Error", true),
            ];
            for (message, suffix, error) in which {
                let desc = ostrog_policy::gen::emit::message_desc_source(message, error);
                statics.push_str(&format!("static DESC_{n}: MessageDesc = {desc};\n"));
                calls.push_str(&format!(
                    "    crate::agree::<crate::{}::{}{suffix}>(msg, &DESC_{n}, \"{name}.{} {suffix}\");\n",
                    module(name),
                    camel(&method.name),
                    method.name
                ));
                n += 1;
            }
        }
    }
    format!(
        "#[allow(unused_imports)]\nuse ostrog_ksm::validate::{{FieldDesc, IntKind, MessageDesc, Shape, TypeDesc}};\n\n\
         {statics}\n/// Every message of the corpus: validator and decoder must agree on `msg`.\n\
         pub fn validate_all(msg: &[u8]) {{\n{calls}}}\n"
    )
}
