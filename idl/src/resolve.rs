//! Loading files and finding units by dotted name.
//!
//! A dotted name `a.b.C` of language L is looked up, in order:
//! 1. among the units already loaded (every file given on the command line is loaded first,
//!    under the name it declares);
//! 2. as `<dir>/a/b/C.l` for each include directory;
//! 3. as `<dir>/C.l` for each include directory, then next to the file that refers to it
//!    (the flat `resources/` folders of KasperskyOS CE examples).
//!
//! A candidate file is accepted only if it declares the name that was looked up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::ast::{self, Section, TypeExpr, TypeExprKind, Unit};
use crate::parser::{parse, Language};
use ostrog_diag::source::{FileId, SourceMap};
use ostrog_diag::Diagnostic;

/// A parsed file.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Its file.
    pub file: FileId,
    /// Its language.
    pub lang: Language,
    /// Its syntax tree.
    pub unit: Unit,
}

/// All files of one run and the index of their declared names.
#[derive(Debug, Default)]
pub struct Workspace {
    /// The text of every file read.
    pub sources: SourceMap,
    /// Every file that parsed.
    pub units: Vec<Loaded>,
    /// Errors found while loading and parsing.
    pub diagnostics: Vec<Diagnostic>,
    /// Files that could not be read (no source position to point at).
    pub io_errors: Vec<String>,
    include_dirs: Vec<PathBuf>,
    index: HashMap<(Language, String), usize>,
}

impl Workspace {
    /// An empty workspace searching these include directories.
    pub fn new(include_dirs: &[PathBuf]) -> Self {
        Workspace {
            include_dirs: include_dirs.to_vec(),
            ..Workspace::default()
        }
    }

    /// Reads and parses a file given by path; its language comes from the extension.
    pub fn add_path(&mut self, path: &Path) -> Option<usize> {
        let Some(lang) = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Language::from_extension)
        else {
            self.io_errors.push(format!(
                "{}: not a specification file (expected an .edl, .cdl or .idl extension)",
                path.display()
            ));
            return None;
        };
        if let Some(id) = self.sources.find(path) {
            return self.units.iter().position(|u| u.file == id);
        }
        match std::fs::read_to_string(path) {
            Ok(text) => self.add_source(path.to_path_buf(), text, lang),
            Err(e) => {
                self.io_errors.push(format!("{}: {e}", path.display()));
                None
            }
        }
    }

    /// Parses text as if read from `path`.
    pub fn add_source(&mut self, path: PathBuf, text: String, lang: Language) -> Option<usize> {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        let file = self.sources.add(path, text);
        let text = self.sources.get(file).map_or("", |f| f.text.as_str());
        match parse(file, text, lang) {
            Ok(unit) => {
                let name = unit.name().clone();
                if name.last() != stem {
                    self.diagnostics.push(
                        Diagnostic::new(
                            name.span,
                            format!(
                                "`{}` is declared in a file named `{stem}.{}`",
                                name.dotted(),
                                lang.extension()
                            ),
                            "name does not match the file name",
                        )
                        .help(format!(
                            "expected the file to be named `{}.{}`",
                            name.last(),
                            lang.extension()
                        )),
                    );
                }
                let key = (lang, name.dotted());
                if let Some(&other) = self.index.get(&key) {
                    let first = self
                        .units
                        .get(other)
                        .map(|u| self.sources.path(u.file))
                        .unwrap_or_default();
                    self.diagnostics.push(
                        Diagnostic::new(
                            name.span,
                            format!("`{}` is declared twice", name.dotted()),
                            "second declaration",
                        )
                        .help(format!("it is already declared in {first}")),
                    );
                    return Some(other);
                }
                let idx = self.units.len();
                self.units.push(Loaded { file, lang, unit });
                self.index.insert(key, idx);
                Some(idx)
            }
            Err(d) => {
                self.diagnostics.push(d);
                None
            }
        }
    }

    /// The unit of a language with this dotted name, if loaded.
    pub fn get(&self, lang: Language, dotted: &str) -> Option<&Loaded> {
        self.index
            .get(&(lang, dotted.to_string()))
            .and_then(|&i| self.units.get(i))
    }

    /// Finds (loading if needed) the unit named by `path`, referred to from `from`.
    pub fn lookup(&mut self, lang: Language, path: &ast::Path, from: FileId) -> Option<usize> {
        let dotted = path.dotted();
        if let Some(&i) = self.index.get(&(lang, dotted.clone())) {
            return Some(i);
        }
        for candidate in self.candidates(lang, path, from) {
            if !candidate.is_file() || self.sources.find(&candidate).is_some() {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&candidate) else {
                continue;
            };
            self.add_source(candidate, text, lang);
            if let Some(&i) = self.index.get(&(lang, dotted.clone())) {
                return Some(i);
            }
        }
        None
    }

    /// Where `path` was searched for, for the "not found" help.
    pub fn candidates(&self, lang: Language, path: &ast::Path, from: FileId) -> Vec<PathBuf> {
        let file_name = path.file_name(lang.extension());
        let nested = path.package_file(lang.extension());
        let mut out: Vec<PathBuf> = self.include_dirs.iter().map(|d| d.join(&nested)).collect();
        out.extend(self.include_dirs.iter().map(|d| d.join(&file_name)));
        if let Some(dir) = self.sources.get(from).and_then(|f| f.path.parent()) {
            out.push(dir.join(&nested));
            out.push(dir.join(&file_name));
        }
        out
    }

    /// "unknown {what} `a.b.C`", naming the files searched, for a name [`Self::lookup`] did
    /// not find.
    pub fn unknown(
        &self,
        what: &str,
        lang: Language,
        path: &ast::Path,
        from: FileId,
    ) -> Diagnostic {
        let searched: Vec<String> = self
            .candidates(lang, path, from)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        Diagnostic::new(
            path.span,
            format!("unknown {what} `{}`", path.dotted()),
            format!("no such {what}"),
        )
        .help(format!(
            "expected a file declaring it; searched: {}",
            searched.join(", ")
        ))
    }

    /// Loads every unit referred to by a loaded unit, transitively, reporting names that
    /// cannot be found.
    pub fn load_references(&mut self) {
        let mut i = 0;
        while let Some(loaded) = self.units.get(i) {
            let file = loaded.file;
            let refs = references(&loaded.unit);
            for (lang, path) in refs {
                if self.lookup(lang, &path, file).is_none() {
                    let what = match lang {
                        Language::Idl => "interface package",
                        Language::Cdl => "component",
                        Language::Edl => "process class",
                    };
                    let d = self.unknown(what, lang, &path, file);
                    self.diagnostics.push(d);
                }
            }
            i += 1;
        }
    }
}

/// The other units a unit names.
fn references(unit: &Unit) -> Vec<(Language, ast::Path)> {
    let mut out = Vec::new();
    match unit {
        Unit::Edl(ast::Edl { sections, .. }) | Unit::Cdl(ast::Cdl { sections, .. }) => {
            for s in sections {
                match s {
                    Section::Security(p) => out.push((Language::Idl, p.clone())),
                    Section::Endpoints { entries, .. } => {
                        out.extend(entries.iter().map(|b| (Language::Idl, b.target.clone())))
                    }
                    Section::Components { entries, .. } => {
                        out.extend(entries.iter().map(|b| (Language::Cdl, b.target.clone())))
                    }
                }
            }
        }
        Unit::Idl(idl) => {
            out.extend(idl.imports.iter().map(|p| (Language::Idl, p.clone())));
            let mut handles = Vec::new();
            for d in &idl.decls {
                match d {
                    ast::Decl::Const { ty, .. } | ast::Decl::Typedef { ty, .. } => {
                        handle_refs(ty, &mut handles)
                    }
                    ast::Decl::Struct { fields, .. } | ast::Decl::Union { fields, .. } => {
                        fields.iter().for_each(|f| handle_refs(&f.ty, &mut handles))
                    }
                }
            }
            if let Some(iface) = &idl.interface {
                for m in &iface.methods {
                    m.params
                        .iter()
                        .for_each(|p| handle_refs(&p.ty, &mut handles));
                }
            }
            // A handle may name its own package, which is loaded already.
            handles.retain(|p| p.dotted() != idl.name.dotted());
            out.extend(handles.into_iter().map(|p| (Language::Idl, p)));
        }
    }
    out
}

fn handle_refs(ty: &TypeExpr, out: &mut Vec<ast::Path>) {
    match &ty.kind {
        TypeExprKind::Handle(p) => out.push(p.clone()),
        TypeExprKind::Array(t, _) | TypeExprKind::Sequence(t, _) => handle_refs(t, out),
        TypeExprKind::Named(_) | TypeExprKind::Bytes(_) | TypeExprKind::String(_) => {}
    }
}
