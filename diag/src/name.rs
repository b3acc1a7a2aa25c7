//! Dotted names such as `kl.core.Task`, and the file a dotted name is looked for in.
//!
//! EDL, CDL and IDL name their units with dotted names, and PSL refers to those units and to
//! its own files (`use nk.base._`) the same way. A name's segments are its package folders
//! and its last segment the file stem: `kl.core.Task` of language IDL is `kl/core/Task.idl`
//! below a search root, `nk.base` of PSL is `nk/base.psl`.

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;
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

/// What a token kind tells about names: implemented for each language's token kind by
/// [`crate::grammar!`].
pub trait NameToken {
    /// The text of a name token.
    fn name(&self) -> Option<&str>;

    /// Whether the token is `.`.
    fn is_dot(&self) -> bool;
}

/// Reading a name and a dotted name, the same in both parsers: a parser says what the tokens
/// ahead of it are and how it moves on ([`crate::name_parser!`] writes that for a parser over
/// a token list); the rules of a name and of a dotted name are here.
pub trait NameParser {
    /// Whether a `.` after a dotted name that no name follows ends the dotted name, leaving
    /// the `.` to what comes next (PSL), instead of asking for a name after it
    /// (EDL/CDL/IDL).
    const DOT_MAY_FOLLOW: bool;

    /// The text of the token `n` places ahead if it is a name.
    fn name_at(&self, n: usize) -> Option<&str>;

    /// Whether the token `n` places ahead is `.`.
    fn dot_at(&self, n: usize) -> bool;

    /// Moves past the next token; returns its place.
    fn advance(&mut self) -> Span;

    /// "expected `what`" at the next token.
    fn expected(&self, what: &str) -> Diagnostic;

    /// A name; `what` says what it names, for the diagnostic if there is none.
    fn name(&mut self, what: &str) -> Result<Name, Diagnostic> {
        let Some(text) = self.name_at(0).map(str::to_owned) else {
            return Err(self.expected(what));
        };
        let span = self.advance();
        Ok(Name { text, span })
    }

    /// A dotted name such as `kl.core.Core` (a plain name too).
    fn path(&mut self, what: &str) -> Result<Path, Diagnostic> {
        let first = self.name(what)?;
        let mut span = first.span;
        let mut segments = vec![first];
        while self.dot_at(0) && (!Self::DOT_MAY_FOLLOW || self.name_at(1).is_some()) {
            self.advance();
            let seg = self.name(&format!("a name after `.` in {what}"))?;
            span = span.to(seg.span);
            segments.push(seg);
        }
        Ok(Path { segments, span })
    }
}

/// Implements [`NameParser`] for a parser over a token list: the tokens in its field
/// `tokens` (the last one is the end of the file), the index of the next one in `pos`, and
/// "expected ..." diagnostics from its method `error(what)`. `dot_may_follow` is
/// [`NameParser::DOT_MAY_FOLLOW`].
#[macro_export]
macro_rules! name_parser {
    ($parser:ty, dot_may_follow: $dot:literal) => {
        impl $crate::name::NameParser for $parser {
            const DOT_MAY_FOLLOW: bool = $dot;

            fn name_at(&self, n: usize) -> Option<&str> {
                let token = self.tokens.get(self.pos + n)?;
                $crate::name::NameToken::name(&token.kind)
            }

            fn dot_at(&self, n: usize) -> bool {
                let token = self.tokens.get(self.pos + n);
                token.is_some_and(|t| $crate::name::NameToken::is_dot(&t.kind))
            }

            fn advance(&mut self) -> $crate::Span {
                let token = self.tokens.get(self.pos).or(self.tokens.last());
                let span = token.map_or($crate::Span::new($crate::FileId(0), 0, 0), |t| t.span);
                if self.pos < self.tokens.len() {
                    self.pos += 1;
                }
                span
            }

            fn expected(&self, what: &str) -> $crate::Diagnostic {
                self.error(what)
            }
        }
    };
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
