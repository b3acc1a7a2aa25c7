//! Syntax trees of EDL, CDL and IDL files, as written (nothing resolved yet).
//!
//! Every node that a diagnostic may point at carries a [`Span`].

pub use ostrog_diag::name::{Name, Path};
use ostrog_diag::source::Span;

/// One parsed file.
#[derive(Clone, Debug)]
pub enum Unit {
    /// An `.edl` file.
    Edl(Edl),
    /// A `.cdl` file.
    Cdl(Cdl),
    /// An `.idl` file.
    Idl(Idl),
}

impl Unit {
    /// The declared dotted name.
    pub fn name(&self) -> &Path {
        match self {
            Unit::Edl(e) => &e.name,
            Unit::Cdl(c) => &c.name,
            Unit::Idl(i) => &i.name,
        }
    }
}

/// How an EDL file starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdlForm {
    /// `entity X` (KasperskyOS CE 1.0 to 1.2).
    Entity,
    /// `task class X` (1.3 and later).
    TaskClass,
}

/// A process class (EDL).
#[derive(Clone, Debug)]
pub struct Edl {
    /// `entity` or `task class`.
    pub form: EdlForm,
    /// The class name.
    pub name: Path,
    /// Sections in source order.
    pub sections: Vec<Section>,
}

/// A component (CDL).
#[derive(Clone, Debug)]
pub struct Cdl {
    /// The component name.
    pub name: Path,
    /// Sections in source order.
    pub sections: Vec<Section>,
}

/// A section of an EDL or CDL file.
#[derive(Clone, Debug)]
pub enum Section {
    /// `security Iface`.
    Security(Path),
    /// `endpoints { name : Iface ... }` (or the 1.0 spelling `interfaces { ... }`).
    Endpoints {
        /// Where the keyword is.
        keyword: Span,
        /// The entries.
        entries: Vec<Binding>,
    },
    /// `components { name : Component ... }`.
    Components {
        /// Where the keyword is.
        keyword: Span,
        /// The entries.
        entries: Vec<Binding>,
    },
}

/// `name : dotted.Target`.
#[derive(Clone, Debug)]
pub struct Binding {
    /// Instance or endpoint name.
    pub name: Name,
    /// Interface or component.
    pub target: Path,
}

/// An interface package (IDL).
#[derive(Clone, Debug)]
pub struct Idl {
    /// The package name.
    pub name: Path,
    /// `import` lines.
    pub imports: Vec<Path>,
    /// Declarations in source order.
    pub decls: Vec<Decl>,
    /// The interface, if any.
    pub interface: Option<Interface>,
}

/// A declaration in an IDL package.
#[derive(Clone, Debug)]
pub enum Decl {
    /// `const Type Name = expr;`
    Const {
        /// Declared integer type.
        ty: TypeExpr,
        /// Name.
        name: Name,
        /// Value.
        value: Expr,
    },
    /// `typedef Type Name;`
    Typedef {
        /// Aliased type.
        ty: TypeExpr,
        /// Name.
        name: Name,
    },
    /// `struct Name { fields }`
    Struct {
        /// Name.
        name: Name,
        /// Fields.
        fields: Vec<Field>,
    },
    /// `union Name { fields }`
    Union {
        /// Name.
        name: Name,
        /// Variants.
        fields: Vec<Field>,
    },
}

impl Decl {
    /// The declared name.
    pub fn name(&self) -> &Name {
        match self {
            Decl::Const { name, .. }
            | Decl::Typedef { name, .. }
            | Decl::Struct { name, .. }
            | Decl::Union { name, .. } => name,
        }
    }
}

/// A struct field or union variant.
#[derive(Clone, Debug)]
pub struct Field {
    /// Type.
    pub ty: TypeExpr,
    /// Name.
    pub name: Name,
}

/// `interface { methods }`.
#[derive(Clone, Debug)]
pub struct Interface {
    /// Where the keyword is.
    pub keyword: Span,
    /// The methods.
    pub methods: Vec<Method>,
}

/// A method signature.
#[derive(Clone, Debug)]
pub struct Method {
    /// Name.
    pub name: Name,
    /// Parameters in order.
    pub params: Vec<Param>,
}

/// Direction of a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Request parameter.
    In,
    /// Response parameter.
    Out,
    /// Error-response parameter.
    Error,
}

impl Direction {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Error => "error",
        }
    }
}

/// `dir Type name`.
#[derive(Clone, Debug)]
pub struct Param {
    /// Direction.
    pub dir: Direction,
    /// Where the direction keyword is.
    pub dir_span: Span,
    /// Type.
    pub ty: TypeExpr,
    /// Name.
    pub name: Name,
}

/// A type as written.
#[derive(Clone, Debug)]
pub struct TypeExpr {
    /// What kind.
    pub kind: TypeExprKind,
    /// Where.
    pub span: Span,
}

/// Kinds of written types.
#[derive(Clone, Debug)]
pub enum TypeExprKind {
    /// A name: a built-in integer, `Handle`, or a (possibly dotted) user type.
    Named(Path),
    /// `handle<Iface>`.
    Handle(Path),
    /// `bytes<N>`.
    Bytes(Expr),
    /// `string<N>`.
    String(Expr),
    /// `array<T, N>`.
    Array(Box<TypeExpr>, Expr),
    /// `sequence<T, N>`.
    Sequence(Box<TypeExpr>, Expr),
}

/// A constant expression.
#[derive(Clone, Debug)]
pub struct Expr {
    /// What kind.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// Binary operators of constant expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `<<`
    Shl,
    /// `**`
    Pow,
}

/// Kinds of constant expressions.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// A literal.
    Int(u128),
    /// A constant name (possibly qualified by package).
    Const(Path),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation.
    Binary(BinOp, Box<Expr>, Box<Expr>),
}
