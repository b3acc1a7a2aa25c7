//! Templates as the KasperskyOS build writes them: `init.yaml.in` and `security.psl.in`
//! (and any `.psl` file) with CMake placeholders (`@INIT_Client_ENTITY_CONNECTIONS@`) and
//! Jinja-style board blocks (`{% if BOARD == "qemu-aarch64" %}` ... `{% endif %}`).
//!
//! Expansion runs in two steps, so that the caller can look at the solution between them:
//! [`Template::parse`] evaluates the board blocks (the lines of a branch not taken, and the
//! directive lines, become empty lines, so every other line keeps its number), and
//! [`Template::fill`] replaces each placeholder by what the caller says it stands for. A
//! replacement of several lines is the one place where numbering would shift; the
//! [`Expanded`] text remembers which template line each of its lines came from, and
//! [`Expanded::remap`] turns a diagnostic on the expanded text into one on the template,
//! so every diagnostic still names the file the person wrote, with its line and column.
//!
//! What is not a board block or a placeholder the solution could mean is a diagnostic with
//! file, line and column: an unknown placeholder, a directive sharing its line with text,
//! an `{% if %}` without `{% endif %}`, a condition on anything but `BOARD`, and the
//! template engine's other constructs (`{{ ... }}`, macros), which Ostrog does not run.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use ostrog_diag::{FileDiagnostic, SourceFile};

/// A placeholder `@NAME@` (or `@NAME+@`) in a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// The name between the `@`s, `+` included.
    pub name: String,
    /// Line in the template (from 0) and byte column of the first `@`.
    pub line: usize,
    pub col: usize,
}

/// A template with its board blocks evaluated; placeholders still in it.
#[derive(Debug)]
pub struct Template {
    pub file: Arc<SourceFile>,
    /// The template's lines, those of branches not taken (and directives) emptied.
    pub lines: Vec<String>,
}

/// A template's text once filled, and where each of its lines came from.
#[derive(Debug)]
pub struct Expanded {
    pub text: String,
    /// Per line of `text`: the template line (from 0) and whether it is that line as written
    /// (columns agree) or made from a placeholder on it.
    origin: Vec<(usize, bool)>,
    file: Arc<SourceFile>,
}

fn error(
    file: &Arc<SourceFile>,
    span: Range<usize>,
    message: String,
    label: &str,
    help: &str,
) -> FileDiagnostic {
    FileDiagnostic::new(file, span, message, label).help(help.to_string())
}

/// Byte offset of the start of each line of `text`.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    starts
}

/// A board condition: `BOARD == "x"`, `BOARD != "x"`, `BOARD in ["x", "y"]`, joined by
/// `or` / `and` (no parentheses); an error saying why if it is not one.
fn condition(text: &str, board: &str) -> Result<bool, String> {
    // `or` binds weaker than `and`, as in Jinja.
    let mut any = false;
    for alternative in split_words(text, "or") {
        let mut all = true;
        for term in split_words(&alternative, "and") {
            all &= comparison(term.trim(), board)?;
        }
        any |= all;
    }
    Ok(any)
}

/// `text` split at the word `word` (outside quotes).
fn split_words(text: &str, word: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    let tokens: Vec<&str> = text.split(' ').collect();
    for t in tokens {
        quoted ^= t.matches('"').count() % 2 == 1;
        if !quoted && t == word {
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(t);
        }
    }
    parts
}

fn quoted(text: &str) -> Option<&str> {
    text.trim().strip_prefix('"')?.strip_suffix('"')
}

fn comparison(term: &str, board: &str) -> Result<bool, String> {
    let Some(rest) = term.strip_prefix("BOARD") else {
        return Err(format!(
            "`{term}`: a condition compares BOARD (the board being built) with a name"
        ));
    };
    let rest = rest.trim();
    if let Some(v) = rest.strip_prefix("==").and_then(quoted) {
        return Ok(v == board);
    }
    if let Some(v) = rest.strip_prefix("!=").and_then(quoted) {
        return Ok(v != board);
    }
    if let Some(list) = rest
        .strip_prefix("in")
        .map(str::trim)
        .and_then(|l| l.strip_prefix('['))
        .and_then(|l| l.strip_suffix(']'))
    {
        let mut found = false;
        for item in list.split(',') {
            found |= quoted(item).ok_or_else(|| format!("`{item}` is not a quoted name"))? == board;
        }
        return Ok(found);
    }
    Err(format!(
        "`{term}`: expected `BOARD == \"NAME\"`, `BOARD != \"NAME\"` or `BOARD in [\"A\", \"B\"]`"
    ))
}

/// One open `{% if %}`: whether an enclosing block is taken, whether a branch of this one
/// was taken already, whether the current branch is, and where the `if` is.
struct Open {
    outer: bool,
    done: bool,
    now: bool,
    at: usize,
}

impl Template {
    /// Reads `text` (the file `path`) and evaluates its board blocks for `board`.
    pub fn parse(path: &Path, text: &str, board: &str) -> Result<Template, Vec<FileDiagnostic>> {
        let file = Arc::new(SourceFile::new(path, text));
        let starts = line_starts(text);
        let mut diagnostics = Vec::new();
        let mut lines = Vec::new();
        let mut stack: Vec<Open> = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            let start = starts.get(n).copied().unwrap_or(0);
            let taken = stack.last().is_none_or(|o| o.now);
            let trimmed = line.trim();
            if let Some(at) = line.find("{{").or_else(|| line.find("{#")) {
                if taken {
                    diagnostics.push(error(
                        &file,
                        start + at..start + line.len(),
                        "template expressions are not supported".into(),
                        "here",
                        "Ostrog evaluates `{% if BOARD ... %}` blocks and `@...@` placeholders only; write the text the expression stands for",
                    ));
                }
                lines.push(String::new());
                continue;
            }
            let Some(at) = line.find("{%") else {
                lines.push(if taken {
                    line.to_string()
                } else {
                    String::new()
                });
                continue;
            };
            let span = start + at..start + line.len();
            let inner = trimmed
                .strip_prefix("{%")
                .and_then(|t| t.strip_suffix("%}"))
                .map(|t| {
                    t.trim()
                        .trim_start_matches('-')
                        .trim_end_matches('-')
                        .trim()
                });
            let Some(inner) = inner.filter(|_| trimmed.starts_with("{%")) else {
                diagnostics.push(error(
                    &file,
                    span,
                    "a block directive must be alone on its line".into(),
                    "here",
                    "put `{% if ... %}`, `{% elif ... %}`, `{% else %}` and `{% endif %}` on lines of their own",
                ));
                lines.push(String::new());
                continue;
            };
            let (word, rest) = inner.split_once(' ').unwrap_or((inner, ""));
            let mut judge = |rest: &str| match condition(rest.trim(), board) {
                Ok(v) => v,
                Err(why) => {
                    diagnostics.push(error(
                        &file,
                        span.clone(),
                        format!("cannot evaluate this condition: {why}"),
                        "condition",
                        "Ostrog's templates test the board: `{% if BOARD == \"qemu-aarch64\" %}`",
                    ));
                    false
                }
            };
            match word {
                "if" => {
                    let outer = taken;
                    let now = outer && judge(rest);
                    stack.push(Open {
                        outer,
                        done: now,
                        now,
                        at: span.start,
                    });
                }
                "elif" | "else" if stack.is_empty() => diagnostics.push(error(
                    &file,
                    span.clone(),
                    format!("`{{% {word} %}}` without `{{% if %}}`"),
                    "here",
                    "open the block with `{% if BOARD == \"...\" %}`",
                )),
                "elif" => {
                    let value = judge(rest);
                    if let Some(o) = stack.last_mut() {
                        o.now = o.outer && !o.done && value;
                        o.done |= o.now;
                    }
                }
                "else" => {
                    if let Some(o) = stack.last_mut() {
                        o.now = o.outer && !o.done;
                        o.done = true;
                    }
                }
                "endif" => {
                    if stack.pop().is_none() {
                        diagnostics.push(error(
                            &file,
                            span.clone(),
                            "`{% endif %}` without `{% if %}`".into(),
                            "here",
                            "remove it, or open the block with `{% if BOARD == \"...\" %}`",
                        ));
                    }
                }
                _ => diagnostics.push(error(
                    &file,
                    span.clone(),
                    format!("unknown directive `{word}`"),
                    "here",
                    "Ostrog's templates have `if`, `elif`, `else` and `endif` (on BOARD)",
                )),
            }
            lines.push(String::new());
        }
        for open in stack {
            diagnostics.push(error(
                &file,
                open.at..open.at + 2,
                "`{% if %}` without `{% endif %}`".into(),
                "this block",
                "close it with `{% endif %}` on a line of its own",
            ));
        }
        match diagnostics.is_empty() {
            true => Ok(Template { file, lines }),
            false => Err(diagnostics),
        }
    }

    /// The placeholders of the branches taken, in order.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut out = Vec::new();
        for (line, text) in self.lines.iter().enumerate() {
            let mut from = 0;
            while let Some((col, name)) = next_placeholder(text, from) {
                from = col + name.len() + 2;
                out.push(Placeholder { name, line, col });
            }
        }
        out
    }

    /// Byte offset of a placeholder in the template file.
    pub fn offset(&self, p: &Placeholder) -> usize {
        line_starts(&self.file.text)
            .get(p.line)
            .copied()
            .unwrap_or(0)
            + p.col
    }

    /// Replaces each placeholder by the lines `value` gives (the first where the placeholder
    /// is, the others below it at its column), or reports what `value` refuses with the
    /// placeholder's position.
    pub fn fill(
        &self,
        mut value: impl FnMut(&Placeholder) -> Result<Vec<String>, String>,
    ) -> Result<Expanded, Vec<FileDiagnostic>> {
        let mut diagnostics = Vec::new();
        let mut text = String::new();
        let mut origin = Vec::new();
        let placeholders = self.placeholders();
        for (n, line) in self.lines.iter().enumerate() {
            let here: Vec<&Placeholder> = placeholders.iter().filter(|p| p.line == n).collect();
            if here.is_empty() {
                text.push_str(line);
                text.push('\n');
                origin.push((n, true));
                continue;
            }
            let mut current = String::new();
            let mut more: Vec<String> = Vec::new();
            let mut at = 0;
            for p in here {
                current.push_str(line.get(at..p.col).unwrap_or(""));
                at = p.col + p.name.len() + 2;
                match value(p) {
                    Ok(lines) => {
                        let mut lines = lines.into_iter();
                        current.push_str(&lines.next().unwrap_or_default());
                        let indent = " ".repeat(p.col);
                        more.extend(lines.map(|l| format!("{indent}{l}")));
                    }
                    Err(why) => {
                        let start = self.offset(p);
                        diagnostics.push(error(
                            &self.file,
                            start..start + p.name.len() + 2,
                            why,
                            "placeholder",
                            "see docs/porting.md, \"Templates\", for the placeholders Ostrog fills",
                        ));
                    }
                }
            }
            current.push_str(line.get(at..).unwrap_or(""));
            text.push_str(&current);
            text.push('\n');
            origin.push((n, false));
            for l in more {
                text.push_str(&l);
                text.push('\n');
                origin.push((n, false));
            }
        }
        match diagnostics.is_empty() {
            true => Ok(Expanded {
                text,
                origin,
                file: Arc::clone(&self.file),
            }),
            false => Err(diagnostics),
        }
    }
}

/// The next `@NAME@` or `@NAME+@` at or after byte `from`: its column and name.
fn next_placeholder(line: &str, from: usize) -> Option<(usize, String)> {
    let mut search = from;
    while let Some(i) = line.get(search..)?.find('@') {
        let start = search + i;
        let rest = line.get(start + 1..)?;
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '+')
            .collect();
        let starts_well = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        if starts_well && rest.get(name.len()..).is_some_and(|r| r.starts_with('@')) {
            return Some((start, name));
        }
        search = start + 1;
    }
    None
}

impl Expanded {
    /// The same diagnostic, pointing into the template: a line as written keeps its column,
    /// a line made from a placeholder points at the placeholder's line.
    pub fn remap(&self, d: &FileDiagnostic) -> FileDiagnostic {
        let expanded = SourceFile::new(&self.file.path, self.text.as_str());
        let (line, col) = expanded.line_col(d.diagnostic.span.start as usize);
        let (orig_line, as_written) = self
            .origin
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or((0, false));
        let start = match as_written {
            true => self.file.offset(orig_line + 1, col.saturating_sub(1)),
            false => self.file.offset(orig_line + 1, 0),
        };
        let len = (d.diagnostic.span.end - d.diagnostic.span.start) as usize;
        let end = match as_written {
            true => start + len,
            false => start + self.file.rest_of_line(start).len(),
        }
        .min(self.file.text.len());
        let mut out = FileDiagnostic::new(
            &self.file,
            start..end,
            d.diagnostic.message.clone(),
            d.diagnostic.label.clone(),
        );
        if let Some(help) = &d.diagnostic.help {
            out = out.help(help.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str, board: &str) -> Result<String, Vec<String>> {
        let short = |ds: Vec<FileDiagnostic>| ds.iter().map(|d| d.short()).collect::<Vec<_>>();
        let t = Template::parse(Path::new("init.yaml.in"), text, board).map_err(short)?;
        t.fill(|p| match p.name.as_str() {
            "INIT_Client_ENTITY_CONNECTIONS+" => Ok(vec![
                "- {target: a, id: a}".into(),
                "- {target: b, id: b}".into(),
            ]),
            "ONE" => Ok(vec!["one".into()]),
            other => Err(format!("unknown placeholder `@{other}@`")),
        })
        .map(|e| e.text)
        .map_err(short)
    }

    #[test]
    fn board_blocks_keep_the_lines_of_the_branch_taken() {
        let text = "a\n{% if BOARD == \"qemu-aarch64\" %}\nb\n{% elif BOARD in [\"x\", \"qemu-x86_64\"] %}\nc\n{% else %}\nd\n{% endif %}\ne\n";
        assert_eq!(
            expand(text, "qemu-aarch64").unwrap(),
            "a\n\nb\n\n\n\n\n\ne\n\n"
        );
        assert_eq!(
            expand(text, "qemu-x86_64").unwrap(),
            "a\n\n\n\nc\n\n\n\ne\n\n"
        );
        assert_eq!(
            expand(text, "RPI4_BCM2711").unwrap(),
            "a\n\n\n\n\n\nd\n\ne\n\n"
        );
    }

    #[test]
    fn nested_blocks_and_negation() {
        let text = "{% if BOARD != \"x\" %}\n{% if BOARD == \"y\" or BOARD == \"z\" %}\nyz\n{% endif %}\n{% endif %}\n";
        assert!(expand(text, "z").unwrap().contains("yz"));
        assert!(!expand(text, "x").unwrap().contains("yz"));
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_named_with_their_place() {
        let text = "  connections:\n  - target: s\n    id: s\n  @INIT_Client_ENTITY_CONNECTIONS+@\nx: @ONE@ @ONE@\n";
        let out = expand(text, "b").unwrap();
        assert!(
            out.contains("  - {target: a, id: a}\n  - {target: b, id: b}\n"),
            "{out}"
        );
        assert!(out.contains("x: one one"), "{out}");
        let err = expand("a\n  b: @INIT_Nobody_ENTITY_CONNECTIONS@\n", "b").unwrap_err();
        assert_eq!(
            err,
            vec!["init.yaml.in:2:6: unknown placeholder `@INIT_Nobody_ENTITY_CONNECTIONS@`"]
        );
        // An address with one `@` is no placeholder.
        assert_eq!(
            expand("# mail me@example.org\n", "b").unwrap(),
            "# mail me@example.org\n\n"
        );
    }

    #[test]
    fn malformed_blocks_are_diagnostics_with_their_place() {
        let err = expand("a\n{% if BOARD == \"x\" %}\n", "b").unwrap_err();
        assert_eq!(
            err,
            vec!["init.yaml.in:2:1: `{% if %}` without `{% endif %}`"]
        );
        let err = expand("{% if ARCH == \"x\" %}\n{% endif %}\n", "b").unwrap_err();
        assert!(
            err[0].starts_with("init.yaml.in:1:1: cannot evaluate"),
            "{err:?}"
        );
        let err = expand("a: 1 {% if BOARD == \"x\" %}\n", "b").unwrap_err();
        assert_eq!(
            err,
            vec!["init.yaml.in:1:6: a block directive must be alone on its line"]
        );
        let err = expand("{% endif %}\n", "b").unwrap_err();
        assert!(err[0].contains("without `{% if %}`"), "{err:?}");
        let err = expand("{{ VMMSafe([\"Einit\"]) }}\n", "b").unwrap_err();
        assert!(
            err[0].starts_with("init.yaml.in:1:1: template expressions"),
            "{err:?}"
        );
    }

    #[test]
    fn diagnostics_on_the_expansion_point_into_the_template() {
        let text = "entities:\n@ONE@\n- name: x\n  bad: 1\n";
        let t = Template::parse(Path::new("init.yaml.in"), text, "b").unwrap();
        let e = t
            .fill(|_| Ok(vec!["- name: a".into(), "- name: b".into()]))
            .unwrap();
        // `bad` is on line 5 of the expansion, line 4 of the template.
        let at = e.text.find("bad").unwrap();
        let file = Arc::new(SourceFile::new("x", e.text.as_str()));
        let d = FileDiagnostic::new(&file, at..at + 3, "unknown key `bad`", "key");
        assert_eq!(e.remap(&d).short(), "init.yaml.in:4:3: unknown key `bad`");
        let at = e.text.find("- name: b").unwrap();
        let d = FileDiagnostic::new(&file, at..at + 1, "m", "l");
        assert_eq!(e.remap(&d).short(), "init.yaml.in:2:1: m");
    }
}
