//! The text of one `init.yaml` and the arithmetic between byte offsets and line/column.
//!
//! The YAML scanner reports positions as a line (from 1) and a column counted in
//! characters (from 0); miette and our one-line messages want byte offsets and columns
//! from 1. [`SourceFile`] keeps the start of every line so both conversions are cheap and
//! never index outside the text, whatever position they are handed.

use std::path::PathBuf;

/// One loaded file.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Path as given, for display.
    pub path: PathBuf,
    /// The whole text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Wraps a file's text.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(
            text.char_indices()
                .filter(|(_, c)| *c == '\n')
                .map(|(i, _)| i + 1),
        );
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// The byte offset of a scanner position: `line` from 1, `col` in characters from 0.
    /// Positions past the end of a line or of the file are clamped.
    pub fn offset(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = self.text.get(start..).unwrap_or("");
        let line_text = rest.split('\n').next().unwrap_or("");
        let within = line_text
            .char_indices()
            .nth(col)
            .map_or(line_text.len(), |(i, _)| i);
        start + within
    }

    /// Line and column (both from 1, column in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        (line, col + 1)
    }

    /// The rest of the line from `offset` (without the line break).
    pub fn rest_of_line(&self, offset: usize) -> &str {
        let rest = self.text.get(offset..).unwrap_or("");
        rest.split('\n').next().unwrap_or("").trim_end_matches('\r')
    }
}

#[cfg(test)]
mod tests {
    use super::SourceFile;

    #[test]
    fn offsets_and_columns() {
        let f = SourceFile::new("x", "ab\n dé x\n");
        assert_eq!(f.offset(1, 0), 0);
        assert_eq!(f.offset(2, 1), 4);
        assert_eq!(f.offset(2, 3), 7);
        assert_eq!(f.line_col(7), (2, 4));
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.offset(9, 9), f.text.len());
        assert_eq!(f.line_col(999), (3, 1));
        assert_eq!(f.rest_of_line(4), "dé x");
    }
}
