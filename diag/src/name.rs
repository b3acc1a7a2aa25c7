//! Dotted names such as `kl.core.Task`, and the file a dotted name is looked for in.
//!
//! EDL, CDL and IDL name their units with dotted names, and PSL refers to those units and to
//! its own files (`use nk.base._`) the same way. A name's segments are its package folders
//! and its last segment the file stem: `kl.core.Task` of language IDL is `kl/core/Task.idl`
//! below a search root, `nk.base` of PSL is `nk/base.psl`.

use std::path::PathBuf;

use crate::source::Span;

/// A name with its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// The text.
    pub text: String,
    /// Where.
    pub span: Span,
}

/// A dotted name such as `kl.core.Core` (one segment for a plain name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// The segments.
    pub segments: Vec<Name>,
    /// Where the whole name is.
    pub span: Span,
}

impl Path {
    /// The name joined with dots.
    pub fn dotted(&self) -> String {
        let parts: Vec<&str> = self.segments.iter().map(|s| s.text.as_str()).collect();
        parts.join(".")
    }

    /// The last segment.
    pub fn last(&self) -> &str {
        self.segments.last().map_or("", |s| s.text.as_str())
    }

    /// The file of this name below a search root: `a/b/C.<extension>` for `a.b.C`.
    pub fn package_file(&self, extension: &str) -> PathBuf {
        let mut out = PathBuf::new();
        for seg in self
            .segments
            .iter()
            .take(self.segments.len().saturating_sub(1))
        {
            out.push(&seg.text);
        }
        out.push(self.file_name(extension));
        out
    }

    /// The file name of the last segment: `C.<extension>` for `a.b.C`.
    pub fn file_name(&self, extension: &str) -> String {
        format!("{}.{extension}", self.last())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{Name, Path};
    use crate::source::{FileId, Span};

    fn path(dotted: &str) -> Path {
        let span = Span::new(FileId(0), 0, dotted.len());
        Path {
            segments: dotted
                .split('.')
                .map(|s| Name {
                    text: s.to_string(),
                    span,
                })
                .collect(),
            span,
        }
    }

    #[test]
    fn a_name_is_its_package_folders_and_a_file() {
        let p = path("kl.core.Task");
        assert_eq!(p.dotted(), "kl.core.Task");
        assert_eq!(p.last(), "Task");
        assert_eq!(p.file_name("idl"), "Task.idl");
        assert_eq!(p.package_file("idl"), PathBuf::from("kl/core/Task.idl"));
        assert_eq!(
            path("Einit").package_file("edl"),
            PathBuf::from("Einit.edl")
        );
    }
}
