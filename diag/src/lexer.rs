//! The lexer core: the tokens EDL/CDL/IDL and PSL write the same way.
//!
//! Both languages are free-form: whitespace separates tokens and carries no meaning, `//`
//! comments run to the end of the line and `/* */` comments do not nest. A name is letters,
//! digits and `_`, not starting with a digit (`_` alone included). Keywords are not tokens:
//! each parser recognises them by text where a keyword may stand, so that a field called
//! `class` or an object called `state` breaks nothing.
//!
//! What differs is declared by each language's [`Grammar`]: its token type, its punctuation
//! (taken greedily, the longest mark first), which integer forms it accepts, whether it has
//! `"text"` literals, and how it explains a character it does not know.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// A token with its place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token<K> {
    /// What it is.
    pub kind: K,
    /// Where it is.
    pub span: Span,
}

/// The integer literals a language accepts. Decimal and `0x` hexadecimal are always
/// accepted; a literal runs over every letter, digit and `_` that follows its first digit.
#[derive(Clone, Copy, Debug)]
pub struct Integers {
    /// Whether `0o` starts an octal literal.
    pub octal: bool,
    /// Whether `_` may separate digits (`1_000`, never first).
    pub separators: bool,
    /// The help of an invalid literal.
    pub help: &'static str,
}

/// What a language adds to the shared token rules.
pub trait Grammar {
    /// The language's token kinds.
    type Kind: Clone + PartialEq + 'static;
    /// A name.
    const IDENT: fn(String) -> Self::Kind;
    /// An integer literal, converted.
    const INT: fn(u128) -> Self::Kind;
    /// A `"text"` literal with its escapes resolved, if the language has them.
    const TEXT: Option<fn(String) -> Self::Kind>;
    /// The end of the file.
    const EOF: Self::Kind;
    /// Which integer literals are accepted.
    const INTEGERS: Integers;
    /// The punctuation marks, separated by spaces; where one mark begins with another, the
    /// longer one comes first.
    const MARKS: &'static str;
    /// The token of each mark, in the order of [`Grammar::MARKS`].
    const MARK_KINDS: &'static [Self::Kind];
    /// The label under a character that is not part of the language.
    const FOREIGN_LABEL: &'static str;
    /// What was expected instead of it.
    const FOREIGN_HELP: &'static str;
}

/// Declares a language's [`Grammar`] and, in the calling module, what its parser uses: the
/// `Token` type, `lex(file, text)`, and `describe()` (how a token reads in a diagnostic),
/// `punct()` (a mark's text) and [`crate::name::NameToken`] on the token kind. The kind must have the variants `Ident(String)`,
/// `Int(u128)` and `Eof`, and the variant named after `text:` if the language has text
/// literals.
#[macro_export]
macro_rules! grammar {
    (
        $(#[$doc:meta])*
        $grammar:ident for $kind:ident {
            text: [$($text:ident)?],
            integers: $integers:expr,
            marks: $marks:literal => [$($mark:ident),* $(,)?],
            foreign: ($label:literal, $help:literal) $(,)?
        }
    ) => {
        $(#[$doc])*
        pub struct $grammar;

        impl $crate::lexer::Grammar for $grammar {
            type Kind = $kind;
            const IDENT: fn(String) -> $kind = $kind::Ident;
            const INT: fn(u128) -> $kind = $kind::Int;
            const TEXT: Option<fn(String) -> $kind> = {
                let text: Option<fn(String) -> $kind> = None;
                $(let text: Option<fn(String) -> $kind> = Some($kind::$text);)?
                text
            };
            const EOF: $kind = $kind::Eof;
            const INTEGERS: $crate::lexer::Integers = $integers;
            const MARKS: &'static str = $marks;
            const MARK_KINDS: &'static [$kind] = &[$($kind::$mark),*];
            const FOREIGN_LABEL: &'static str = $label;
            const FOREIGN_HELP: &'static str = $help;
        }

        /// A token with its place in the file.
        pub type Token = $crate::lexer::Token<$kind>;

        /// Splits `text` into tokens; the last token is always the end of the file.
        pub fn lex(file: $crate::FileId, text: &str) -> Result<Vec<Token>, $crate::Diagnostic> {
            $crate::lexer::lex::<$grammar>(file, text)
        }

        impl $kind {
            /// How the token reads in a diagnostic.
            pub fn describe(&self) -> String {
                match self {
                    $kind::Ident(s) => format!("`{s}`"),
                    $kind::Int(v) => format!("integer `{v}`"),
                    $($kind::$text(s) => format!("text `\"{s}\"`"),)?
                    $kind::Eof => "end of file".to_string(),
                    other => format!("`{}`", other.punct()),
                }
            }

            /// The text of a punctuation token (empty for names, literals and the end).
            pub fn punct(&self) -> &'static str {
                $crate::lexer::mark::<$grammar>(self)
            }
        }

        impl $crate::name::NameToken for $kind {
            fn name(&self) -> Option<&str> {
                match self {
                    $kind::Ident(s) => Some(s),
                    _ => None,
                }
            }

            fn is_dot(&self) -> bool {
                self.punct() == "."
            }
        }
    };
}

/// Each punctuation mark of a grammar with its token, longer marks first.
fn punctuation<G: Grammar>() -> impl Iterator<Item = (&'static str, &'static G::Kind)> {
    G::MARKS.split_whitespace().zip(G::MARK_KINDS)
}

/// The text of a punctuation token (empty for names, literals and the end of the file).
pub fn mark<G: Grammar>(kind: &G::Kind) -> &'static str {
    punctuation::<G>()
        .find(|(_, k)| *k == kind)
        .map_or("", |(text, _)| text)
}

/// Splits `text` into tokens; the last token is always [`Grammar::EOF`].
pub fn lex<G: Grammar>(file: FileId, text: &str) -> Result<Vec<Token<G::Kind>>, Diagnostic> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0usize;
    while let Some(&c) = bytes.get(i) {
        let start = i;
        let rest = text.get(start..).unwrap_or("");
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
            continue;
        }
        if rest.starts_with("/*") {
            let Some(len) = rest.get(2..).and_then(|r| r.find("*/")) else {
                return Err(Diagnostic::new(
                    Span::new(file, start, start + 2),
                    "unterminated block comment",
                    "comment starts here",
                )
                .help("expected `*/` before the end of the file"));
            };
            i += len + 4;
            continue;
        }
        let (kind, end) = if c.is_ascii_alphabetic() || c == b'_' {
            let end = word_end(bytes, start);
            let word = text.get(start..end).unwrap_or("").to_string();
            (G::IDENT(word), end)
        } else if c.is_ascii_digit() {
            let end = word_end(bytes, start);
            let literal = text.get(start..end).unwrap_or("");
            let value = integer(literal, G::INTEGERS).ok_or_else(|| {
                Diagnostic::new(
                    Span::new(file, start, end),
                    format!("invalid integer literal `{literal}`"),
                    "not a number",
                )
                .help(G::INTEGERS.help)
            })?;
            (G::INT(value), end)
        } else if let (b'"', Some(make)) = (c, G::TEXT) {
            let (value, end) = text_literal(file, text, start)?;
            (make(value), end)
        } else if let Some((mark, kind)) = punctuation::<G>().find(|(m, _)| rest.starts_with(m)) {
            (kind.clone(), start + mark.len())
        } else {
            let ch = rest.chars().next().unwrap_or('?');
            return Err(Diagnostic::new(
                Span::new(file, start, start + ch.len_utf8()),
                format!("unexpected character `{ch}`"),
                G::FOREIGN_LABEL,
            )
            .help(G::FOREIGN_HELP));
        };
        tokens.push(Token {
            kind,
            span: Span::new(file, start, end),
        });
        i = end;
    }
    tokens.push(Token {
        kind: G::EOF,
        span: Span::new(file, text.len(), text.len()),
    });
    Ok(tokens)
}

/// The kinds of the tokens of `text`, nothing if it does not lex (for tests of a grammar).
pub fn kinds<G: Grammar>(text: &str) -> Vec<G::Kind> {
    lex::<G>(FileId(0), text)
        .map(|t| t.into_iter().map(|t| t.kind).collect())
        .unwrap_or_default()
}

/// Whether every mark of a grammar lexes alone as its own token, in the order of
/// [`Grammar::MARK_KINDS`] (for a grammar's tests: a mark listed after a shorter one that
/// begins it, or a kind missing, fails).
pub fn marks_agree<G: Grammar>() -> bool {
    let mut want = G::MARK_KINDS.to_vec();
    want.push(G::EOF);
    kinds::<G>(G::MARKS) == want
}

/// One past the last letter, digit or `_` from `start`.
fn word_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        end += 1;
    }
    end
}

/// The value of an integer literal, if it is one and fits in 128 bits.
fn integer(literal: &str, forms: Integers) -> Option<u128> {
    let prefixed = |lower: &str, upper: &str| {
        literal
            .strip_prefix(lower)
            .or_else(|| literal.strip_prefix(upper))
    };
    let (digits, radix) = if let Some(rest) = prefixed("0x", "0X") {
        (rest, 16)
    } else if let Some(rest) = prefixed("0o", "0O").filter(|_| forms.octal) {
        (rest, 8)
    } else {
        (literal, 10)
    };
    if digits.is_empty() || digits.starts_with('_') {
        return None;
    }
    let mut value: u128 = 0;
    for ch in digits.chars() {
        if ch == '_' && forms.separators {
            continue;
        }
        let d = ch.to_digit(radix)?;
        value = value
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(d))?;
    }
    Some(value)
}

/// A `"text"` literal from its opening quote at `start`: its value and one past its closing
/// quote. `\n`, `\t`, `\"`, `\\` and `\/` are resolved; any other escape is kept as written,
/// so regular expressions keep theirs (`\d`, `\.`). A literal ends on its line.
fn text_literal(file: FileId, text: &str, start: usize) -> Result<(String, usize), Diagnostic> {
    let mut out = String::new();
    let mut chars = text.get(start + 1..).unwrap_or("").char_indices();
    while let Some((off, ch)) = chars.next() {
        match ch {
            '"' => return Ok((out, start + 1 + off + 1)),
            '\n' => break,
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, c @ ('"' | '\\' | '/'))) => out.push(c),
                Some((_, c)) => {
                    out.push('\\');
                    out.push(c);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(Diagnostic::new(
        Span::new(file, start, start + 1),
        "unterminated text literal",
        "text starts here",
    )
    .help("expected a closing `\"` on the same line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    enum Tok {
        Ident(String),
        Int(u128),
        Text(String),
        Lt,
        Le,
        Eof,
    }

    struct Small;

    impl Grammar for Small {
        const MARKS: &'static str = "<= <";
        const MARK_KINDS: &'static [Tok] = &[Tok::Le, Tok::Lt];
        const FOREIGN_HELP: &'static str = "something else";
        const FOREIGN_LABEL: &'static str = "foreign";
        const INTEGERS: Integers = Integers {
            octal: true,
            separators: true,
            help: "a number",
        };
        type Kind = Tok;
        const EOF: Tok = Tok::Eof;
        const TEXT: Option<fn(String) -> Tok> = Some(Tok::Text);
        const INT: fn(u128) -> Tok = Tok::Int;
        const IDENT: fn(String) -> Tok = Tok::Ident;
    }

    #[test]
    fn shared_tokens() {
        assert_eq!(
            kinds::<Small>("a_1 <= < 0o17 1_000 \"x\\\"\\d\" // c\n /* d */ _"),
            vec![
                Tok::Ident("a_1".into()),
                Tok::Le,
                Tok::Lt,
                Tok::Int(15),
                Tok::Int(1000),
                Tok::Text("x\"\\d".into()),
                Tok::Ident("_".into()),
                Tok::Eof
            ]
        );
        assert_eq!(mark::<Small>(&Tok::Le), "<=");
        assert!(marks_agree::<Small>());
        assert_eq!(mark::<Small>(&Tok::Eof), "");
    }

    #[test]
    fn integer_forms() {
        let plain = Integers {
            octal: false,
            separators: false,
            help: "",
        };
        assert_eq!(integer("0x1F", plain), Some(31));
        assert_eq!(integer("0o17", plain), None);
        assert_eq!(integer("1_0", plain), None);
        assert_eq!(integer("0x_1", Small::INTEGERS), None);
        assert_eq!(integer("0x", Small::INTEGERS), None);
        assert_eq!(integer(&u128::MAX.to_string(), plain), Some(u128::MAX));
        assert_eq!(
            integer("340282366920938463463374607431768211456", plain),
            None
        );
    }

    #[test]
    fn errors_point_at_the_offending_text() {
        let cases = [
            ("x /* open *", "unterminated block comment", 2, 4),
            (" \"open", "unterminated text literal", 1, 2),
            ("0xZZ", "invalid integer literal `0xZZ`", 0, 4),
            ("a é", "unexpected character `é`", 2, 4),
        ];
        for (text, message, start, end) in cases {
            let d = lex::<Small>(FileId(0), text).err();
            let got = d.map(|d| (d.message, d.span));
            let span = Span::new(FileId(0), start, end);
            assert_eq!(got, Some((message.to_string(), span)), "{text}");
        }
    }
}
