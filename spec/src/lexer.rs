//! Lexer shared by EDL, CDL and IDL.
//!
//! The three languages share one token set: identifiers, integer literals (decimal, `0x` hex,
//! `0o` octal), and a handful of punctuation marks. Keywords are not separate tokens: the
//! parser recognises them by text where a keyword may stand, so that a field called `class` or
//! `error` in one language does not break another. `>` is always a single token (there is no
//! `>>` operator), so nested `sequence<array<UInt8, 4>>` closes correctly.

use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

/// Kind of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokKind {
    /// A name (letters, digits, `_`; not starting with a digit).
    Ident(String),
    /// An integer literal, already converted.
    Int(u128),
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `,`
    Comma,
    /// `;`
    Semi,
    /// `:`
    Colon,
    /// `=`
    Eq,
    /// `.`
    Dot,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `**`
    StarStar,
    /// `<<`
    Shl,
    /// End of file.
    Eof,
}

impl TokKind {
    /// How the token reads in a diagnostic.
    pub fn describe(&self) -> String {
        match self {
            TokKind::Ident(s) => format!("`{s}`"),
            TokKind::Int(v) => format!("integer `{v}`"),
            TokKind::Eof => "end of file".to_string(),
            other => format!("`{}`", other.punct()),
        }
    }

    fn punct(&self) -> &'static str {
        match self {
            TokKind::LBrace => "{",
            TokKind::RBrace => "}",
            TokKind::LParen => "(",
            TokKind::RParen => ")",
            TokKind::Lt => "<",
            TokKind::Gt => ">",
            TokKind::Comma => ",",
            TokKind::Semi => ";",
            TokKind::Colon => ":",
            TokKind::Eq => "=",
            TokKind::Dot => ".",
            TokKind::Plus => "+",
            TokKind::Minus => "-",
            TokKind::Star => "*",
            TokKind::StarStar => "**",
            TokKind::Shl => "<<",
            TokKind::Ident(_) | TokKind::Int(_) | TokKind::Eof => "",
        }
    }
}

/// A token with its place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokKind,
    /// Where it is.
    pub span: Span,
}

/// Splits `text` into tokens; the last token is always [`TokKind::Eof`].
pub fn lex(file: FileId, text: &str) -> Result<Vec<Token>, Diagnostic> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0usize;
    let span = |start: usize, end: usize| Span {
        file,
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    };
    while let Some(&c) = bytes.get(i) {
        let start = i;
        let next = bytes.get(i + 1).copied();
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && next == Some(b'/') {
            while bytes.get(i).is_some_and(|&b| b != b'\n') {
                i += 1;
            }
            continue;
        }
        if c == b'/' && next == Some(b'*') {
            i += 2;
            loop {
                match bytes.get(i) {
                    None => {
                        return Err(Diagnostic::new(
                            span(start, start + 2),
                            "unterminated block comment",
                            "comment starts here",
                        )
                        .help("expected `*/` before the end of the file"));
                    }
                    Some(b'*') if bytes.get(i + 1) == Some(&b'/') => {
                        i += 2;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                i += 1;
            }
            let word = text.get(start..i).unwrap_or("").to_string();
            tokens.push(Token {
                kind: TokKind::Ident(word),
                span: span(start, i),
            });
            continue;
        }
        if c.is_ascii_digit() {
            while bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                i += 1;
            }
            let lit = text.get(start..i).unwrap_or("");
            let value = parse_int(lit).ok_or_else(|| {
                Diagnostic::new(span(start, i), format!("invalid integer literal `{lit}`"), "not a number")
                    .help("expected a decimal, `0x` hexadecimal or `0o` octal literal that fits in 128 bits")
            })?;
            tokens.push(Token {
                kind: TokKind::Int(value),
                span: span(start, i),
            });
            continue;
        }
        let (kind, len) = match (c, next) {
            (b'*', Some(b'*')) => (TokKind::StarStar, 2),
            (b'<', Some(b'<')) => (TokKind::Shl, 2),
            (b'{', _) => (TokKind::LBrace, 1),
            (b'}', _) => (TokKind::RBrace, 1),
            (b'(', _) => (TokKind::LParen, 1),
            (b')', _) => (TokKind::RParen, 1),
            (b'<', _) => (TokKind::Lt, 1),
            (b'>', _) => (TokKind::Gt, 1),
            (b',', _) => (TokKind::Comma, 1),
            (b';', _) => (TokKind::Semi, 1),
            (b':', _) => (TokKind::Colon, 1),
            (b'=', _) => (TokKind::Eq, 1),
            (b'.', _) => (TokKind::Dot, 1),
            (b'+', _) => (TokKind::Plus, 1),
            (b'-', _) => (TokKind::Minus, 1),
            (b'*', _) => (TokKind::Star, 1),
            _ => {
                let ch = text
                    .get(start..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('?');
                return Err(Diagnostic::new(
                    span(start, start + ch.len_utf8()),
                    format!("unexpected character `{ch}`"),
                    "not part of the language",
                )
                .help("expected a name, a number, a comment or one of `{ } ( ) < > , ; : = . + - * ** <<`"));
            }
        };
        i += len;
        tokens.push(Token {
            kind,
            span: span(start, i),
        });
    }
    tokens.push(Token {
        kind: TokKind::Eof,
        span: span(text.len(), text.len()),
    });
    Ok(tokens)
}

fn parse_int(lit: &str) -> Option<u128> {
    let (digits, radix) =
        if let Some(rest) = lit.strip_prefix("0x").or_else(|| lit.strip_prefix("0X")) {
            (rest, 16)
        } else if let Some(rest) = lit.strip_prefix("0o").or_else(|| lit.strip_prefix("0O")) {
            (rest, 8)
        } else {
            (lit, 10)
        };
    if digits.is_empty() || digits.starts_with('_') {
        return None;
    }
    let mut value: u128 = 0;
    for ch in digits.chars() {
        if ch == '_' {
            continue;
        }
        let d = ch.to_digit(radix)?;
        value = value
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(d))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokKind> {
        lex(FileId(0), s)
            .map(|t| t.into_iter().map(|t| t.kind).collect())
            .unwrap_or_default()
    }

    #[test]
    fn literals_in_all_bases() {
        assert_eq!(
            kinds("12 0x2f 0X2F 0o17 0O17"),
            vec![
                TokKind::Int(12),
                TokKind::Int(47),
                TokKind::Int(47),
                TokKind::Int(15),
                TokKind::Int(15),
                TokKind::Eof
            ]
        );
    }

    #[test]
    fn operators_and_comments() {
        assert_eq!(
            kinds("a ** 2 << 3 // c\n /* x */ >>"),
            vec![
                TokKind::Ident("a".into()),
                TokKind::StarStar,
                TokKind::Int(2),
                TokKind::Shl,
                TokKind::Int(3),
                TokKind::Gt,
                TokKind::Gt,
                TokKind::Eof
            ]
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(lex(FileId(0), "0x").is_err());
        assert!(lex(FileId(0), "/* open").is_err());
        assert!(lex(FileId(0), "a # b").is_err());
    }
}
