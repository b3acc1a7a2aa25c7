//! The checked policy: what a set of `.psl` files means once every name is resolved.
//!
//! This is the input of the code generator (PSL -> Rust security module) and of the PAL test
//! runner. Everything here has been checked: classes exist and carry their EDL endpoints,
//! objects have a known model and a validated configuration, every call names an existing
//! method of an existing object with the right argument fields, every `message.x` names a
//! parameter (and a path through its type) that every method the binding can see has, and
//! every PAL variable is bound before use. A [`Policy`] is complete only when the
//! [`crate::Checked`] holding it has no diagnostics.
//!
//! # How a generator reads it
//!
//! * **Classes** ([`Policy::classes`]) are keyed by the class name the policy uses; for a
//!   `task class X : a.B` line the class `X` has the endpoints of the EDL `a.B`.
//! * **Bindings** ([`Policy::bindings`]) are kept as trees, in source order: a [`Binding`]
//!   has its own [`Selectors`] and a body of [`Stmt`]s; a [`Stmt::Match`] adds selectors
//!   and has a body of its own. Each level also carries [`Targets`]: the exact set of
//!   `(server class, endpoint riid, method mid)` the accumulated selectors can match, or
//!   [`Targets::Any`] when no endpoint, interface or method selector constrains it. An event
//!   matches a level when its kind equals the binding's, its classes equal the `src`/`dst`
//!   selectors given at that level or above, and its `(riid, mid)` is in the targets.
//! * **Verdict**: every rule of every level an event matches is run; the event is granted
//!   iff at least one rule ran and all returned granted (reference §1.4, §9). A `choice`
//!   runs the body of the first branch whose pattern matches the scrutinee's value
//!   (a regular expression for `re.select`, equality otherwise; `_` always matches).
//! * **Expressions** ([`Expr`]) carry a coarse [`Type`]. Message accesses are
//!   [`ExprKind::Message`]: the direction (request: `in`, response: `out`, error: `error`,
//!   security: `in`) and the steps; locate them with
//!   `ostrog_idl::layout::layout(model, interface, method)` and `MessageLayout::locate` for
//!   each target of the enclosing level (all targets have the parameter, with one type).
//! * **Audit**: [`Policy::audit_profiles`], [`Policy::audit_default`], and the `audit`
//!   profile named at the start of a [`Block`].

use std::collections::BTreeMap;

use ostrog_diag::source::Span;
use ostrog_idl::ast::Direction;
use ostrog_idl::model::{Endpoint, IntType};

pub use crate::ast::{BinOp, EventKind, Expect, Pattern, TypeExpr, UnOp};

/// A checked policy.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// `execute: <interface>`: the execute interface (e.g. `kl.core.Execute`).
    pub execute_interface: String,
    /// Process classes by the name the policy uses.
    pub classes: BTreeMap<String, Class>,
    /// Security models declared by the included model files.
    pub models: BTreeMap<String, Model>,
    /// Policy objects by name (the standard library's automatic objects included).
    pub objects: BTreeMap<String, Object>,
    /// Audit profiles by name.
    pub audit_profiles: BTreeMap<String, AuditProfile>,
    /// `audit default = profile level` (the last one wins; `nk/base.psl` sets `empty 0`).
    pub audit_default: Option<AuditDefault>,
    /// Bindings in source order (files in the order they were included, top file last).
    pub bindings: Vec<Binding>,
    /// PAL test sets in source order.
    pub tests: Vec<TestSet>,
}

/// A process class known to the policy.
#[derive(Clone, Debug)]
pub struct Class {
    /// Name used in the policy (and in `init.yaml`).
    pub name: String,
    /// Dotted name of the EDL it was read from (equal to `name` for `use EDL`).
    pub edl: String,
    /// Security interface, if the EDL declares one.
    pub security: Option<String>,
    /// Endpoints (nested components flattened), in RIID order.
    pub endpoints: Vec<Endpoint>,
    /// For each endpoint (by qualified name), the components (CDL names) whose instances
    /// contain it, outermost first: `main.door` of `lock.Controller` is `["lock.DoorComp"]`;
    /// an endpoint the EDL declares itself has none. `component=K` selects the endpoints
    /// whose list holds `K`.
    pub endpoint_components: BTreeMap<String, Vec<String>>,
    /// Where the policy includes it.
    pub span: Span,
}

/// A security model.
#[derive(Clone, Debug)]
pub struct Model {
    /// Name (`Flow`).
    pub name: String,
    /// Methods by name.
    pub methods: BTreeMap<String, Method>,
    /// `None` when objects of the model cannot be audited; otherwise the model-specific
    /// audit conditions besides `kss` (Flow: `omit`, Regex: `emit`).
    pub audit_conditions: Option<Vec<String>>,
    /// Whether objects need a `config`.
    pub configurable: bool,
    /// Where it is declared.
    pub span: Span,
}

/// Rule or expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodKind {
    /// Returns granted or denied; may change the object's state.
    Rule,
    /// Returns a value.
    Expression,
}

/// A model method.
#[derive(Clone, Debug)]
pub struct Method {
    /// Name.
    pub name: String,
    /// Rule or expression.
    pub kind: MethodKind,
    /// Callable without an object name.
    pub global: bool,
    /// Argument shape.
    pub arg: ArgSpec,
    /// Result type of an expression.
    pub result: Type,
}

/// What a method takes.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgSpec {
    /// `()`
    Unit,
    /// One value; `unit_ok` when `()` is also accepted (`deny ()`).
    Value {
        /// The declared type, as written.
        ty: TypeExpr,
        /// Whether `()` is accepted.
        unit_ok: bool,
    },
    /// A dictionary with these fields.
    Dict(Vec<ArgField>),
}

/// A field of a dictionary argument.
#[derive(Clone, Debug, PartialEq)]
pub struct ArgField {
    /// Name.
    pub name: String,
    /// The declared type, as written.
    pub ty: TypeExpr,
    /// May be left out (its type admits `()`).
    pub optional: bool,
}

/// A policy object.
#[derive(Clone, Debug)]
pub struct Object {
    /// Name.
    pub name: String,
    /// Model name.
    pub model: String,
    /// `type X = ...` declarations.
    pub types: Vec<(String, TypeExpr)>,
    /// Validated configuration.
    pub config: ObjectConfig,
    /// Declared by a standard-library file (`base`, `re`, `math`, ...).
    pub library: bool,
    /// Where it is declared.
    pub span: Span,
}

/// A validated object configuration.
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectConfig {
    /// The model takes none.
    None,
    /// Flow.
    Flow(FlowConfig),
    /// HashSet.
    HashSet {
        /// Entries per table.
        set_size: u32,
        /// Number of tables.
        pool_size: u32,
    },
    /// StaticMap.
    StaticMap {
        /// Keys and their default values, in source order.
        keys: Vec<(String, i128)>,
        /// Number of tables.
        pool_size: u32,
    },
    /// Mic.
    Mic {
        /// The levels.
        levels: MicLevels,
        /// Number of SIDs that can carry a label (`pool_size`, an Ostrog extension;
        /// [`DEFAULT_SID_POOL`] when not given).
        pool_size: u32,
    },
    /// A model this crate has no specific check for: the value as written.
    Other(Value),
}

/// Flow configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowConfig {
    /// States in source order.
    pub states: Vec<String>,
    /// Initial state.
    pub initial: String,
    /// Allowed transitions from each state (states without an entry have none).
    pub transitions: BTreeMap<String, Vec<String>>,
    /// Number of SIDs that can have a state machine (`pool_size`, an Ostrog extension;
    /// [`DEFAULT_SID_POOL`] when not given).
    pub pool_size: u32,
}

/// Pool size of Flow and Mic objects whose config gives none (KasperskyOS configures no pool
/// for them; memory is static here).
pub const DEFAULT_SID_POOL: u32 = 64;

/// Largest `pool_size` of a Flow or Mic object (each SID costs two slots of state: the
/// committed and the working copy).
pub const MAX_SID_POOL: u32 = 4096;

/// Mic integrity levels.
#[derive(Clone, Debug, PartialEq)]
pub enum MicLevels {
    /// A linear order, lowest first.
    Linear(Vec<String>),
    /// Degrees (lowest first) times sets of categories.
    Lattice {
        /// Degrees.
        degrees: Vec<String>,
        /// Categories.
        categories: Vec<String>,
    },
}

/// A constant value (configurations, audit profiles, PAL messages).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Integer.
    Int(i128),
    /// Text.
    Text(String),
    /// Boolean.
    Bool(bool),
    /// `()`
    Unit,
    /// List.
    List(Vec<Value>),
    /// Dictionary, keys in source order.
    Dict(Vec<(String, Value)>),
}

/// An audit profile.
#[derive(Clone, Debug)]
pub struct AuditProfile {
    /// Name.
    pub name: String,
    /// Runtime level -> object name -> what to audit.
    pub levels: BTreeMap<u32, BTreeMap<String, AuditRule>>,
    /// Where it is declared.
    pub span: Span,
}

/// What to audit for one object at one level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditRule {
    /// Audit calls returning granted.
    pub granted: bool,
    /// Audit calls returning denied.
    pub denied: bool,
    /// Model-specific conditions (`omit`, `emit`) as written.
    pub conditions: Vec<(String, Value)>,
}

/// `audit default = profile level`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditDefault {
    /// Profile.
    pub profile: String,
    /// Initial runtime level.
    pub level: u32,
}

/// Selectors of one binding or match level, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selectors {
    /// Source class.
    pub src: Option<String>,
    /// Destination class.
    pub dst: Option<String>,
    /// Interface (package name).
    pub interface: Option<String>,
    /// Component (CDL) name: the event's endpoint must lie in an instance of it, at any
    /// depth (see [`Class::endpoint_components`]).
    pub component: Option<String>,
    /// Qualified endpoint name.
    pub endpoint: Option<String>,
    /// Method name.
    pub method: Option<String>,
}

/// One method of one endpoint of one server class.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The server class (request: dst; response, error, security: src).
    pub class: String,
    /// Qualified endpoint name (empty for a security interface).
    pub endpoint: String,
    /// Endpoint index (0 for a security interface).
    pub riid: u32,
    /// Interface.
    pub interface: String,
    /// Method.
    pub method: String,
    /// Method index.
    pub mid: u32,
}

/// The methods a binding level can see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    /// No endpoint, interface or method constraint.
    Any,
    /// Exactly these (never empty).
    Only(Vec<Target>),
}

/// An event binding.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The event.
    pub event: EventKind,
    /// Its selectors.
    pub selectors: Selectors,
    /// What it can match.
    pub targets: Targets,
    /// The body.
    pub body: Block,
    /// Where the binding starts.
    pub span: Span,
}

/// A body.
#[derive(Clone, Debug)]
pub struct Block {
    /// `audit <profile>` for the rules of this block and the blocks inside it.
    pub audit: Option<String>,
    /// Statements in order.
    pub stmts: Vec<Stmt>,
}

/// A statement.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// A rule call.
    Rule(Call),
    /// A nested match.
    Match(Match),
    /// A choice.
    Choice(Choice),
}

/// `match selectors { ... }`
#[derive(Clone, Debug)]
pub struct Match {
    /// Selectors of this level only.
    pub selectors: Selectors,
    /// What the accumulated selectors can match.
    pub targets: Targets,
    /// Body.
    pub body: Block,
    /// Where.
    pub span: Span,
}

/// `choice (expr) { ... }`
#[derive(Clone, Debug)]
pub struct Choice {
    /// The expression (a call of an expression method or any other expression).
    pub scrutinee: Expr,
    /// Branches in order.
    pub branches: Vec<Branch>,
    /// Where.
    pub span: Span,
}

/// A branch of a choice.
#[derive(Clone, Debug)]
pub struct Branch {
    /// Pattern.
    pub pattern: Pattern,
    /// Body.
    pub body: Block,
}

/// A call of a model method.
#[derive(Clone, Debug)]
pub struct Call {
    /// Object name.
    pub object: String,
    /// Its model.
    pub model: String,
    /// Method name.
    pub method: String,
    /// Rule or expression.
    pub kind: MethodKind,
    /// The argument (`Unit` for `()`).
    pub arg: Box<Expr>,
    /// Where.
    pub span: Span,
}

/// Coarse types of expressions: enough to reject nonsense and to pick the generated code's
/// representation. `Any` is a value whose type depends on configuration (a Flow state, a
/// StaticMap value) and is checked at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    /// Boolean.
    Bool,
    /// Integer (`None`: a literal or computed number of no fixed width).
    Int(Option<IntType>),
    /// Text.
    Text,
    /// `()`
    Unit,
    /// A SID (`src_sid`, `dst_sid`, `.handle`).
    Sid,
    /// An IDL `Handle` parameter: `.handle` and `.rights`.
    HandleDesc,
    /// A list of elements.
    List(Box<Type>),
    /// A dictionary (struct, union or literal).
    Dict,
    /// Anything.
    Any,
}

/// A typed expression.
#[derive(Clone, Debug)]
pub struct Expr {
    /// What.
    pub kind: ExprKind,
    /// Its type.
    pub ty: Type,
    /// Where.
    pub span: Span,
}

/// Kinds of checked expressions.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// Integer.
    Int(i128),
    /// Text.
    Text(String),
    /// Boolean.
    Bool(bool),
    /// `()`
    Unit,
    /// List.
    List(Vec<Expr>),
    /// Dictionary (keys in source order).
    Dict(Vec<(String, Expr)>),
    /// `src_sid`
    SrcSid,
    /// `dst_sid`
    DstSid,
    /// `message.a.b.[0]`
    Message(MessagePath),
    /// `e.field` on a non-message value.
    Field(Box<Expr>, String),
    /// `e.[i]` on a non-message value.
    Index(Box<Expr>, Box<Expr>),
    /// `~e`, `!e`
    Unary(UnOp, Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A call of an expression method.
    Call(Call),
}

/// A path into the current message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessagePath {
    /// Which parameters: `In` (request, security), `Out` (response), `Error` (error).
    pub direction: Direction,
    /// Steps, the first is always a parameter name.
    pub steps: Vec<MessageStep>,
}

/// One step of a [`MessagePath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageStep {
    /// A parameter, struct field or union variant.
    Field(String),
    /// An element of an array, sequence, bytes or string.
    Index(u32),
    /// `.handle` of a handle parameter: the SID behind it.
    Handle,
    /// `.rights` of a handle parameter.
    Rights,
}

/// A PAL test set.
#[derive(Clone, Debug)]
pub struct TestSet {
    /// Name.
    pub name: Option<String>,
    /// Cases run before each sequence.
    pub setup: Vec<TestCase>,
    /// Sequences; each starts from the state after `setup`.
    pub sequences: Vec<Sequence>,
    /// Cases run after each sequence.
    pub finally: Vec<TestCase>,
    /// Where.
    pub span: Span,
}

/// A PAL sequence.
#[derive(Clone, Debug)]
pub struct Sequence {
    /// Name.
    pub name: Option<String>,
    /// Cases.
    pub cases: Vec<TestCase>,
}

/// Who takes part in a PAL event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Party {
    /// A variable bound by an earlier `var <- execute ...`, with its class.
    Var {
        /// Variable.
        name: String,
        /// Class of the process it names.
        class: String,
    },
    /// A process class (the KCE 1.0 form, and `execute dst=Class`).
    Class(String),
}

impl Party {
    /// The class.
    pub fn class(&self) -> &str {
        match self {
            Party::Var { class, .. } | Party::Class(class) => class,
        }
    }
}

/// A PAL test case.
#[derive(Clone, Debug)]
pub struct TestCase {
    /// `var <-`
    pub bind: Option<String>,
    /// Expected verdict.
    pub expect: Expect,
    /// Title.
    pub title: Option<String>,
    /// The event.
    pub event: EventKind,
    /// Source (`None`: the kernel for execute).
    pub src: Option<Party>,
    /// Destination.
    pub dst: Option<Party>,
    /// The method addressed (request/response/error/security with `method=`).
    pub target: Option<Target>,
    /// Message parameters given (the rest take default values).
    pub message: Vec<(String, Value)>,
    /// Where.
    pub span: Span,
}

/// Largest HashSet entry key, in bytes (dictionaries and tuples are packed into a key of
/// this many bytes at most).
pub const MAX_ENTRY_BYTES: u32 = 64;

/// The type of a HashSet object's entries (`type Entry = ...`): integers, Booleans, and
/// dictionaries or tuples of them (KasperskyOS). The generated code keeps a scalar entry as
/// the Rust integer or `bool` of that type and packs a dictionary or tuple into a
/// fixed-width key `[u8; N]`: each leaf, in declaration order, little-endian in the bytes of
/// its type (a Boolean is one byte), so two entries are equal exactly when their keys are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryType {
    /// `Boolean`
    Bool,
    /// An integer type.
    Int(IntType),
    /// `{ f : T, ... }` (fields in declaration order).
    Dict(Vec<(String, EntryType)>),
    /// `[T1, T2, ...]`
    Tuple(Vec<EntryType>),
}

impl EntryType {
    /// The entry type of a HashSet object: its `type Entry`, or `UInt64` when not declared.
    /// `Err` names the part of the declaration that is not an entry type.
    pub fn of_object(o: &Object) -> Result<EntryType, Span> {
        match o.types.iter().find(|(n, _)| n == "Entry") {
            Some((_, t)) => EntryType::from_decl(t),
            None => Ok(EntryType::Int(IntType::U64)),
        }
    }

    /// From a declared type.
    pub fn from_decl(t: &TypeExpr) -> Result<EntryType, Span> {
        use crate::ast::TypeExprKind as K;
        match &t.kind {
            K::Named(n, args) if args.is_empty() && n.text == "Boolean" => Ok(EntryType::Bool),
            K::Named(n, args) if args.is_empty() => IntType::from_name(&n.text)
                .map(EntryType::Int)
                .ok_or(t.span),
            K::Dict(fields) if !fields.is_empty() => {
                let mut out: Vec<(String, EntryType)> = Vec::new();
                for (name, ty) in fields {
                    if out.iter().any(|(n, _)| *n == name.text) {
                        return Err(name.span);
                    }
                    out.push((name.text.clone(), EntryType::from_decl(ty)?));
                }
                Ok(EntryType::Dict(out))
            }
            K::Tuple(items) if !items.is_empty() => items
                .iter()
                .map(EntryType::from_decl)
                .collect::<Result<Vec<_>, _>>()
                .map(EntryType::Tuple),
            _ => Err(t.span),
        }
    }

    /// Whether the entry is packed into a byte key (a dictionary or tuple).
    pub fn is_composite(&self) -> bool {
        matches!(self, EntryType::Dict(_) | EntryType::Tuple(_))
    }

    /// Width in bytes of the packed entry.
    pub fn width(&self) -> u32 {
        match self {
            EntryType::Bool => 1,
            EntryType::Int(t) => t.size(),
            EntryType::Dict(fields) => fields
                .iter()
                .map(|(_, t)| t.width())
                .fold(0u32, u32::saturating_add),
            EntryType::Tuple(items) => items
                .iter()
                .map(EntryType::width)
                .fold(0u32, u32::saturating_add),
        }
    }

    /// The type as PSL writes it (for diagnostics).
    pub fn psl(&self) -> String {
        match self {
            EntryType::Bool => "Boolean".to_string(),
            EntryType::Int(t) => int_type_name(*t).to_string(),
            EntryType::Dict(fields) => {
                let fs: Vec<String> = fields
                    .iter()
                    .map(|(n, t)| format!("{n} : {}", t.psl()))
                    .collect();
                format!("{{ {} }}", fs.join(", "))
            }
            EntryType::Tuple(items) => {
                let is: Vec<String> = items.iter().map(EntryType::psl).collect();
                format!("[{}]", is.join(", "))
            }
        }
    }
}

/// The PSL name of an integer type.
pub fn int_type_name(t: IntType) -> &'static str {
    match t {
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
