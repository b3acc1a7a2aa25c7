//! Tables: what the policy gives the engine besides its rule functions. Class and method
//! names, message descriptors (each distinct one once), model configurations and objects,
//! compiled regular expressions, audit profiles, and the dispatch table.

use std::fmt::Write as _;

use ostrog_diag::diagnostic::Diagnostic;
use ostrog_idl::layout::{layout, LayoutKind, MessageLayout, TypeLayout};
use ostrog_idl::model::IntType;

use super::*;
use crate::model::*;

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

/// The descriptor of a type, with the short constructors of `TypeDesc` where the size is
/// the one they give.
fn type_desc(l: &TypeLayout) -> String {
    match &l.kind {
        LayoutKind::Int(i) if l.size == i.size() => {
            return format!("TypeDesc::int(IntKind::{})", int_kind(*i))
        }
        LayoutKind::Handle { .. } if l.size == 4 => return "TypeDesc::HANDLE".to_string(),
        LayoutKind::Bytes { bound } if l.size == 8 => return format!("TypeDesc::bytes({bound})"),
        LayoutKind::String { bound } if l.size == 8 => return format!("TypeDesc::string({bound})"),
        _ => {}
    }
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
                .map(|f| field_desc(&f.name, f.offset, &f.layout))
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

fn field_desc(name: &str, offset: u32, l: &TypeLayout) -> String {
    let name = lit_str(name);
    match &l.kind {
        LayoutKind::Int(i) if l.size == i.size() => {
            return format!(
                "FieldDesc::int({name}, {offset}, IntKind::{})",
                int_kind(*i)
            )
        }
        LayoutKind::Handle { .. } if l.size == 4 => {
            return format!("FieldDesc::handle({name}, {offset})")
        }
        LayoutKind::Bytes { bound } if l.size == 8 => {
            return format!("FieldDesc::bytes({name}, {offset}, {bound})")
        }
        LayoutKind::String { bound } if l.size == 8 => {
            return format!("FieldDesc::string({name}, {offset}, {bound})")
        }
        _ => {}
    }
    format!("FieldDesc::new({name}, {offset}, {})", type_desc(l))
}

/// The Rust text of the validator's descriptor of one message (`error`: an error message),
/// as the generated module holds it: for tools that check the validator against the
/// generated decoders (`idl/fuzz`, target `validate`).
pub fn message_desc_source(m: &MessageLayout, error: bool) -> String {
    message_desc(m, if error { "error" } else { "new" })
}

fn message_desc(m: &MessageLayout, constructor: &str) -> String {
    let ps: Vec<String> = m
        .params
        .iter()
        .map(|p| field_desc(&p.name, p.offset, &p.layout))
        .collect();
    format!(
        "MessageDesc::{constructor}({}, &[{}])",
        m.fixed_size,
        ps.join(", ")
    )
}

fn byte_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 4 + 3);
    s.push_str("b\"");
    for b in bytes {
        let _ = write!(s, "\\x{b:02x}");
    }
    s.push('"');
    s
}

/// The Rust text of a list of items.
fn list<T>(items: &[T], each: impl Fn(&T) -> String) -> String {
    items.iter().map(each).collect::<Vec<_>>().join(", ")
}

fn pairs(v: &[(u32, u32)]) -> String {
    list(v, |(a, b)| format!("({a}, {b})"))
}

/// What the objects add to the module: their configurations (statics), their fields and
/// initial values in `Objects`, and the fields that take part in commit and rollback. The
/// compiled regular expressions (`dfas`) are long byte strings, left out of formatting.
#[derive(Default)]
pub(super) struct ObjectParts {
    pub statics: String,
    pub dfas: String,
    pub fields: String,
    pub inits: String,
    pub txn: Vec<String>,
}

impl<'p> Emitter<'p> {
    /// The descriptor of one message of a method (`which`: request, response, error), as a
    /// reference to a static; identical descriptors share one static.
    fn desc(&mut self, interface: &str, method: &str, which: u8) -> String {
        let text = match layout(self.spec, interface, method) {
            Some(ml) => match which {
                0 => message_desc(&ml.request, "new"),
                1 => message_desc(&ml.response, "new"),
                _ => message_desc(&ml.error, "error"),
            },
            // A method whose layout cannot be computed accepts no message.
            None => "MessageDesc::new(u32::MAX, &[])".to_string(),
        };
        let n = self.descs.len();
        let i = *self.descs.entry(text.clone()).or_insert(n);
        if i == n {
            let _ = writeln!(self.desc_text, "static DESC_{i}: MessageDesc = {text};");
        }
        format!("&DESC_{i}")
    }

    /// `TABLES`: names and descriptors, indexed by class and global method number.
    pub(super) fn names_table(&mut self) -> String {
        let p = self.plan;
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
        format!(
            "{}static TABLES: Tables = Tables {{ class_names: &[{}], class_endpoints: &[{}], \
             class_security: &[{}], endpoints: &[{}], method_names: &[{}], method_descs: &[{}] }};\n",
            self.desc_text,
            list(&p.classes, |c| lit_str(c)),
            pairs(&p.class_endpoints),
            pairs(&p.class_security),
            pairs(&p.endpoints),
            list(&p.methods, |m| format!(
                "({}, {})",
                lit_str(&m.endpoint),
                lit_str(&m.method)
            )),
            descs.join(", ")
        )
    }

    /// The model objects of the policy.
    pub(super) fn objects(&mut self) -> ObjectParts {
        let mut parts = ObjectParts {
            txn: vec!["level".to_string()],
            ..ObjectParts::default()
        };
        let ObjectParts {
            statics,
            dfas,
            fields,
            inits,
            txn,
        } = &mut parts;
        for o in self.policy.objects.values() {
            let f = object_field(&o.name);
            match (&o.config, o.model.as_str()) {
                (ObjectConfig::Flow(cfg), "Flow") => {
                    let id = |s: &str| cfg.states.iter().position(|x| x == s).unwrap_or(0);
                    let trans = list(&cfg.states, |s| {
                        let to: Vec<String> = cfg
                            .transitions
                            .get(s)
                            .map(|v| v.iter().map(|t| id(t).to_string()).collect())
                            .unwrap_or_default();
                        format!("&[{}]", to.join(", "))
                    });
                    let _ = writeln!(
                        statics,
                        "static FLOW_{}: FlowConfig = FlowConfig {{ states: &[{}], initial: {}, transitions: &[{trans}] }};\nconst _: () = assert!(FLOW_{}.is_valid());",
                        o.name,
                        list(&cfg.states, |s| lit_str(s)),
                        id(&cfg.initial),
                        o.name
                    );
                    let _ = writeln!(fields, "    {f}: Flow<{}>,", cfg.pool_size);
                    let _ = writeln!(inits, "        {f}: Flow::new(&FLOW_{}),", o.name);
                    txn.push(f);
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
                    txn.push(f);
                }
                (ObjectConfig::StaticMap { keys, pool_size }, "StaticMap") => {
                    let (rust, t) = self
                        .staticmap_value(&o.name)
                        .unwrap_or(("i64", Some(IntType::S64)));
                    let (lo, hi) = t.map_or((i128::MIN, i128::MAX), IntType::range);
                    let mut ds = Vec::new();
                    for (k, v) in keys {
                        if *v < lo || *v > hi {
                            self.errors.push(
                                Diagnostic::new(
                                    o.span,
                                    format!("default value {v} of key `{k}` does not fit the `Value` type"),
                                    "out of range",
                                )
                                .help(format!("expected a value from {lo} to {hi}")),
                            );
                        }
                        ds.push(format!("{v}"));
                    }
                    let _ = writeln!(
                        statics,
                        "static SMAP_{}: StaticMapConfig<{rust}, {}> = StaticMapConfig {{ keys: [{}], defaults: [{}] }};",
                        o.name,
                        keys.len(),
                        list(keys, |(k, _)| format!("b{}", lit_str(k))),
                        ds.join(", ")
                    );
                    let _ = writeln!(
                        fields,
                        "    {f}: StaticMap<{rust}, {}, {pool_size}>,",
                        keys.len()
                    );
                    let _ = writeln!(inits, "        {f}: StaticMap::new(&SMAP_{}),", o.name);
                    txn.push(f);
                }
                (ObjectConfig::Mic { levels, pool_size }, "Mic") => {
                    let (d, c) = match levels {
                        MicLevels::Linear(d) => (d.clone(), Vec::new()),
                        MicLevels::Lattice {
                            degrees,
                            categories,
                        } => (degrees.clone(), categories.clone()),
                    };
                    let _ = writeln!(
                        statics,
                        "static MIC_{}: MicConfig = MicConfig {{ degrees: &[{}], categories: &[{}] }};",
                        o.name,
                        list(&d, |s| lit_str(s)),
                        list(&c, |s| lit_str(s))
                    );
                    let _ = writeln!(fields, "    {f}: Mic<{pool_size}>,");
                    let _ = writeln!(inits, "        {f}: Mic::new(&MIC_{}),", o.name);
                    txn.push(f);
                }
                _ => {}
            }
        }
        for (i, pattern) in self.regexes.iter().enumerate() {
            let bytes = ostrog_ksm::regex::compile::compile_pattern(pattern).unwrap_or_default();
            let _ = writeln!(
                dfas,
                "    // {}\n    ostrog_ksm::static_dfa!(static RE_{i} = {});",
                pattern.replace('\n', " "),
                byte_string(&bytes)
            );
            let _ = writeln!(
                fields,
                "    /// `{}`\n    re_{i}: Pattern,",
                pattern.replace('\n', " ").replace('`', "'")
            );
            let _ = writeln!(inits, "        re_{i}: Pattern::load(RE_{i}.as_bytes()),");
        }
        parts
    }

    /// The audit profiles the rules use, as statics `PROFILE_<n>`.
    pub(super) fn profiles(&self) -> String {
        let mut out = String::new();
        for (name, i) in &self.profiles {
            let text = match self.policy.audit_profiles.get(name) {
                Some(prof) => {
                    let mut levels = Vec::new();
                    for (level, objects) in &prof.levels {
                        let mut os = Vec::new();
                        for (obj, rule) in objects {
                            os.push(self.object_audit(obj, rule));
                        }
                        levels.push(format!(
                            "ProfileLevel {{ level: {level}, objects: &[{}] }}",
                            os.join(", ")
                        ));
                    }
                    format!(
                        "AuditProfile {{ name: {}, levels: &[{}] }}",
                        lit_str(name),
                        levels.join(", ")
                    )
                }
                None => "AuditProfile::EMPTY".to_string(),
            };
            let _ = writeln!(out, "static PROFILE_{i}: AuditProfile = {text};");
        }
        out
    }

    fn object_audit(&self, obj: &str, rule: &AuditRule) -> String {
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
                "emit" => emit = (items.contains(&"match"), items.contains(&"select")),
                _ => {}
            }
        }
        format!(
            "ObjectAudit {{ object: {}, kss: Outcomes {{ granted: {}, denied: {} }}, omit: &[{}], emit: RegexEmit {{ matches: {}, select: {} }} }}",
            lit_str(obj),
            rule.granted,
            rule.denied,
            omit.join(", "),
            emit.0,
            emit.1
        )
    }

    /// `DISPATCH`: a perfect hash of (kind, src, dst, method) keys to sorted unit lists.
    pub(super) fn dispatch_table(&self) -> String {
        let p = self.plan;
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
        format!(
            "static DISPATCH: Dispatch = Dispatch {{ slot_keys: &[{}], slot_spans: &[{}], \
             displacements: &[{}], unit_lists: &[{}], combos: [{}] }};\n",
            slot_keys.join(", "),
            slot_spans.join(", "),
            list(&table.displacements, u32::to_string),
            lists.join(", "),
            list(&p.combos, |c| format!("{c:#010b}"))
        )
    }
}
