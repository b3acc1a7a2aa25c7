//! Diagnostics: what went wrong, where, and what was expected.
//!
//! A [`Diagnostic`] is plain data (span, message, label, help) so that tests can assert on it
//! without rendering. Its span names a file by id; the files are found in whatever
//! [`Sources`] the caller holds (a [`SourceMap`](crate::SourceMap) for the specification and
//! policy front ends). A [`FileDiagnostic`] carries its one file along, so the `init.yaml`
//! checker's diagnostics can be rendered anywhere later without a map.
//!
//! Two forms, one for each reader: [`Diagnostic::short`], the one-line `path:line:col:
//! message` used by tests and summaries, and [`Diagnostic::render`], rustc-style text made
//! with `miette` (file, line and column, the source line with the offending text underlined,
//! the help), without colours so that logs and tests are stable.

use std::io::Write;
use std::ops::Range;
use std::sync::Arc;

use crate::source::{FileId, SourceFile, SourceMap, Sources, Span};

/// One error found in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where.
    pub span: Span,
    /// What went wrong (one line).
    pub message: String,
    /// Short text printed under the underlined source.
    pub label: String,
    /// What was expected instead, if there is something to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a message and a label.
    pub fn new(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            span,
            message: message.into(),
            label: label.into(),
            help: None,
        }
    }

    /// Adds a help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `path:line:col: message`.
    pub fn short(&self, sources: &impl Sources) -> String {
        let Some(file) = sources.file(self.span.file) else {
            return format!(":1:1: {}", self.message);
        };
        let (line, col) = file.line_col(self.span.start as usize);
        format!("{}:{}:{}: {}", file.path.display(), line, col, self.message)
    }

    /// Full rustc-style rendering.
    pub fn render(&self, sources: &impl Sources) -> String {
        let Some(file) = sources.file(self.span.file) else {
            return format!("error: {}\n", self.message);
        };
        let text = &file.text;
        let start = (self.span.start as usize).min(text.len());
        let len = (self.span.end as usize).saturating_sub(start).max(1);
        let len = len.min(text.len().saturating_sub(start));
        let report = Report {
            message: self.message.clone(),
            help: self.help.clone(),
            label: miette::LabeledSpan::new(Some(self.label.clone()), start, len),
            source: miette::NamedSource::new(file.path.display().to_string(), text.clone()),
        };
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        if handler.render_report(&mut out, &report).is_err() {
            return format!("error: {}\n", self.short(sources));
        }
        out
    }
}

/// A diagnostic together with the one file it points into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDiagnostic {
    /// The file.
    pub file: Arc<SourceFile>,
    /// What, where in the file, and what was expected.
    pub diagnostic: Diagnostic,
}

impl FileDiagnostic {
    /// A diagnostic on bytes `span` of `file`, with a message and a label.
    pub fn new(
        file: &Arc<SourceFile>,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        FileDiagnostic {
            file: Arc::clone(file),
            diagnostic: Diagnostic::new(Span::new(FileId(0), span.start, span.end), message, label),
        }
    }

    /// Adds a help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.diagnostic = self.diagnostic.help(help);
        self
    }

    /// Line and column (from 1) where the problem starts.
    pub fn line_col(&self) -> (usize, usize) {
        self.file.line_col(self.diagnostic.span.start as usize)
    }

    /// `path:line:col: message`.
    pub fn short(&self) -> String {
        self.diagnostic.short(&*self.file)
    }

    /// Full rustc-style rendering.
    pub fn render(&self) -> String {
        self.diagnostic.render(&*self.file)
    }
}

/// The message, label and help read through the wrapper (`d.message`).
impl std::ops::Deref for FileDiagnostic {
    type Target = Diagnostic;

    fn deref(&self) -> &Diagnostic {
        &self.diagnostic
    }
}

/// Writes every problem of a run, fully rendered: first the files that could not be read
/// (they have no position to point at), then the diagnostics.
pub fn write_report(
    out: &mut dyn Write,
    sources: &SourceMap,
    unreadable: &[String],
    diagnostics: &[Diagnostic],
) -> std::io::Result<()> {
    for e in unreadable {
        writeln!(out, "error: {e}")?;
    }
    for d in diagnostics {
        writeln!(out, "{}", d.render(sources))?;
    }
    Ok(())
}

/// Every problem of a run in the one-line form, unreadable files first.
pub fn short_messages(
    sources: &SourceMap,
    unreadable: &[String],
    diagnostics: &[Diagnostic],
) -> Vec<String> {
    let mut v = unreadable.to_vec();
    v.extend(diagnostics.iter().map(|d| d.short(sources)));
    v
}

#[derive(Debug)]
struct Report {
    message: String,
    help: Option<String>,
    label: miette::LabeledSpan,
    source: miette::NamedSource<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.label.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_rendered_forms_name_file_line_and_column() {
        let mut map = SourceMap::default();
        let file = map.add("a.idl".into(), "package a\n  bad\n".into());
        let d = Diagnostic::new(Span::new(file, 12, 15), "no good", "here").help("better");
        assert_eq!(d.short(&map), "a.idl:2:3: no good");
        let text = d.render(&map);
        assert!(text.contains("a.idl:2:3"), "{text}");
        assert!(text.contains("here") && text.contains("better"), "{text}");
    }

    #[test]
    fn a_file_diagnostic_needs_no_map() {
        let file = Arc::new(SourceFile::new("init.yaml", "entities:\n  - x\n"));
        let d = FileDiagnostic::new(&file, 14..15, "bad entry", "this");
        assert_eq!(d.line_col(), (2, 5));
        assert_eq!(d.short(), "init.yaml:2:5: bad entry");
        assert!(d.render().contains("init.yaml:2:5"));
    }
}
