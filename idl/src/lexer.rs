//! Tokens of EDL, CDL and IDL, on the shared lexer core ([`ostrog_diag::lexer`]).
//!
//! The three languages share one token set: identifiers, integer literals (decimal, `0x` hex,
//! `0o` octal, `_` between digits), and a handful of punctuation marks; there are no text
//! literals. `>` is always a single token (there is no `>>` operator), so nested
//! `sequence<array<UInt8, 4>>` closes correctly.

use ostrog_diag::lexer::Integers;

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

ostrog_diag::grammar! {
    /// What EDL, CDL and IDL add to the shared token rules.
    Spec for TokKind {
        text: [],
        integers: Integers {
            octal: true,
            separators: true,
            help: "expected a decimal, `0x` hexadecimal or `0o` octal literal that fits in 128 bits",
        },
        marks: "** * << < > + - { } ( ) , ; : = ." => [
            StarStar, Star, Shl, Lt, Gt, Plus, Minus, LBrace, RBrace, LParen, RParen, Comma, Semi,
            Colon, Eq, Dot,
        ],
        foreign: (
            "not part of the language",
            "expected a name, a number, a comment or one of `{ } ( ) < > , ; : = . + - * ** <<`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::TokKind::*;
    use super::*;
    use ostrog_diag::lexer;
    use ostrog_diag::FileId;

    #[test]
    fn literals_in_all_bases() {
        assert_eq!(
            lexer::kinds::<Spec>("12 0x2f 0X2F 0o17 0O17"),
            vec![Int(12), Int(47), Int(47), Int(15), Int(15), Eof]
        );
    }

    #[test]
    fn operators_and_comments() {
        assert!(lexer::marks_agree::<Spec>());
        assert_eq!(
            lexer::kinds::<Spec>("a ** 2 << 3 // c\n /* x */ >>"),
            vec![
                Ident("a".into()),
                StarStar,
                Int(2),
                Shl,
                Int(3),
                Gt,
                Gt,
                Eof
            ]
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        // EDL, CDL and IDL have no text literals.
        for bad in ["0x", "/* open", "a # b", "\"text\""] {
            assert!(lex(FileId(0), bad).is_err(), "{bad}");
        }
    }
}
