//! Ostrog's front end for the KasperskyOS specification languages and its Rust transport-code
//! generator.
//!
//! The pipeline is straight: [`resolve::Workspace`] reads and parses files (finding dotted
//! names through include directories), [`check::check`] resolves names and builds the
//! [`model::Model`], [`layout`] says where every parameter lives on the wire, and [`gen`]
//! writes Rust from the model and the layouts. [`check_cli`] and [`gen_cli`] are the
//! `cargo ostrog check` and `cargo ostrog gen` commands.
//!
//! Nothing here panics on user input: every problem becomes an [`ostrog_diag::Diagnostic`].

pub mod ast;
pub mod check;
pub mod collide;
pub mod gen;
pub mod layout;
pub mod lexer;
pub mod model;
pub mod parser;
pub mod resolve;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use layout::{
    layout, FieldLayout, LayoutKind, MessageLayout, MethodLayout, PathStep, TypeLayout,
};
pub use model::Model;

/// The result of loading and checking a set of files.
#[derive(Debug)]
pub struct Checked {
    /// Every file read, for rendering diagnostics.
    pub workspace: resolve::Workspace,
    /// The model (complete only if there are no diagnostics).
    pub model: Model,
    /// Errors, in the order found.
    pub diagnostics: Vec<ostrog_diag::diagnostic::Diagnostic>,
}

impl Checked {
    /// Number of errors, unreadable files included.
    pub fn error_count(&self) -> usize {
        self.diagnostics.len() + self.workspace.io_errors.len()
    }

    /// Writes every error, fully rendered.
    pub fn report(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let w = &self.workspace;
        ostrog_diag::diagnostic::write_report(out, &w.sources, &w.io_errors, &self.diagnostics)
    }

    /// Every error in the one-line `path:line:col: message` form.
    pub fn short_messages(&self) -> Vec<String> {
        let w = &self.workspace;
        ostrog_diag::diagnostic::short_messages(&w.sources, &w.io_errors, &self.diagnostics)
    }
}

/// Loads `files` (and everything they name) and checks them.
pub fn load_and_check(files: &[PathBuf], include_dirs: &[PathBuf]) -> Checked {
    let mut ws = resolve::Workspace::new(include_dirs);
    for f in files {
        ws.add_path(f);
    }
    finish(ws)
}

/// Checks in-memory sources: `(path, text)` pairs, language from the extension.
pub fn check_sources(sources: &[(&str, &str)], include_dirs: &[PathBuf]) -> Checked {
    let mut ws = resolve::Workspace::new(include_dirs);
    for (path, text) in sources {
        let p = PathBuf::from(path);
        let lang = p
            .extension()
            .and_then(|e| e.to_str())
            .and_then(parser::Language::from_extension);
        match lang {
            Some(lang) => {
                ws.add_source(p, (*text).to_string(), lang);
            }
            None => ws
                .io_errors
                .push(format!("{path}: not a specification file")),
        }
    }
    finish(ws)
}

fn finish(mut ws: resolve::Workspace) -> Checked {
    ws.load_references();
    let mut diagnostics = std::mem::take(&mut ws.diagnostics);
    let (model, more) = check::check(&ws);
    diagnostics.extend(more);
    Checked {
        workspace: ws,
        model,
        diagnostics,
    }
}

/// Parses and checks EDL/CDL/IDL files, writing rendered diagnostics to `out`.
/// Returns the number of errors found.
pub fn check_cli(
    files: &[PathBuf],
    include_dirs: &[PathBuf],
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let checked = load_and_check(files, include_dirs);
    checked.report(out)?;
    Ok(checked.error_count())
}

/// Generates Rust transport code for the given files into `out_dir`.
/// Returns the number of errors found (diagnostics are written to `out`).
pub fn gen_cli(
    files: &[PathBuf],
    include_dirs: &[PathBuf],
    out_dir: &Path,
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let checked = load_and_check(files, include_dirs);
    checked.report(out)?;
    if checked.error_count() > 0 {
        return Ok(checked.error_count());
    }
    let written = gen::write_all(&checked.model, out_dir)?;
    for path in written {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(0)
}

/// The SDK tree every solution can use: `sysroot/` of the Ostrog source tree this crate was
/// built from, holding `kl/` (`kl.core.Core` and its interfaces, `kl.Klog` with its policy
/// part), `nk/` (the models' PSL libraries) and `Einit`. The path has no `..`, so that the
/// front ends compare it with other spellings of the same folder.
pub fn sysroot() -> PathBuf {
    // An installed `cargo-ostrog` finds the tree where it was built from, or where
    // `OSTROG_ROOT` says it has moved (as `cargo_ostrog::source_root` does).
    if let Some(root) = std::env::var_os("OSTROG_ROOT") {
        return PathBuf::from(root).join("sysroot");
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).join("sysroot")
}

/// Every `.edl`, `.cdl` and `.idl` file under `dir` (recursively), sorted.
pub fn spec_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("idl" | "cdl" | "edl")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// For build scripts: generates Rust for every `.edl`, `.cdl` and `.idl` file under `dir`
/// (recursively) into `OUT_DIR` (include it with `include!(concat!(env!("OUT_DIR"), "/include.rs"))`),
/// resolving names through `include_dirs`, and tells Cargo to rerun when any of them
/// changes. Specification errors stop the build with the rendered diagnostics. With
/// `runtime = Some(path)` the generated code uses the transport runtime at `path` (see
/// [`gen::generate_sharing_runtime`]); programs pass `"::ostrog_rt::idl::spec_rt"`.
pub fn generate_in_build_script(dir: &Path, include_dirs: &[PathBuf], runtime: Option<&str>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let files = spec_files_under(dir);
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let checked = load_and_check(&files, include_dirs);
    if checked.error_count() > 0 {
        let mut messages = Vec::new();
        let _ = checked.report(&mut messages);
        panic!(
            "the specification in {} has errors:\n{}",
            dir.display(),
            String::from_utf8_lossy(&messages)
        );
    }
    if let Err(e) = gen::write_all_sharing_runtime(&checked.model, &out, runtime) {
        panic!("cannot generate code from {}: {e}", dir.display());
    }
}
