//! Test fixtures: real static Linux executables built at test time with `musl-gcc` and
//! Rust's `x86_64-unknown-linux-musl` target. A missing tool fails the test with the command
//! that installs it; nothing is skipped.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const C_SOURCE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
static char big[100000];
int main(int argc, char **argv) {
    big[argc] = 1;
    printf("hello from musl, %d args, %s\n", argc, getenv("HOME") ? getenv("HOME") : "-");
    return big[1] ? 0 : 1;
}
"#;

const RUST_SOURCE: &str = r#"
fn main() {
    let v: Vec<String> = std::env::args().collect();
    println!("hello from Rust std, {} args", v.len());
}
"#;

fn dir() -> PathBuf {
    // Cargo's scratch folder for integration tests; test binaries run one after another and
    // each fixture has its own file names, so builds never race.
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("linux-fixtures");
    std::fs::create_dir_all(&d).expect("cannot create the fixture folder");
    d
}

fn run(cmd: &mut Command, install: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}. The fixtures need it: {install}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}\nThe fixtures need: {install}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn c_program(name: &str, flags: &[&str]) -> Vec<u8> {
    let d = dir();
    let src = d.join(format!("{name}.c"));
    std::fs::write(&src, C_SOURCE).unwrap();
    let out = d.join(name);
    run(
        Command::new("musl-gcc")
            .args(flags)
            .arg("-O1")
            .arg("-o")
            .arg(&out)
            .arg(&src),
        "apt-get install -y musl-tools",
    );
    std::fs::read(out).unwrap()
}

/// A static musl C executable (`ET_EXEC`).
pub fn musl_static() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| c_program("hello-static", &["-static"]))
}

/// A dynamically linked executable of the host C compiler.
pub fn dynamic() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let d = dir();
        let src = d.join("hello-dynamic.c");
        std::fs::write(&src, C_SOURCE).unwrap();
        let out = d.join("hello-dynamic");
        run(
            Command::new("cc").arg("-o").arg(&out).arg(&src),
            "a C compiler (apt-get install -y gcc)",
        );
        std::fs::read(out).unwrap()
    })
}

/// A Rust `std` program for `x86_64-unknown-linux-musl` (static-PIE by default).
pub fn rust_static_pie() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let d = dir();
        let src = d.join("hello-rust.rs");
        std::fs::write(&src, RUST_SOURCE).unwrap();
        let out = d.join("hello-rust");
        run(
            Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
                .args(["--edition", "2021", "--target", "x86_64-unknown-linux-musl"])
                .args(["-C", "opt-level=1", "-C", "target-feature=+crt-static"])
                .args(["-C", "relocation-model=pie", "-o"])
                .arg(&out)
                .arg(&src),
            "rustup target add x86_64-unknown-linux-musl",
        );
        std::fs::read(out).unwrap()
    })
}

/// A Rust `std` program for `aarch64-unknown-linux-musl`, linked by `rust-lld` (no cross C
/// toolchain needed): a static `ET_EXEC`.
pub fn rust_aarch64_static() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let d = dir();
        let src = d.join("hello-rust-aarch64.rs");
        std::fs::write(&src, RUST_SOURCE).unwrap();
        let out = d.join("hello-rust-aarch64");
        run(
            Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
                .args([
                    "--edition",
                    "2021",
                    "--target",
                    "aarch64-unknown-linux-musl",
                ])
                .args(["-C", "opt-level=1", "-C", "target-feature=+crt-static"])
                .args(["-C", "linker=rust-lld", "-C", "linker-flavor=ld.lld", "-o"])
                .arg(&out)
                .arg(&src),
            "rustup target add aarch64-unknown-linux-musl",
        );
        std::fs::read(out).unwrap()
    })
}
