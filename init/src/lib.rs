//! Ostrog's solution description: `init.yaml` in the KasperskyOS format, checked with
//! real diagnostics, and compiled into the binary *Einit table* that the Einit program
//! reads at boot to create the solution's processes and static IPC channels.
//!
//! The crate has two halves with different audiences:
//!
//! * The `no_std` core, always built: [`table`], the versioned little-endian table format
//!   and its zero-copy decoder, and [`names`], the rules for every kind of name. Einit
//!   links only this: [`table::Table::parse`] validates a table completely, without an
//!   allocator and without panicking on any bytes, and then hands out processes and
//!   channels borrowing from the table.
//! * The host side. With the `alloc` feature, [`solution::Solution`] (the checked
//!   description as plain data) and the table encoder. With the `std` feature, the YAML
//!   reader with source positions ([`yaml`]), the checker ([`check`]) and its diagnostics
//!   (`ostrog_diag`), and [`check_cli`], which is `cargo ostrog check init.yaml`.
//!
//! The pipeline is straight: `init.yaml` -> [`yaml::parse`] (a tree of nodes with byte
//! spans) -> [`check::check_source`] (every diagnostic, or a [`solution::Solution`] with
//! the defaults filled in) -> [`solution::Solution::to_table`] -> bytes in the ROMFS ->
//! [`table::Table::parse`] in Einit.
//!
//! Design rules: nothing panics on user input (a YAML file or a table's bytes); every
//! problem in `init.yaml` becomes an `ostrog_diag::FileDiagnostic` naming file, line and column; the
//! encoder refuses whatever the decoder would refuse, so a table that leaves the host loads.

// The core is `no_std`; the host side (the `std` feature) is an ordinary std crate.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod names;
pub mod table;

#[cfg(feature = "alloc")]
pub mod solution;

#[cfg(feature = "std")]
pub mod check;
#[cfg(feature = "std")]
pub mod header;
#[cfg(feature = "std")]
pub mod yaml;

#[cfg(feature = "alloc")]
pub use solution::Solution;

#[cfg(feature = "std")]
pub use check::{check_source, load, Options};
#[cfg(feature = "std")]
pub use ostrog_diag::FileDiagnostic;

/// Checks `init.yaml` files, writing every diagnostic fully rendered to `out`.
/// Returns the number of errors found.
#[cfg(feature = "std")]
pub fn check_cli(
    files: &[std::path::PathBuf],
    options: &Options,
    out: &mut dyn std::io::Write,
) -> std::io::Result<usize> {
    let mut errors = 0;
    for file in files {
        if let Err(diagnostics) = load(file, options) {
            for d in &diagnostics {
                writeln!(out, "{}", d.render())?;
            }
            errors += diagnostics.len();
        }
    }
    Ok(errors)
}
