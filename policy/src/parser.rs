//! Recursive-descent parser from tokens to [`crate::ast`].
//!
//! The grammar is written down in `docs/languages/psl.md`; this module follows it rule by
//! rule. Three points need a decision the KasperskyOS documentation leaves open:
//!
//! * **Where a call's argument ends.** A rule call in a binding body takes one argument, a
//!   whole expression (`assert message.port > 80`, the KCE 1.0 form, is `assert (message.port
//!   > 80)`). Inside an expression a juxtaposed argument (`math.neg x`, `bool.all [..]`) is a
//!   single primary, because a call binds tighter than any operator (precedence 1). A name
//!   followed by `(`, `{` or `[` is a call; a dotted name is also a call when followed by a
//!   literal or a name. `message...`, `src_sid` and `dst_sid` are never calls.
//! * **`&` and `|`** are incomparable with the other binary operators: mixing them without
//!   parentheses is an error (`a & b + c`), as the precedence table in the reference says.
//! * **Comparisons do not chain** (`a < b < c` is an error).
//!
//! Like the EDL/CDL/IDL parser, it stops at the first syntax error of a file and bounds
//! nesting, so hostile input gives a diagnostic, never a stack overflow.

use ostrog_diag::source::{FileId, Span};
use ostrog_diag::{Diagnostic, NameParser};

use crate::ast::*;
use crate::lexer::{lex, TokKind, Token};

/// Deepest nesting of blocks and expressions accepted.
const MAX_DEPTH: u32 = 128;

/// Parses one PSL file.
pub fn parse(file: FileId, text: &str) -> Result<File, Diagnostic> {
    let tokens = lex(file, text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    p.file()
}

type PResult<T> = Result<T, Diagnostic>;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: u32,
}

/// Names that are values, never callees.
fn is_builtin_value(name: &str) -> bool {
    matches!(name, "message" | "src_sid" | "dst_sid" | "true" | "false")
}

// A `.` that no name follows ends a dotted name and is left to the rule that called.
ostrog_diag::name_parser!(Parser, dot_may_follow: true);

impl Parser {
    fn peek(&self) -> &TokKind {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &TokKind {
        self.tokens
            .get(self.pos + n)
            .or_else(|| self.tokens.last())
            .map_or(&TokKind::Eof, |t| &t.kind)
    }

    fn span(&self) -> Span {
        self.span_at(0)
    }

    fn span_at(&self, n: usize) -> Span {
        self.tokens
            .get(self.pos + n)
            .or_else(|| self.tokens.last())
            .map_or(
                Span {
                    file: FileId(0),
                    start: 0,
                    end: 0,
                },
                |t| t.span,
            )
    }

    fn prev_span(&self) -> Span {
        self.tokens
            .get(self.pos.saturating_sub(1))
            .map_or(self.span(), |t| t.span)
    }

    fn bump(&mut self) -> Span {
        let s = self.span();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        s
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(self.peek(), TokKind::Ident(s) if s == word)
    }

    fn is_ident_at(&self, n: usize, word: &str) -> bool {
        matches!(self.peek_at(n), TokKind::Ident(s) if s == word)
    }

    fn eat(&mut self, kind: &TokKind) -> bool {
        if self.peek() == kind {
            self.bump();
            true
        } else {
            false
        }
    }

    fn error(&self, expected: &str) -> Diagnostic {
        let found = self.peek().describe();
        Diagnostic::new(
            self.span(),
            format!("expected {expected}, found {found}"),
            format!("expected {expected}"),
        )
    }

    fn expect(&mut self, kind: &TokKind) -> PResult<Span> {
        if self.peek() == kind {
            Ok(self.bump())
        } else {
            Err(self.error(&format!("`{}`", kind.punct())))
        }
    }

    fn expect_keyword(&mut self, word: &str) -> PResult<Span> {
        if self.is_ident(word) {
            Ok(self.bump())
        } else {
            Err(self.error(&format!("`{word}`")))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Diagnostic::new(
                self.span(),
                "nesting too deep",
                "too many nested blocks or expressions here",
            )
            .help(format!("expected at most {MAX_DEPTH} levels of nesting")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ---- declarations ---------------------------------------------------------------------

    fn file(&mut self) -> PResult<File> {
        let mut decls = Vec::new();
        while self.peek() != &TokKind::Eof {
            decls.push(self.decl()?);
        }
        Ok(File { decls })
    }

    fn decl(&mut self) -> PResult<Decl> {
        let word = match self.peek() {
            TokKind::Ident(w) => w.clone(),
            _ => return Err(self.declaration_error()),
        };
        match word.as_str() {
            "execute" if self.peek_at(1) == &TokKind::Colon => {
                self.bump();
                self.bump();
                Ok(Decl::ExecuteInterface(self.path("an interface name")?))
            }
            "use" => self.use_decl(),
            "task" if self.is_ident_at(1, "class") => {
                self.bump();
                self.bump();
                let name = self.path("a process class name")?;
                self.expect(&TokKind::Colon)?;
                let edl = self.path("the dotted name of an EDL file")?;
                Ok(Decl::TaskClass { name, edl })
            }
            "policy" => self.object_decl(),
            "audit" => self.audit_decl(),
            "assert" => Ok(Decl::TestSet(self.test_set()?)),
            "model" => Ok(Decl::Model(self.model_decl()?)),
            w => match EventKind::from_keyword(w) {
                Some(event) => {
                    let span = self.bump();
                    let selectors = self.selectors()?;
                    let body = self.block()?;
                    Ok(Decl::Binding(Binding {
                        event,
                        span,
                        selectors,
                        body,
                    }))
                }
                None => Err(self.declaration_error()),
            },
        }
    }

    fn declaration_error(&self) -> Diagnostic {
        self.error("a declaration").help(
            "expected `execute:`, `use`, `task class`, `policy object`, `audit`, an event \
             binding (`execute`, `request`, `response`, `error`, `security`) or a PAL `assert`",
        )
    }

    fn use_decl(&mut self) -> PResult<Decl> {
        self.bump();
        if self.is_ident("EDL") {
            self.bump();
            return Ok(Decl::UseEdl(self.path("a process class name")?));
        }
        let mut path = self.path("a dotted file name such as `nk.base._`")?;
        match path.segments.last() {
            Some(last) if last.text == "_" && path.segments.len() > 1 => {
                path.segments.pop();
                if let (Some(first), Some(last)) = (path.segments.first(), path.segments.last()) {
                    path.span = first.span.to(last.span);
                }
                Ok(Decl::UsePsl(path))
            }
            _ => Err(Diagnostic::new(
                path.span,
                format!("`use {}` does not name a PSL file", path.dotted()),
                "expected `._` at the end",
            )
            .help(format!(
                "expected `use {}._` to include a policy file, or `use EDL {}` to include a process class",
                path.dotted(),
                path.dotted()
            ))),
        }
    }

    fn object_decl(&mut self) -> PResult<Decl> {
        let span = self.bump();
        self.expect_keyword("object")?;
        let name = self.name("an object name")?;
        self.expect(&TokKind::Colon)?;
        let model = self.name("a model name")?;
        let mut types = Vec::new();
        let mut config = None;
        if self.eat(&TokKind::LBrace) {
            loop {
                if self.eat(&TokKind::RBrace) {
                    break;
                }
                if self.is_ident("type") {
                    self.bump();
                    let tname = self.name("a type name")?;
                    self.expect(&TokKind::Eq)?;
                    types.push((tname, self.type_expr()?));
                } else if self.is_ident("config") {
                    self.bump();
                    self.expect(&TokKind::Eq)?;
                    config = Some(self.expr()?);
                } else {
                    return Err(self.error("`type`, `config` or `}`"));
                }
            }
        }
        Ok(Decl::Object(ObjectDecl {
            name,
            model,
            types,
            config,
            span,
        }))
    }

    fn audit_decl(&mut self) -> PResult<Decl> {
        self.bump();
        if self.is_ident("profile") {
            self.bump();
            let name = self.name("a profile name")?;
            self.expect(&TokKind::Eq)?;
            let value = self.expr()?;
            Ok(Decl::AuditProfile { name, value })
        } else if self.is_ident("default") {
            self.bump();
            self.expect(&TokKind::Eq)?;
            let profile = self.name("a profile name")?;
            let level = self.primary()?;
            Ok(Decl::AuditDefault { profile, level })
        } else {
            Err(self.error("`profile` or `default` after `audit`"))
        }
    }

    // ---- bindings -------------------------------------------------------------------------

    fn selectors(&mut self) -> PResult<Vec<Selector>> {
        let mut out = Vec::new();
        loop {
            if self.peek() == &TokKind::Comma {
                self.bump();
                continue;
            }
            let key = match self.peek() {
                TokKind::Ident(w) if self.peek_at(1) == &TokKind::Eq => {
                    SelectorKey::from_keyword(w)
                }
                _ => None,
            };
            let Some(key) = key else {
                if let (TokKind::Ident(w), TokKind::Eq) = (self.peek(), self.peek_at(1)) {
                    let w = w.clone();
                    return Err(Diagnostic::new(
                        self.span(),
                        format!("unknown selector `{w}`"),
                        "not a selector",
                    )
                    .help("expected one of `src`, `dst`, `interface`, `component`, `endpoint`, `method`"));
                }
                return Ok(out);
            };
            let key_span = self.bump();
            self.bump();
            let value = self.path("a name after `=`")?;
            out.push(Selector {
                key,
                key_span,
                value,
            });
        }
    }

    fn block(&mut self) -> PResult<Block> {
        self.enter()?;
        let start = self.expect(&TokKind::LBrace)?;
        let audit = self.block_audit()?;
        let mut stmts = Vec::new();
        while !self.eat(&TokKind::RBrace) {
            if self.peek() == &TokKind::Eof {
                return Err(self.error("`}`"));
            }
            stmts.push(self.stmt()?);
        }
        self.leave();
        Ok(Block {
            audit,
            stmts,
            span: start.to(self.prev_span()),
        })
    }

    fn block_audit(&mut self) -> PResult<Option<Name>> {
        if self.is_ident("audit") && matches!(self.peek_at(1), TokKind::Ident(_)) {
            self.bump();
            return Ok(Some(self.name("a profile name")?));
        }
        Ok(None)
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        if self.is_ident("match") {
            let span = self.bump();
            let selectors = self.selectors()?;
            if selectors.is_empty() {
                return Err(self.error("a selector such as `endpoint=...` after `match`"));
            }
            let body = self.block()?;
            return Ok(Stmt::Match {
                selectors,
                body,
                span,
            });
        }
        if self.is_ident("choice") {
            let span = self.bump();
            self.expect(&TokKind::LParen)?;
            let scrutinee = self.expr()?;
            self.expect(&TokKind::RParen)?;
            self.expect(&TokKind::LBrace)?;
            let mut branches = Vec::new();
            while !self.eat(&TokKind::RBrace) {
                branches.push(self.branch()?);
            }
            return Ok(Stmt::Choice {
                scrutinee,
                branches,
                span,
            });
        }
        Ok(Stmt::Call(self.stmt_call()?))
    }

    fn branch(&mut self) -> PResult<Branch> {
        let span = self.span();
        let pattern = match self.peek().clone() {
            TokKind::Str(s) => Pattern::Text(s),
            TokKind::Int(v) => Pattern::Int(i128::try_from(v).unwrap_or(i128::MAX)),
            TokKind::Ident(w) if w == "_" => Pattern::Default,
            _ => return Err(self.error("a choice branch (`\"value\" :` or `_ :`) or `}`")),
        };
        self.bump();
        self.expect(&TokKind::Colon)?;
        let body = if self.peek() == &TokKind::LBrace {
            self.block()?
        } else {
            let stmt = self.stmt()?;
            let span = self.prev_span();
            Block {
                audit: None,
                stmts: vec![stmt],
                span,
            }
        };
        Ok(Branch {
            pattern,
            span,
            body,
        })
    }

    /// `callee argument` in statement position: the argument is a whole expression.
    fn stmt_call(&mut self) -> PResult<Expr> {
        let callee = match self.peek() {
            TokKind::Ident(w) if !is_builtin_value(w) => self.path("a rule call")?,
            _ => {
                return Err(self
                    .error("a rule call, `match` or `choice`")
                    .help("expected a statement such as `grant ()` or `object.rule {...}`"))
            }
        };
        if !self.starts_expr() {
            return Err(self
                .error(&format!("an argument after `{}`", callee.dotted()))
                .help("every call takes one argument; write `()` for none"));
        }
        let arg = self.expr()?;
        let span = callee.span.to(arg.span);
        Ok(Expr {
            kind: ExprKind::Call {
                callee,
                arg: Box::new(arg),
            },
            span,
        })
    }

    fn starts_expr(&self) -> bool {
        matches!(
            self.peek(),
            TokKind::LParen
                | TokKind::LBrace
                | TokKind::LBracket
                | TokKind::Int(_)
                | TokKind::Str(_)
                | TokKind::Ident(_)
                | TokKind::Minus
                | TokKind::Tilde
                | TokKind::Bang
        )
    }

    // ---- expressions ----------------------------------------------------------------------

    /// A whole expression.
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let e = self.binary(0);
        self.leave();
        e
    }

    fn binop(&self) -> Option<(BinOp, u8)> {
        // (operator, binding power); higher binds tighter.
        Some(match self.peek() {
            TokKind::Implies => (BinOp::Implies, 1),
            TokKind::OrOr => (BinOp::Or, 2),
            TokKind::AndAnd => (BinOp::And, 3),
            TokKind::Lt => (BinOp::Lt, 4),
            TokKind::Le => (BinOp::Le, 4),
            TokKind::Gt if self.peek_at(1) == &TokKind::Eq && self.adjacent() => (BinOp::Ge, 4),
            TokKind::Gt => (BinOp::Gt, 4),
            TokKind::EqEq => (BinOp::Eq, 4),
            TokKind::NotEq => (BinOp::Ne, 4),
            TokKind::Plus => (BinOp::Add, 5),
            TokKind::Minus => (BinOp::Sub, 5),
            TokKind::Pipe => (BinOp::BitOr, 5),
            TokKind::Star => (BinOp::Mul, 6),
            TokKind::Amp => (BinOp::BitAnd, 6),
            _ => return None,
        })
    }

    /// Whether the current token and the next touch (`>` `=` written as `>=`).
    fn adjacent(&self) -> bool {
        self.span().end == self.span_at(1).start
    }

    fn binary(&mut self, min_bp: u8) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        while let Some((op, bp)) = self.binop() {
            if bp <= min_bp {
                break;
            }
            let op_span = self.bump();
            if op == BinOp::Ge {
                self.bump();
            }
            // `==>` is right-associative: parse its right side at the same level.
            let rhs = if op == BinOp::Implies {
                self.binary(bp - 1)?
            } else {
                self.binary(bp)?
            };
            check_mixing(op, op_span, &lhs, &rhs)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            };
            if bp == 4 {
                if let Some((next, 4)) = self.binop() {
                    return Err(Diagnostic::new(
                        self.span(),
                        format!(
                            "comparison `{}` cannot follow another comparison",
                            next.text()
                        ),
                        "comparisons do not chain",
                    )
                    .help(
                        "expected parentheses around one of the comparisons, or `&&` between them",
                    ));
                }
            }
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let op = match self.peek() {
            TokKind::Tilde => UnOp::BitNot,
            TokKind::Bang => UnOp::Not,
            _ => return self.postfix(),
        };
        let start = self.bump();
        self.enter()?;
        let inner = self.unary()?;
        self.leave();
        let span = start.to(inner.span);
        Ok(Expr {
            kind: ExprKind::Unary(op, Box::new(inner)),
            span,
        })
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        while self.peek() == &TokKind::Dot {
            match self.peek_at(1) {
                TokKind::LBracket => {
                    self.bump();
                    self.bump();
                    if self.peek() == &TokKind::Star {
                        return Err(Diagnostic::new(
                            self.span(),
                            "`.[*]` (every element) is not supported".to_string(),
                            "not an index",
                        )
                        .help(
                            "expected a literal index such as `.[0]`; `math.sum`, `math.product` and `size` take a whole list of integers (`math.sum (message.values)`), and there is no projection of a field over a list of structs",
                        ));
                    }
                    let index = self.expr()?;
                    let end = self.expect(&TokKind::RBracket)?;
                    let span = e.span.to(end);
                    e = Expr {
                        kind: ExprKind::Index(Box::new(e), Box::new(index)),
                        span,
                    };
                }
                TokKind::Ident(_) => {
                    self.bump();
                    let field = self.name("a field name")?;
                    let span = e.span.to(field.span);
                    e = Expr {
                        kind: ExprKind::Field(Box::new(e), field),
                        span,
                    };
                }
                _ => {
                    self.bump();
                    return Err(self.error("a field name or `[index]` after `.`"));
                }
            }
        }
        Ok(e)
    }

    pub(crate) fn primary(&mut self) -> PResult<Expr> {
        let start = self.span();
        match self.peek().clone() {
            TokKind::Int(v) => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Int(self.int_value(v, false, start)?),
                    span: start,
                })
            }
            TokKind::Minus if matches!(self.peek_at(1), TokKind::Int(_)) => {
                self.bump();
                let TokKind::Int(v) = self.peek().clone() else {
                    return Err(self.error("an integer"));
                };
                let end = self.bump();
                Ok(Expr {
                    kind: ExprKind::Int(self.int_value(v, true, start)?),
                    span: start.to(end),
                })
            }
            TokKind::Str(s) => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Text(s),
                    span: start,
                })
            }
            TokKind::LParen => {
                self.bump();
                if self.peek() == &TokKind::RParen {
                    let end = self.bump();
                    return Ok(Expr {
                        kind: ExprKind::Unit,
                        span: start.to(end),
                    });
                }
                let inner = self.expr()?;
                let end = self.expect(&TokKind::RParen)?;
                Ok(Expr {
                    kind: ExprKind::Paren(Box::new(inner)),
                    span: start.to(end),
                })
            }
            TokKind::LBracket => {
                self.bump();
                self.enter()?;
                let mut items = Vec::new();
                loop {
                    if self.eat(&TokKind::Comma) {
                        continue;
                    }
                    if self.peek() == &TokKind::RBracket {
                        break;
                    }
                    items.push(self.expr()?);
                    if self.peek() != &TokKind::Comma && self.peek() != &TokKind::RBracket {
                        return Err(self.error("`,` or `]`"));
                    }
                }
                let end = self.bump();
                self.leave();
                Ok(Expr {
                    kind: ExprKind::List(items),
                    span: start.to(end),
                })
            }
            TokKind::LBrace => self.dict(),
            TokKind::Ident(w) => {
                if w == "true" || w == "false" {
                    self.bump();
                    return Ok(Expr {
                        kind: ExprKind::Bool(w == "true"),
                        span: start,
                    });
                }
                let path = self.path("a name")?;
                let first = path.segments.first().map_or("", |s| s.text.as_str());
                let dotted = path.segments.len() > 1;
                let callable = !is_builtin_value(first)
                    && (matches!(
                        self.peek(),
                        TokKind::LParen | TokKind::LBrace | TokKind::LBracket
                    ) || (dotted
                        && matches!(
                            self.peek(),
                            TokKind::Int(_) | TokKind::Str(_) | TokKind::Ident(_)
                        )));
                if callable {
                    self.enter()?;
                    let arg = self.postfix()?;
                    self.leave();
                    let span = path.span.to(arg.span);
                    return Ok(Expr {
                        kind: ExprKind::Call {
                            callee: path,
                            arg: Box::new(arg),
                        },
                        span,
                    });
                }
                Ok(Expr {
                    span: path.span,
                    kind: ExprKind::Path(path),
                })
            }
            _ => Err(self.error("a value or an expression")),
        }
    }

    fn int_value(&self, v: u128, negative: bool, span: Span) -> PResult<i128> {
        let value = i128::try_from(v)
            .ok()
            .filter(|x| *x <= i128::from(u64::MAX));
        match value {
            Some(x) if negative => Ok(-x),
            Some(x) => Ok(x),
            None => Err(
                Diagnostic::new(span, "integer literal out of range", "too large")
                    .help("expected a value that fits in 64 bits"),
            ),
        }
    }

    fn dict(&mut self) -> PResult<Expr> {
        let start = self.expect(&TokKind::LBrace)?;
        self.enter()?;
        let mut entries = Vec::new();
        loop {
            if self.eat(&TokKind::Comma) {
                continue;
            }
            if self.peek() == &TokKind::RBrace {
                break;
            }
            let kspan = self.span();
            let key = match self.peek().clone() {
                TokKind::Ident(t) | TokKind::Str(t) => Key {
                    text: t,
                    int: None,
                    span: kspan,
                },
                TokKind::Int(v) => {
                    let x = self.int_value(v, false, kspan)?;
                    Key {
                        text: x.to_string(),
                        int: Some(x),
                        span: kspan,
                    }
                }
                _ => {
                    return Err(self.error("a dictionary key (a name, \"text\" or integer) or `}`"))
                }
            };
            self.bump();
            self.expect(&TokKind::Colon)?;
            let value = self.expr()?;
            entries.push((key, value));
            if self.peek() != &TokKind::Comma && self.peek() != &TokKind::RBrace {
                return Err(self.error("`,` or `}`"));
            }
        }
        let end = self.bump();
        self.leave();
        Ok(Expr {
            kind: ExprKind::Dict(entries),
            span: start.to(end),
        })
    }

    // ---- types ----------------------------------------------------------------------------

    fn type_expr(&mut self) -> PResult<TypeExpr> {
        self.enter()?;
        let first = self.type_atom()?;
        let mut alts = vec![first];
        while self.eat(&TokKind::Pipe) {
            alts.push(self.type_atom()?);
        }
        self.leave();
        if alts.len() == 1 {
            if let Some(t) = alts.pop() {
                return Ok(t);
            }
        }
        let span = match (alts.first(), alts.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => self.span(),
        };
        Ok(TypeExpr {
            kind: TypeExprKind::Variant(alts),
            span,
        })
    }

    fn type_atom(&mut self) -> PResult<TypeExpr> {
        let start = self.span();
        match self.peek().clone() {
            TokKind::Str(s) => {
                self.bump();
                Ok(TypeExpr {
                    kind: TypeExprKind::Text(s),
                    span: start,
                })
            }
            TokKind::Int(_) | TokKind::Minus => {
                let e = self.primary()?;
                match e.kind {
                    ExprKind::Int(v) => Ok(TypeExpr {
                        kind: TypeExprKind::Int(v),
                        span: e.span,
                    }),
                    _ => Err(Diagnostic::new(e.span, "expected a type", "not a type")),
                }
            }
            TokKind::LParen => {
                self.bump();
                if self.peek() == &TokKind::RParen {
                    let end = self.bump();
                    return Ok(TypeExpr {
                        kind: TypeExprKind::Unit,
                        span: start.to(end),
                    });
                }
                let t = self.type_expr()?;
                self.expect(&TokKind::RParen)?;
                Ok(t)
            }
            TokKind::LBrace => {
                let (fields, span) = self.type_fields()?;
                Ok(TypeExpr {
                    kind: TypeExprKind::Dict(fields),
                    span,
                })
            }
            TokKind::LBracket => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    if self.eat(&TokKind::Comma) {
                        continue;
                    }
                    if self.peek() == &TokKind::RBracket {
                        break;
                    }
                    items.push(self.type_expr()?);
                }
                let end = self.bump();
                Ok(TypeExpr {
                    kind: TypeExprKind::Tuple(items),
                    span: start.to(end),
                })
            }
            TokKind::Ident(_) => {
                let name = self.name("a type")?;
                let mut args = Vec::new();
                let mut span = name.span;
                if self.eat(&TokKind::Lt) {
                    loop {
                        args.push(self.type_expr()?);
                        if !self.eat(&TokKind::Comma) {
                            break;
                        }
                    }
                    span = span.to(self.expect(&TokKind::Gt)?);
                }
                Ok(TypeExpr {
                    kind: TypeExprKind::Named(name, args),
                    span,
                })
            }
            _ => Err(self.error("a type")),
        }
    }

    fn type_fields(&mut self) -> PResult<(Vec<(Name, TypeExpr)>, Span)> {
        let start = self.expect(&TokKind::LBrace)?;
        let mut fields = Vec::new();
        loop {
            if self.eat(&TokKind::Comma) {
                continue;
            }
            if self.peek() == &TokKind::RBrace {
                break;
            }
            let name = self.name("a field name or `}`")?;
            self.expect(&TokKind::Colon)?;
            fields.push((name, self.type_expr()?));
        }
        let end = self.bump();
        Ok((fields, start.to(end)))
    }

    // ---- model declarations ---------------------------------------------------------------

    fn model_decl(&mut self) -> PResult<ModelDecl> {
        self.bump();
        let name = self.name("a model name")?;
        self.expect(&TokKind::LBrace)?;
        let mut decl = ModelDecl {
            name,
            config: None,
            audit: None,
            methods: Vec::new(),
        };
        while !self.eat(&TokKind::RBrace) {
            if self.is_ident("config") {
                self.bump();
                decl.config = Some(self.type_expr()?);
                continue;
            }
            if self.is_ident("audit") {
                self.bump();
                decl.audit = Some(self.type_fields()?.0);
                continue;
            }
            let global = self.is_ident("global");
            if global {
                self.bump();
            }
            let is_rule = if self.is_ident("rule") {
                true
            } else if self.is_ident("expr") {
                false
            } else {
                return Err(self.error("`config`, `audit`, `rule`, `expr` or `}`"));
            };
            self.bump();
            let name = self.name("a method name")?;
            let arg = match self.peek() {
                TokKind::LBrace => ArgShape::Dict(self.type_fields()?.0),
                TokKind::LParen if self.peek_at(1) == &TokKind::RParen => {
                    self.bump();
                    self.bump();
                    ArgShape::Unit
                }
                TokKind::LParen => {
                    self.bump();
                    let t = self.type_expr()?;
                    self.expect(&TokKind::RParen)?;
                    ArgShape::Value(t)
                }
                _ => {
                    return Err(
                        self.error("an argument shape: `()`, `(Type)` or `{ field : Type }`")
                    )
                }
            };
            let result = if self.eat(&TokKind::Colon) {
                Some(self.type_expr()?)
            } else {
                None
            };
            decl.methods.push(MethodDecl {
                global,
                is_rule,
                name,
                arg,
                result,
            });
        }
        Ok(decl)
    }

    // ---- PAL --------------------------------------------------------------------------------

    fn test_set(&mut self) -> PResult<TestSet> {
        let span = self.bump();
        let name = self.opt_title();
        self.expect(&TokKind::LBrace)?;
        let mut set = TestSet {
            name,
            span,
            setup: Vec::new(),
            sequences: Vec::new(),
            finally: Vec::new(),
        };
        let mut loose = Vec::new();
        while !self.eat(&TokKind::RBrace) {
            if self.is_ident("setup") && self.peek_at(1) == &TokKind::LBrace {
                self.bump();
                set.setup.extend(self.cases()?);
            } else if self.is_ident("finally") && self.peek_at(1) == &TokKind::LBrace {
                self.bump();
                set.finally.extend(self.cases()?);
            } else if self.is_ident("sequence")
                && matches!(self.peek_at(1), TokKind::Str(_) | TokKind::LBrace)
            {
                let span = self.bump();
                let name = self.opt_title();
                let cases = self.cases()?;
                set.sequences.push(Sequence { name, span, cases });
            } else if self.peek() == &TokKind::Eof {
                return Err(self.error("`}`"));
            } else {
                loose.push(self.test_case()?);
            }
        }
        if !loose.is_empty() {
            set.sequences.push(Sequence {
                name: None,
                span,
                cases: loose,
            });
        }
        Ok(set)
    }

    fn opt_title(&mut self) -> Option<String> {
        if let TokKind::Str(s) = self.peek().clone() {
            self.bump();
            return Some(s);
        }
        None
    }

    fn cases(&mut self) -> PResult<Vec<TestCase>> {
        self.expect(&TokKind::LBrace)?;
        let mut out = Vec::new();
        while !self.eat(&TokKind::RBrace) {
            if self.peek() == &TokKind::Eof {
                return Err(self.error("`}`"));
            }
            out.push(self.test_case()?);
        }
        Ok(out)
    }

    fn test_case(&mut self) -> PResult<TestCase> {
        let span = self.span();
        let bind =
            if matches!(self.peek(), TokKind::Ident(_)) && self.peek_at(1) == &TokKind::LArrow {
                let n = self.name("a variable")?;
                self.bump();
                Some(n)
            } else {
                None
            };
        let expect = if self.is_ident("grant") {
            Expect::Grant
        } else if self.is_ident("deny") {
            Expect::Deny
        } else if self.is_ident("any") {
            Expect::Any
        } else {
            Expect::Grant
        };
        if self.is_ident("grant") || self.is_ident("deny") || self.is_ident("any") {
            self.bump();
        }
        let title = self.opt_title();
        // Shorthand: `c ~> s : endpoint.path.Method { .. }`.
        if matches!(self.peek(), TokKind::Ident(_)) && self.peek_at(1) == &TokKind::Squiggle {
            let src = self.path("a variable")?;
            self.bump();
            let dst = self.path("a variable")?;
            self.expect(&TokKind::Colon)?;
            let target = self.path("`endpoint.Method`")?;
            let mut segs = target.segments.clone();
            let Some(method) = segs.pop() else {
                return Err(self.error("`endpoint.Method`"));
            };
            if segs.is_empty() {
                return Err(Diagnostic::new(
                    target.span,
                    "expected `endpoint.Method` after `:`",
                    "no endpoint",
                )
                .help("expected the qualified endpoint name, a dot and the method name"));
            }
            let ep_span = match (segs.first(), segs.last()) {
                (Some(a), Some(b)) => a.span.to(b.span),
                _ => target.span,
            };
            let message = if self.peek() == &TokKind::LBrace {
                Some(self.dict()?)
            } else {
                None
            };
            let sel = |key, value: Path| Selector {
                key,
                key_span: value.span,
                value,
            };
            let method_path = Path {
                span: method.span,
                segments: vec![method],
            };
            return Ok(TestCase {
                bind,
                expect,
                title,
                event: EventKind::Request,
                selectors: vec![
                    sel(SelectorKey::Src, src),
                    sel(SelectorKey::Dst, dst),
                    sel(
                        SelectorKey::Endpoint,
                        Path {
                            segments: segs,
                            span: ep_span,
                        },
                    ),
                    sel(SelectorKey::Method, method_path),
                ],
                message,
                span,
            });
        }
        let event = match self.peek() {
            TokKind::Ident(w) => EventKind::from_keyword(w),
            _ => None,
        };
        let Some(event) = event else {
            return Err(self.error("a test case (`[var <-] [grant|deny|any] [\"title\"] <event> <selectors>`)")
                .help("expected an event keyword: `execute`, `request`, `response`, `error` or `security`"));
        };
        self.bump();
        let selectors = self.selectors()?;
        let message = if self.peek() == &TokKind::LBrace {
            Some(self.dict()?)
        } else {
            None
        };
        Ok(TestCase {
            bind,
            expect,
            title,
            event,
            selectors,
            message,
            span,
        })
    }
}

/// `&` and `|` may not be mixed with the other binary operators without parentheses.
fn check_mixing(op: BinOp, op_span: Span, lhs: &Expr, rhs: &Expr) -> PResult<()> {
    let bitwise = |o: BinOp| matches!(o, BinOp::BitAnd | BinOp::BitOr);
    for side in [lhs, rhs] {
        if let ExprKind::Binary(inner, ..) = &side.kind {
            if bitwise(op) != bitwise(*inner) {
                return Err(Diagnostic::new(
                    op_span,
                    format!(
                        "`{}` and `{}` cannot be mixed without parentheses",
                        inner.text(),
                        op.text()
                    ),
                    "ambiguous operator mix",
                )
                .help("expected parentheses: `&` and `|` have no precedence relative to the other operators"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(text: &str) -> Result<Expr, Diagnostic> {
        let tokens = lex(FileId(0), text)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            depth: 0,
        };
        p.expr()
    }

    fn shape(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Binary(op, a, b) => format!("({} {} {})", shape(a), op.text(), shape(b)),
            ExprKind::Unary(UnOp::Not, a) => format!("!{}", shape(a)),
            ExprKind::Unary(UnOp::BitNot, a) => format!("~{}", shape(a)),
            ExprKind::Paren(a) => shape(a),
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Path(p) => p.dotted(),
            ExprKind::Call { callee, arg } => format!("{}[{}]", callee.dotted(), shape(arg)),
            ExprKind::Unit => "()".into(),
            _ => "?".into(),
        }
    }

    #[test]
    fn precedence_follows_the_table() {
        let e = expr("a + b * c < d && e || f ==> g ==> h").map(|e| shape(&e));
        assert_eq!(
            e.ok().as_deref(),
            Some("(((((a + (b * c)) < d) && e) || f) ==> (g ==> h))")
        );
    }

    #[test]
    fn calls_bind_tighter_than_operators() {
        let e = expr("math.neg x + size (m) >= -3").map(|e| shape(&e));
        assert_eq!(e.ok().as_deref(), Some("((math.neg[x] + size[m]) >= -3)"));
        let e = expr("!a && ~b == c").map(|e| shape(&e));
        assert_eq!(e.ok().as_deref(), Some("(!a && (~b == c))"));
    }

    #[test]
    fn bitwise_mixing_and_chained_comparisons_are_errors() {
        assert!(expr("a & b + c").is_err());
        assert!(expr("a | b == c").is_err());
        assert!(expr("(a & b) + c").is_ok());
        assert!(expr("a & b | c").is_ok());
        assert!(expr("a < b < c").is_err());
    }
}
