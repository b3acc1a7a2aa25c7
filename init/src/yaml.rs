//! A YAML document as a tree of nodes that remember where they were written.
//!
//! `init.yaml` diagnostics must point at keys as well as values ("unknown key `pth`"),
//! which a deserializer into Rust types cannot do: it forgets the keys once they are
//! matched. So the file is read with `yaml-rust2`'s event parser, which reports a position
//! for every scalar and collection, and this module folds the events into [`Node`]s whose
//! spans are byte ranges of the original text.
//!
//! Only the parts of YAML a solution description needs are kept: scalars (with whether
//! they were quoted, which decides `true` versus `"true"`), lists and maps with their keys
//! as nodes. Aliases are refused rather than expanded (expansion is how a small file turns
//! into a huge tree), a second document is refused, and nesting is limited to
//! [`MAX_DEPTH`] so that a hostile file cannot make the checker recurse without bound.

use std::ops::Range;
use std::sync::Arc;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

use ostrog_diag::FileDiagnostic;
use ostrog_diag::SourceFile;

/// The deepest nesting of lists and maps accepted.
pub const MAX_DEPTH: usize = 64;

/// One YAML value and the text it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Byte range in the file (for collections: from the first character to the end of
    /// the last element).
    pub span: Range<usize>,
    /// The value.
    pub kind: Kind,
}

/// What a node is.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A scalar: its text and whether it was quoted or a block scalar.
    Scalar {
        /// The value after unescaping.
        text: String,
        /// Written in quotes or as a `|`/`>` block, so never null, a boolean or a number.
        quoted: bool,
    },
    /// A list.
    Seq(Vec<Node>),
    /// A map, as (key, value) pairs in the order written.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, unless the node is a collection or null.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// Whether this is a null: an empty plain scalar, `~` or `null`.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, quoted: false }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The boolean value of a plain `true`/`false`.
    pub fn boolean(&self) -> Option<bool> {
        match &self.kind {
            Kind::Scalar {
                text,
                quoted: false,
            } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// What the node is, for "found ..." in messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a map",
            Kind::Scalar { .. } if self.is_null() => "no value",
            Kind::Scalar { .. } if self.boolean().is_some() => "a boolean",
            Kind::Scalar { text, quoted } => {
                if !quoted && is_number(text) {
                    "a number"
                } else {
                    "a string"
                }
            }
        }
    }
}

/// Whether a plain scalar reads as a YAML 1.2 core-schema integer or float.
fn is_number(text: &str) -> bool {
    let unsigned = text.trim_start_matches(['-', '+']);
    let radix = |prefix: &str, digit: fn(&char) -> bool| {
        text.strip_prefix(prefix)
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| digit(&c)))
    };
    radix("0x", char::is_ascii_hexdigit)
        || radix("0o", |c| ('0'..='7').contains(c))
        || matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || matches!(text, ".nan" | ".NaN" | ".NAN")
        || (unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            && unsigned.chars().any(|c| c.is_ascii_digit())
            && unsigned
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
            && unsigned.parse::<f64>().is_ok())
}

/// A collection being read.
enum Frame {
    Seq {
        start: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Parses the file into its one document's root node (`None` for an empty file).
pub fn parse(file: &Arc<SourceFile>) -> Result<Option<Node>, FileDiagnostic> {
    let mut parser = Parser::new_from_str(&file.text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root = None;
    let mut documents = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            let m = e.marker();
            let at = file.offset(m.line(), m.col());
            FileDiagnostic::new(
                file,
                at..at,
                format!("YAML syntax error: {}", e.info()),
                "here",
            )
            .help("check the indentation, the `:` after each key and the quoting near here")
        })?;
        let at = file.offset(mark.line(), mark.col());
        let node = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => continue,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(FileDiagnostic::new(
                        file,
                        at..at + 3,
                        "a second YAML document",
                        "the first one ends here",
                    )
                    .help("init.yaml is one document: a map with the key `entities`"));
                }
                continue;
            }
            Event::Alias(_) => {
                return Err(FileDiagnostic::new(
                    file,
                    at..at + 1,
                    "YAML aliases are not supported",
                    "alias",
                )
                .help("write the value out in full where it is used"));
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(FileDiagnostic::new(
                        file,
                        at..at + 1,
                        format!("lists and maps nested deeper than {MAX_DEPTH} levels"),
                        "too deep",
                    )
                    .help("init.yaml needs four levels at most"));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => Frame::Seq {
                        start: at,
                        items: Vec::new(),
                    },
                    _ => Frame::Map {
                        start: at,
                        entries: Vec::new(),
                        key: None,
                    },
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { start, items }) => {
                    let span = collection_span(file, start, at, items.first(), items.last());
                    Node {
                        span,
                        kind: Kind::Seq(items),
                    }
                }
                Some(Frame::Map { start, entries, .. }) => {
                    let span = collection_span(
                        file,
                        start,
                        at,
                        entries.first().map(|(k, _)| k),
                        entries.last().map(|(_, v)| v),
                    );
                    Node {
                        span,
                        kind: Kind::Map(entries),
                    }
                }
                None => continue,
            },
            Event::Scalar(text, style, _, _) => {
                let end = scalar_end(file, at, &text, style);
                Node {
                    span: at..end,
                    kind: Kind::Scalar {
                        text,
                        quoted: style != TScalarStyle::Plain,
                    },
                }
            }
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let mut value = node;
                    // An omitted value (`task:` and nothing) is marked at the next token,
                    // possibly lines below; show it at its key's `:` instead.
                    if value.is_null() && value.span.is_empty() {
                        value.span = k.span.end..k.span.end + 1;
                    }
                    entries.push((k, value));
                }
            },
        }
    }
    Ok(root)
}

/// A collection's span: the scanner marks a block collection after its first key, so the
/// start is the earlier of the mark and the first child; a flow collection ends at its
/// closing bracket, a block one with its last child.
fn collection_span(
    file: &SourceFile,
    start: usize,
    end_mark: usize,
    first: Option<&Node>,
    last: Option<&Node>,
) -> Range<usize> {
    let begin = first.map_or(start, |n| n.span.start.min(start));
    let closed = file
        .text
        .get(end_mark..)
        .is_some_and(|r| r.starts_with([']', '}']));
    let end = match (closed, last) {
        (true, _) => end_mark + 1,
        (false, Some(n)) => n.span.end,
        (false, None) => begin + 1,
    };
    begin..end.max(begin)
}

/// Where a scalar's source text ends: the value itself for a plain scalar on one line, the
/// closing quote for a quoted one, the end of the line otherwise.
fn scalar_end(file: &SourceFile, start: usize, text: &str, style: TScalarStyle) -> usize {
    let line = file.rest_of_line(start);
    let to_line_end = start + line.trim_end().len();
    match style {
        TScalarStyle::Plain if line.starts_with(text) => start + text.len(),
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
            let quote = if style == TScalarStyle::SingleQuoted {
                '\''
            } else {
                '"'
            };
            let mut chars = line.char_indices().skip(1);
            while let Some((i, c)) = chars.next() {
                if c == '\\' && quote == '"' {
                    chars.next();
                } else if c == quote {
                    if quote == '\'' && line.get(i + 1..).is_some_and(|r| r.starts_with('\'')) {
                        chars.next();
                        continue;
                    }
                    return start + i + 1;
                }
            }
            to_line_end
        }
        _ => to_line_end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Result<Option<Node>, FileDiagnostic> {
        parse(&Arc::new(SourceFile::new("t.yaml", text)))
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "entities:\n- name: \"dé.C\"\n  args: [a, 'b''c']\n";
        let Ok(Some(root)) = tree(text) else {
            panic!("parses")
        };
        let Kind::Map(top) = &root.kind else {
            panic!("map")
        };
        let (key, list) = &top[0];
        assert_eq!(&text[key.span.clone()], "entities");
        let Kind::Seq(items) = &list.kind else {
            panic!("list")
        };
        let Kind::Map(entity) = &items[0].kind else {
            panic!("map")
        };
        assert_eq!(&text[entity[0].0.span.clone()], "name");
        assert_eq!(&text[entity[0].1.span.clone()], "\"dé.C\"");
        let Kind::Seq(args) = &entity[1].1.kind else {
            panic!("list")
        };
        assert_eq!(&text[args[1].span.clone()], "'b''c'");
        assert_eq!(args[1].text(), Some("b'c"));
        assert_eq!(
            &text[items[0].span.clone()],
            "name: \"dé.C\"\n  args: [a, 'b''c']"
        );
    }

    #[test]
    fn scalar_kinds() {
        let Ok(Some(root)) = tree("[~, true, \"true\", 12, 0x1F, 1.5e3, x1, .inf]") else {
            panic!("parses")
        };
        let Kind::Seq(items) = &root.kind else {
            panic!("list")
        };
        let kinds: Vec<&str> = items.iter().map(Node::describe).collect();
        assert_eq!(
            kinds,
            [
                "no value",
                "a boolean",
                "a string",
                "a number",
                "a number",
                "a number",
                "a string",
                "a number"
            ]
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(tree("# nothing\n").ok(), Some(None));
        let deep = "[".repeat(200);
        assert!(tree(&deep).is_err_and(
            |d| d.message.contains("YAML syntax error") || d.message.contains("nested deeper")
        ));
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(tree(&deep).is_err_and(|d| d.message.contains("nested deeper")));
        assert!(tree("a: &x 1\nb: *x\n").is_err_and(|d| d.message.contains("aliases")));
        assert!(tree("a: 1\n---\nb: 2\n").is_err_and(|d| d.message.contains("second YAML")));
    }
}
