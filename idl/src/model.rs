//! The checked semantic model: what the specification files mean once names are resolved,
//! constants evaluated and indices assigned.
//!
//! Type aliases are resolved away in [`Ty`] (a parameter of a typedef'd type has the aliased
//! type), but kept in [`TypeDeclKind::Alias`] so that generated code can offer the same names.

use std::collections::BTreeMap;

use crate::ast::{Direction, EdlForm};
use ostrog_diag::source::{FileId, Span};

/// Everything reachable from the files given to one run.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// IDL packages by dotted name.
    pub packages: BTreeMap<String, Package>,
    /// CDL components by dotted name.
    pub components: BTreeMap<String, Component>,
    /// EDL process classes by dotted name.
    pub classes: BTreeMap<String, Class>,
}

/// Built-in integer types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntType {
    /// `SInt8`
    S8,
    /// `SInt16`
    S16,
    /// `SInt32`
    S32,
    /// `SInt64`
    S64,
    /// `UInt8`
    U8,
    /// `UInt16`
    U16,
    /// `UInt32`
    U32,
    /// `UInt64`
    U64,
    /// `UIntSize`: 64 bits on the wire on every Ostrog target.
    USize,
    /// `UIntPtr`: 64 bits on the wire on every Ostrog target.
    UPtr,
}

impl IntType {
    /// The IDL name of a built-in integer type.
    pub fn from_name(name: &str) -> Option<IntType> {
        Some(match name {
            "SInt8" => IntType::S8,
            "SInt16" => IntType::S16,
            "SInt32" => IntType::S32,
            "SInt64" => IntType::S64,
            "UInt8" => IntType::U8,
            "UInt16" => IntType::U16,
            "UInt32" => IntType::U32,
            "UInt64" => IntType::U64,
            "UIntSize" => IntType::USize,
            "UIntPtr" => IntType::UPtr,
            _ => return None,
        })
    }

    /// The IDL name.
    pub fn idl_name(self) -> &'static str {
        match self {
            IntType::S8 => "SInt8",
            IntType::S16 => "SInt16",
            IntType::S32 => "SInt32",
            IntType::S64 => "SInt64",
            IntType::U8 => "UInt8",
            IntType::U16 => "UInt16",
            IntType::U32 => "UInt32",
            IntType::U64 => "UInt64",
            IntType::USize => "UIntSize",
            IntType::UPtr => "UIntPtr",
        }
    }

    /// Width in bytes on the wire (also the alignment).
    pub fn size(self) -> u32 {
        match self {
            IntType::S8 | IntType::U8 => 1,
            IntType::S16 | IntType::U16 => 2,
            IntType::S32 | IntType::U32 => 4,
            IntType::S64 | IntType::U64 | IntType::USize | IntType::UPtr => 8,
        }
    }

    /// Whether the type is signed.
    pub fn signed(self) -> bool {
        matches!(
            self,
            IntType::S8 | IntType::S16 | IntType::S32 | IntType::S64
        )
    }

    /// The Rust type.
    pub fn rust(self) -> &'static str {
        match self {
            IntType::S8 => "i8",
            IntType::S16 => "i16",
            IntType::S32 => "i32",
            IntType::S64 => "i64",
            IntType::U8 => "u8",
            IntType::U16 => "u16",
            IntType::U32 => "u32",
            IntType::U64 | IntType::USize | IntType::UPtr => "u64",
        }
    }

    /// Smallest and largest value.
    pub fn range(self) -> (i128, i128) {
        let bits = self.size() * 8;
        if self.signed() {
            let half = 1i128 << (bits - 1);
            (-half, half - 1)
        } else {
            (0, (1i128 << bits) - 1)
        }
    }
}

/// A user type: package and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeRef {
    /// Dotted package name.
    pub package: String,
    /// Type name within the package.
    pub name: String,
}

/// A resolved type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// A built-in integer.
    Int(IntType),
    /// `Handle` (no interface) or `handle<Iface>`.
    Handle(Option<String>),
    /// `bytes<N>`.
    Bytes(u32),
    /// `string<N>`.
    String(u32),
    /// `array<T, N>`.
    Array(Box<Ty>, u32),
    /// `sequence<T, N>`.
    Sequence(Box<Ty>, u32),
    /// A struct.
    Struct(TypeRef),
    /// A union.
    Union(TypeRef),
}

impl Ty {
    /// How the type reads in IDL (aliases resolved).
    pub fn idl(&self) -> String {
        match self {
            Ty::Int(i) => i.idl_name().to_string(),
            Ty::Handle(None) => "Handle".to_string(),
            Ty::Handle(Some(i)) => format!("handle<{i}>"),
            Ty::Bytes(n) => format!("bytes<{n}>"),
            Ty::String(n) => format!("string<{n}>"),
            Ty::Array(t, n) => format!("array<{}, {n}>", t.idl()),
            Ty::Sequence(t, n) => format!("sequence<{}, {n}>", t.idl()),
            Ty::Struct(r) | Ty::Union(r) => format!("{}.{}", r.package, r.name),
        }
    }
}

/// An IDL package.
#[derive(Clone, Debug)]
pub struct Package {
    /// Dotted name (also the interface name).
    pub name: String,
    /// Its file.
    pub file: FileId,
    /// Imported packages.
    pub imports: Vec<String>,
    /// Constants in declaration order.
    pub consts: Vec<Const>,
    /// Types in declaration order.
    pub types: Vec<TypeDecl>,
    /// The interface, if the package has one.
    pub interface: Option<Interface>,
}

impl Package {
    /// A type declared in this package.
    pub fn type_decl(&self, name: &str) -> Option<&TypeDecl> {
        self.types.iter().find(|t| t.name == name)
    }
}

/// `const Type Name = value;`
#[derive(Clone, Debug)]
pub struct Const {
    /// Name.
    pub name: String,
    /// Declared type.
    pub ty: IntType,
    /// Value.
    pub value: i128,
    /// Where it is declared.
    pub span: Span,
}

/// A type declaration.
#[derive(Clone, Debug)]
pub struct TypeDecl {
    /// Name.
    pub name: String,
    /// What it declares.
    pub kind: TypeDeclKind,
    /// Where its name is.
    pub span: Span,
}

/// Kinds of type declarations.
#[derive(Clone, Debug)]
pub enum TypeDeclKind {
    /// `typedef T Name;`
    Alias(Ty),
    /// `struct Name { ... }`
    Struct(Vec<FieldDef>),
    /// `union Name { ... }`; the tag of variant `i` is `i`.
    Union(Vec<FieldDef>),
}

/// A struct field or union variant.
#[derive(Clone, Debug)]
pub struct FieldDef {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: Ty,
    /// Where its name is.
    pub span: Span,
}

/// The interface of a package.
#[derive(Clone, Debug)]
pub struct Interface {
    /// Methods; a method's MID is its index here.
    pub methods: Vec<MethodDef>,
}

/// A method.
#[derive(Clone, Debug)]
pub struct MethodDef {
    /// Name.
    pub name: String,
    /// Method index within the interface.
    pub mid: u32,
    /// Parameters in declaration order (all `in`, then `out`, then `error`).
    pub params: Vec<ParamDef>,
    /// Where its name is.
    pub span: Span,
}

impl MethodDef {
    /// Parameters of one direction, in order.
    pub fn params_of(&self, dir: Direction) -> impl Iterator<Item = &ParamDef> {
        self.params.iter().filter(move |p| p.dir == dir)
    }
}

/// A method parameter.
#[derive(Clone, Debug)]
pub struct ParamDef {
    /// Name.
    pub name: String,
    /// Direction.
    pub dir: Direction,
    /// Type.
    pub ty: Ty,
    /// Where its name is.
    pub span: Span,
}

/// An endpoint of a class or component, with nested components flattened.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Qualified name: instance path then endpoint name, joined with dots (`main.door`).
    pub qualified: String,
    /// Runtime implementation index within the owning class or component.
    pub riid: u32,
    /// The interface (package) name.
    pub interface: String,
    /// Where the endpoint is declared.
    pub span: Span,
}

/// A component (CDL).
#[derive(Clone, Debug)]
pub struct Component {
    /// Dotted name.
    pub name: String,
    /// Its file.
    pub file: FileId,
    /// Security interface, if any.
    pub security: Option<String>,
    /// All endpoints, nested ones included, in RIID order.
    pub endpoints: Vec<Endpoint>,
}

/// A process class (EDL).
#[derive(Clone, Debug)]
pub struct Class {
    /// Dotted name.
    pub name: String,
    /// Which generation of the syntax it was written in.
    pub form: EdlForm,
    /// Its file.
    pub file: FileId,
    /// Security interface, if any.
    pub security: Option<String>,
    /// All endpoints, nested ones included, in RIID order.
    pub endpoints: Vec<Endpoint>,
}
