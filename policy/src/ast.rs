//! Syntax trees of PSL files, as written (nothing resolved yet).
//!
//! One [`File`] holds the declarations of one `.psl` file in source order. Every node a
//! diagnostic may point at carries a [`Span`]. The tree keeps both generations of the
//! language as written (juxtaposed `assert x` next to `assert (x)`, `use EDL X` next to
//! `task class X : path`); the checker gives them one meaning.

pub use ostrog_diag::name::{Name, Path};
use ostrog_diag::source::Span;

/// One parsed `.psl` file.
#[derive(Clone, Debug, Default)]
pub struct File {
    /// Declarations in source order.
    pub decls: Vec<Decl>,
}

/// A top-level declaration.
#[derive(Clone, Debug)]
pub enum Decl {
    /// `execute: kl.core.Execute`
    ExecuteInterface(Path),
    /// `use a.b._`: the file `a/b.psl` (the path excludes the final `_`).
    UsePsl(Path),
    /// `use EDL X`
    UseEdl(Path),
    /// `task class X : a.b.Edl`
    TaskClass {
        /// The class name given to the included EDL.
        name: Path,
        /// The EDL's dotted name.
        edl: Path,
    },
    /// `policy object name : Model { type T = ... config = ... }`
    Object(ObjectDecl),
    /// `audit profile name = { level : { object : { condition : [...] } } }`
    AuditProfile {
        /// Profile name.
        name: Name,
        /// The dictionary of levels.
        value: Expr,
    },
    /// `audit default = profile level`
    AuditDefault {
        /// Profile name.
        profile: Name,
        /// Runtime level.
        level: Expr,
    },
    /// An event binding `request src=A { ... }`.
    Binding(Binding),
    /// A PAL test set `assert "name" { ... }`.
    TestSet(TestSet),
    /// A model declaration (our extension, used by the standard library).
    Model(ModelDecl),
}

/// `policy object name : Model { ... }`
#[derive(Clone, Debug)]
pub struct ObjectDecl {
    /// Object name.
    pub name: Name,
    /// Model name.
    pub model: Name,
    /// `type Name = <type>` lines.
    pub types: Vec<(Name, TypeExpr)>,
    /// `config = <value>`, if present.
    pub config: Option<Expr>,
    /// Where the declaration starts.
    pub span: Span,
}

/// A type expression (`"a" | "b"`, `List<Text>`, `{ f : UInt8 }`, `()`).
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    /// What.
    pub kind: TypeExprKind,
    /// Where.
    pub span: Span,
}

/// Kinds of type expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    /// A named type with optional arguments: `Text`, `List<Text>`, `Map<Text, UInt8>`.
    Named(Name, Vec<TypeExpr>),
    /// A text literal type `"closed"`.
    Text(String),
    /// An integer literal type `5`.
    Int(i128),
    /// `()`
    Unit,
    /// `A | B | ...`
    Variant(Vec<TypeExpr>),
    /// `{ f : T, ... }`
    Dict(Vec<(Name, TypeExpr)>),
    /// `[T1, T2]`
    Tuple(Vec<TypeExpr>),
}

/// Security event kinds, as written in bindings and PAL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Process start.
    Execute,
    /// IPC request.
    Request,
    /// IPC response.
    Response,
    /// IPC error response.
    Error,
    /// Query through a security interface.
    Security,
}

impl EventKind {
    /// From its keyword.
    pub fn from_keyword(word: &str) -> Option<EventKind> {
        Some(match word {
            "execute" => EventKind::Execute,
            "request" => EventKind::Request,
            "response" => EventKind::Response,
            "error" => EventKind::Error,
            "security" => EventKind::Security,
            _ => return None,
        })
    }

    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            EventKind::Execute => "execute",
            EventKind::Request => "request",
            EventKind::Response => "response",
            EventKind::Error => "error",
            EventKind::Security => "security",
        }
    }
}

/// Selector keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SelectorKey {
    /// `src=`
    Src,
    /// `dst=`
    Dst,
    /// `interface=`
    Interface,
    /// `component=`
    Component,
    /// `endpoint=`
    Endpoint,
    /// `method=`
    Method,
}

impl SelectorKey {
    /// From its keyword.
    pub fn from_keyword(word: &str) -> Option<SelectorKey> {
        Some(match word {
            "src" => SelectorKey::Src,
            "dst" => SelectorKey::Dst,
            "interface" => SelectorKey::Interface,
            "component" => SelectorKey::Component,
            "endpoint" => SelectorKey::Endpoint,
            "method" => SelectorKey::Method,
            _ => return None,
        })
    }

    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            SelectorKey::Src => "src",
            SelectorKey::Dst => "dst",
            SelectorKey::Interface => "interface",
            SelectorKey::Component => "component",
            SelectorKey::Endpoint => "endpoint",
            SelectorKey::Method => "method",
        }
    }
}

/// `key=value`
#[derive(Clone, Debug)]
pub struct Selector {
    /// Which.
    pub key: SelectorKey,
    /// Where the key is.
    pub key_span: Span,
    /// The dotted value (a PAL variable is a one-segment path).
    pub value: Path,
}

/// `event selectors { [audit p] body }`
#[derive(Clone, Debug)]
pub struct Binding {
    /// The event.
    pub event: EventKind,
    /// Where the event keyword is.
    pub span: Span,
    /// Selectors in source order.
    pub selectors: Vec<Selector>,
    /// The body.
    pub body: Block,
}

/// `{ [audit p] statements }`
#[derive(Clone, Debug)]
pub struct Block {
    /// `audit <profile>` at the start of the block.
    pub audit: Option<Name>,
    /// Statements.
    pub stmts: Vec<Stmt>,
    /// Where the block is.
    pub span: Span,
}

/// A statement of a binding body.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// A rule call `grant ()`, `obj.rule {..}`. Parsed as an expression that must be a call.
    Call(Expr),
    /// `match selectors { ... }`
    Match {
        /// Selectors.
        selectors: Vec<Selector>,
        /// Body.
        body: Block,
        /// Where `match` is.
        span: Span,
    },
    /// `choice (expr) { "pattern" : body ... }`
    Choice {
        /// The expression chosen on.
        scrutinee: Expr,
        /// Branches in order.
        branches: Vec<Branch>,
        /// Where `choice` is.
        span: Span,
    },
}

/// One branch of a `choice`.
#[derive(Clone, Debug)]
pub struct Branch {
    /// `"value"` or `_`.
    pub pattern: Pattern,
    /// Where the pattern is.
    pub span: Span,
    /// One rule, or a braced block.
    pub body: Block,
}

/// Pattern of a choice branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// A text (value or regular expression, depending on the scrutinee).
    Text(String),
    /// An integer.
    Int(i128),
    /// `_`
    Default,
}

/// An expression (values included).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `~`
    BitNot,
    /// `!`
    Not,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `*`
    Mul,
    /// `&`
    BitAnd,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `|`
    BitOr,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `==>`
    Implies,
}

impl BinOp {
    /// How the operator is written.
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Mul => "*",
            BinOp::BitAnd => "&",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::BitOr => "|",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "&&",
            BinOp::Or => "||",
            BinOp::Implies => "==>",
        }
    }
}

/// Kinds of expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer (negative literals included).
    Int(i128),
    /// `"text"`
    Text(String),
    /// `true` / `false`
    Bool(bool),
    /// `()`
    Unit,
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{ k : v, ... }`; keys are names, texts or integers.
    Dict(Vec<(Key, Expr)>),
    /// A plain or dotted name that is not a call: `src_sid`, `message.a.b`, a PAL variable.
    Path(Path),
    /// `e.field` after a non-name expression, or `.handle`/`.rights`.
    Field(Box<Expr>, Name),
    /// `e.[i]`
    Index(Box<Expr>, Box<Expr>),
    /// `(e)`: kept so that `&`/`|` mixing can be told apart from a parenthesised operand.
    Paren(Box<Expr>),
    /// `~e`, `!e`
    Unary(UnOp, Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `callee arg`: `grant ()`, `obj.method {..}`, `math.neg x`, `size (x)`.
    Call {
        /// `method` or `object.method`.
        callee: Path,
        /// The one argument (`()` when written so).
        arg: Box<Expr>,
    },
}

/// A dictionary key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key as text (a name, a text literal or a decimal integer).
    pub text: String,
    /// Whether it was written as an integer.
    pub int: Option<i128>,
    /// Where.
    pub span: Span,
}

/// `assert ["name"] { setup {..} sequence ["name"] {..} finally {..} }`
#[derive(Clone, Debug)]
pub struct TestSet {
    /// Name.
    pub name: Option<String>,
    /// Where `assert` is.
    pub span: Span,
    /// `setup`, if any.
    pub setup: Vec<TestCase>,
    /// Sequences (a set written in the KCE 1.0 form has one unnamed sequence).
    pub sequences: Vec<Sequence>,
    /// `finally`, if any.
    pub finally: Vec<TestCase>,
}

/// `sequence ["name"] { cases }`
#[derive(Clone, Debug)]
pub struct Sequence {
    /// Name.
    pub name: Option<String>,
    /// Where.
    pub span: Span,
    /// Cases in order.
    pub cases: Vec<TestCase>,
}

/// Expected outcome of a test case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `grant` (the default).
    Grant,
    /// `deny`
    Deny,
    /// `any`: the verdict is not checked, only that deciding did not fail.
    Any,
}

/// `[var <-] [grant|deny|any] ["title"] event selectors [{ message }]`, or the shorthand
/// `c ~> s : endpoint.path.Method { message }`.
#[derive(Clone, Debug)]
pub struct TestCase {
    /// `var <-`
    pub bind: Option<Name>,
    /// Expected verdict.
    pub expect: Expect,
    /// Title.
    pub title: Option<String>,
    /// The event.
    pub event: EventKind,
    /// Selectors (the shorthand is desugared into `src`, `dst`, `endpoint`, `method`).
    pub selectors: Vec<Selector>,
    /// Message parameters.
    pub message: Option<Expr>,
    /// Where the case starts.
    pub span: Span,
}

/// Model declaration (standard-library extension):
///
/// ```text
/// model Flow {
///     config { states : List<Text>, initial : Text, transitions : Map<Text, List<Text>> }
///     audit { omit : List<Text> }
///     rule init { sid : Sid }
///     expr query { sid : Sid } : Text
/// }
/// ```
#[derive(Clone, Debug)]
pub struct ModelDecl {
    /// Model name.
    pub name: Name,
    /// `config <type>`: documentation of the configuration shape.
    pub config: Option<TypeExpr>,
    /// `audit { cond : T }`: the model can be audited; model-specific conditions.
    pub audit: Option<Vec<(Name, TypeExpr)>>,
    /// Methods.
    pub methods: Vec<MethodDecl>,
}

/// `[global] rule|expr name <argument shape> [: result]`
#[derive(Clone, Debug)]
pub struct MethodDecl {
    /// Callable without an object name (`grant ()`, `size (x)`).
    pub global: bool,
    /// Rule or expression.
    pub is_rule: bool,
    /// Name.
    pub name: Name,
    /// Argument shape.
    pub arg: ArgShape,
    /// Result type of an expression.
    pub result: Option<TypeExpr>,
}

/// The argument a model method takes.
#[derive(Clone, Debug)]
pub enum ArgShape {
    /// `()`: called as `grant ()`.
    Unit,
    /// `(T)`: one value, called as `assert (x)` or `math.neg x`.
    Value(TypeExpr),
    /// `{ f : T, ... }`: a dictionary with exactly these fields; a field whose type admits
    /// `()` may be left out.
    Dict(Vec<(Name, TypeExpr)>),
}
