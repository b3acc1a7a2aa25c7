//! # Emitting the security module: the policy as tables and rule functions
//!
//! The output is one file, the module `policy` of an image's kernel binary crate (see
//! [`super`] for its shape). It holds only
//! what the policy says: class and method tables, message descriptors, model objects sized
//! from their configurations, regular expressions compiled to DFAs, audit profiles, the
//! dispatch table, and one function per unit and per statement. How an event is judged
//! against them (lookup, validation, running the units, the verdict) is
//! `ostrog_ksm::engine`, compiled once; the generated `Objects` implements its
//! `PolicyTables`. Identical descriptors and identical function bodies are emitted once and
//! referenced from every place that needs them; each function's doc comment names the
//! policy lines it comes from. The text is parsed and formatted (`prettyplease`), so a
//! reviewer reads the policy, not a string literal.
//!
//! The rooms: [`expr`] (expressions and their static types), [`message`] (message paths),
//! [`models`] (model calls in expressions, HashSet and StaticMap keys), [`rules`]
//! (statements and the rules of the standard models), [`tables`] (everything but functions),
//! and this module (the emitter's state and the file's assembly).

mod expr;
mod message;
mod models;
mod rules;
mod tables;

pub use tables::message_desc_source;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ostrog_diag::diagnostic::Diagnostic;
use ostrog_diag::source::{FileId, SourceMap, Span};
use ostrog_idl::layout::TypeLayout;
use ostrog_idl::model::IntType;

use super::phf;
use super::plan::Plan;
use crate::model::*;

/// Pool size of Flow and Mic objects whose config gives none (KasperskyOS configures none;
/// memory is static here).
pub const DEFAULT_SID_POOL: usize = crate::model::DEFAULT_SID_POOL as usize;

/// Largest number of audited results one decision keeps.
const MAX_RECORDED: usize = 32;

/// The static type of a generated value.
#[derive(Clone, Debug, PartialEq)]
enum G {
    Int(Option<IntType>),
    Bool,
    Text,
    Unit,
    Sid,
    Handle,
    /// A Flow state of this object.
    State(String),
    /// A Mic level of this object.
    Level(String),
}

/// A list, kept symbolic until an operation needs its elements.
#[derive(Clone, Debug)]
enum ListVal<'p> {
    /// A literal list.
    Lit(&'p [Expr]),
    /// Message items (`Items` value code) with the element layout.
    Msg(String, TypeLayout),
    /// Message bytes (`&[u8]` code).
    Bytes(String),
}

/// A generated value.
#[derive(Clone, Debug)]
enum Val<'p> {
    Code(String, G),
    List(ListVal<'p>),
    Dict(&'p [(String, Expr)]),
}

/// Where an expression is generated: the unit's event kind and targets, and the audit
/// profile in force.
#[derive(Clone)]
struct Place<'u> {
    kind: EventKind,
    targets: Option<&'u [Target]>,
    profile: String,
}

type Gen<T> = Result<T, ()>;

/// One emitted function, with the policy lines whose code it is.
struct Function {
    name: String,
    text: String,
    lines: Vec<(String, usize)>,
}

/// The emitter.
pub struct Emitter<'p> {
    policy: &'p Policy,
    spec: &'p ostrog_idl::Model,
    plan: &'p Plan<'p>,
    sources: &'p SourceMap,
    /// Diagnostics for constructs the generator cannot translate.
    pub errors: Vec<Diagnostic>,
    /// Unit and statement functions, in the order first emitted.
    functions: Vec<Function>,
    /// Function body (with `NAME` for its name) to its index in `functions`.
    bodies: BTreeMap<String, usize>,
    /// Statements emitted (sizes the decision's record).
    next_fn: usize,
    regexes: Vec<String>,
    profiles: BTreeMap<String, usize>,
    /// Descriptor text to its number.
    descs: BTreeMap<String, usize>,
    desc_text: String,
}

fn lit_str(s: &str) -> String {
    format!("{s:?}")
}

fn reader(t: IntType) -> &'static str {
    match t {
        IntType::U8 => "u8",
        IntType::U16 => "u16",
        IntType::U32 => "u32",
        IntType::U64 | IntType::USize | IntType::UPtr => "u64",
        IntType::S8 => "i8",
        IntType::S16 => "i16",
        IntType::S32 => "i32",
        IntType::S64 => "i64",
    }
}

/// `(lo, hi)` of an integer type tag as Rust text (`None`: the whole `i128`).
fn range(t: Option<IntType>) -> (String, String) {
    match t {
        None => ("i128::MIN".into(), "i128::MAX".into()),
        Some(t) => {
            let (lo, hi) = t.range();
            (format!("{lo}"), format!("{hi}"))
        }
    }
}

/// The common type of two integer operands: the wider; the left one on equal widths; an
/// untyped literal takes the other side's type.
pub fn common(a: Option<IntType>, b: Option<IntType>) -> Option<IntType> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => Some(if y.size() > x.size() { y } else { x }),
    }
}

fn object_field(name: &str) -> String {
    format!("o_{name}")
}

impl<'p> Emitter<'p> {
    pub fn new(
        policy: &'p Policy,
        spec: &'p ostrog_idl::Model,
        plan: &'p Plan<'p>,
        sources: &'p SourceMap,
    ) -> Self {
        Emitter {
            policy,
            spec,
            plan,
            sources,
            errors: Vec::new(),
            functions: Vec::new(),
            bodies: BTreeMap::new(),
            next_fn: 0,
            regexes: Vec::new(),
            profiles: BTreeMap::new(),
            descs: BTreeMap::new(),
            desc_text: String::new(),
        }
    }

    fn error(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        self.errors
            .push(Diagnostic::new(span, message, "not supported by the code generator").help(help));
    }

    /// Reports a construct the generator cannot translate and gives up on it.
    fn fail<T>(
        &mut self,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Gen<T> {
        self.error(span, message, help);
        Err(())
    }

    fn object(&self, name: &str) -> Option<&'p Object> {
        self.policy.objects.get(name)
    }

    fn flow_config(&self, object: &str) -> Option<&'p FlowConfig> {
        match &self.object(object)?.config {
            ObjectConfig::Flow(f) => Some(f),
            _ => None,
        }
    }

    fn state_id(&self, object: &str, state: &str) -> Option<usize> {
        self.flow_config(object)?
            .states
            .iter()
            .position(|s| s == state)
    }

    fn profile_ref(&mut self, name: &str) -> String {
        let n = self.profiles.len();
        let i = *self.profiles.entry(name.to_string()).or_insert(n);
        format!("PROFILE_{i}")
    }

    fn regex(&mut self, pattern: &str) -> usize {
        if let Some(i) = self.regexes.iter().position(|p| p == pattern) {
            return i;
        }
        self.regexes.push(pattern.to_string());
        self.regexes.len() - 1
    }

    /// Emits a function whose text names it `NAME` (a `prefix_<n>` is given), or finds the
    /// one already emitted with the same text; records the policy line of `span` on it.
    fn function(&mut self, prefix: &str, text: String, span: Option<Span>) -> String {
        let line = span.map(|span| {
            let file = self.sources.path(span.file);
            let file = std::path::Path::new(&file)
                .file_name()
                .map_or(file.clone(), |f| f.to_string_lossy().into_owned());
            (file, self.sources.line_col(span.file, span.start).0)
        });
        let i = match self.bodies.get(&text) {
            Some(&i) => i,
            None => {
                let i = self.functions.len();
                let n = self
                    .functions
                    .iter()
                    .filter(|f| f.name.starts_with(prefix))
                    .count();
                self.functions.push(Function {
                    name: format!("{prefix}_{n}"),
                    text: text.clone(),
                    lines: Vec::new(),
                });
                self.bodies.insert(text, i);
                i
            }
        };
        let f = &mut self.functions[i];
        if let Some(line) = line.filter(|l| !f.lines.contains(l)) {
            f.lines.push(line);
        }
        f.name.clone()
    }

    /// The functions' text: each with a doc comment naming its policy lines.
    fn functions_text(&self) -> String {
        let mut out = String::new();
        for f in &self.functions {
            let mut by_file: Vec<(&str, Vec<String>)> = Vec::new();
            for (file, line) in &f.lines {
                match by_file.iter_mut().find(|(x, _)| x == file) {
                    Some((_, lines)) => lines.push(line.to_string()),
                    None => by_file.push((file, vec![line.to_string()])),
                }
            }
            let at: Vec<String> = by_file
                .iter()
                .map(|(file, lines)| format!("{file}:{}", lines.join(",")))
                .collect();
            let from = if at.is_empty() {
                String::new()
            } else {
                format!("/// From {}.\n", at.join(", "))
            };
            let _ = writeln!(out, "{from}{}", f.text.replacen("NAME", &f.name, 1));
        }
        out
    }

    /// The whole module file.
    pub fn module(mut self, solution: &str, origin: &str) -> Result<String, Vec<Diagnostic>> {
        let default_profile = self
            .policy
            .audit_default
            .as_ref()
            .map_or("empty".to_string(), |a| a.profile.clone());
        let initial_level = self.policy.audit_default.as_ref().map_or(0, |a| a.level);
        self.profile_ref(&default_profile);
        let mut unit_names = Vec::new();
        for u in &self.plan.units {
            let at = Place {
                kind: u.kind,
                targets: u.targets.as_deref(),
                profile: u.profile.clone(),
            };
            let mut body = String::new();
            for s in &u.stmts {
                if let Ok(f) = self.stmt_fn(s, &at) {
                    let _ = write!(body, "\n    if let Err(e) = {f}(o, c, d) {{ d.fail(e); }}");
                }
            }
            let text = format!("fn NAME(o: &mut Objects, c: &Ctx<'_>, d: &mut Dec) {{{body}\n}}");
            let span = u.stmts.first().map(|s| rules::stmt_span(s));
            unit_names.push(self.function("unit", text, span));
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let tables = self.names_table();
        let objects = self.objects();
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let recorded = (self.next_fn * 2).clamp(4, MAX_RECORDED);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pub const INSECURE: bool = false;\n\
             pub const SOLUTION: &str = {};\n\
             pub fn module() -> alloc::boxed::Box<dyn ostrog_ksm::SecurityModule> {{ generated::boxed() }}",
            lit_str(solution)
        );
        out.push_str(GENERATED_HEAD);
        let _ = writeln!(out, "const RECORDED: usize = {recorded};");
        let _ = writeln!(out, "type Dec = Decision<RECORDED>;");
        out.push_str(&tables);
        out.push_str(&objects.statics);
        out.push_str(&self.profiles());
        out.push_str(&self.dispatch_table());
        let commit: String = objects
            .txn
            .iter()
            .map(|f| format!("self.{f}.commit();"))
            .collect();
        let rollback: String = objects
            .txn
            .iter()
            .map(|f| format!("self.{f}.rollback();"))
            .collect();
        let _ = writeln!(
            out,
            "/// The policy's objects (state is transactional).\n\
             pub(super) struct Objects {{ level: base::RuntimeLevel,\n{}}}\n\
             impl Objects {{ fn new() -> Self {{ Objects {{ level: base::RuntimeLevel::new({initial_level}),\n{} }} }} }}\n\
             impl Transactional for Objects {{ fn commit(&mut self) {{ {commit} }} fn rollback(&mut self) {{ {rollback} }} }}\n\
             impl PolicyTables<RECORDED> for Objects {{\n\
                 const TABLES: &'static Tables = &TABLES;\n\
                 const DISPATCH: &'static Dispatch = &DISPATCH;\n\
                 const UNITS: &'static [Unit<Self, RECORDED>] = &[{}];\n\
                 fn runtime_level(&self) -> u32 {{ self.level.current() }}\n\
             }}\n\
             pub(super) fn boxed() -> alloc::boxed::Box<dyn SecurityModule> {{\n\
                 alloc::boxed::Box::new(Engine::<Objects, RECORDED>::new(Objects::new()))\n\
             }}",
            objects.fields,
            objects.inits,
            unit_names.join(", ")
        );
        out.push_str(&self.functions_text());
        out.push_str("}\n");
        let file = syn::parse_file(&out).map_err(|e| {
            vec![Diagnostic::new(
                Span {
                    file: FileId(0),
                    start: 0,
                    end: 0,
                },
                format!("the generated module does not parse ({e})"),
                "code generator error",
            )]
        })?;
        let formatted = prettyplease::unparse(&file);
        // The DFAs go in unformatted, at the end of `mod generated`.
        let body = formatted.strip_suffix("}\n").unwrap_or(&formatted);
        Ok(format!(
            "// The security module of solution `{solution}`, generated by ostrog-policy from\n\
             // {origin}.\n\
             // Do not edit: change the policy and rebuild. The image's kernel crate compiles\n\
             // this file as its module `policy`; it uses only `ostrog_ksm`, `alloc` and `core`. How an event is\n\
             // judged against these tables is `ostrog_ksm::engine`.\n\n{body}{}}}\n",
            objects.dfas
        ))
    }
}

/// The start of the `generated` module: lints the generated code may trip, and what it uses.
const GENERATED_HEAD: &str = "
#[allow(
    dead_code,
    unused_imports,
    unused_variables,
    unused_braces,
    unused_parens,
    non_upper_case_globals,
    clippy::pedantic
)]
mod generated {
use ostrog_ksm::engine::prelude::*;
";
