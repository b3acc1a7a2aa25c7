//! The generated code builds for `aarch64-unknown-none` (no `std`). This runs a nested cargo
//! build, so it is `#[ignore]`d by default: `cargo test -p ostrog-idl-gen-test -- --ignored`.

use std::process::Command;

#[test]
#[ignore = "nested cargo build for a bare-metal target (slow)"]
fn generated_code_builds_for_aarch64_unknown_none() {
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(|d| format!("{d}-bare-metal"))
        .unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/spec-bare-metal").to_string()
        });
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "ostrog-idl-gen-test",
            "--target",
            "aarch64-unknown-none",
        ])
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .expect("cargo runs");
    assert!(status.success());
}
