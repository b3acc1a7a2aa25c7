//! Recursive-descent parser for EDL, CDL and IDL.
//!
//! The parser stops at the first syntax error in a file and reports what it expected there;
//! later errors in the same file are usually consequences of the first, and other files are
//! still parsed and checked.

use crate::ast::*;
use crate::lexer::{lex, TokKind, Token};
use ostrog_diag::source::{FileId, Span};
use ostrog_diag::{Diagnostic, NameParser};

/// Which language a file is in (from its extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    /// Process class.
    Edl,
    /// Component.
    Cdl,
    /// Interface package.
    Idl,
}

impl Language {
    /// The language of a file extension (`edl`, `cdl`, `idl`).
    pub fn from_extension(ext: &str) -> Option<Language> {
        match ext {
            "edl" => Some(Language::Edl),
            "cdl" => Some(Language::Cdl),
            "idl" => Some(Language::Idl),
            _ => None,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Language::Edl => "edl",
            Language::Cdl => "cdl",
            Language::Idl => "idl",
        }
    }
}

/// Parses one file.
pub fn parse(file: FileId, text: &str, lang: Language) -> Result<Unit, Diagnostic> {
    let tokens = lex(file, text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let unit = match lang {
        Language::Edl => Unit::Edl(p.edl()?),
        Language::Cdl => Unit::Cdl(p.cdl()?),
        Language::Idl => Unit::Idl(p.idl()?),
    };
    Ok(unit)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Nesting of types and parenthesised expressions, bounded so that hostile input cannot
    /// exhaust the stack.
    depth: u32,
}

/// Deepest nesting of types or parentheses accepted.
const MAX_NESTING: u32 = 64;

type PResult<T> = Result<T, Diagnostic>;

// A `.` in a dotted name is always followed by a name.
ostrog_diag::name_parser!(Parser, dot_may_follow: false);

impl Parser {
    fn peek(&self) -> &TokKind {
        self.tokens.get(self.pos).map_or(&TokKind::Eof, |t| &t.kind)
    }

    fn peek_at(&self, n: usize) -> &TokKind {
        self.tokens
            .get(self.pos + n)
            .map_or(&TokKind::Eof, |t| &t.kind)
    }

    fn span(&self) -> Span {
        match self.tokens.get(self.pos).or_else(|| self.tokens.last()) {
            Some(t) => t.span,
            None => Span {
                file: FileId(0),
                start: 0,
                end: 0,
            },
        }
    }

    fn prev_span(&self) -> Span {
        match self.pos.checked_sub(1).and_then(|i| self.tokens.get(i)) {
            Some(t) => t.span,
            None => self.span(),
        }
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens.get(self.pos).cloned().unwrap_or(Token {
            kind: TokKind::Eof,
            span: self.span(),
        });
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn error(&self, expected: &str) -> Diagnostic {
        let found = self.peek().describe();
        Diagnostic::new(
            self.span(),
            format!("expected {expected}, found {found}"),
            format!("expected {expected}"),
        )
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), TokKind::Ident(s) if s == kw)
    }

    fn keyword(&mut self, kw: &str) -> PResult<Span> {
        if self.is_keyword(kw) {
            Ok(self.bump().span)
        } else {
            Err(self.error(&format!("`{kw}`")))
        }
    }

    fn expect(&mut self, kind: TokKind) -> PResult<Span> {
        if *self.peek() == kind {
            Ok(self.bump().span)
        } else {
            Err(self.error(&kind.describe()))
        }
    }

    fn eat(&mut self, kind: TokKind) -> bool {
        if *self.peek() == kind {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    // ---- EDL / CDL ----

    fn edl(&mut self) -> PResult<Edl> {
        let form = if self.is_keyword("entity") {
            self.bump();
            EdlForm::Entity
        } else if self.is_keyword("task") {
            self.bump();
            self.keyword("class")?;
            EdlForm::TaskClass
        } else {
            return Err(self.error("`entity` or `task class`").help(
                "an EDL file starts with `entity Name` (CE 1.0-1.2) or `task class Name` (1.3+)",
            ));
        };
        let name = self.path("a process class name")?;
        let sections = self.sections(true)?;
        Ok(Edl {
            form,
            name,
            sections,
        })
    }

    fn cdl(&mut self) -> PResult<Cdl> {
        self.keyword("component")
            .map_err(|d| d.help("a CDL file starts with `component Name`"))?;
        let name = self.path("a component name")?;
        let sections = self.sections(false)?;
        Ok(Cdl { name, sections })
    }

    fn sections(&mut self, edl: bool) -> PResult<Vec<Section>> {
        let mut sections = Vec::new();
        loop {
            match self.peek().clone() {
                TokKind::Eof => return Ok(sections),
                TokKind::Ident(kw) if kw == "security" => {
                    self.bump();
                    sections.push(Section::Security(self.path("an interface name")?));
                }
                TokKind::Ident(kw) if kw == "endpoints" || kw == "interfaces" => {
                    let keyword = self.bump().span;
                    let entries = self.bindings("an endpoint name", "an interface name")?;
                    sections.push(Section::Endpoints { keyword, entries });
                }
                TokKind::Ident(kw) if kw == "components" => {
                    let keyword = self.bump().span;
                    let entries = self.bindings("an instance name", "a component name")?;
                    sections.push(Section::Components { keyword, entries });
                }
                _ => {
                    let what = if edl { "EDL" } else { "CDL" };
                    return Err(self
                        .error("`security`, `endpoints`, `interfaces` or `components`")
                        .help(format!(
                            "these are the sections an {what} file may have after its name"
                        )));
                }
            }
        }
    }

    fn bindings(&mut self, name_what: &str, target_what: &str) -> PResult<Vec<Binding>> {
        self.expect(TokKind::LBrace)?;
        let mut entries = Vec::new();
        while !self.eat(TokKind::RBrace) {
            if *self.peek() == TokKind::Eof {
                return Err(self.error("`}`"));
            }
            let name = self.name(&format!("{name_what} or `}}`"))?;
            self.expect(TokKind::Colon)?;
            let target = self.path(target_what)?;
            entries.push(Binding { name, target });
        }
        Ok(entries)
    }

    // ---- IDL ----

    fn idl(&mut self) -> PResult<Idl> {
        self.keyword("package")
            .map_err(|d| d.help("an IDL file starts with `package dotted.Name`"))?;
        let name = self.path("a package name")?;
        let mut imports = Vec::new();
        let mut decls = Vec::new();
        let mut interface: Option<Interface> = None;
        loop {
            match self.peek().clone() {
                TokKind::Eof => break,
                TokKind::Ident(kw) => match kw.as_str() {
                    "import" => {
                        self.bump();
                        imports.push(self.path("a package name")?);
                    }
                    "const" => decls.push(self.const_decl()?),
                    "typedef" => {
                        self.bump();
                        let ty = self.type_expr()?;
                        let name = self.name("a type name")?;
                        self.expect(TokKind::Semi)?;
                        decls.push(Decl::Typedef { ty, name });
                    }
                    "struct" | "union" => {
                        self.bump();
                        let name = self.name("a type name")?;
                        let fields = self.fields()?;
                        let _ = self.eat(TokKind::Semi);
                        decls.push(if kw == "struct" {
                            Decl::Struct { name, fields }
                        } else {
                            Decl::Union { name, fields }
                        });
                    }
                    "interface" => {
                        let iface = self.interface()?;
                        if interface.is_some() {
                            return Err(Diagnostic::new(
                                iface.keyword,
                                "second `interface` in one package",
                                "second interface",
                            )
                            .help("an IDL package declares at most one interface; put the other in its own file"));
                        }
                        interface = Some(iface);
                    }
                    _ => return Err(self.idl_decl_error()),
                },
                _ => return Err(self.idl_decl_error()),
            }
        }
        Ok(Idl {
            name,
            imports,
            decls,
            interface,
        })
    }

    fn idl_decl_error(&self) -> Diagnostic {
        self.error("`import`, `const`, `typedef`, `struct`, `union` or `interface`")
    }

    fn const_decl(&mut self) -> PResult<Decl> {
        self.bump();
        let ty = self.type_expr()?;
        let name = self.name("a constant name")?;
        self.expect(TokKind::Eq)?;
        let value = self.expr()?;
        self.expect(TokKind::Semi)?;
        Ok(Decl::Const { ty, name, value })
    }

    fn fields(&mut self) -> PResult<Vec<Field>> {
        self.expect(TokKind::LBrace)?;
        let mut fields = Vec::new();
        while !self.eat(TokKind::RBrace) {
            if *self.peek() == TokKind::Eof {
                return Err(self.error("`}`"));
            }
            let ty = self.type_expr()?;
            let name = self.name("a field name")?;
            self.expect(TokKind::Semi)?;
            fields.push(Field { ty, name });
        }
        Ok(fields)
    }

    fn interface(&mut self) -> PResult<Interface> {
        let keyword = self.bump().span;
        // The Education Kit form `interface IName { ... }`: the name is accepted and ignored,
        // since the package name is the interface name.
        if matches!(self.peek(), TokKind::Ident(_)) {
            self.bump();
        }
        self.expect(TokKind::LBrace)?;
        let mut methods = Vec::new();
        while !self.eat(TokKind::RBrace) {
            if *self.peek() == TokKind::Eof {
                return Err(self.error("`}`"));
            }
            let name = self.name("a method name or `}`")?;
            self.expect(TokKind::LParen)?;
            let mut params = Vec::new();
            if !self.eat(TokKind::RParen) {
                loop {
                    params.push(self.param()?);
                    if self.eat(TokKind::RParen) {
                        break;
                    }
                    if !self.eat(TokKind::Comma) {
                        return Err(self.error("`,` or `)`"));
                    }
                }
            }
            self.expect(TokKind::Semi)?;
            methods.push(Method { name, params });
        }
        let _ = self.eat(TokKind::Semi);
        Ok(Interface { keyword, methods })
    }

    fn param(&mut self) -> PResult<Param> {
        let dir = match self.peek() {
            TokKind::Ident(s) if s == "in" => Direction::In,
            TokKind::Ident(s) if s == "out" => Direction::Out,
            TokKind::Ident(s) if s == "error" => Direction::Error,
            _ => {
                return Err(self
                    .error("`in`, `out` or `error`")
                    .help("every parameter starts with its direction: `in Type name`"))
            }
        };
        let dir_span = self.bump().span;
        let ty = self.type_expr()?;
        let name = self.name("a parameter name")?;
        Ok(Param {
            dir,
            dir_span,
            ty,
            name,
        })
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(
                Diagnostic::new(self.span(), "nesting too deep", "too deep").help(format!(
                    "expected types and parentheses nested at most {MAX_NESTING} deep"
                )),
            );
        }
        Ok(())
    }

    fn type_expr(&mut self) -> PResult<TypeExpr> {
        self.enter()?;
        let t = self.type_expr_inner();
        self.depth -= 1;
        t
    }

    fn type_expr_inner(&mut self) -> PResult<TypeExpr> {
        let start = self.span();
        let generic = match (self.peek(), self.peek_at(1)) {
            (TokKind::Ident(s), TokKind::Lt) => Some(s.clone()),
            _ => None,
        };
        let kind = match generic.as_deref() {
            Some("bytes") | Some("string") => {
                self.pos += 2;
                let size = self.expr()?;
                self.expect(TokKind::Gt)?;
                if generic.as_deref() == Some("bytes") {
                    TypeExprKind::Bytes(size)
                } else {
                    TypeExprKind::String(size)
                }
            }
            Some("array") | Some("sequence") => {
                self.pos += 2;
                let elem = Box::new(self.type_expr()?);
                self.expect(TokKind::Comma)?;
                let size = self.expr()?;
                self.expect(TokKind::Gt)?;
                if generic.as_deref() == Some("array") {
                    TypeExprKind::Array(elem, size)
                } else {
                    TypeExprKind::Sequence(elem, size)
                }
            }
            Some("handle") => {
                self.pos += 2;
                let iface = self.path("an interface name")?;
                self.expect(TokKind::Gt)?;
                TypeExprKind::Handle(iface)
            }
            _ => TypeExprKind::Named(self.path("a type")?),
        };
        Ok(TypeExpr {
            kind,
            span: start.to(self.prev_span()),
        })
    }

    // Constant expressions, lowest precedence first: `<<`, then `+ -`, then `*`, then unary
    // `-`, then `**` (right-associative).

    fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let e = self.shift();
        self.depth -= 1;
        e
    }

    fn shift(&mut self) -> PResult<Expr> {
        let mut lhs = self.additive()?;
        while self.eat(TokKind::Shl) {
            let rhs = self.additive()?;
            lhs = binary(BinOp::Shl, lhs, rhs);
        }
        Ok(lhs)
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                TokKind::Plus => BinOp::Add,
                TokKind::Minus => BinOp::Sub,
                _ => return Ok(lhs),
            };
            self.pos += 1;
            let rhs = self.multiplicative()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        while self.eat(TokKind::Star) {
            let rhs = self.unary()?;
            lhs = binary(BinOp::Mul, lhs, rhs);
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if *self.peek() == TokKind::Minus {
            let start = self.bump().span;
            self.enter()?;
            let inner = self.unary();
            self.depth -= 1;
            let inner = inner?;
            let span = start.to(inner.span);
            return Ok(Expr {
                kind: ExprKind::Neg(Box::new(inner)),
                span,
            });
        }
        self.power()
    }

    fn power(&mut self) -> PResult<Expr> {
        let base = self.primary()?;
        if self.eat(TokKind::StarStar) {
            self.enter()?;
            let exp = self.unary();
            self.depth -= 1;
            let exp = exp?;
            return Ok(binary(BinOp::Pow, base, exp));
        }
        Ok(base)
    }

    fn primary(&mut self) -> PResult<Expr> {
        match self.peek().clone() {
            TokKind::Int(v) => {
                let span = self.bump().span;
                Ok(Expr {
                    kind: ExprKind::Int(v),
                    span,
                })
            }
            TokKind::Ident(_) => {
                let path = self.path("a constant name")?;
                let span = path.span;
                Ok(Expr {
                    kind: ExprKind::Const(path),
                    span,
                })
            }
            TokKind::LParen => {
                let start = self.bump().span;
                let mut inner = self.expr()?;
                let end = self.expect(TokKind::RParen)?;
                inner.span = start.to(end);
                Ok(inner)
            }
            _ => Err(self.error("a number, a constant name or `(`")),
        }
    }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr {
        kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idl(text: &str) -> Idl {
        match parse(FileId(0), text, Language::Idl) {
            Ok(Unit::Idl(i)) => i,
            other => panic!("not an IDL: {other:?}"),
        }
    }

    #[test]
    fn reference_example_parses() {
        let i = idl(
            "package demo.Storage\nimport kl.core.Types\nconst UInt32 MaxName = 64;\n\
             typedef string<MaxName> Name;\n\
             struct Entry { Name key; UInt64 size; array<UInt8, 16> digest; }\n\
             union Value { UInt32 small; sequence<UInt8, 4096> blob; }\n\
             interface {\n Put(in Entry e, in Value v, out UInt32 rc);\n Get(in Name key, out Value v, error SInt32 status);\n Open(in Name key, out Handle h);\n}\n",
        );
        assert_eq!(i.name.dotted(), "demo.Storage");
        assert_eq!(i.imports.len(), 1);
        assert_eq!(i.decls.len(), 4);
        assert_eq!(i.interface.map(|x| x.methods.len()), Some(3));
    }

    #[test]
    fn nested_generics_close() {
        let i = idl("package a.B\ntypedef sequence<array<UInt8, (2 << 3) ** 2>, 4> T;");
        assert_eq!(i.decls.len(), 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!(
            "package a.B\nconst UInt32 X = {}1{};",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(parse(FileId(0), &deep, Language::Idl).is_err());
        let minus = format!("package a.B\nconst SInt32 X = {}1;", "-".repeat(10_000));
        assert!(parse(FileId(0), &minus, Language::Idl).is_err());
        let types = format!(
            "package a.B\ntypedef {}UInt8{} T;",
            "array<".repeat(10_000),
            ", 1>".repeat(10_000)
        );
        assert!(parse(FileId(0), &types, Language::Idl).is_err());
    }

    #[test]
    fn both_edl_generations() {
        assert!(parse(
            FileId(0),
            "entity a.B interfaces { x : a.I }",
            Language::Edl
        )
        .is_ok());
        assert!(parse(
            FileId(0),
            "task class a.B components { c : a.C } endpoints { e : a.I }",
            Language::Edl
        )
        .is_ok());
        assert!(parse(FileId(0), "task a.B", Language::Edl).is_err());
    }
}
