//! Emitting the Rust text of the security module.
//!
//! The output is one file the kernel `include!`s (see [`super`] for its shape). Everything
//! the module needs at run time is in the file or in `ostrog_ksm`: tables are `static`s,
//! regular expressions are DFAs serialized at build time and embedded as aligned byte
//! strings, and each unit of the policy is a function. The few helpers the generated code
//! shares (checked integer arithmetic in `i128` with the range of the PSL type, message
//! lists, the dispatch lookup) are emitted once, in [`PRELUDE`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ostrog_spec::diag::Diagnostic;
use ostrog_spec::layout::{layout, LayoutKind, MessageLayout, TypeLayout};
use ostrog_spec::model::IntType;
use ostrog_spec::source::Span;

use super::phf;
use super::plan::{Plan, Unit};
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

/// The emitter.
pub struct Emitter<'p> {
    policy: &'p Policy,
    spec: &'p ostrog_spec::Model,
    plan: &'p Plan<'p>,
    /// Diagnostics for constructs the generator cannot translate.
    pub errors: Vec<Diagnostic>,
    fns: String,
    next_fn: usize,
    regexes: Vec<String>,
    profiles: BTreeMap<String, usize>,
    descs: BTreeMap<(String, String, u8), usize>,
    desc_text: String,
}

fn lit_str(s: &str) -> String {
    format!("{s:?}")
}

fn int_kind(t: IntType) -> &'static str {
    match t {
        IntType::U8 => "U8",
        IntType::U16 => "U16",
        IntType::U32 => "U32",
        IntType::U64 | IntType::USize | IntType::UPtr => "U64",
        IntType::S8 => "I8",
        IntType::S16 => "I16",
        IntType::S32 => "I32",
        IntType::S64 => "I64",
    }
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

fn type_desc(l: &TypeLayout) -> String {
    let shape = match &l.kind {
        LayoutKind::Int(i) => format!("Shape::Int(IntKind::{})", int_kind(*i)),
        LayoutKind::Handle { .. } => "Shape::Handle".to_string(),
        LayoutKind::Bytes { bound } => format!("Shape::Bytes {{ bound: {bound} }}"),
        LayoutKind::String { bound } => format!("Shape::String {{ bound: {bound} }}"),
        LayoutKind::Sequence { bound, element } => format!(
            "Shape::Sequence {{ bound: {bound}, element: &{} }}",
            type_desc(element)
        ),
        LayoutKind::Array { len, element } => format!(
            "Shape::Array {{ len: {len}, element: &{} }}",
            type_desc(element)
        ),
        LayoutKind::Struct { fields, .. } => {
            let fs: Vec<String> = fields
                .iter()
                .map(|f| {
                    format!(
                        "FieldDesc {{ name: {}, offset: {}, ty: {} }}",
                        lit_str(&f.name),
                        f.offset,
                        type_desc(&f.layout)
                    )
                })
                .collect();
            format!("Shape::Struct {{ fields: &[{}] }}", fs.join(", "))
        }
        LayoutKind::Union {
            payload_offset,
            variants,
            ..
        } => {
            let vs: Vec<String> = variants.iter().map(|v| type_desc(&v.layout)).collect();
            format!(
                "Shape::Union {{ payload_offset: {payload_offset}, variants: &[{}] }}",
                vs.join(", ")
            )
        }
    };
    format!("TypeDesc {{ size: {}, shape: {shape} }}", l.size)
}

fn message_desc(m: &MessageLayout, flags: &str) -> String {
    let ps: Vec<String> = m
        .params
        .iter()
        .map(|p| {
            format!(
                "FieldDesc {{ name: {}, offset: {}, ty: {} }}",
                lit_str(&p.name),
                p.offset,
                type_desc(&p.layout)
            )
        })
        .collect();
    format!(
        "MessageDesc {{ fixed_size: {}, flags: {flags}, params: &[{}] }}",
        m.fixed_size,
        ps.join(", ")
    )
}

fn object_field(name: &str) -> String {
    format!("o_{name}")
}

impl<'p> Emitter<'p> {
    pub fn new(policy: &'p Policy, spec: &'p ostrog_spec::Model, plan: &'p Plan<'p>) -> Self {
        Emitter {
            policy,
            spec,
            plan,
            errors: Vec::new(),
            fns: String::new(),
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

    fn desc(&mut self, interface: &str, method: &str, which: u8) -> String {
        let key = (interface.to_string(), method.to_string(), which);
        if let Some(i) = self.descs.get(&key) {
            return format!("&DESC_{i}");
        }
        let i = self.descs.len();
        self.descs.insert(key, i);
        let text = match layout(self.spec, interface, method) {
            Some(ml) => match which {
                0 => message_desc(&ml.request, "0"),
                1 => message_desc(&ml.response, "0"),
                _ => message_desc(&ml.error, "FLAG_ERROR"),
            },
            // A method whose layout cannot be computed accepts no message.
            None => "MessageDesc { fixed_size: u32::MAX, flags: 0, params: &[] }".to_string(),
        };
        let _ = writeln!(self.desc_text, "static DESC_{i}: MessageDesc = {text};");
        format!("&DESC_{i}")
    }

    // ---------------------------------------------------------------- expressions

    fn expr(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<Val<'p>> {
        Ok(match &e.kind {
            ExprKind::Int(v) => Val::Code(format!("{v}i128"), G::Int(None)),
            ExprKind::Text(t) => Val::Code(lit_str(t), G::Text),
            ExprKind::Bool(b) => Val::Code(format!("{b}"), G::Bool),
            ExprKind::Unit => Val::Code("()".into(), G::Unit),
            ExprKind::List(items) => Val::List(ListVal::Lit(items)),
            ExprKind::Dict(entries) => Val::Dict(entries),
            ExprKind::SrcSid => Val::Code("c.ev.src_sid".into(), G::Sid),
            ExprKind::DstSid => Val::Code("c.ev.dst_sid".into(), G::Sid),
            ExprKind::Message(path) => return self.message(path, e.span, at),
            ExprKind::Field(inner, name) => {
                let v = self.expr(inner, at)?;
                match v {
                    Val::Dict(entries) => match entries.iter().find(|(k, _)| k == name) {
                        Some((_, x)) => return self.expr(x, at),
                        None => Val::Code("return Err(ExprError::UnknownKey)".into(), G::Unit),
                    },
                    _ => {
                        self.error(
                            e.span,
                            format!("field `{name}` of a computed value"),
                            "expected a field of a message parameter or of a dictionary literal",
                        );
                        return Err(());
                    }
                }
            }
            ExprKind::Index(inner, index) => {
                let list = self.expr(inner, at)?;
                let i = self.int(index, at)?;
                match list {
                    Val::List(ListVal::Lit(items)) => {
                        let mut arms = String::new();
                        let mut ty: Option<G> = None;
                        for (n, item) in items.iter().enumerate() {
                            let (code, g) = self.scalar(item, at)?;
                            if ty.as_ref().is_some_and(|t| *t != g) {
                                let g2 = ty.clone().unwrap_or(G::Unit);
                                if !matches!((&g, &g2), (G::Int(_), G::Int(_))) {
                                    self.error(item.span, "list elements of different types", "expected elements of one type");
                                    return Err(());
                                }
                            }
                            ty.get_or_insert(g);
                            let _ = write!(arms, "{n} => {code}, ");
                        }
                        let ty = ty.unwrap_or(G::Int(None));
                        let ty = if let G::Int(_) = ty { G::Int(None) } else { ty };
                        Val::Code(
                            format!("(match usize::try_from({i}).unwrap_or(usize::MAX) {{ {arms}_ => return Err(ExprError::IndexOutOfRange) }})"),
                            ty,
                        )
                    }
                    Val::List(ListVal::Bytes(b)) => Val::Code(
                        format!("i128::from(*{b}.get(usize::try_from({i}).unwrap_or(usize::MAX)).ok_or(ExprError::IndexOutOfRange)?)"),
                        G::Int(Some(IntType::U8)),
                    ),
                    Val::List(ListVal::Msg(items, elem)) => {
                        let pos = format!("{items}.at({i})?");
                        return self.leaf(&pos, &elem, e.span);
                    }
                    _ => {
                        self.error(e.span, "index of a value that is not a list", "expected a list");
                        return Err(());
                    }
                }
            }
            ExprKind::Unary(op, inner) => match op {
                UnOp::Not => {
                    let b = self.boolean(inner, at)?;
                    Val::Code(format!("(!{b})"), G::Bool)
                }
                UnOp::BitNot => {
                    let (code, t) = self.int_typed(inner, at)?;
                    let f = match t {
                        Some(t) if !t.signed() => {
                            format!("bnot_unsigned({code}, {})", t.size() * 8)
                        }
                        _ => format!("(!{code})"),
                    };
                    Val::Code(f, G::Int(t))
                }
            },
            ExprKind::Binary(op, l, r) => return self.binary(*op, l, r, at, e.span),
            ExprKind::Call(call) => return self.call_expr(call, at),
        })
    }

    /// A scalar value: its code and type (lists and dictionaries are refused).
    fn scalar(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<(String, G)> {
        match self.expr(e, at)? {
            Val::Code(c, g) => Ok((c, g)),
            _ => {
                self.error(
                    e.span,
                    "a list or dictionary where a single value is needed",
                    "expected a number, text, Boolean or SID",
                );
                Err(())
            }
        }
    }

    fn int_typed(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<(String, Option<IntType>)> {
        match self.scalar(e, at)? {
            (c, G::Int(t)) => Ok((c, t)),
            (c, G::Sid) => Ok((format!("i128::from({c})"), Some(IntType::U64))),
            _ => {
                self.error(e.span, "not a number", "expected an integer expression");
                Err(())
            }
        }
    }

    fn int(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        self.int_typed(e, at).map(|x| x.0)
    }

    fn boolean(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        match self.scalar(e, at)? {
            (c, G::Bool) => Ok(c),
            _ => {
                self.error(e.span, "not a Boolean", "expected a Boolean expression");
                Err(())
            }
        }
    }

    fn text(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        match self.scalar(e, at)? {
            (c, G::Text) => Ok(c),
            _ => {
                self.error(e.span, "not a text", "expected a text expression");
                Err(())
            }
        }
    }

    fn sid(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        match self.scalar(e, at)? {
            (c, G::Sid) => Ok(c),
            (c, G::Int(_)) => Ok(format!(
                "u64::try_from({c}).map_err(|_| ExprError::NotBound)?"
            )),
            _ => {
                self.error(
                    e.span,
                    "not a SID",
                    "expected `src_sid`, `dst_sid` or `message.<handle>.handle`",
                );
                Err(())
            }
        }
    }

    fn binary(
        &mut self,
        op: BinOp,
        l: &'p Expr,
        r: &'p Expr,
        at: &Place<'_>,
        span: Span,
    ) -> Gen<Val<'p>> {
        use BinOp as B;
        match op {
            B::And | B::Or | B::Implies => {
                let a = self.boolean(l, at)?;
                let b = self.boolean(r, at)?;
                // Both sides are evaluated: a failure on either side fails the whole.
                let body = match op {
                    B::And => "a && b",
                    B::Or => "a || b",
                    _ => "!a || b",
                };
                Ok(Val::Code(
                    format!("{{ let a: bool = {a}; let b: bool = {b}; {body} }}"),
                    G::Bool,
                ))
            }
            B::Lt | B::Le | B::Gt | B::Ge => {
                let a = self.int(l, at)?;
                let b = self.int(r, at)?;
                Ok(Val::Code(
                    format!(
                        "{{ let a: i128 = {a}; let b: i128 = {b}; a {} b }}",
                        op.text()
                    ),
                    G::Bool,
                ))
            }
            B::Eq | B::Ne => {
                let eq = self.equality(l, r, at, span)?;
                Ok(Val::Code(
                    if op == B::Eq { eq } else { format!("(!{eq})") },
                    G::Bool,
                ))
            }
            B::Add | B::Sub | B::Mul | B::BitAnd | B::BitOr => {
                let (a, ta) = self.int_typed(l, at)?;
                let (b, tb) = self.int_typed(r, at)?;
                let t = common(ta, tb);
                let (lo, hi) = range(t);
                let f = match op {
                    B::Add => "ar_add",
                    B::Sub => "ar_sub",
                    B::Mul => "ar_mul",
                    B::BitAnd => "ar_and",
                    _ => "ar_or",
                };
                Ok(Val::Code(format!("{f}({a}, {b}, {lo}, {hi})?"), G::Int(t)))
            }
        }
    }

    /// Code of `l == r`.
    fn equality(&mut self, l: &'p Expr, r: &'p Expr, at: &Place<'_>, span: Span) -> Gen<String> {
        let (a, ga) = self.scalar(l, at)?;
        let (b, gb) = self.scalar(r, at)?;
        let numeric = |g: &G| matches!(g, G::Int(_) | G::Sid);
        let as_int = |c: &str, g: &G| {
            if *g == G::Sid {
                format!("i128::from({c})")
            } else {
                c.to_string()
            }
        };
        Ok(match (&ga, &gb) {
            (x, y) if numeric(x) && numeric(y) => {
                format!(
                    "{{ let a: i128 = {}; let b: i128 = {}; a == b }}",
                    as_int(&a, x),
                    as_int(&b, y)
                )
            }
            (G::Bool, G::Bool) | (G::Text, G::Text) | (G::Handle, G::Handle) => {
                format!("{{ let a = {a}; let b = {b}; a == b }}")
            }
            (G::Unit, G::Unit) => "true".to_string(),
            (G::State(o), G::Text) | (G::Text, G::State(o)) => {
                let (s, t) = if matches!(ga, G::State(_)) {
                    (&a, &b)
                } else {
                    (&b, &a)
                };
                let cfg = format!("FLOW_{o}");
                format!(
                    "{{ let s: StateId = {s}; let t: &str = {t}; {cfg}.state_name(s) == Some(t) }}"
                )
            }
            (G::State(x), G::State(y)) if x == y => {
                format!("{{ let a = {a}; let b = {b}; a == b }}")
            }
            (G::Level(o), G::Text) | (G::Text, G::Level(o)) => {
                let (s, t) = if matches!(ga, G::Level(_)) {
                    (&a, &b)
                } else {
                    (&b, &a)
                };
                let cfg = format!("MIC_{o}");
                format!(
                    "{{ let l: Level = {s}; let t: &str = {t}; {cfg}.level(t, &[]) == Some(l) }}"
                )
            }
            (G::Level(x), G::Level(y)) if x == y => {
                format!("{{ let a = {a}; let b = {b}; a == b }}")
            }
            _ => {
                self.error(
                    span,
                    "comparison of values of different kinds",
                    "expected two numbers, two texts, two Booleans or a state and a state name",
                );
                return Err(());
            }
        })
    }

    /// A message access: `Val` of the leaf.
    fn message(&mut self, path: &MessagePath, span: Span, at: &Place<'_>) -> Gen<Val<'p>> {
        let Some(targets) = at.targets else {
            self.error(
                span,
                "`message` without a selected method",
                "expected `method=` on the binding",
            );
            return Err(());
        };
        // One access plan per distinct layout; usually all targets share one.
        let mut plans: Vec<(String, Vec<u32>)> = Vec::new();
        let mut kind: Option<KindTag> = None;
        for t in targets {
            let Some(gm) = self.plan.gm(at.kind, t) else {
                continue;
            };
            let Some(ml) = layout(self.spec, &t.interface, &t.method) else {
                continue;
            };
            let msg = ml.message(path.direction);
            let Some((code, leaf_kind)) = self.walk(msg, &path.steps, span)? else {
                continue;
            };
            if kind.as_ref().is_some_and(|k| *k != leaf_kind) {
                self.error(
                    span,
                    "this parameter has different layouts in the selected methods",
                    "expected a `method=` selector naming one method",
                );
                return Err(());
            }
            kind = Some(leaf_kind);
            match plans.iter_mut().find(|(c, _)| *c == code) {
                Some((_, gms)) => gms.push(gm),
                None => plans.push((code, vec![gm])),
            }
        }
        let Some(kind) = kind else {
            self.error(
                span,
                "`message` names no parameter of the selected methods",
                "expected a parameter of the method",
            );
            return Err(());
        };
        let code = if plans.len() == 1 {
            plans.remove(0).0
        } else {
            let mut arms = String::new();
            for (code, gms) in &plans {
                let pats: Vec<String> = gms.iter().map(u32::to_string).collect();
                let _ = write!(arms, "{} => {code}, ", pats.join(" | "));
            }
            format!("(match c.gm {{ {arms}_ => return Err(ExprError::BadField) }})")
        };
        Ok(match kind {
            KindTag::Scalar(g) => Val::Code(code, g),
            KindTag::Items(elem) => Val::List(ListVal::Msg(code, elem)),
            KindTag::Bytes => Val::List(ListVal::Bytes(code)),
        })
    }

    /// Code reading `steps` in `msg`, and a tag of the leaf's representation (so that the
    /// plans of different targets can be compared). `None` if the method lacks the path.
    fn walk(
        &mut self,
        msg: &MessageLayout,
        steps: &[MessageStep],
        span: Span,
    ) -> Gen<Option<(String, KindTag)>> {
        let Some(MessageStep::Field(first)) = steps.first() else {
            return Ok(None);
        };
        let Some(param) = msg.param(first) else {
            return Ok(None);
        };
        let mut pos = format!("{}usize", param.offset);
        let mut l = param.layout.clone();
        let mut iter = steps.iter().skip(1).peekable();
        while let Some(step) = iter.next() {
            match (step, &l.kind) {
                (MessageStep::Field(f), LayoutKind::Struct { fields, .. }) => {
                    let Some(field) = fields.iter().find(|x| x.name == *f) else {
                        return Ok(None);
                    };
                    pos = format!("off({pos}, {})?", field.offset);
                    l = field.layout.clone();
                }
                (
                    MessageStep::Field(f),
                    LayoutKind::Union {
                        variants,
                        payload_offset,
                        ..
                    },
                ) => {
                    let Some(tag) = variants.iter().position(|x| x.name == *f) else {
                        return Ok(None);
                    };
                    let Some(v) = variants.get(tag) else {
                        return Ok(None);
                    };
                    pos = format!("variant(c.v()?, {pos}, {tag}, {payload_offset})?");
                    l = v.layout.clone();
                }
                (MessageStep::Index(i), LayoutKind::Array { element, .. }) => {
                    pos = format!("off({pos}, {})?", u64::from(*i) * u64::from(element.size));
                    l = (**element).clone();
                }
                (MessageStep::Index(i), LayoutKind::Sequence { bound, element }) => {
                    pos = format!(
                        "c.v()?.sequence({pos}, {bound}, {})?.element({i}u32)?",
                        element.size
                    );
                    l = (**element).clone();
                }
                (MessageStep::Index(i), LayoutKind::Bytes { bound }) => {
                    let code = format!("i128::from(*c.v()?.bytes({pos}, {bound})?.get({i}usize).ok_or(ExprError::IndexOutOfRange)?)");
                    return Ok(Some((code, KindTag::Scalar(G::Int(Some(IntType::U8))))));
                }
                (MessageStep::Handle, LayoutKind::Handle { .. }) => {
                    if iter.peek().is_some() {
                        return Ok(None);
                    }
                    return Ok(Some((
                        format!("c.v()?.handle({pos})?.sid"),
                        KindTag::Scalar(G::Sid),
                    )));
                }
                (MessageStep::Rights, LayoutKind::Handle { .. }) => {
                    if iter.peek().is_some() {
                        return Ok(None);
                    }
                    return Ok(Some((
                        format!("i128::from(c.v()?.handle({pos})?.rights)"),
                        KindTag::Scalar(G::Int(Some(IntType::U32))),
                    )));
                }
                _ => return Ok(None),
            }
        }
        let (code, tag) = match &l.kind {
            LayoutKind::Int(t) => (
                format!("i128::from(c.v()?.{}({pos})?)", reader(*t)),
                KindTag::Scalar(G::Int(Some(*t))),
            ),
            LayoutKind::String { bound } => (
                format!("c.v()?.string({pos}, {bound})?"),
                KindTag::Scalar(G::Text),
            ),
            LayoutKind::Bytes { bound } => {
                (format!("c.v()?.bytes({pos}, {bound})?"), KindTag::Bytes)
            }
            LayoutKind::Handle { .. } => {
                (format!("c.v()?.handle({pos})?"), KindTag::Scalar(G::Handle))
            }
            LayoutKind::Sequence { bound, element } => (
                format!(
                    "Items::of(c.v()?.sequence({pos}, {bound}, {})?, {})",
                    element.size, element.size
                ),
                KindTag::Items((**element).clone()),
            ),
            LayoutKind::Array { len, element } => (
                format!(
                    "Items {{ start: {pos}, len: {len}, stride: {} }}",
                    element.size
                ),
                KindTag::Items((**element).clone()),
            ),
            LayoutKind::Struct { .. } | LayoutKind::Union { .. } => {
                self.error(
                    span,
                    "a whole struct or union as a value",
                    "expected a path down to a number, text, handle or list",
                );
                return Err(());
            }
        };
        Ok(Some((code, tag)))
    }

    /// The value of a list element at body position `pos` (code).
    fn leaf(&mut self, pos: &str, l: &TypeLayout, span: Span) -> Gen<Val<'p>> {
        Ok(match &l.kind {
            LayoutKind::Int(t) => Val::Code(
                format!("i128::from(c.v()?.{}({pos})?)", reader(*t)),
                G::Int(Some(*t)),
            ),
            LayoutKind::String { bound } => {
                Val::Code(format!("c.v()?.string({pos}, {bound})?"), G::Text)
            }
            LayoutKind::Handle { .. } => Val::Code(format!("c.v()?.handle({pos})?"), G::Handle),
            _ => {
                self.error(
                    span,
                    "an element of this type as a value",
                    "expected a list of numbers or texts",
                );
                return Err(());
            }
        })
    }
}

/// What a message leaf is.
#[derive(Clone, Debug, PartialEq)]
enum KindTag {
    Scalar(G),
    Items(TypeLayout),
    Bytes,
}

fn dict_field<'p>(e: &'p Expr, name: &str) -> Option<&'p Expr> {
    match &e.kind {
        ExprKind::Dict(entries) => entries.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        _ => None,
    }
}

fn is_unit(e: Option<&Expr>) -> bool {
    e.is_none_or(|e| matches!(e.kind, ExprKind::Unit))
}

/// The Rust type of a declared integer or Boolean type (`type Entry = UInt32`).
fn rust_scalar(t: &TypeExpr) -> Option<(&'static str, Option<IntType>)> {
    match &t.kind {
        crate::ast::TypeExprKind::Named(n, args) if args.is_empty() => {
            if n.text == "Boolean" {
                return Some(("bool", None));
            }
            IntType::from_name(&n.text).map(|i| (i.rust(), Some(i)))
        }
        _ => None,
    }
}

impl<'p> Emitter<'p> {
    fn call_ref(&self, call: &Call, detail: &str) -> String {
        format!(
            "Call {{ object: {}, method: {}, detail: {detail} }}",
            lit_str(&call.object),
            lit_str(&call.method)
        )
    }

    fn arg_field(&mut self, call: &'p Call, name: &str) -> Gen<&'p Expr> {
        match dict_field(&call.arg, name) {
            Some(e) => Ok(e),
            None => {
                self.error(
                    call.span,
                    format!("`{}.{}` without `{name}`", call.object, call.method),
                    format!("expected a `{name}` field"),
                );
                Err(())
            }
        }
    }

    fn flow_state(&mut self, object: &str, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        if let ExprKind::Text(t) = &e.kind {
            // A name that is not a state is caught by the checker; a state index past the
            // end denies at run time all the same.
            let id = self.state_id(object, t).unwrap_or(usize::from(u16::MAX));
            return Ok(format!("{id}u16"));
        }
        let t = self.text(e, at)?;
        Ok(format!(
            "FLOW_{object}.state_id({t}).ok_or(ExprError::UnknownKey)?"
        ))
    }

    fn mic_level(&mut self, object: &str, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        let Some(ObjectConfig::Mic { levels, .. }) = self.object(object).map(|o| &o.config) else {
            self.error(
                e.span,
                "a level for an object that is not a Mic object",
                "expected a Mic object",
            );
            return Err(());
        };
        let (degrees, categories) = match levels {
            MicLevels::Linear(d) => (d.clone(), Vec::new()),
            MicLevels::Lattice {
                degrees,
                categories,
            } => (degrees.clone(), categories.clone()),
        };
        match &e.kind {
            ExprKind::Text(t) => {
                let d = degrees
                    .iter()
                    .position(|x| x == t)
                    .unwrap_or(usize::from(u16::MAX));
                Ok(format!("Level::new({d}, 0)"))
            }
            ExprKind::Dict(_) => {
                let d = match dict_field(e, "degree").map(|x| &x.kind) {
                    Some(ExprKind::Text(t)) => degrees
                        .iter()
                        .position(|x| x == t)
                        .unwrap_or(usize::from(u16::MAX)),
                    _ => 0,
                };
                let mut mask: u64 = 0;
                if let Some(ExprKind::List(items)) = dict_field(e, "categories").map(|x| &x.kind) {
                    for it in items {
                        match &it.kind {
                            ExprKind::Text(t) => match categories.iter().position(|c| c == t) {
                                Some(i) if i < 64 => mask |= 1u64 << i,
                                // An unknown category makes the level invalid: it denies.
                                _ => return Ok(format!("Level::new({}, 0)", u16::MAX)),
                            },
                            _ => {
                                self.error(
                                    it.span,
                                    "a computed category",
                                    "expected category names as text literals",
                                );
                                return Err(());
                            }
                        }
                    }
                }
                Ok(format!("Level::new({d}, {mask:#x})"))
            }
            _ => {
                let t = self.text(e, at)?;
                Ok(format!(
                    "MIC_{object}.level({t}, &[]).ok_or(ExprError::UnknownKey)?"
                ))
            }
        }
    }

    fn opt_level(&mut self, object: &str, e: Option<&'p Expr>, at: &Place<'_>) -> Gen<String> {
        match e {
            Some(x) if !is_unit(Some(x)) => Ok(format!("Some({})", self.mic_level(object, x, at)?)),
            _ => Ok("None".into()),
        }
    }

    fn opt_sid(&mut self, e: Option<&'p Expr>, at: &Place<'_>) -> Gen<String> {
        match e {
            Some(x) if !is_unit(Some(x)) => Ok(format!("Some({})", self.sid(x, at)?)),
            _ => Ok("None".into()),
        }
    }

    fn list_items(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<ListVal<'p>> {
        match self.expr(e, at)? {
            Val::List(l) => Ok(l),
            _ => {
                self.error(e.span, "not a list", "expected a list");
                Err(())
            }
        }
    }

    fn call_expr(&mut self, call: &'p Call, at: &Place<'_>) -> Gen<Val<'p>> {
        let obj = object_field(&call.object);
        let profile = self.profile_ref(&at.profile);
        let arg: &'p Expr = &call.arg;
        Ok(match (call.model.as_str(), call.method.as_str()) {
            ("Pred", "empty") => match self.expr(arg, at)? {
                Val::Code(c, G::Text) => Val::Code(format!("{c}.is_empty()"), G::Bool),
                Val::Code(_, G::Unit) => Val::Code("true".into(), G::Bool),
                Val::List(ListVal::Lit(items)) => {
                    Val::Code(format!("{}", items.is_empty()), G::Bool)
                }
                Val::List(ListVal::Msg(c, _)) => Val::Code(format!("({c}.len == 0)"), G::Bool),
                Val::List(ListVal::Bytes(c)) => Val::Code(format!("{c}.is_empty()"), G::Bool),
                _ => {
                    self.error(
                        call.span,
                        "`pred.empty` of this value",
                        "expected a text or a list",
                    );
                    return Err(());
                }
            },
            ("Bool", m @ ("all" | "any")) => {
                let ListVal::Lit(items) = self.list_items(arg, at)? else {
                    self.error(
                        call.span,
                        "a message list of Booleans",
                        "expected a list literal",
                    );
                    return Err(());
                };
                let mut lets = String::new();
                let mut names = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    let b = self.boolean(it, at)?;
                    let _ = write!(lets, "let x{i}: bool = {b}; ");
                    names.push(format!("x{i}"));
                }
                let (empty, op) = if m == "all" {
                    ("true", " && ")
                } else {
                    ("false", " || ")
                };
                let body = if names.is_empty() {
                    empty.to_string()
                } else {
                    names.join(op)
                };
                Val::Code(format!("{{ {lets}{body} }}"), G::Bool)
            }
            ("Bool", "cond") => {
                let (Some(i), Some(t), Some(e)) = (
                    dict_field(arg, "if"),
                    dict_field(arg, "then"),
                    dict_field(arg, "else"),
                ) else {
                    self.error(
                        call.span,
                        "`bool.cond` without `if`, `then` and `else`",
                        "expected all three fields",
                    );
                    return Err(());
                };
                let i = self.boolean(i, at)?;
                let (t, gt) = self.scalar(t, at)?;
                let (e2, ge) = self.scalar(e, at)?;
                let g = match (&gt, &ge) {
                    (G::Int(a), G::Int(b)) => G::Int(common(*a, *b)),
                    (a, b) if a == b => gt.clone(),
                    _ => {
                        self.error(
                            call.span,
                            "`then` and `else` of different kinds",
                            "expected two values of one kind",
                        );
                        return Err(());
                    }
                };
                Val::Code(format!("{{ let i: bool = {i}; let t = {t}; let e = {e2}; if i {{ t }} else {{ e }} }}"), g)
            }
            ("Math", m @ ("neg" | "abs")) => {
                let (c, t) = self.int_typed(arg, at)?;
                let (lo, hi) = range(t);
                Val::Code(format!("ar_{m}({c}, {lo}, {hi})?"), G::Int(t))
            }
            ("Math", m @ ("sum" | "product")) => {
                let product = m == "product";
                match self.list_items(arg, at)? {
                    ListVal::Lit(items) => {
                        let mut t: Option<IntType> = None;
                        let mut codes = Vec::new();
                        for it in items {
                            let (c, ti) = self.int_typed(it, at)?;
                            t = common(t, ti);
                            codes.push(c);
                        }
                        let (lo, hi) = range(t);
                        let f = if product { "ar_mul" } else { "ar_add" };
                        let mut acc = if product {
                            "1i128".to_string()
                        } else {
                            "0i128".to_string()
                        };
                        for c in codes {
                            acc = format!("{f}({acc}, {c}, {lo}, {hi})?");
                        }
                        Val::Code(acc, G::Int(t))
                    }
                    ListVal::Msg(items, elem) => {
                        let LayoutKind::Int(t) = elem.kind else {
                            self.error(
                                call.span,
                                "a sum of non-numbers",
                                "expected a list of integers",
                            );
                            return Err(());
                        };
                        let (lo, hi) = range(Some(t));
                        Val::Code(
                            format!("fold_items(c.v()?, {items}, |v, p| v.{}(p).map(i128::from), {lo}, {hi}, {product})?", reader(t)),
                            G::Int(Some(t)),
                        )
                    }
                    ListVal::Bytes(b) => Val::Code(
                        format!("fold_bytes({b}, 0, 255, {product})?"),
                        G::Int(Some(IntType::U8)),
                    ),
                }
            }
            ("Math", cast) => {
                let t = match cast {
                    "uint8" => IntType::U8,
                    "uint16" => IntType::U16,
                    "uint32" => IntType::U32,
                    "uint64" => IntType::U64,
                    "sint8" => IntType::S8,
                    "sint16" => IntType::S16,
                    "sint32" => IntType::S32,
                    "sint64" => IntType::S64,
                    other => {
                        self.error(
                            call.span,
                            format!("`math.{other}`"),
                            "expected a method of nk/basic.psl",
                        );
                        return Err(());
                    }
                };
                let c = self.int(arg, at)?;
                let (lo, hi) = range(Some(t));
                Val::Code(format!("to_range({c}, {lo}, {hi})?"), G::Int(Some(t)))
            }
            ("Struct", "size") => match self.expr(arg, at)? {
                Val::Code(c, G::Text) => {
                    Val::Code(format!("len_of({c}.len())"), G::Int(Some(IntType::U32)))
                }
                Val::List(ListVal::Lit(items)) => {
                    Val::Code(format!("{}i128", items.len()), G::Int(Some(IntType::U32)))
                }
                Val::List(ListVal::Msg(c, _)) => {
                    Val::Code(format!("len_of({c}.len)"), G::Int(Some(IntType::U32)))
                }
                Val::List(ListVal::Bytes(c)) => {
                    Val::Code(format!("len_of({c}.len())"), G::Int(Some(IntType::U32)))
                }
                _ => {
                    self.error(
                        call.span,
                        "`size` of this value",
                        "expected a text or a list",
                    );
                    return Err(());
                }
            },
            ("Regex", "match") => {
                let text = self.arg_field(call, "text")?;
                let pattern = self.arg_field(call, "pattern")?;
                let ExprKind::Text(p) = &pattern.kind else {
                    self.error(pattern.span, "a computed pattern", "expected the pattern as a text literal (patterns are compiled when the policy is built)");
                    return Err(());
                };
                if let Err(e) = ostrog_ksm::regex::compile::compile_pattern(p) {
                    self.errors.push(Diagnostic::new(pattern.span, format!("invalid regular expression: {e}"), "cannot be compiled").help("expected a pattern in the syntax of Rust's `regex` crate, without look-around or back-references"));
                    return Err(());
                }
                let r = self.regex(p);
                let t = self.text(text, at)?;
                let call_code = self.call_ref(call, "CallDetail::Regex(RegexOp::Match)");
                Val::Code(format!("{{ let t: &str = {t}; d.expr(&{profile}, {call_code}, o.re_{r}.is_match(t))? }}"), G::Bool)
            }
            ("Flow", "query") => {
                let sid = {
                    let a = self.arg_field(call, "sid")?;
                    self.sid(a, at)
                }?;
                let call_code =
                    self.call_ref(call, &format!("CallDetail::Flow(o.{obj}.state_of(sid))"));
                Val::Code(format!("{{ let sid: u64 = {sid}; d.expr(&{profile}, {call_code}, o.{obj}.query(sid))? }}"), G::State(call.object.clone()))
            }
            ("HashSet", "contains") => {
                let sid = {
                    let a = self.arg_field(call, "sid")?;
                    self.sid(a, at)
                }?;
                let entry = self.hashset_entry(call, at)?;
                let call_code = self.call_ref(call, "CallDetail::Plain");
                Val::Code(format!("{{ let sid: u64 = {sid}; let entry = {entry}; d.expr(&{profile}, {call_code}, o.{obj}.contains(sid, entry))? }}"), G::Bool)
            }
            ("StaticMap", m @ ("get" | "get_uncommited")) => {
                let sid = {
                    let a = self.arg_field(call, "sid")?;
                    self.sid(a, at)
                }?;
                let key = self.staticmap_key(call, at)?;
                let call_code = self.call_ref(call, "CallDetail::Plain");
                let t = self
                    .staticmap_value(&call.object)
                    .map(|x| x.1)
                    .unwrap_or(Some(IntType::S64));
                Val::Code(format!("{{ let sid: u64 = {sid}; let key: usize = {key}; i128::from(d.expr(&{profile}, {call_code}, o.{obj}.{m}(sid, key))?) }}"), G::Int(t))
            }
            ("Mic", "query_level") => {
                let sid = {
                    let a = self.arg_field(call, "source")?;
                    self.sid(a, at)
                }?;
                let call_code = self.call_ref(call, "CallDetail::Plain");
                Val::Code(format!("{{ let sid: u64 = {sid}; d.expr(&{profile}, {call_code}, o.{obj}.query_level(sid))? }}"), G::Level(call.object.clone()))
            }
            (model, method) => {
                self.error(
                    call.span,
                    format!("expression `{method}` of model `{model}`"),
                    "expected an expression of a standard model (nk/*.psl)",
                );
                return Err(());
            }
        })
    }

    fn hashset_entry(&mut self, call: &'p Call, at: &Place<'_>) -> Gen<String> {
        let e = self.arg_field(call, "entry")?;
        let Some(ty) = self.hashset_type(&call.object) else {
            self.error(
                call.span,
                "HashSet entries of this type",
                "expected `type Entry = <integer type>`, `Boolean`, or a dictionary or tuple of them",
            );
            return Err(());
        };
        match &ty {
            EntryType::Bool => self.boolean(e, at),
            EntryType::Int(t) => {
                let c = self.int(e, at)?;
                Ok(format!("math::cast::<{}>({c})?", reader(*t)))
            }
            EntryType::Dict(_) | EntryType::Tuple(_) => {
                // A fixed-width key: each leaf little-endian at its offset.
                let mut puts = String::new();
                let mut offset = 0u32;
                self.entry_key(&ty, e, at, &mut offset, &mut puts)?;
                Ok(format!("{{ let mut k = [0u8; {}]; {puts}k }}", ty.width()))
            }
        }
    }

    /// Code writing the leaves of entry `e` of type `ty` into the key `k`, from `offset`.
    fn entry_key(
        &mut self,
        ty: &EntryType,
        e: &'p Expr,
        at: &Place<'_>,
        offset: &mut u32,
        out: &mut String,
    ) -> Gen<()> {
        match ty {
            EntryType::Bool => {
                let b = self.boolean(e, at)?;
                let _ = write!(out, "key_put(&mut k, {offset}, &[u8::from({b})]); ");
            }
            EntryType::Int(t) => {
                let c = self.int(e, at)?;
                let _ = write!(
                    out,
                    "key_put(&mut k, {offset}, &math::cast::<{}>({c})?.to_le_bytes()); ",
                    reader(*t)
                );
            }
            EntryType::Dict(fields) => {
                for (name, ft) in fields {
                    let Some(v) = dict_field(e, name) else {
                        self.error(
                            e.span,
                            format!("an entry without field `{name}`"),
                            format!("expected a dictionary literal `{}`", ty.psl()),
                        );
                        return Err(());
                    };
                    self.entry_key(ft, v, at, offset, out)?;
                }
                return Ok(());
            }
            EntryType::Tuple(items) => {
                let ExprKind::List(values) = &e.kind else {
                    self.error(
                        e.span,
                        "an entry that is not a list literal",
                        format!("expected a list literal `{}`", ty.psl()),
                    );
                    return Err(());
                };
                for (it, v) in items.iter().zip(values) {
                    self.entry_key(it, v, at, offset, out)?;
                }
                return Ok(());
            }
        }
        *offset = offset.saturating_add(ty.width());
        Ok(())
    }

    /// The entry type of a HashSet object.
    fn hashset_type(&self, object: &str) -> Option<EntryType> {
        EntryType::of_object(self.object(object)?).ok()
    }

    /// The Rust type of a HashSet object's entries.
    fn hashset_rust(&self, object: &str) -> String {
        match self.hashset_type(object) {
            Some(EntryType::Bool) => "bool".to_string(),
            Some(EntryType::Int(t)) => reader(t).to_string(),
            Some(t) => format!("[u8; {}]", t.width()),
            None => "u64".to_string(),
        }
    }

    fn staticmap_value(&self, object: &str) -> Option<(&'static str, Option<IntType>)> {
        let o = self.object(object)?;
        match o.types.iter().find(|(n, _)| n == "Value") {
            Some((_, t)) => rust_scalar(t).filter(|x| x.1.is_some()),
            None => Some(("i64", Some(IntType::S64))),
        }
    }

    /// The keys of a StaticMap object, as bytes (a `Text` key is its UTF-8).
    fn staticmap_keys(&self, object: &str) -> Vec<Vec<u8>> {
        match self.object(object).map(|o| &o.config) {
            Some(ObjectConfig::StaticMap { keys, .. }) => {
                keys.iter().map(|(k, _)| k.as_bytes().to_vec()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Code of the key index of a StaticMap call: a `Text` or a `List<UInt8>` key, resolved
    /// at build time when it is a literal.
    fn staticmap_key(&mut self, call: &'p Call, at: &Place<'_>) -> Gen<String> {
        let e = self.arg_field(call, "key")?;
        let keys = self.staticmap_keys(&call.object);
        // An unknown literal key: an index past the keys, which denies at run time.
        let literal = |bytes: &[u8]| {
            let i = keys.iter().position(|k| k == bytes).unwrap_or(keys.len());
            format!("{i}usize")
        };
        let smap = format!("SMAP_{}", call.object);
        match &e.kind {
            ExprKind::Text(t) => return Ok(literal(t.as_bytes())),
            ExprKind::List(items) => {
                let bytes: Option<Vec<u8>> = items
                    .iter()
                    .map(|x| match x.kind {
                        ExprKind::Int(v) => u8::try_from(v).ok(),
                        _ => None,
                    })
                    .collect();
                if let Some(b) = bytes {
                    return Ok(literal(&b));
                }
                // Computed elements: each must fit a UInt8.
                let mut codes = Vec::new();
                for x in items {
                    let c = self.int(x, at)?;
                    codes.push(format!("math::cast::<u8>({c})?"));
                }
                return Ok(format!(
                    "{{ let b: [u8; {}] = [{}]; {smap}.key_index(&b)? }}",
                    codes.len(),
                    codes.join(", ")
                ));
            }
            _ => {}
        }
        match self.expr(e, at)? {
            Val::Code(t, G::Text) => Ok(format!("{smap}.key_index({t}.as_bytes())?")),
            Val::List(ListVal::Bytes(b)) => Ok(format!("{smap}.key_index({b})?")),
            Val::List(ListVal::Msg(items, elem)) if elem.kind == LayoutKind::Int(IntType::U8) => {
                let longest = keys.iter().map(Vec::len).max().unwrap_or(0);
                Ok(format!(
                    "items_key::<{longest}>(c.v()?, {items}, |b| {smap}.key_index(b))?"
                ))
            }
            _ => {
                self.error(
                    e.span,
                    "a StaticMap key of this type",
                    "expected a `Text` or a `List<UInt8>` key",
                );
                Err(())
            }
        }
    }

    // ---------------------------------------------------------------- statements

    /// Emits a statement function; returns its name.
    fn stmt_fn(&mut self, stmt: &'p Stmt, at: &Place<'_>) -> Gen<String> {
        let name = format!("st_{}", self.next_fn);
        self.next_fn += 1;
        let body = match stmt {
            Stmt::Rule(call) => self.rule(call, at)?,
            Stmt::Choice(ch) => self.choice(ch, at)?,
            Stmt::Match(m) => {
                // A match inside a choice branch: its selectors are checked here.
                let mut conds = Vec::new();
                if let Some(c) = m.selectors.src.as_deref().and_then(|c| self.plan.class(c)) {
                    conds.push(format!("c.ev.src_class == {c}"));
                }
                if let Some(c) = m.selectors.dst.as_deref().and_then(|c| self.plan.class(c)) {
                    conds.push(format!("c.ev.dst_class == {c}"));
                }
                let mut inner = at.clone();
                let targets: Option<&'p [Target]> = match &m.targets {
                    Targets::Any => None,
                    Targets::Only(t) => Some(t.as_slice()),
                };
                if let Some(ts) = targets {
                    let gms: Vec<String> = ts
                        .iter()
                        .filter_map(|t| self.plan.gm(at.kind, t))
                        .map(|g| g.to_string())
                        .collect();
                    if gms.is_empty() {
                        conds.push("false".into());
                    } else {
                        conds.push(format!("matches!(c.gm, {})", gms.join(" | ")));
                    }
                }
                inner.targets = targets;
                if let Some(a) = &m.body.audit {
                    inner.profile = a.clone();
                }
                let block = self.block(&m.body, &inner)?;
                let cond = if conds.is_empty() {
                    "true".to_string()
                } else {
                    conds.join(" && ")
                };
                format!("if {cond} {{ {block} }}")
            }
        };
        let _ = writeln!(
            self.fns,
            "fn {name}(o: &mut Objects, c: &Ctx<'_>, d: &mut Dec) -> Expr<()> {{\n    {body}\n    Ok(())\n}}"
        );
        Ok(name)
    }

    /// Code running the statements of `b` (each through its own function, so that a failure
    /// in one does not skip the next).
    fn block(&mut self, b: &'p Block, at: &Place<'_>) -> Gen<String> {
        let mut inner = at.clone();
        if let Some(a) = &b.audit {
            inner.profile = a.clone();
        }
        let mut out = String::new();
        for s in &b.stmts {
            let f = self.stmt_fn(s, &inner)?;
            let _ = write!(out, "\n    if let Err(e) = {f}(o, c, d) {{ d.fail(e); }}");
        }
        Ok(out)
    }

    fn choice(&mut self, ch: &'p Choice, at: &Place<'_>) -> Gen<String> {
        let profile = self.profile_ref(&at.profile);
        let default = ch
            .branches
            .iter()
            .position(|b| b.pattern == Pattern::Default);
        let none = match default {
            Some(i) => format!("{i}usize"),
            None => "return Err(ExprError::NoBranch)".to_string(),
        };
        // `re.select`: the branch patterns are the regular expressions.
        let select = match &ch.scrutinee.kind {
            ExprKind::Call(c) if c.model == "Regex" && c.method == "select" => Some(c),
            _ => None,
        };
        let pick = if let Some(call) = select {
            let text = self.arg_field(call, "text")?;
            let t = self.text(text, at)?;
            let mut pats = Vec::new();
            let mut index = Vec::new();
            for (i, b) in ch.branches.iter().enumerate() {
                if let Pattern::Text(p) = &b.pattern {
                    if let Err(e) = ostrog_ksm::regex::compile::compile_pattern(p) {
                        self.errors.push(
                            Diagnostic::new(
                                ch.span,
                                format!("invalid regular expression `{p}`: {e}"),
                                "cannot be compiled",
                            )
                            .help("expected a pattern in the syntax of Rust's `regex` crate"),
                        );
                        return Err(());
                    }
                    let r = self.regex(p);
                    pats.push(format!("&o.re_{r}"));
                    index.push(i);
                }
            }
            let call_code = self.call_ref(call, "CallDetail::Regex(RegexOp::Select)");
            let idx: Vec<String> = index.iter().map(|i| format!("{i}usize")).collect();
            format!(
                "{{ let t: &str = {t}; const BRANCH: [usize; {}] = [{}]; match d.expr(&{profile}, {call_code}, regex::select(t, &[{}]))? {{ Some(i) => *BRANCH.get(i).ok_or(ExprError::NoBranch)?, None => {none} }} }}",
                idx.len(),
                idx.join(", "),
                pats.join(", ")
            )
        } else {
            let (v, g) = self.scalar(&ch.scrutinee, at)?;
            let mut arms = String::new();
            for (i, b) in ch.branches.iter().enumerate() {
                let cond = match (&b.pattern, &g) {
                    (Pattern::Default, _) => continue,
                    (Pattern::Text(t), G::State(o)) => match self.state_id(o, t) {
                        Some(id) => format!("v == {id}"),
                        None => continue,
                    },
                    (Pattern::Text(t), G::Level(o)) => {
                        format!("MIC_{o}.level({}, &[]) == Some(v)", lit_str(t))
                    }
                    (Pattern::Text(t), G::Text) => format!("v == {}", lit_str(t)),
                    (Pattern::Int(n), G::Int(_)) => format!("v == {n}"),
                    (Pattern::Int(n), G::Sid) => format!("i128::from(v) == {n}"),
                    (Pattern::Text(t), G::Bool) if t == "true" || t == "false" => {
                        format!("v == {t}")
                    }
                    _ => continue,
                };
                let _ = write!(arms, "if {cond} {{ {i}usize }} else ");
            }
            format!("{{ let v = {v}; {arms}{{ {none} }} }}")
        };
        let mut out = format!("let branch: usize = {pick}; match branch {{ ");
        for (i, b) in ch.branches.iter().enumerate() {
            let block = self.block(&b.body, at)?;
            let _ = write!(out, "{i} => {{ {block} }} ");
        }
        out.push_str("_ => {} }");
        Ok(out)
    }

    fn rule(&mut self, call: &'p Call, at: &Place<'_>) -> Gen<String> {
        let profile = self.profile_ref(&at.profile);
        let obj = object_field(&call.object);
        let plain = self.call_ref(call, "CallDetail::Plain");
        let report = |v: &str| format!("d.rule(&{profile}, {plain}, {v});");
        let arg: &'p Expr = &call.arg;
        Ok(match (call.model.as_str(), call.method.as_str()) {
            ("Base", "grant") => report("base::grant()"),
            ("Base", "deny") => {
                if is_unit(Some(arg)) {
                    report("base::deny_always()")
                } else {
                    let b = self.boolean(arg, at)?;
                    format!("let v: bool = {b}; {}", report("base::deny(v)"))
                }
            }
            ("Base" | "Bool", "assert") => {
                let b = self.boolean(arg, at)?;
                format!("let v: bool = {b}; {}", report("base::assert(v)"))
            }
            ("Base", "set_level") => {
                let n = self.int(arg, at)?;
                format!("let v = u32::try_from({n}).map_err(|_| ExprError::CastOutOfRange)?; let r = o.level.set_level(v); {}", report("r"))
            }
            ("Flow", m) => {
                let sid = {
                    let a = self.arg_field(call, "sid")?;
                    self.sid(a, at)
                }?;
                let flow_call =
                    self.call_ref(call, &format!("CallDetail::Flow(o.{obj}.state_of(sid))"));
                let action = match m {
                    "init" | "fini" => format!("o.{obj}.{m}(sid)"),
                    "enter" => {
                        let s = {
                            let a = self.arg_field(call, "state")?;
                            self.flow_state(&call.object, a, at)
                        }?;
                        format!("{{ let s: StateId = {s}; o.{obj}.enter(sid, s) }}")
                    }
                    "allow" => {
                        let states = self.arg_field(call, "states")?;
                        let ExprKind::List(items) = &states.kind else {
                            self.error(
                                states.span,
                                "computed states",
                                "expected a list of state names",
                            );
                            return Err(());
                        };
                        let mut ids = Vec::new();
                        for it in items {
                            ids.push(self.flow_state(&call.object, it, at)?);
                        }
                        format!(
                            "{{ let states: [StateId; {}] = [{}]; o.{obj}.allow(sid, &states) }}",
                            ids.len(),
                            ids.join(", ")
                        )
                    }
                    other => {
                        self.error(
                            call.span,
                            format!("Flow rule `{other}`"),
                            "expected init, fini, enter or allow",
                        );
                        return Err(());
                    }
                };
                format!("let sid: u64 = {sid}; let call = {flow_call}; let v = {action}; d.rule(&{profile}, call, v);")
            }
            ("HashSet", m) => {
                let sid = {
                    let a = self.arg_field(call, "sid")?;
                    self.sid(a, at)
                }?;
                let action = match m {
                    "init" | "fini" => format!("o.{obj}.{m}(sid)"),
                    "add" | "remove" => {
                        let entry = self.hashset_entry(call, at)?;
                        format!("{{ let entry = {entry}; o.{obj}.{m}(sid, entry) }}")
                    }
                    other => {
                        self.error(
                            call.span,
                            format!("HashSet rule `{other}`"),
                            "expected init, fini, add or remove",
                        );
                        return Err(());
                    }
                };
                format!("let sid: u64 = {sid}; let v = {action}; {}", report("v"))
            }
            ("StaticMap", m) => {
                let sid = {
                    let a = self.arg_field(call, "sid")?;
                    self.sid(a, at)
                }?;
                let action = match m {
                    "init" | "fini" => format!("o.{obj}.{m}(sid)"),
                    "commit" => format!("o.{obj}.commit_sid(sid)"),
                    "rollback" => format!("o.{obj}.rollback_sid(sid)"),
                    "set" => {
                        let key = self.staticmap_key(call, at)?;
                        let value = {
                            let a = self.arg_field(call, "value")?;
                            self.int(a, at)
                        }?;
                        let rust = self.staticmap_value(&call.object).map_or("i64", |x| x.0);
                        format!("{{ let key: usize = {key}; let value = math::cast::<{rust}>({value})?; o.{obj}.set(sid, key, value) }}")
                    }
                    other => {
                        self.error(
                            call.span,
                            format!("StaticMap rule `{other}`"),
                            "expected init, fini, set, commit or rollback",
                        );
                        return Err(());
                    }
                };
                format!("let sid: u64 = {sid}; let v = {action}; {}", report("v"))
            }
            ("Mic", m) => {
                let o_name = call.object.clone();
                let action = match m {
                    "call" | "invoke" | "read" | "write" => {
                        let s = {
                            let a = self.arg_field(call, "source")?;
                            self.sid(a, at)
                        }?;
                        let t = {
                            let a = self.arg_field(call, "target")?;
                            self.sid(a, at)
                        }?;
                        format!("{{ let source: u64 = {s}; let target: u64 = {t}; o.{obj}.{m}(source, target) }}")
                    }
                    "fini" => {
                        let s = {
                            let a = self.arg_field(call, "sid")?;
                            self.sid(a, at)
                        }?;
                        format!("o.{obj}.fini({s})")
                    }
                    "execute" => {
                        let image = self.opt_sid(dict_field(arg, "image"), at)?;
                        let target = {
                            let a = self.arg_field(call, "target")?;
                            self.sid(a, at)
                        }?;
                        let level = self.opt_level(&o_name, dict_field(arg, "level"), at)?;
                        let level_r = self.opt_level(&o_name, dict_field(arg, "levelR"), at)?;
                        format!("{{ let a = mic::ExecuteArgs {{ image: {image}, target: {target}, level: {level}, level_r: {level_r} }}; o.{obj}.execute(a) }}")
                    }
                    "create" | "upgrade" | "downgrade" => {
                        let source = {
                            let a = self.arg_field(call, "source")?;
                            self.sid(a, at)
                        }?;
                        let target = {
                            let a = self.arg_field(call, "target")?;
                            self.sid(a, at)
                        }?;
                        let container = self.opt_sid(dict_field(arg, "container"), at)?;
                        let driver = {
                            let a = self.arg_field(call, "driver")?;
                            self.sid(a, at)
                        }?;
                        if m == "create" {
                            let level = self.opt_level(&o_name, dict_field(arg, "level"), at)?;
                            format!("{{ let a = mic::CreateArgs {{ source: {source}, target: {target}, container: {container}, driver: {driver}, level: {level} }}; o.{obj}.create(a) }}")
                        } else {
                            let level = {
                                let a = self.arg_field(call, "level")?;
                                self.mic_level(&o_name, a, at)
                            }?;
                            format!("{{ let a = mic::RelabelArgs {{ source: {source}, target: {target}, container: {container}, driver: {driver}, level: {level} }}; o.{obj}.{m}(a) }}")
                        }
                    }
                    other => {
                        self.error(
                            call.span,
                            format!("Mic rule `{other}`"),
                            "expected a rule of nk/mic.psl",
                        );
                        return Err(());
                    }
                };
                format!("let v = {action}; {}", report("v"))
            }
            (model, method) => {
                self.error(
                    call.span,
                    format!("rule `{method}` of model `{model}`"),
                    "expected a rule of a standard model (nk/*.psl)",
                );
                return Err(());
            }
        })
    }
}

/// Helpers shared by the generated functions.
pub const PRELUDE: &str = r#"
type Dec = Decision<RECORDED>;

/// What the units see of the event being decided.
struct Ctx<'a> {
    ev: &'a Event<'a>,
    /// Global method number (`NO_METHOD` for execute).
    gm: u32,
    /// The validated message.
    view: Option<MessageView<'a>>,
}

const NO_METHOD: u32 = u32::MAX;

impl<'a> Ctx<'a> {
    fn v(&self) -> Expr<MessageView<'a>> {
        self.view.ok_or(ExprError::BadField)
    }
}

// Integers are computed in `i128` and checked against the range of their PSL type: operands
// are first converted to the common type (a value that does not fit fails the cast), then
// the result must fit (or the operation overflowed).
fn to_range(v: i128, lo: i128, hi: i128) -> Expr<i128> {
    if v < lo || v > hi {
        Err(ExprError::CastOutOfRange)
    } else {
        Ok(v)
    }
}

fn result_in(v: Option<i128>, lo: i128, hi: i128) -> Expr<i128> {
    match v {
        Some(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(ExprError::Overflow),
    }
}

fn ar_add(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(to_range(a, lo, hi)?.checked_add(to_range(b, lo, hi)?), lo, hi)
}

fn ar_sub(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(to_range(a, lo, hi)?.checked_sub(to_range(b, lo, hi)?), lo, hi)
}

fn ar_mul(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(to_range(a, lo, hi)?.checked_mul(to_range(b, lo, hi)?), lo, hi)
}

fn ar_and(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    Ok(to_range(a, lo, hi)? & to_range(b, lo, hi)?)
}

fn ar_or(a: i128, b: i128, lo: i128, hi: i128) -> Expr<i128> {
    Ok(to_range(a, lo, hi)? | to_range(b, lo, hi)?)
}

fn ar_neg(a: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(to_range(a, lo, hi)?.checked_neg(), lo, hi)
}

fn ar_abs(a: i128, lo: i128, hi: i128) -> Expr<i128> {
    result_in(to_range(a, lo, hi)?.checked_abs(), lo, hi)
}

/// `~a` for an unsigned value of `bits` bits.
fn bnot_unsigned(a: i128, bits: u32) -> i128 {
    let mask = 1i128.checked_shl(bits).map_or(i128::MAX, |m| m.wrapping_sub(1));
    !a & mask
}

fn len_of(n: usize) -> i128 {
    i128::try_from(n).unwrap_or(i128::MAX)
}

/// `pos + add` in the message body.
fn off(pos: usize, add: u64) -> Expr<usize> {
    usize::try_from(add)
        .ok()
        .and_then(|a| pos.checked_add(a))
        .ok_or(ExprError::BadField)
}

/// The variant `tag` of the union at `pos`: a union holding another variant has no such
/// field (an expression failure).
fn variant(v: MessageView<'_>, pos: usize, tag: u32, payload: u64) -> Expr<usize> {
    if v.u32(pos)? != tag {
        return Err(ExprError::UnknownKey);
    }
    off(pos, payload)
}

/// Writes `bytes` into a HashSet entry key at `at` (the compiler sized the key to fit).
fn key_put(key: &mut [u8], at: usize, bytes: &[u8]) {
    for (d, s) in key.iter_mut().skip(at).zip(bytes) {
        *d = *s;
    }
}

/// The StaticMap key index of message `UInt8` items: copied into a buffer of the longest
/// key's length (`N`); a longer list is no key.
fn items_key<const N: usize>(
    v: MessageView<'_>,
    items: Items,
    index: impl Fn(&[u8]) -> Expr<usize>,
) -> Expr<usize> {
    if items.len > N {
        return Err(ExprError::UnknownKey);
    }
    let mut buf = [0u8; N];
    for (i, slot) in buf.iter_mut().enumerate().take(items.len) {
        *slot = v.u8(items.at(len_of(i))?)?;
    }
    index(buf.get(..items.len).ok_or(ExprError::UnknownKey)?)
}

/// Elements of a message array or sequence, by body position.
#[derive(Clone, Copy)]
struct Items {
    start: usize,
    len: usize,
    stride: usize,
}

impl Items {
    fn of(s: Sequence, stride: u32) -> Items {
        Items {
            start: s.element(0u32).unwrap_or(0),
            len: s.len(),
            stride: stride as usize,
        }
    }

    fn at(&self, index: impl Into<i128>) -> Expr<usize> {
        let i = usize::try_from(index.into()).map_err(|_| ExprError::IndexOutOfRange)?;
        if i >= self.len {
            return Err(ExprError::IndexOutOfRange);
        }
        i.checked_mul(self.stride)
            .and_then(|o| o.checked_add(self.start))
            .ok_or(ExprError::IndexOutOfRange)
    }
}

fn fold_items(
    v: MessageView<'_>,
    items: Items,
    read: impl Fn(&MessageView<'_>, usize) -> Expr<i128>,
    lo: i128,
    hi: i128,
    product: bool,
) -> Expr<i128> {
    let mut acc: i128 = if product { 1 } else { 0 };
    for i in 0..items.len {
        let x = read(&v, items.at(len_of(i))?)?;
        acc = if product { ar_mul(acc, x, lo, hi)? } else { ar_add(acc, x, lo, hi)? };
    }
    Ok(acc)
}

fn fold_bytes(bytes: &[u8], lo: i128, hi: i128, product: bool) -> Expr<i128> {
    let mut acc: i128 = if product { 1 } else { 0 };
    for b in bytes {
        let x = i128::from(*b);
        acc = if product { ar_mul(acc, x, lo, hi)? } else { ar_add(acc, x, lo, hi)? };
    }
    Ok(acc)
}

fn endpoint_gm(class: ClassId, riid: u32, mid: u32) -> Option<u32> {
    let &(first, count) = CLASS_ENDPOINTS.get(class as usize)?;
    if riid >= count {
        return None;
    }
    let &(m0, n) = ENDPOINTS.get(first.checked_add(riid)? as usize)?;
    if mid >= n {
        return None;
    }
    m0.checked_add(mid)
}

fn security_gm(class: ClassId, riid: u32, mid: u32) -> Option<u32> {
    let &(m0, n) = CLASS_SECURITY.get(class as usize)?;
    if riid != 0 || mid >= n {
        return None;
    }
    m0.checked_add(mid)
}

fn class_name(class: ClassId) -> &'static str {
    CLASS_NAMES.get(class as usize).copied().unwrap_or("?")
}

fn kind_index(kind: EventKind) -> u64 {
    match kind {
        EventKind::Execute => 0,
        EventKind::Request => 1,
        EventKind::Response => 2,
        EventKind::Error => 3,
        EventKind::Security => 4,
    }
}

/// A dispatch key: kind, then src, dst and method, each `0` for "any" or number + 1.
fn pack(kind: u64, src: Option<u32>, dst: Option<u32>, gm: Option<u32>) -> u64 {
    let part = |v: Option<u32>| v.map_or(0u64, |x| u64::from(x).wrapping_add(1));
    (kind << 61) | (part(src) << 41) | (part(dst) << 21) | part(gm)
}

/// The units filed under `key` (perfect hash: two hashes and one comparison).
fn lookup(key: u64) -> &'static [u32] {
    let buckets = DISPLACEMENTS.len() as u64;
    let slots = SLOT_KEYS.len() as u64;
    if buckets == 0 || slots == 0 {
        return &[];
    }
    let Some(&d) = mix(key, 0)
        .checked_rem(buckets)
        .and_then(|b| DISPLACEMENTS.get(b as usize))
    else {
        return &[];
    };
    let s = mix(key, u64::from(d).wrapping_add(1))
        .checked_rem(slots)
        .unwrap_or(0) as usize;
    match (SLOT_KEYS.get(s), SLOT_SPANS.get(s)) {
        (Some(&k), Some(&(start, len))) if k == key => UNIT_LISTS
            .get(start as usize..(start as usize).saturating_add(len as usize))
            .unwrap_or(&[]),
        _ => &[],
    }
}

/// Runs, in source order, every unit whose selectors the event matches.
fn run_units(o: &mut Objects, c: &Ctx<'_>, d: &mut Dec) {
    let kind = kind_index(c.ev.kind);
    let combos = COMBOS.get(kind as usize).copied().unwrap_or(0);
    let gm = (c.gm != NO_METHOD).then_some(c.gm);
    let mut lists: [&[u32]; 8] = [&[]; 8];
    for (combo, list) in lists.iter_mut().enumerate() {
        if combos & (1u8 << combo) == 0 {
            continue;
        }
        let src = (combo & 1 != 0).then_some(c.ev.src_class);
        let dst = (combo & 2 != 0).then_some(c.ev.dst_class);
        let method = if combo & 4 != 0 {
            match gm {
                Some(g) => Some(g),
                None => continue,
            }
        } else {
            None
        };
        *list = lookup(pack(kind, src, dst, method));
    }
    // Merge the sorted lists: units run in source order.
    loop {
        let mut best: Option<(usize, u32)> = None;
        for (i, list) in lists.iter().enumerate() {
            if let Some(&u) = list.first() {
                if best.is_none_or(|(_, b)| u < b) {
                    best = Some((i, u));
                }
            }
        }
        let Some((i, unit)) = best else { break };
        if let Some(list) = lists.get_mut(i) {
            *list = list.get(1..).unwrap_or(&[]);
        }
        if let Some(f) = UNITS.get(unit as usize) {
            f(o, c, d);
        }
    }
}
"#;

fn byte_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 4 + 3);
    s.push_str("b\"");
    for b in bytes {
        let _ = write!(s, "\\x{b:02x}");
    }
    s.push('"');
    s
}

impl<'p> Emitter<'p> {
    /// The whole module file.
    pub fn module(mut self, solution: &str, origin: &str) -> Result<String, Vec<Diagnostic>> {
        let default_profile = self
            .policy
            .audit_default
            .as_ref()
            .map_or("empty".to_string(), |a| a.profile.clone());
        let initial_level = self.policy.audit_default.as_ref().map_or(0, |a| a.level);
        self.profile_ref(&default_profile);
        // Units.
        let mut units = String::new();
        let mut unit_names = Vec::new();
        for (i, u) in self.plan.units.iter().enumerate() {
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
            let _ = writeln!(
                units,
                "fn unit_{i}(o: &mut Objects, c: &Ctx<'_>, d: &mut Dec) {{{body}\n}}"
            );
            unit_names.push(format!("unit_{i}"));
            let _: &Unit = u;
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let p = self.plan;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "// The security module of solution `{solution}`, generated by ostrog-policy from\n\
             // {origin}. Do not edit: change the policy and rebuild.\n\
             // The kernel includes this file (`include!`); it uses only `ostrog_ksm`, `alloc`\n\
             // and `core`.\n"
        );
        let _ = writeln!(out, "pub const INSECURE: bool = false;");
        let _ = writeln!(out, "pub const SOLUTION: &str = {};", lit_str(solution));
        let _ = writeln!(
            out,
            "pub fn module() -> alloc::boxed::Box<dyn ostrog_ksm::SecurityModule> {{\n    generated::boxed()\n}}\n"
        );
        out.push_str(
            "#[allow(\n    dead_code,\n    unused_imports,\n    unused_variables,\n    unused_braces,\n    unused_parens,\n    non_upper_case_globals,\n    clippy::pedantic\n)]\nmod generated {\n",
        );
        out.push_str(
            "use ostrog_ksm::base;
use ostrog_ksm::decision::{Decision, EventNames};
use ostrog_ksm::expr::{Expr, ExprError};
use ostrog_ksm::flow::{Flow, FlowConfig, StateId};
use ostrog_ksm::hashset::HashSet;
use ostrog_ksm::math;
use ostrog_ksm::message::{MessageView, Sequence};
use ostrog_ksm::mic::{self, Level, Mic, MicConfig};
use ostrog_ksm::profile::{
    AuditProfile, Call, CallDetail, ObjectAudit, Outcomes, ProfileLevel, RegexEmit, RegexOp,
};
use ostrog_ksm::regex::{self, Pattern};
use ostrog_ksm::staticmap::{StaticMap, StaticMapConfig};
use ostrog_ksm::txn::Transactional;
use ostrog_ksm::validate::{validate_event, FieldDesc, IntKind, MessageDesc, Shape, TypeDesc};
use ostrog_ksm::{AuditSink, ClassId, Event, EventKind, SecurityModule, Verdict};

/// `ostrog_abi::message::FLAG_ERROR`.
const FLAG_ERROR: u32 = 1;
",
        );
        let recorded = (self.next_fn * 2).clamp(4, MAX_RECORDED);
        let _ = writeln!(out, "const RECORDED: usize = {recorded};");
        let _ = writeln!(out, "const INITIAL_LEVEL: u32 = {initial_level};\n");
        // Classes and methods.
        let names: Vec<String> = p.classes.iter().map(|c| lit_str(c)).collect();
        let _ = writeln!(
            out,
            "/// Class names, sorted: a `ClassId` is an index.\nstatic CLASS_NAMES: [&str; {}] = [{}];",
            names.len(),
            names.join(", ")
        );
        let pairs = |v: &[(u32, u32)]| -> String {
            v.iter()
                .map(|(a, b)| format!("({a}, {b})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "/// Per class: (first endpoint in `ENDPOINTS`, count).\nstatic CLASS_ENDPOINTS: [(u32, u32); {}] = [{}];",
            p.class_endpoints.len(),
            pairs(&p.class_endpoints)
        );
        let _ = writeln!(
            out,
            "/// Per class: (first method of its security interface, count).\nstatic CLASS_SECURITY: [(u32, u32); {}] = [{}];",
            p.class_security.len(),
            pairs(&p.class_security)
        );
        let _ = writeln!(
            out,
            "/// Per endpoint: (first method, count).\nstatic ENDPOINTS: [(u32, u32); {}] = [{}];",
            p.endpoints.len(),
            pairs(&p.endpoints)
        );
        let mnames: Vec<String> = p
            .methods
            .iter()
            .map(|m| format!("({}, {})", lit_str(&m.endpoint), lit_str(&m.method)))
            .collect();
        let _ = writeln!(
            out,
            "/// Per method: endpoint and method names.\nstatic METHOD_NAMES: [(&str, &str); {}] = [{}];",
            mnames.len(),
            mnames.join(", ")
        );
        let mut descs = Vec::new();
        for m in &p.methods {
            if m.security {
                let s = self.desc(&m.interface, &m.method, 0);
                descs.push(format!("[{s}, {s}, {s}]"));
            } else {
                let a = self.desc(&m.interface, &m.method, 0);
                let b = self.desc(&m.interface, &m.method, 1);
                let c = self.desc(&m.interface, &m.method, 2);
                descs.push(format!("[{a}, {b}, {c}]"));
            }
        }
        out.push_str(&self.desc_text);
        let _ = writeln!(
            out,
            "/// Per method: request (or security), response and error descriptors.\nstatic METHOD_DESCS: [[&MessageDesc; 3]; {}] = [{}];\n",
            descs.len(),
            descs.join(", ")
        );
        // Objects.
        let mut fields = String::new();
        let mut inits = String::new();
        let mut txn = vec!["&mut self.o.level".to_string()];
        for o in self.policy.objects.values() {
            let f = object_field(&o.name);
            match (&o.config, o.model.as_str()) {
                (ObjectConfig::Flow(cfg), "Flow") => {
                    let states: Vec<String> = cfg.states.iter().map(|s| lit_str(s)).collect();
                    let id = |s: &str| cfg.states.iter().position(|x| x == s).unwrap_or(0);
                    let trans: Vec<String> = cfg
                        .states
                        .iter()
                        .map(|s| {
                            let to: Vec<String> = cfg
                                .transitions
                                .get(s)
                                .map(|v| v.iter().map(|t| id(t).to_string()).collect())
                                .unwrap_or_default();
                            format!("&[{}]", to.join(", "))
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "static FLOW_{}: FlowConfig = FlowConfig {{ states: &[{}], initial: {}, transitions: &[{}] }};\nconst _: () = assert!(FLOW_{}.is_valid());",
                        o.name,
                        states.join(", "),
                        id(&cfg.initial),
                        trans.join(", "),
                        o.name
                    );
                    let _ = writeln!(fields, "    {f}: Flow<{}>,", cfg.pool_size);
                    let _ = writeln!(inits, "        {f}: Flow::new(&FLOW_{}),", o.name);
                    txn.push(format!("&mut self.o.{f}"));
                }
                (
                    ObjectConfig::HashSet {
                        set_size,
                        pool_size,
                    },
                    "HashSet",
                ) => {
                    let rust = self.hashset_rust(&o.name);
                    let _ = writeln!(fields, "    {f}: HashSet<{rust}, {set_size}, {pool_size}>,");
                    let _ = writeln!(inits, "        {f}: HashSet::new(),");
                    txn.push(format!("&mut self.o.{f}"));
                }
                (ObjectConfig::StaticMap { keys, pool_size }, "StaticMap") => {
                    let (rust, t) = self
                        .staticmap_value(&o.name)
                        .unwrap_or(("i64", Some(IntType::S64)));
                    let (lo, hi) = t.map_or((i128::MIN, i128::MAX), IntType::range);
                    let ks: Vec<String> = keys
                        .iter()
                        .map(|(k, _)| format!("b{}", lit_str(k)))
                        .collect();
                    let mut ds = Vec::new();
                    for (k, v) in keys {
                        if *v < lo || *v > hi {
                            self.errors.push(Diagnostic::new(o.span, format!("default value {v} of key `{k}` does not fit the `Value` type"), "out of range").help(format!("expected a value from {lo} to {hi}")));
                        }
                        ds.push(format!("{v}"));
                    }
                    let _ = writeln!(
                        out,
                        "static SMAP_{}: StaticMapConfig<{rust}, {}> = StaticMapConfig {{ keys: [{}], defaults: [{}] }};",
                        o.name,
                        keys.len(),
                        ks.join(", "),
                        ds.join(", ")
                    );
                    let _ = writeln!(
                        fields,
                        "    {f}: StaticMap<{rust}, {}, {pool_size}>,",
                        keys.len()
                    );
                    let _ = writeln!(inits, "        {f}: StaticMap::new(&SMAP_{}),", o.name);
                    txn.push(format!("&mut self.o.{f}"));
                }
                (ObjectConfig::Mic { levels, pool_size }, "Mic") => {
                    let (d, c) = match levels {
                        MicLevels::Linear(d) => (d.clone(), Vec::new()),
                        MicLevels::Lattice {
                            degrees,
                            categories,
                        } => (degrees.clone(), categories.clone()),
                    };
                    let d: Vec<String> = d.iter().map(|s| lit_str(s)).collect();
                    let c: Vec<String> = c.iter().map(|s| lit_str(s)).collect();
                    let _ = writeln!(
                        out,
                        "static MIC_{}: MicConfig = MicConfig {{ degrees: &[{}], categories: &[{}] }};",
                        o.name,
                        d.join(", "),
                        c.join(", ")
                    );
                    let _ = writeln!(fields, "    {f}: Mic<{pool_size}>,");
                    let _ = writeln!(inits, "        {f}: Mic::new(&MIC_{}),", o.name);
                    txn.push(format!("&mut self.o.{f}"));
                }
                _ => {}
            }
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        for (i, pattern) in self.regexes.iter().enumerate() {
            let bytes = ostrog_ksm::regex::compile::compile_pattern(pattern).unwrap_or_default();
            let _ = writeln!(
                out,
                "// {}\nostrog_ksm::static_dfa!(static RE_{i} = {});",
                pattern.replace('\n', " "),
                byte_string(&bytes)
            );
            let _ = writeln!(fields, "    re_{i}: Pattern,");
            let _ = writeln!(inits, "        re_{i}: Pattern::load(RE_{i}.as_bytes()),");
        }
        // Audit profiles.
        for (name, i) in self.profiles.clone() {
            let text = match self.policy.audit_profiles.get(&name) {
                Some(prof) => {
                    let mut levels = Vec::new();
                    for (level, objects) in &prof.levels {
                        let mut os = Vec::new();
                        for (obj, rule) in objects {
                            let mut omit = Vec::new();
                            let mut emit = (true, true);
                            for (k, v) in &rule.conditions {
                                let items: Vec<&str> = match v {
                                    Value::List(items) => items
                                        .iter()
                                        .filter_map(|x| match x {
                                            Value::Text(t) => Some(t.as_str()),
                                            _ => None,
                                        })
                                        .collect(),
                                    _ => Vec::new(),
                                };
                                match k.as_str() {
                                    "omit" => {
                                        omit = items
                                            .iter()
                                            .filter_map(|s| self.state_id(obj, s))
                                            .map(|x| x.to_string())
                                            .collect()
                                    }
                                    "emit" => {
                                        emit = (items.contains(&"match"), items.contains(&"select"))
                                    }
                                    _ => {}
                                }
                            }
                            os.push(format!(
                                "ObjectAudit {{ object: {}, kss: Outcomes {{ granted: {}, denied: {} }}, omit: &[{}], emit: RegexEmit {{ matches: {}, select: {} }} }}",
                                lit_str(obj),
                                rule.granted,
                                rule.denied,
                                omit.join(", "),
                                emit.0,
                                emit.1
                            ));
                        }
                        levels.push(format!(
                            "ProfileLevel {{ level: {level}, objects: &[{}] }}",
                            os.join(", ")
                        ));
                    }
                    format!(
                        "AuditProfile {{ name: {}, levels: &[{}] }}",
                        lit_str(&name),
                        levels.join(", ")
                    )
                }
                None => "AuditProfile::EMPTY".to_string(),
            };
            let _ = writeln!(out, "static PROFILE_{i}: AuditProfile = {text};");
        }
        // Dispatch table.
        let table = phf::build(&p.keys);
        let mut lists = Vec::new();
        let mut slot_keys = Vec::new();
        let mut slot_spans = Vec::new();
        for slot in &table.slots {
            match slot {
                Some(i) => {
                    slot_keys.push(format!("{:#x}", p.keys[*i]));
                    slot_spans.push(format!("({}, {})", lists.len(), p.key_units[*i].len()));
                    lists.extend(p.key_units[*i].iter().map(u32::to_string));
                }
                None => {
                    slot_keys.push("u64::MAX".into());
                    slot_spans.push("(0, 0)".into());
                }
            }
        }
        let _ = writeln!(
            out,
            "\n// Dispatch: a perfect hash of (kind, src, dst, method) keys to sorted unit lists."
        );
        let _ = writeln!(
            out,
            "static SLOT_KEYS: [u64; {}] = [{}];",
            slot_keys.len(),
            slot_keys.join(", ")
        );
        let _ = writeln!(
            out,
            "static SLOT_SPANS: [(u32, u32); {}] = [{}];",
            slot_spans.len(),
            slot_spans.join(", ")
        );
        let disp: Vec<String> = table.displacements.iter().map(u32::to_string).collect();
        let _ = writeln!(
            out,
            "static DISPLACEMENTS: [u32; {}] = [{}];",
            disp.len(),
            disp.join(", ")
        );
        let _ = writeln!(
            out,
            "static UNIT_LISTS: [u32; {}] = [{}];",
            lists.len(),
            lists.join(", ")
        );
        let combos: Vec<String> = p.combos.iter().map(|c| format!("{c:#010b}")).collect();
        let _ = writeln!(out, "/// Per event kind: which (src, dst, method) given/any combinations have keys.\nstatic COMBOS: [u8; 5] = [{}];", combos.join(", "));
        let _ = writeln!(out, "{}", phf::MIX_SOURCE);
        let _ = writeln!(
            out,
            "static UNITS: [fn(&mut Objects, &Ctx<'_>, &mut Dec); {}] = [{}];\n",
            unit_names.len(),
            unit_names.join(", ")
        );
        out.push_str(PRELUDE);
        let _ = writeln!(
            out,
            "\n/// The policy's objects (state is transactional).\nstruct Objects {{\n    level: base::RuntimeLevel,\n{fields}}}\n\nimpl Objects {{\n    fn new() -> Self {{\n        Objects {{\n        level: base::RuntimeLevel::new(INITIAL_LEVEL),\n{inits}        }}\n    }}\n}}\n"
        );
        let _ = writeln!(
            out,
            "// Units: runs of statements with the selectors of their binding level."
        );
        out.push_str(&units);
        let _ = writeln!(out, "\n// Statements.");
        out.push_str(&self.fns);
        let default_ref = format!(
            "PROFILE_{}",
            self.profiles.get(&default_profile).copied().unwrap_or(0)
        );
        let _ = writeln!(
            out,
            r#"
struct Module {{
    o: Objects,
}}

pub(super) fn boxed() -> alloc::boxed::Box<dyn SecurityModule> {{
    alloc::boxed::Box::new(Module {{ o: Objects::new() }})
}}

/// The default audit profile.
static DEFAULT_PROFILE: &AuditProfile = &{default_ref};

impl SecurityModule for Module {{
    fn class_id(&self, name: &str) -> Option<ClassId> {{
        CLASS_NAMES
            .binary_search(&name)
            .ok()
            .and_then(|i| ClassId::try_from(i).ok())
    }}

    fn class_name(&self, class: ClassId) -> &str {{
        class_name(class)
    }}

    fn method_name(&self, class: ClassId, riid: u32, mid: u32) -> Option<(&str, &str)> {{
        let gm = endpoint_gm(class, riid, mid)?;
        METHOD_NAMES.get(gm as usize).copied()
    }}

    fn decide(&mut self, event: &Event<'_>, audit: &mut dyn AuditSink) -> Verdict {{
        let mut d: Dec = Decision::new(self.o.level.current());
        let known = (event.src_class as usize) < CLASS_NAMES.len()
            && (event.dst_class as usize) < CLASS_NAMES.len();
        let gm = match event.kind {{
            EventKind::Execute => None,
            EventKind::Request => endpoint_gm(event.dst_class, event.riid, event.mid),
            EventKind::Response | EventKind::Error => {{
                endpoint_gm(event.src_class, event.riid, event.mid)
            }}
            EventKind::Security => security_gm(event.src_class, event.riid, event.mid),
        }};
        let (endpoint, method) = gm
            .and_then(|g| METHOD_NAMES.get(g as usize).copied())
            .unwrap_or(("", ""));
        let names = EventNames {{
            src_class: class_name(event.src_class),
            dst_class: class_name(event.dst_class),
            endpoint,
            method,
        }};
        if !known || (event.kind != EventKind::Execute && gm.is_none()) {{
            d.unknown();
        }} else {{
            let mut view = None;
            let mut well_formed = true;
            if let Some(g) = gm {{
                let which = match event.kind {{
                    EventKind::Response => 1,
                    EventKind::Error => 2,
                    _ => 0,
                }};
                let desc = METHOD_DESCS.get(g as usize).and_then(|m| m.get(which));
                match desc.map(|desc| validate_event(desc, event)) {{
                    Some(Ok(())) => view = MessageView::of(event).ok(),
                    _ => {{
                        d.malformed();
                        well_formed = false;
                    }}
                }}
            }}
            if well_formed {{
                let c = Ctx {{
                    ev: event,
                    gm: gm.unwrap_or(NO_METHOD),
                    view,
                }};
                run_units(&mut self.o, &c, &mut d);
            }}
        }}
        d.finish(event, &names, audit, &mut [{}])
    }}
}}
}}"#,
            txn.join(", ")
        );
        Ok(out)
    }
}
