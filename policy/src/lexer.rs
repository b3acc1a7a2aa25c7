//! Lexer for PSL (and PAL, and our model declaration files).
//!
//! PSL is free-form: newlines and indentation carry no meaning (the KCE 1.0/1.1 rule that
//! continuation lines must be indented is not needed once declarations are brace-delimited,
//! which every real policy is). Keywords are not separate tokens: the parser recognises them by
//! text where a keyword may stand, so an object called `state` or a parameter called `config`
//! does not break anything.
//!
//! Multi-character operators are taken greedily (`==>` before `==` before `=`, `<-` and `<=`
//! before `<`), with one exception: `>` is always one token, so that a type such as
//! `List<List<Text>>` closes correctly; `>=` is recognised by the parser as `>` immediately
//! followed by `=`.

use ostrog_spec::diag::Diagnostic;
use ostrog_spec::source::{FileId, Span};

/// Kind of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokKind {
    /// A name: letters, digits and `_`, not starting with a digit (`_` alone included).
    Ident(String),
    /// An integer literal (decimal or `0x` hex), already converted.
    Int(u128),
    /// A `"text"` literal with escapes resolved.
    Str(String),
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `:`
    Colon,
    /// `.`
    Dot,
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<-` (PAL: bind the started process to a variable)
    LArrow,
    /// `~>` (PAL: request shorthand)
    Squiggle,
    /// `==>`
    Implies,
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// `&`
    Amp,
    /// `|`
    Pipe,
    /// `~`
    Tilde,
    /// `!`
    Bang,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// End of file.
    Eof,
}

impl TokKind {
    /// How the token reads in a diagnostic.
    pub fn describe(&self) -> String {
        match self {
            TokKind::Ident(s) => format!("`{s}`"),
            TokKind::Int(v) => format!("integer `{v}`"),
            TokKind::Str(s) => format!("text `\"{s}\"`"),
            TokKind::Eof => "end of file".to_string(),
            other => format!("`{}`", other.punct()),
        }
    }

    /// The text of a punctuation token.
    pub fn punct(&self) -> &'static str {
        match self {
            TokKind::LBrace => "{",
            TokKind::RBrace => "}",
            TokKind::LParen => "(",
            TokKind::RParen => ")",
            TokKind::LBracket => "[",
            TokKind::RBracket => "]",
            TokKind::Comma => ",",
            TokKind::Colon => ":",
            TokKind::Dot => ".",
            TokKind::Eq => "=",
            TokKind::EqEq => "==",
            TokKind::NotEq => "!=",
            TokKind::Lt => "<",
            TokKind::Le => "<=",
            TokKind::Gt => ">",
            TokKind::LArrow => "<-",
            TokKind::Squiggle => "~>",
            TokKind::Implies => "==>",
            TokKind::AndAnd => "&&",
            TokKind::OrOr => "||",
            TokKind::Amp => "&",
            TokKind::Pipe => "|",
            TokKind::Tilde => "~",
            TokKind::Bang => "!",
            TokKind::Plus => "+",
            TokKind::Minus => "-",
            TokKind::Star => "*",
            TokKind::Ident(_) | TokKind::Int(_) | TokKind::Str(_) | TokKind::Eof => "",
        }
    }
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokKind,
    /// Where it is.
    pub span: Span,
}

fn span(file: FileId, start: usize, end: usize) -> Span {
    Span {
        file,
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    }
}

/// Splits a file into tokens; the last token is always [`TokKind::Eof`].
pub fn lex(file: FileId, text: &str) -> Result<Vec<Token>, Diagnostic> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < bytes.len() {
        let c = bytes.get(i).copied().unwrap_or(0);
        let next = bytes.get(i + 1).copied().unwrap_or(0);
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && next == b'/' {
            while i < bytes.len() && bytes.get(i) != Some(&b'\n') {
                i += 1;
            }
            continue;
        }
        if c == b'/' && next == b'*' {
            let start = i;
            i += 2;
            loop {
                if i + 1 >= bytes.len() {
                    return Err(Diagnostic::new(
                        span(file, start, start + 2),
                        "unterminated block comment",
                        "comment starts here",
                    )
                    .help("expected `*/` before the end of the file"));
                }
                if bytes.get(i) == Some(&b'*') && bytes.get(i + 1) == Some(&b'/') {
                    i += 2;
                    break;
                }
                i += 1;
            }
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == b'_' {
            while bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                i += 1;
            }
            let word = text.get(start..i).unwrap_or("").to_string();
            out.push(Token {
                kind: TokKind::Ident(word),
                span: span(file, start, i),
            });
            continue;
        }
        if c.is_ascii_digit() {
            let (value, end) = number(file, text, start)?;
            out.push(Token {
                kind: TokKind::Int(value),
                span: span(file, start, end),
            });
            i = end;
            continue;
        }
        if c == b'"' {
            let (value, end) = string(file, text, start)?;
            out.push(Token {
                kind: TokKind::Str(value),
                span: span(file, start, end),
            });
            i = end;
            continue;
        }
        let third = bytes.get(i + 2).copied().unwrap_or(0);
        let (kind, len) = match (c, next, third) {
            (b'=', b'=', b'>') => (TokKind::Implies, 3),
            (b'=', b'=', _) => (TokKind::EqEq, 2),
            (b'!', b'=', _) => (TokKind::NotEq, 2),
            (b'<', b'=', _) => (TokKind::Le, 2),
            (b'<', b'-', _) => (TokKind::LArrow, 2),
            (b'~', b'>', _) => (TokKind::Squiggle, 2),
            (b'&', b'&', _) => (TokKind::AndAnd, 2),
            (b'|', b'|', _) => (TokKind::OrOr, 2),
            (b'{', ..) => (TokKind::LBrace, 1),
            (b'}', ..) => (TokKind::RBrace, 1),
            (b'(', ..) => (TokKind::LParen, 1),
            (b')', ..) => (TokKind::RParen, 1),
            (b'[', ..) => (TokKind::LBracket, 1),
            (b']', ..) => (TokKind::RBracket, 1),
            (b',', ..) => (TokKind::Comma, 1),
            (b':', ..) => (TokKind::Colon, 1),
            (b'.', ..) => (TokKind::Dot, 1),
            (b'=', ..) => (TokKind::Eq, 1),
            (b'<', ..) => (TokKind::Lt, 1),
            (b'>', ..) => (TokKind::Gt, 1),
            (b'&', ..) => (TokKind::Amp, 1),
            (b'|', ..) => (TokKind::Pipe, 1),
            (b'~', ..) => (TokKind::Tilde, 1),
            (b'!', ..) => (TokKind::Bang, 1),
            (b'+', ..) => (TokKind::Plus, 1),
            (b'-', ..) => (TokKind::Minus, 1),
            (b'*', ..) => (TokKind::Star, 1),
            _ => {
                let ch = text
                    .get(start..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('?');
                return Err(Diagnostic::new(
                    span(file, start, start + ch.len_utf8()),
                    format!("unexpected character `{ch}`"),
                    "not part of PSL",
                )
                .help("expected a name, a number, a \"text\" literal or an operator"));
            }
        };
        out.push(Token {
            kind,
            span: span(file, start, start + len),
        });
        i += len;
    }
    out.push(Token {
        kind: TokKind::Eof,
        span: span(file, text.len(), text.len()),
    });
    Ok(out)
}

fn number(file: FileId, text: &str, start: usize) -> Result<(u128, usize), Diagnostic> {
    let rest = text.get(start..).unwrap_or("");
    let (digits_start, radix) = if rest.starts_with("0x") || rest.starts_with("0X") {
        (start + 2, 16)
    } else {
        (start, 10)
    };
    let mut end = digits_start;
    while text
        .as_bytes()
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        end += 1;
    }
    let digits = text.get(digits_start..end).unwrap_or("");
    match u128::from_str_radix(digits, radix) {
        Ok(v) if !digits.is_empty() => Ok((v, end)),
        _ => Err(Diagnostic::new(
            span(file, start, end),
            format!(
                "invalid integer literal `{}`",
                text.get(start..end).unwrap_or("")
            ),
            "not a number",
        )
        .help("expected decimal digits or `0x` followed by hex digits")),
    }
}

fn string(file: FileId, text: &str, start: usize) -> Result<(String, usize), Diagnostic> {
    let mut out = String::new();
    let mut chars = text.get(start + 1..).unwrap_or("").char_indices();
    while let Some((off, ch)) = chars.next() {
        let at = start + 1 + off;
        match ch {
            '"' => return Ok((out, at + 1)),
            '\n' => break,
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, c @ ('"' | '\\' | '/'))) => out.push(c),
                Some((_, c)) => {
                    // Regular expressions keep their escapes (`\d`, `\.`): pass them through.
                    out.push('\\');
                    out.push(c);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(Diagnostic::new(
        span(file, start, start + 1),
        "unterminated text literal",
        "text starts here",
    )
    .help("expected a closing `\"` on the same line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokKind> {
        lex(FileId(0), text)
            .map(|t| t.into_iter().map(|t| t.kind).collect())
            .unwrap_or_default()
    }

    #[test]
    fn operators_are_greedy() {
        assert_eq!(
            kinds("==> == = <- <= < ~> ~"),
            vec![
                TokKind::Implies,
                TokKind::EqEq,
                TokKind::Eq,
                TokKind::LArrow,
                TokKind::Le,
                TokKind::Lt,
                TokKind::Squiggle,
                TokKind::Tilde,
                TokKind::Eof
            ]
        );
    }

    #[test]
    fn literals_and_comments() {
        assert_eq!(
            kinds("0x1F 12 \"a\\\"b\" // c\n /* d */ x_1"),
            vec![
                TokKind::Int(31),
                TokKind::Int(12),
                TokKind::Str("a\"b".into()),
                TokKind::Ident("x_1".into()),
                TokKind::Eof
            ]
        );
    }

    #[test]
    fn bad_input_is_a_diagnostic() {
        assert!(lex(FileId(0), "\"open").is_err());
        assert!(lex(FileId(0), "/* open").is_err());
        assert!(lex(FileId(0), "0xZZ").is_err());
        assert!(lex(FileId(0), "#").is_err());
    }
}
