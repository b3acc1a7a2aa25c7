//! Embeds the solution's Einit table: the file named by `OSTROG_EINIT_TABLE` (written by the
//! image builder from `init.yaml`), or nothing, in which case Einit says so and stops.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=OSTROG_EINIT_TABLE");
    let table = match std::env::var_os("OSTROG_EINIT_TABLE") {
        Some(path) => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            path
        }
        None => {
            let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
            let path = out.join("no-table");
            if let Err(e) = std::fs::write(&path, b"") {
                panic!("cannot write {}: {e}", path.display());
            }
            path
        }
    };
    println!(
        "cargo:rustc-env=OSTROG_EINIT_TABLE_FILE={}",
        table.display()
    );
}
