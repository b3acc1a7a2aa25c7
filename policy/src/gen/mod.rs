//! # The PSL compiler's back end: a checked policy becomes a Rust security module
//!
//! [`compile`] turns a solution's policy into **one Rust source file**, the module `policy`
//! of the image's small kernel binary crate (written by `cargo ostrog`,
//! `cargo-ostrog/src/kernel.rs`), which boots the kernel library with it through
//! `ostrog_kernel::main!(Module, ROMFS)`. The file defines
//! `INSECURE`, `SOLUTION` and `module()`, which returns the solution's
//! `ostrog_ksm::SecurityModule`. The same file is compiled into the host test crates of the
//! PAL runner ([`crate::pal_run`]), so what the PAL tests check is what runs in the kernel.
//!
//! The pipeline:
//!
//! 1. [`plan`]: number classes (sorted names) and methods (a *global method number* per
//!    `(server class, riid, mid)`), cut bindings into *units* at their `match` sections,
//!    and file each unit under dispatch keys `(kind, src|any, dst|any, method|any)`;
//! 2. [`phf`]: a perfect hash of those keys, built here and probed by the engine;
//! 3. [`emit`]: the Rust text of the policy only: tables, message descriptors from
//!    `ostrog_idl::layout`, model objects sized from their configurations, regular
//!    expressions compiled to DFAs, audit profiles, one function per distinct unit and
//!    statement body. `decide` itself is `ostrog_ksm::engine`, the same for every policy.
//!
//! Deciding an event costs: a bounds check of the two class numbers, the method number from
//! two small per-class tables, the message validation, at most eight perfect-hash probes,
//! a merge of the unit lists found, and the units themselves. None of it depends on the
//! number of classes. See `docs/policy-compiler.md` for the design and the semantics we
//! chose where the documentation is silent.

pub mod emit;
pub mod encode;
pub mod pal;
pub mod phf;
pub mod plan;

use std::path::{Path, PathBuf};

use ostrog_diag::diagnostic::Diagnostic;

use crate::Checked;

/// A generated security module.
#[derive(Clone, Debug)]
pub struct GeneratedModule {
    /// Solution name (`SOLUTION`).
    pub solution: String,
    /// The Rust source file.
    pub source: String,
    /// Class names, in `ClassId` order.
    pub classes: Vec<String>,
}

impl GeneratedModule {
    /// Writes the source to `path` (creating its folder).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, &self.source)
    }
}

/// Why a policy could not be compiled: every problem, rendered with file, line and column.
#[derive(Clone, Debug)]
pub struct CompileError {
    /// Rendered diagnostics (source line and help included).
    pub messages: Vec<String>,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for m in &self.messages {
            writeln!(f, "{m}")?;
        }
        write!(f, "{} error(s)", self.messages.len())
    }
}

impl std::error::Error for CompileError {}

/// Loads, checks and compiles the policy whose top file is `top`.
pub fn compile(
    top: &Path,
    include_dirs: &[PathBuf],
    solution: &str,
) -> Result<GeneratedModule, CompileError> {
    let checked = crate::load_policy(top, include_dirs);
    generate(&checked, solution, &top.display().to_string())
}

/// Compiles an already checked policy. `origin` names the policy in the file's header.
pub fn generate(
    checked: &Checked,
    solution: &str,
    origin: &str,
) -> Result<GeneratedModule, CompileError> {
    let render = |ds: &[Diagnostic]| CompileError {
        messages: ds
            .iter()
            .map(|d| d.render(&checked.workspace.sources))
            .collect(),
    };
    let Some(policy) = checked.policy() else {
        let mut out = Vec::new();
        let _ = checked.report(&mut out);
        return Err(CompileError {
            messages: vec![String::from_utf8_lossy(&out).trim_end().to_string()],
        });
    };
    let default_profile = policy
        .audit_default
        .as_ref()
        .map_or("empty".to_string(), |a| a.profile.clone());
    let plan = plan::plan(policy, &checked.spec, &default_profile).map_err(|e| CompileError {
        messages: vec![format!("error: {}", e.0)],
    })?;
    let emitter = emit::Emitter::new(policy, &checked.spec, &plan, &checked.workspace.sources);
    let source = emitter.module(solution, origin).map_err(|ds| render(&ds))?;
    Ok(GeneratedModule {
        solution: solution.to_string(),
        source,
        classes: plan.classes.clone(),
    })
}
