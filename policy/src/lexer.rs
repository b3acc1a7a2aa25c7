//! Tokens of PSL (and PAL, and our model declaration files), on the shared lexer core
//! ([`ostrog_diag::lexer`]): names, decimal and `0x` integers, `"text"` literals, comments.
//!
//! PSL is free-form: newlines and indentation carry no meaning (the KCE 1.0/1.1 rule that
//! continuation lines must be indented is not needed once declarations are brace-delimited,
//! which every real policy is). Keywords are not separate tokens: the parser recognises them by
//! text where a keyword may stand.
//!
//! Multi-character operators are taken greedily (`==>` before `==` before `=`, `<-` and `<=`
//! before `<`), with one exception: `>` is always one token, so that a type such as
//! `List<List<Text>>` closes correctly; `>=` is recognised by the parser as `>` immediately
//! followed by `=`.

use ostrog_diag::lexer::Integers;

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

ostrog_diag::grammar! {
    /// What PSL adds to the shared token rules.
    Psl for TokKind {
        text: [Str],
        integers: Integers {
            octal: false,
            separators: false,
            help: "expected decimal digits or `0x` followed by hex digits",
        },
        marks: "==> == != <= <- ~> && || { } ( ) [ ] , : . = < > & | ~ ! + - *" => [
            Implies, EqEq, NotEq, Le, LArrow, Squiggle, AndAnd, OrOr, LBrace, RBrace, LParen,
            RParen, LBracket, RBracket, Comma, Colon, Dot, Eq, Lt, Gt, Amp, Pipe, Tilde, Bang,
            Plus, Minus, Star,
        ],
        foreign: (
            "not part of PSL",
            "expected a name, a number, a \"text\" literal or an operator"
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
    fn operators_are_greedy() {
        assert!(lexer::marks_agree::<Psl>());
        assert_eq!(
            lexer::kinds::<Psl>("==> == = <- <= < ~> ~"),
            vec![Implies, EqEq, Eq, LArrow, Le, Lt, Squiggle, Tilde, Eof]
        );
    }

    #[test]
    fn literals_and_comments() {
        assert_eq!(
            lexer::kinds::<Psl>("0x1F 12 \"a\\\"b\" // c\n /* d */ x_1"),
            vec![
                Int(31),
                Int(12),
                Str("a\"b".into()),
                Ident("x_1".into()),
                Eof
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
