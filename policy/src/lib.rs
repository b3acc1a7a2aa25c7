//! # Ostrog's PSL front end
//!
//! PSL (Policy Specification Language) says which security events — process starts, IPC
//! requests, responses, errors and security-interface queries — are granted, by binding
//! events to the rules of *security models* (Base, Flow, Regex, ...). This crate reads a
//! policy as KasperskyOS Community Edition writes it (1.0 to 1.4 forms), checks it against
//! the EDL/CDL/IDL files it names (through `ostrog-spec`), and produces a checked
//! [`model::Policy`] for the code generator and the PAL test runner.
//!
//! The pipeline is straight, like `ostrog-spec`'s:
//!
//! 1. [`load`] finds and parses the top file and every file it includes ([`parser`], on
//!    [`lexer`] tokens, into [`ast`] trees), and loads the EDL/IDL files it names into an
//!    `ostrog_spec` workspace;
//! 2. `ostrog_spec::check` checks those and builds their model (endpoints with RIIDs,
//!    methods with MIDs, parameter types and layouts);
//! 3. [`check`] resolves the policy: models declared by the standard library (`policy/lib`,
//!    see [`load::library_dir`]), classes, objects and their configurations ([`config`]),
//!    audit profiles, bindings and expressions ([`bindings`]), and PAL tests ([`pal`]).
//!
//! Entry points: [`load_policy`] (a file on disk) and [`load_policy_source`] (text in
//! memory), both returning a [`Checked`]; [`check_cli`] for `cargo ostrog check x.psl`.
//!
//! Nothing here panics on user input: every problem is an `ostrog_spec::diag::Diagnostic`
//! naming file, line and column, shown with its source line and what was expected.

pub mod ast;
pub mod bindings;
pub mod check;
pub mod config;
pub mod lexer;
pub mod load;
pub mod model;
pub mod pal;
pub mod parser;

use std::io::Write;
use std::path::{Path, PathBuf};

use ostrog_spec::diag::Diagnostic;
use ostrog_spec::resolve::Workspace;

pub use model::Policy;

/// A loaded and checked policy.
#[derive(Debug)]
pub struct Checked {
    /// Every file read (PSL, EDL, CDL, IDL), for rendering diagnostics.
    pub workspace: Workspace,
    /// The checked EDL/CDL/IDL model: classes, interfaces, methods and types.
    pub spec: ostrog_spec::Model,
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
        for e in &self.workspace.io_errors {
            writeln!(out, "error: {e}")?;
        }
        for d in &self.diagnostics {
            writeln!(out, "{}", d.render(&self.workspace.sources))?;
        }
        Ok(())
    }

    /// Every error in the one-line `path:line:col: message` form.
    pub fn short_messages(&self) -> Vec<String> {
        let mut v = self.workspace.io_errors.clone();
        v.extend(
            self.diagnostics
                .iter()
                .map(|d| d.short(&self.workspace.sources)),
        );
        v
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
    let (spec, more) = ostrog_spec::check::check(&loaded.workspace);
    diagnostics.extend(more);
    let (policy, more) = check::check(&loaded.files, &spec);
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

/// Runs the PAL tests of a solution directory, printing one line per test.
/// Returns (passed, failed).
///
/// Not implemented in this crate yet: the PAL runner needs the security-module generator.
/// It reports that honestly and counts as one failure.
pub fn pal_test_cli(solution_dir: &Path, out: &mut dyn Write) -> std::io::Result<(usize, usize)> {
    let _ = solution_dir;
    writeln!(out, "error: PAL tests are not implemented yet")?;
    Ok((0, 1))
}
