//! Diagnostics: what went wrong, where, and what was expected.
//!
//! A [`Diagnostic`] is plain data (span, message, label, help) so that tests can assert on it
//! without rendering. [`Diagnostic::render`] turns it into rustc-style text with `miette`: the
//! file, line and column, the source line with the offending text underlined, and the help.

use crate::source::{SourceMap, Span};

/// One error found in the specification files.
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

    /// `path:line:col: message`, the one-line form used by tests and summaries.
    pub fn short(&self, sources: &SourceMap) -> String {
        let (line, col) = sources.line_col(self.span.file, self.span.start);
        format!(
            "{}:{}:{}: {}",
            sources.path(self.span.file),
            line,
            col,
            self.message
        )
    }

    /// Full rustc-style rendering (no colours, so output is stable in logs and tests).
    pub fn render(&self, sources: &SourceMap) -> String {
        let Some(file) = sources.get(self.span.file) else {
            return format!("error: {}\n", self.message);
        };
        let start = self.span.start as usize;
        let len = (self.span.end.saturating_sub(self.span.start) as usize).max(1);
        let len = len.min(file.text.len().saturating_sub(start));
        let report = Report {
            message: self.message.clone(),
            help: self.help.clone(),
            label: miette::LabeledSpan::new(Some(self.label.clone()), start, len),
            source: miette::NamedSource::new(file.path.display().to_string(), file.text.clone()),
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
