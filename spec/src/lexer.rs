//! Tokens of EDL, CDL and IDL, on the shared lexer core ([`ostrog_diag::lexer`]).
//!
//! The three languages share one token set: identifiers, integer literals (decimal, `0x` hex,
//! `0o` octal, `_` between digits), and a handful of punctuation marks; there are no text
//! literals. `>` is always a single token (there is no `>>` operator), so nested
//! `sequence<array<UInt8, 4>>` closes correctly.

use ostrog_diag::lexer::{self, Grammar, Integers};
use ostrog_diag::source::FileId;
use ostrog_diag::Diagnostic;

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
            other => format!("`{}`", lexer::mark::<Spec>(other)),
        }
    }
}

/// A token with its place in the file.
pub type Token = lexer::Token<TokKind>;

/// Splits `text` into tokens; the last token is always [`TokKind::Eof`].
pub fn lex(file: FileId, text: &str) -> Result<Vec<Token>, Diagnostic> {
    lexer::lex::<Spec>(file, text)
}

/// What EDL, CDL and IDL add to the shared token rules.
struct Spec;

impl Grammar for Spec {
    type Kind = TokKind;
    const IDENT: fn(String) -> TokKind = TokKind::Ident;
    const INT: fn(u128) -> TokKind = TokKind::Int;
    const TEXT: Option<fn(String) -> TokKind> = None;
    const EOF: TokKind = TokKind::Eof;
    const INTEGERS: Integers = Integers {
        octal: true,
        separators: true,
        help: "expected a decimal, `0x` hexadecimal or `0o` octal literal that fits in 128 bits",
    };
    const MARKS: &'static str = "** * << < > + - { } ( ) , ; : = .";
    const MARK_KINDS: &'static [TokKind] = {
        use TokKind::*;
        &[
            StarStar, Star, Shl, Lt, Gt, Plus, Minus, LBrace, RBrace, LParen, RParen, Comma, Semi,
            Colon, Eq, Dot,
        ]
    };
    const FOREIGN_LABEL: &'static str = "not part of the language";
    const FOREIGN_HELP: &'static str =
        "expected a name, a number, a comment or one of `{ } ( ) < > , ; : = . + - * ** <<`";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_in_all_bases() {
        assert_eq!(
            lexer::kinds::<Spec>("12 0x2f 0X2F 0o17 0O17"),
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
        let every_mark = [Spec::MARK_KINDS, &[TokKind::Eof]].concat();
        assert_eq!(lexer::kinds::<Spec>(Spec::MARKS), every_mark);
        assert_eq!(
            lexer::kinds::<Spec>("a ** 2 << 3 // c\n /* x */ >>"),
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
