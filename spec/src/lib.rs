//! EDL/CDL/IDL front end (work in progress).

use std::io::Write;
use std::path::PathBuf;

/// Parses and checks EDL/CDL/IDL files, writing rendered diagnostics to `out`.
/// Returns the number of errors found.
pub fn check_cli(
    files: &[PathBuf],
    include_dirs: &[PathBuf],
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let _ = (files, include_dirs);
    writeln!(
        out,
        "error: the EDL/CDL/IDL front end is not implemented yet"
    )?;
    Ok(1)
}

/// Generates Rust transport code for the given files into `out_dir`.
/// Returns the number of errors found (diagnostics are written to `out`).
pub fn gen_cli(
    files: &[PathBuf],
    include_dirs: &[PathBuf],
    out_dir: &std::path::Path,
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let _ = (files, include_dirs, out_dir);
    writeln!(
        out,
        "error: the transport-code generator is not implemented yet"
    )?;
    Ok(1)
}
