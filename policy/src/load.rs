//! Finding and parsing the files of a policy.
//!
//! A policy is a top file plus everything it includes. `use a.b._` names the file `a/b.psl`,
//! searched in each include directory in order, then next to the including file, then in the
//! SDK tree (`sysroot/`, always on the path and last unless an include directory names it, so
//! a solution can override any library file). Each file is read once however often it is
//! included, so include cycles are harmless.
//!
//! `use EDL X`, `task class X : a.B` and `execute: I` are resolved through the EDL/CDL/IDL
//! front end's [`Workspace`] with the same include directories; its `SourceMap` holds the PSL
//! files too, so that every diagnostic of a run points into one map.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use ostrog_diag::source::FileId;
use ostrog_diag::Diagnostic;
use ostrog_idl::parser::Language;
use ostrog_idl::resolve::Workspace;

use crate::ast::{Decl, File};
use crate::parser::parse;

/// The SDK tree (`sysroot/`): the models' PSL libraries under `nk/`, the core interfaces
/// (the execute interface among them) under `kl/`.
pub fn library_dir() -> PathBuf {
    ostrog_idl::sysroot()
}

/// The models' libraries (`sysroot/nk`): the objects they declare are the standard ones.
fn models_dir() -> PathBuf {
    library_dir().join("nk")
}

/// One parsed PSL file.
#[derive(Clone, Debug)]
pub struct PslFile {
    /// Its id in the source map.
    pub file: FileId,
    /// Whether it comes from the standard library.
    pub library: bool,
    /// Its syntax tree.
    pub ast: File,
}

/// Everything read for one policy.
#[derive(Debug)]
pub struct Loaded {
    /// EDL/CDL/IDL units and the text of every file (PSL included).
    pub workspace: Workspace,
    /// PSL files, included files before the files that include them.
    pub files: Vec<PslFile>,
    /// Problems found while reading and parsing.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads `top` (text given, or read from disk) and every PSL file it includes.
pub fn load(top: &Path, text: Option<String>, include_dirs: &[PathBuf]) -> Loaded {
    let mut dirs = include_dirs.to_vec();
    if !dirs.contains(&library_dir()) {
        dirs.push(library_dir());
    }
    let mut loaded = Loaded {
        workspace: Workspace::new(&dirs),
        files: Vec::new(),
        diagnostics: Vec::new(),
    };
    let text = match text {
        Some(t) => t,
        None => match std::fs::read_to_string(top) {
            Ok(t) => t,
            Err(e) => {
                loaded
                    .workspace
                    .io_errors
                    .push(format!("{}: {e}", top.display()));
                return loaded;
            }
        },
    };
    // Files are parsed breadth-first, then ordered so that includes come first.
    let mut order: Vec<(usize, usize)> = Vec::new(); // (depth, index in parsed)
    let mut parsed: Vec<PslFile> = Vec::new();
    let mut queue: VecDeque<(PathBuf, String, usize, bool)> = VecDeque::new();
    queue.push_back((top.to_path_buf(), text, 0, false));
    let lib = models_dir();
    while let Some((path, text, depth, library)) = queue.pop_front() {
        let file = loaded.workspace.sources.add(path.clone(), text);
        let source = loaded
            .workspace
            .sources
            .get(file)
            .map_or("", |f| f.text.as_str());
        let ast = match parse(file, source) {
            Ok(ast) => ast,
            Err(d) => {
                loaded.diagnostics.push(d);
                continue;
            }
        };
        for decl in &ast.decls {
            let Decl::UsePsl(p) = decl else { continue };
            let rel = p.package_file("psl");
            let mut candidates: Vec<PathBuf> = dirs.iter().map(|d| d.join(&rel)).collect();
            if let Some(parent) = path.parent() {
                candidates.insert(include_dirs.len(), parent.join(&rel));
            }
            let found = candidates.iter().find(|c| c.is_file()).cloned();
            let Some(found) = found else {
                let searched: Vec<String> =
                    candidates.iter().map(|c| c.display().to_string()).collect();
                loaded.diagnostics.push(
                    Diagnostic::new(
                        p.span,
                        format!("unknown policy file `{}._`", p.dotted()),
                        "no such file",
                    )
                    .help(format!(
                        "expected a file `{}`; searched: {}",
                        rel.display(),
                        searched.join(", ")
                    )),
                );
                continue;
            };
            let already = loaded.workspace.sources.find(&found).is_some()
                || queue.iter().any(|(q, ..)| q == &found);
            if already {
                continue;
            }
            match std::fs::read_to_string(&found) {
                Ok(t) => {
                    let lib_file = found.starts_with(&lib);
                    queue.push_back((found, t, depth + 1, lib_file));
                }
                Err(e) => loaded.diagnostics.push(
                    Diagnostic::new(
                        p.span,
                        format!("cannot read `{}`: {e}", found.display()),
                        "unreadable",
                    )
                    .help("expected a readable file"),
                ),
            }
        }
        order.push((depth, parsed.len()));
        parsed.push(PslFile { file, library, ast });
    }
    // Deepest includes first; files at one depth in the order they were found.
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in order {
        if let Some(f) = parsed.get(i) {
            loaded.files.push(f.clone());
        }
    }
    resolve_spec(&mut loaded);
    loaded
}

/// Loads the EDL files and the execute interface the PSL files name.
fn resolve_spec(loaded: &mut Loaded) {
    let mut wanted = Vec::new();
    for f in &loaded.files {
        for d in &f.ast.decls {
            match d {
                Decl::UseEdl(p) | Decl::TaskClass { edl: p, .. } => {
                    wanted.push((Language::Edl, p.clone(), f.file))
                }
                Decl::ExecuteInterface(p) => wanted.push((Language::Idl, p.clone(), f.file)),
                _ => {}
            }
        }
    }
    for (lang, path, from) in wanted {
        if loaded.workspace.lookup(lang, &path, from).is_none() {
            let what = match lang {
                Language::Edl => "process class",
                _ => "interface",
            };
            let d = loaded.workspace.unknown(what, lang, &path, from);
            loaded.diagnostics.push(d);
        }
    }
    loaded.workspace.load_references();
}
