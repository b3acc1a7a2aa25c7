//! # Ostrog's PSL front end
//!
//! PSL (Policy Specification Language) says which security events — process starts, IPC
//! requests, responses, errors and security-interface queries — are granted, by binding
//! events to the rules of *security models* (Base, Flow, Regex, ...). This crate reads a
//! policy as KasperskyOS Community Edition writes it (1.0 to 1.4 forms), checks it against
//! the EDL/CDL/IDL files it names (through `ostrog-idl`), and produces a checked
//! [`model::Policy`] for the code generator and the PAL test runner.
//!
//! The pipeline is straight, like `ostrog-idl`'s:
//!
//! 1. [`load`] finds and parses the top file and every file it includes ([`parser`], on
//!    [`lexer`] tokens, into [`ast`] trees), and loads the EDL/IDL files it names into an
//!    `ostrog_idl` workspace;
//! 2. `ostrog_idl::check` checks those and builds their model (endpoints with RIIDs,
//!    methods with MIDs, parameter types and layouts);
//! 3. [`check`] resolves the policy: models declared by the standard library (`sysroot/nk`,
//!    see [`load::library_dir`]), classes, objects and their configurations ([`config`]),
//!    audit profiles, bindings and expressions ([`bindings`]), and PAL tests ([`pal`]).
//!
//! Entry points: [`load_policy`] (a file on disk) and [`load_policy_source`] (text in
//! memory), both returning a [`Checked`]; [`check_cli`] for `cargo ostrog check x.psl`.
//!
//! Nothing here panics on user input: every problem is an `ostrog_diag::Diagnostic`
//! naming file, line and column, shown with its source line and what was expected.

pub mod ast;
pub mod bindings;
pub mod check;
mod components;
pub mod config;
pub mod gen;
pub mod kos;
pub mod lexer;
pub mod load;
pub mod model;
pub mod pal;
pub mod parser;

use std::io::Write;
use std::path::{Path, PathBuf};

use ostrog_diag::{diagnostic, Diagnostic};
use ostrog_idl::resolve::Workspace;

pub use gen::{compile, CompileError, GeneratedModule};
pub use model::Policy;

/// A loaded and checked policy.
#[derive(Debug)]
pub struct Checked {
    /// Every file read (PSL, EDL, CDL, IDL), for rendering diagnostics.
    pub workspace: Workspace,
    /// The checked EDL/CDL/IDL model: classes, interfaces, methods and types.
    pub spec: ostrog_idl::Model,
    /// The checked policy (complete only if there are no errors).
    pub policy: Policy,
    /// Errors, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Number of errors, unreadable files included.
    pub fn error_count(&self) -> usize {
        self.diagnostics.len() + self.workspace.io_errors.len()
    }

    /// The policy, if there are no errors.
    pub fn policy(&self) -> Option<&Policy> {
        (self.error_count() == 0).then_some(&self.policy)
    }

    /// Writes every error, fully rendered.
    pub fn report(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let w = &self.workspace;
        diagnostic::write_report(out, &w.sources, &w.io_errors, &self.diagnostics)
    }

    /// Every error in the one-line `path:line:col: message` form.
    pub fn short_messages(&self) -> Vec<String> {
        let w = &self.workspace;
        diagnostic::short_messages(&w.sources, &w.io_errors, &self.diagnostics)
    }
}

/// Loads and checks the policy whose top file is `top`.
/// `include_dirs` are searched for `use` files and EDL/CDL/IDL files, before the standard
/// library.
pub fn load_policy(top: &Path, include_dirs: &[PathBuf]) -> Checked {
    finish(load::load(top, None, include_dirs))
}

/// Like [`load_policy`], with the top file's text given (`path` names it in diagnostics and
/// its folder is searched for included files).
pub fn load_policy_source(path: &Path, text: &str, include_dirs: &[PathBuf]) -> Checked {
    finish(load::load(path, Some(text.to_string()), include_dirs))
}

fn finish(mut loaded: load::Loaded) -> Checked {
    let mut diagnostics = std::mem::take(&mut loaded.diagnostics);
    diagnostics.append(&mut loaded.workspace.diagnostics);
    let (spec, more) = ostrog_idl::check::check(&loaded.workspace);
    diagnostics.extend(more);
    let (policy, more) = check::check(&loaded.files, &spec, &loaded.workspace);
    diagnostics.extend(more);
    Checked {
        workspace: loaded.workspace,
        spec,
        policy,
        diagnostics,
    }
}

/// Parses and checks PSL files (each one the top file of a policy), writing rendered
/// diagnostics to `out`. Returns the number of errors found.
pub fn check_cli(
    files: &[PathBuf],
    include_dirs: &[PathBuf],
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let mut errors = 0;
    for f in files {
        let checked = load_policy(f, include_dirs);
        checked.report(out)?;
        errors += checked.error_count();
    }
    Ok(errors)
}

/// Runs the PAL tests of a solution directory, printing one line per test
/// (`PASS set/sequence` or `FAIL set/sequence: case N ...`) and a summary. Returns
/// (passed, failed).
///
/// The policy is `security.psl` in `solution_dir`, or else every `.psl` file directly in it
/// (each its own policy). EDL/CDL/IDL files are searched in the folder, its subfolders and
/// the system root (`sysroot`: `kl.core.Core`, `Einit`). See [`gen::pal`].
pub fn pal_test_cli(solution_dir: &Path, out: &mut dyn Write) -> std::io::Result<(usize, usize)> {
    let tops = solution_policies(solution_dir);
    if tops.is_empty() {
        writeln!(
            out,
            "error: no policy (`security.psl` or another `.psl` file) in {}",
            solution_dir.display()
        )?;
        return Ok((0, 1));
    }
    let include = solution_include_dirs(solution_dir);
    let (mut passed, mut failed) = (0, 0);
    for top in &tops {
        let (p, f) = pal_test_file(top, &include, out)?;
        passed += p;
        failed += f;
    }
    writeln!(out, "PAL: {passed} passed, {failed} failed")?;
    Ok((passed, failed))
}

/// The top policy files of a solution folder: `security.psl` if present, else every
/// `.psl` file in the folder, sorted.
pub fn solution_policies(dir: &Path) -> Vec<PathBuf> {
    let security = dir.join("security.psl");
    if security.is_file() {
        return vec![security];
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "psl"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Include folders of a solution: the folder, its subfolders (breadth first, hidden ones
/// and `target` skipped) and the system root.
pub fn solution_include_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let mut subs: Vec<PathBuf> = std::fs::read_dir(&out[i])
            .map(|r| {
                r.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.is_dir()
                            && p.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| !n.starts_with('.') && n != "target")
                    })
                    .collect()
            })
            .unwrap_or_default();
        subs.sort();
        out.extend(subs);
        i += 1;
    }
    out.push(gen::pal::sysroot_dir());
    out
}

/// Runs the PAL tests of the policy whose top file is `top` (see [`pal_test_cli`]).
pub fn pal_test_file(
    top: &Path,
    include_dirs: &[PathBuf],
    out: &mut dyn Write,
) -> std::io::Result<(usize, usize)> {
    let checked = load_policy(top, include_dirs);
    if checked.error_count() > 0 {
        checked.report(out)?;
        writeln!(out, "FAIL {}: the policy has errors", top.display())?;
        return Ok((0, 1));
    }
    let name = top
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("solution")
        .to_string();
    let name = if name == "security" {
        top.parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
            .unwrap_or("solution")
            .to_string()
    } else {
        name
    };
    gen::pal::run(&checked, &name, &top.display().to_string(), out)
}
