//! Source files, spans, and the arithmetic between byte offsets and line/column.
//!
//! A front end keeps every file it reads for the whole run, so that a [`Span`] (file id plus
//! byte range) is enough to point a diagnostic at the offending text long after parsing is
//! over. The specification and policy front ends read many files into one [`SourceMap`];
//! the `init.yaml` checker reads one [`SourceFile`] and lets its diagnostics carry it.
//!
//! Scanners that count in lines and characters (the YAML scanner: line from 1, column in
//! characters from 0) and people (line and column from 1) meet byte offsets here. Each
//! [`SourceFile`] keeps the start of every line so both conversions are cheap and never index
//! outside the text, whatever position they are handed.

use std::path::{Path, PathBuf};

/// Index of a file in the [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The span of bytes `start..end` of `file` (offsets past 4 GiB are clamped).
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// A span covering `self` and `other` (which must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// One loaded file.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Path as given or found through an include directory, for display.
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

/// Where the file a [`Span`] names is found: a [`SourceMap`], or the one file a diagnostic
/// of a single-file front end carries.
pub trait Sources {
    /// The file with this id.
    fn file(&self, id: FileId) -> Option<&SourceFile>;
}

impl Sources for SourceFile {
    fn file(&self, _: FileId) -> Option<&SourceFile> {
        Some(self)
    }
}

/// All files loaded in one run.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl Sources for SourceMap {
    fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.get(id)
    }
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(path, text));
        id
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The id of an already loaded file with this path.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .and_then(|i| u32::try_from(i).ok())
            .map(FileId)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        self.get(file)
            .map_or((1, 1), |f| f.line_col(offset as usize))
    }

    /// Path of a file for display.
    pub fn path(&self, file: FileId) -> String {
        self.get(file)
            .map(|f| f.path.display().to_string())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::{FileId, SourceFile, SourceMap};

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

    #[test]
    fn a_map_finds_files_by_id_and_path() {
        let mut map = SourceMap::default();
        let a = map.add("a.idl".into(), "x\ny".into());
        let b = map.add("b.idl".into(), String::new());
        assert_eq!(map.find(std::path::Path::new("b.idl")), Some(b));
        assert_eq!(map.line_col(a, 2), (2, 1));
        assert_eq!(map.line_col(FileId(9), 2), (1, 1));
        assert_eq!(map.path(a), "a.idl");
    }
}
