//! Diagnostics: what is wrong in `init.yaml`, where, and what was expected.
//!
//! A [`Diagnostic`] is plain data (file, byte range, message, label, help) so tests can
//! assert on it without rendering, and it holds its file so it can be rendered anywhere
//! later without a separate source map. [`Diagnostic::render`] gives the rustc-style text
//! through `miette`: file, line and column, the source line with the offending text
//! underlined, and the help. [`Diagnostic::short`] is the one-line `path:line:col: message`
//! form used by tests and summaries.

use std::ops::Range;
use std::sync::Arc;

use crate::source::SourceFile;

/// One error found in a solution description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: Arc<SourceFile>,
    /// Byte range of the offending text.
    pub span: Range<usize>,
    /// What went wrong (one line).
    pub message: String,
    /// Short text printed under the underlined source.
    pub label: String,
    /// What was expected instead, if there is something to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a message and a label.
    pub fn new(
        file: &Arc<SourceFile>,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: Arc::clone(file),
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

    /// Line and column (from 1) where the problem starts.
    pub fn line_col(&self) -> (usize, usize) {
        self.file.line_col(self.span.start)
    }

    /// `path:line:col: message`.
    pub fn short(&self) -> String {
        let (line, col) = self.line_col();
        format!(
            "{}:{}:{}: {}",
            self.file.path.display(),
            line,
            col,
            self.message
        )
    }

    /// Full rustc-style rendering (no colours, so output is stable in logs and tests).
    pub fn render(&self) -> String {
        let text = &self.file.text;
        let start = self.span.start.min(text.len());
        let len = self.span.end.saturating_sub(start).max(1);
        let len = len.min(text.len().saturating_sub(start));
        let report = Report {
            message: self.message.clone(),
            help: self.help.clone(),
            label: miette::LabeledSpan::new(Some(self.label.clone()), start, len),
            source: miette::NamedSource::new(self.file.path.display().to_string(), text.clone()),
        };
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        if handler.render_report(&mut out, &report).is_err() {
            return format!("error: {}\n", self.short());
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
