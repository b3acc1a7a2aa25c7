//! Semantic checks: from syntax trees to the checked [`Policy`].
//!
//! The checker runs over the files in include order and in passes, so that declarations may
//! appear in any order (reference §3.1): models first, then classes, objects, audit profiles,
//! and last bindings and PAL tests, which refer to all of them. Every problem is a
//! [`Diagnostic`]; the checker never stops at the first one, and a part that fails a check is
//! left out of the [`Policy`] (which is complete only when there are no diagnostics).
//!
//! Model configurations are checked per model in [`crate::config`]; bindings, calls and
//! expressions in [`crate::bindings`]; PAL tests in [`crate::pal`].

use std::collections::BTreeMap;

use ostrog_diag::source::Span;
use ostrog_diag::Diagnostic;
use ostrog_idl::model::{IntType, Model as SpecModel};
use ostrog_idl::resolve::Workspace;

use crate::ast::{self, ArgShape, Decl, TypeExprKind};
use crate::components::endpoint_components;
use crate::load::PslFile;
use crate::model::*;

/// Checks the PSL files of a policy against the checked EDL/CDL/IDL model (`ws` holds the
/// EDL/CDL syntax trees, read for the component instances of each class).
pub fn check(files: &[PslFile], spec: &SpecModel, ws: &Workspace) -> (Policy, Vec<Diagnostic>) {
    let mut c = Checker {
        spec,
        ws,
        diags: Vec::new(),
        policy: Policy::default(),
    };
    c.run(files);
    (c.policy, c.diags)
}

/// State shared by the passes.
pub(crate) struct Checker<'a> {
    pub(crate) spec: &'a SpecModel,
    pub(crate) ws: &'a Workspace,
    pub(crate) diags: Vec<Diagnostic>,
    pub(crate) policy: Policy,
}

/// Names for "expected one of" lists.
pub(crate) fn one_of<'n>(names: impl Iterator<Item = &'n str>) -> String {
    let v: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(", ")
    }
}

impl Checker<'_> {
    pub(crate) fn error(&mut self, span: Span, message: String, label: &str, help: String) {
        self.diags
            .push(Diagnostic::new(span, message, label.to_string()).help(help));
    }

    fn run(&mut self, files: &[PslFile]) {
        for f in files {
            for d in &f.ast.decls {
                if let Decl::Model(m) = d {
                    self.model(m);
                }
            }
        }
        for f in files {
            for d in &f.ast.decls {
                match d {
                    Decl::UseEdl(p) => self.class(p, p),
                    Decl::TaskClass { name, edl } => self.class(name, edl),
                    Decl::ExecuteInterface(p) => self.execute_interface(p),
                    _ => {}
                }
            }
        }
        if self.policy.execute_interface.is_empty() {
            if let Some(top) = files.last() {
                let span = Span {
                    file: top.file,
                    start: 0,
                    end: 0,
                };
                self.error(
                    span,
                    "missing `execute:` declaration".to_string(),
                    "the policy starts here",
                    "expected a line `execute: kl.core.Execute` in the policy".to_string(),
                );
            }
        }
        for f in files {
            for d in &f.ast.decls {
                if let Decl::Object(o) = d {
                    self.object(o, f.library);
                }
            }
        }
        for f in files {
            for d in &f.ast.decls {
                if let Decl::AuditProfile { name, value } = d {
                    self.audit_profile(name, value);
                }
            }
        }
        for f in files {
            for d in &f.ast.decls {
                if let Decl::AuditDefault { profile, level } = d {
                    self.audit_default(profile, level);
                }
            }
        }
        for f in files {
            for d in &f.ast.decls {
                match d {
                    Decl::Binding(b) => {
                        if let Some(b) = self.binding(b) {
                            self.policy.bindings.push(b);
                        }
                    }
                    Decl::TestSet(t) => {
                        let t = self.test_set(t);
                        self.policy.tests.push(t);
                    }
                    _ => {}
                }
            }
        }
    }

    // ---- models ------------------------------------------------------------------------------

    fn model(&mut self, m: &ast::ModelDecl) {
        if self.policy.models.contains_key(&m.name.text) {
            self.error(
                m.name.span,
                format!("model `{}` is declared twice", m.name.text),
                "second declaration",
                "expected each model to be declared once".to_string(),
            );
            return;
        }
        let mut methods = BTreeMap::new();
        for md in &m.methods {
            if methods.contains_key(&md.name.text) {
                self.error(
                    md.name.span,
                    format!(
                        "method `{}` of model `{}` is declared twice",
                        md.name.text, m.name.text
                    ),
                    "second declaration",
                    "expected each method to be declared once".to_string(),
                );
                continue;
            }
            let arg = match &md.arg {
                ArgShape::Unit => ArgSpec::Unit,
                ArgShape::Value(t) => ArgSpec::Value {
                    ty: t.clone(),
                    unit_ok: admits_unit(t),
                },
                ArgShape::Dict(fields) => ArgSpec::Dict(
                    fields
                        .iter()
                        .map(|(n, t)| ArgField {
                            name: n.text.clone(),
                            ty: t.clone(),
                            optional: admits_unit(t),
                        })
                        .collect(),
                ),
            };
            methods.insert(
                md.name.text.clone(),
                Method {
                    name: md.name.text.clone(),
                    kind: if md.is_rule {
                        MethodKind::Rule
                    } else {
                        MethodKind::Expression
                    },
                    global: md.global,
                    arg,
                    result: md.result.as_ref().map_or(Type::Any, type_of_decl),
                },
            );
        }
        self.policy.models.insert(
            m.name.text.clone(),
            Model {
                name: m.name.text.clone(),
                methods,
                audit_conditions: m
                    .audit
                    .as_ref()
                    .map(|fields| fields.iter().map(|(n, _)| n.text.clone()).collect()),
                configurable: m.config.is_some(),
                span: m.name.span,
            },
        );
    }

    // ---- classes -----------------------------------------------------------------------------

    fn class(&mut self, name: &ast::Path, edl: &ast::Path) {
        let Some(spec_class) = self.spec.classes.get(&edl.dotted()) else {
            // Not found: the loader has reported it.
            return;
        };
        let class_name = name.dotted();
        if let Some(prev) = self.policy.classes.get(&class_name) {
            if prev.edl != spec_class.name {
                self.error(
                    name.span,
                    format!("process class `{class_name}` is declared twice"),
                    "second declaration",
                    format!("it already names the EDL `{}`", prev.edl),
                );
            }
            return;
        }
        self.policy.classes.insert(
            class_name.clone(),
            Class {
                name: class_name,
                edl: spec_class.name.clone(),
                security: spec_class.security.clone(),
                endpoints: spec_class.endpoints.clone(),
                endpoint_components: endpoint_components(self.ws, &spec_class.name),
                span: name.span,
            },
        );
    }

    fn execute_interface(&mut self, p: &ast::Path) {
        let name = p.dotted();
        if !self.policy.execute_interface.is_empty() && self.policy.execute_interface != name {
            self.error(
                p.span,
                "a second, different `execute:` declaration".to_string(),
                "second declaration",
                format!(
                    "expected one execute interface; `{}` is already declared",
                    self.policy.execute_interface
                ),
            );
            return;
        }
        match self.spec.packages.get(&name) {
            Some(pkg) if pkg.interface.is_some() => self.policy.execute_interface = name,
            Some(_) => self.error(
                p.span,
                format!("`{name}` has no interface"),
                "types-only package",
                "expected an interface package such as `kl.core.Execute`".to_string(),
            ),
            None => {}
        }
    }

    // ---- objects -----------------------------------------------------------------------------

    fn object(&mut self, o: &ast::ObjectDecl, library: bool) {
        let name = &o.name.text;
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            self.error(
                o.name.span,
                format!("policy object name `{name}` must start with a lower-case letter"),
                "upper-case object name",
                format!(
                    "expected e.g. `{}` (KasperskyOS CE 1.2+ requires lower-case object names)",
                    lower_first(name)
                ),
            );
        }
        if self.policy.objects.contains_key(name) {
            self.error(
                o.name.span,
                format!("policy object `{name}` is declared twice"),
                "second declaration",
                "expected each object name to be used once".to_string(),
            );
            return;
        }
        let Some(model) = self.policy.models.get(&o.model.text) else {
            let known = one_of(self.policy.models.keys().map(String::as_str));
            self.error(
                o.model.span,
                format!("unknown model `{}`", o.model.text),
                "no such model",
                format!("expected one of {known} (models come from `use nk.<file>._` includes)"),
            );
            return;
        };
        let configurable = model.configurable;
        let model_name = model.name.clone();
        let types: Vec<(String, ast::TypeExpr)> = o
            .types
            .iter()
            .map(|(n, t)| (n.text.clone(), t.clone()))
            .collect();
        let config = match (&o.config, configurable) {
            (None, false) => ObjectConfig::None,
            (Some(c), false) => {
                self.error(
                    c.span,
                    format!("model `{model_name}` takes no configuration"),
                    "unexpected `config`",
                    "expected no `config =` for objects of this model".to_string(),
                );
                ObjectConfig::None
            }
            (None, true) => {
                self.error(
                    o.name.span,
                    format!("policy object `{name}` of model `{model_name}` needs a `config`"),
                    "no configuration",
                    "expected `config = ...` inside the object's braces".to_string(),
                );
                ObjectConfig::None
            }
            (Some(c), true) => self.config(&model_name, c, &o.types),
        };
        if model_name == "HashSet" {
            self.entry_type(o);
        }
        self.policy.objects.insert(
            name.clone(),
            Object {
                name: name.clone(),
                model: model_name,
                types,
                config,
                library,
                span: o.name.span,
            },
        );
    }

    /// Checks a HashSet object's `type Entry`: integers, Booleans, and dictionaries or tuples
    /// of them, packed into at most [`MAX_ENTRY_BYTES`].
    fn entry_type(&mut self, o: &ast::ObjectDecl) {
        let Some((name, ty)) = o.types.iter().find(|(n, _)| n.text == "Entry") else {
            return;
        };
        match EntryType::from_decl(ty) {
            Err(span) => self.error(
                span,
                "not a HashSet entry type".to_string(),
                "unsupported entry type",
                "expected an integer type, `Boolean`, or a non-empty dictionary `{ f : T, ... }` or tuple `[T1, T2]` of them with distinct field names".to_string(),
            ),
            Ok(t) if t.width() > MAX_ENTRY_BYTES => self.error(
                name.span,
                format!("HashSet entries of `{}` take {} bytes", t.psl(), t.width()),
                "entry too large",
                format!("expected an entry type of at most {MAX_ENTRY_BYTES} bytes"),
            ),
            Ok(_) => {}
        }
    }

    /// The Ostrog rights bits of the KasperskyOS handle right `p` names (`OCAP_*`,
    /// crate::kos::OCAP); a right Ostrog's handles do not have is an error saying why.
    pub(crate) fn ocap(&mut self, p: &ast::Path) -> Option<i128> {
        let name = p.dotted();
        match crate::kos::ocap(&name)? {
            crate::kos::Ocap::Bits(bits) => Some(i128::from(bits)),
            crate::kos::Ocap::Absent(why) => {
                self.error(
                    p.span,
                    format!("Ostrog's handles have no right `{name}`"),
                    "no such right on Ostrog",
                    format!("{why} (docs/porting.md, \"Handle rights\")"),
                );
                None
            }
        }
    }

    /// Evaluates a constant value, reporting anything else.
    pub(crate) fn value(&mut self, e: &ast::Expr) -> Option<Value> {
        Some(match &e.kind {
            ast::ExprKind::Int(v) => Value::Int(*v),
            ast::ExprKind::Text(t) => Value::Text(t.clone()),
            ast::ExprKind::Bool(b) => Value::Bool(*b),
            ast::ExprKind::Unit => Value::Unit,
            ast::ExprKind::Paren(inner) => return self.value(inner),
            ast::ExprKind::Path(p) if crate::kos::ocap(&p.dotted()).is_some() => {
                Value::Int(self.ocap(p)?)
            }
            // Rights masks in PAL messages: `OCAP_IPC_CALL | OCAP_HANDLE_TRANSFER`.
            ast::ExprKind::Binary(ast::BinOp::BitOr, l, r) => {
                match (self.value(l)?, self.value(r)?) {
                    (Value::Int(a), Value::Int(b)) => Value::Int(a | b),
                    _ => {
                        self.error(
                            e.span,
                            "`|` of constants needs two integers".to_string(),
                            "not integers",
                            "expected e.g. `OCAP_IPC_CALL | OCAP_HANDLE_TRANSFER`".to_string(),
                        );
                        return None;
                    }
                }
            }
            ast::ExprKind::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(self.value(i)?);
                }
                Value::List(out)
            }
            ast::ExprKind::Dict(entries) => {
                let mut out: Vec<(String, Value)> = Vec::new();
                for (k, v) in entries {
                    if out.iter().any(|(x, _)| *x == k.text) {
                        self.error(
                            k.span,
                            format!("key `{}` appears twice", k.text),
                            "duplicate key",
                            "expected each key once".to_string(),
                        );
                        return None;
                    }
                    out.push((k.text.clone(), self.value(v)?));
                }
                Value::Dict(out)
            }
            _ => {
                self.error(
                    e.span,
                    "expected a constant value".to_string(),
                    "not a constant",
                    "expected an integer, \"text\", `true`/`false`, `()`, a list or a dictionary"
                        .to_string(),
                );
                return None;
            }
        })
    }

    // ---- audit -------------------------------------------------------------------------------

    fn audit_profile(&mut self, name: &ast::Name, value: &ast::Expr) {
        if self.policy.audit_profiles.contains_key(&name.text) {
            self.error(
                name.span,
                format!("audit profile `{}` is declared twice", name.text),
                "second declaration",
                "expected each profile name once".to_string(),
            );
            return;
        }
        let ast::ExprKind::Dict(levels) = &value.kind else {
            self.error(
                value.span,
                "an audit profile must be a dictionary of levels".to_string(),
                "not a dictionary",
                "expected `{ 0 : { object : { kss : [\"denied\"] } } }`".to_string(),
            );
            return;
        };
        let mut out = BTreeMap::new();
        for (key, objects) in levels {
            let Some(level) = key.int.and_then(|v| u32::try_from(v).ok()) else {
                self.error(
                    key.span,
                    format!("audit level `{}` is not a level number", key.text),
                    "not a level",
                    "expected a non-negative integer runtime level".to_string(),
                );
                continue;
            };
            let ast::ExprKind::Dict(objects) = &objects.kind else {
                self.error(
                    objects.span,
                    "an audit level must be a dictionary of objects".to_string(),
                    "not a dictionary",
                    "expected `{ object : { kss : [...] } }`".to_string(),
                );
                continue;
            };
            let mut per_object = BTreeMap::new();
            for (obj, rule) in objects {
                if let Some(r) = self.audit_rule(obj, rule) {
                    per_object.insert(obj.text.clone(), r);
                }
            }
            out.insert(level, per_object);
        }
        self.policy.audit_profiles.insert(
            name.text.clone(),
            AuditProfile {
                name: name.text.clone(),
                levels: out,
                span: name.span,
            },
        );
    }

    fn audit_rule(&mut self, obj: &ast::Key, rule: &ast::Expr) -> Option<AuditRule> {
        let Some(object) = self.policy.objects.get(&obj.text) else {
            let known = one_of(self.policy.objects.keys().map(String::as_str));
            self.error(
                obj.span,
                format!("unknown policy object `{}` in audit profile", obj.text),
                "no such object",
                format!("expected one of {known}"),
            );
            return None;
        };
        let model = self.policy.models.get(&object.model)?.clone();
        let Some(conditions) = model.audit_conditions.clone() else {
            self.error(
                obj.span,
                format!("objects of model `{}` cannot be audited", model.name),
                "not auditable",
                "expected an object of an auditable model (Base, Regex, HashSet, StaticMap, Flow, Mic)"
                    .to_string(),
            );
            return None;
        };
        let states = flow_states(&object.config);
        let ast::ExprKind::Dict(entries) = &rule.kind else {
            self.error(
                rule.span,
                "audit conditions must be a dictionary".to_string(),
                "not a dictionary",
                "expected `{ kss : [\"granted\", \"denied\"] }`".to_string(),
            );
            return None;
        };
        let mut out = AuditRule::default();
        for (key, value) in entries {
            if key.text == "kss" {
                let Some(Value::List(items)) = self.value(value) else {
                    self.error(
                        value.span,
                        "`kss` must be a list".to_string(),
                        "not a list",
                        "expected `[\"granted\", \"denied\"]` or a part of it".to_string(),
                    );
                    continue;
                };
                for item in items {
                    match item {
                        Value::Text(t) if t == "granted" => out.granted = true,
                        Value::Text(t) if t == "denied" => out.denied = true,
                        _ => self.error(
                            value.span,
                            "`kss` lists only \"granted\" and \"denied\"".to_string(),
                            "unexpected entry",
                            "expected `[\"granted\", \"denied\"]` or a part of it".to_string(),
                        ),
                    }
                }
            } else if conditions.contains(&key.text) {
                let Some(v) = self.value(value) else { continue };
                if let (Some(states), Value::List(items)) = (&states, &v) {
                    for item in items {
                        if let Value::Text(t) = item {
                            if !states.contains(t) {
                                self.error(
                                    value.span,
                                    format!("`{t}` is not a state of `{}`", obj.text),
                                    "unknown state",
                                    format!(
                                        "expected one of {}",
                                        one_of(states.iter().map(String::as_str))
                                    ),
                                );
                            }
                        }
                    }
                }
                out.conditions.push((key.text.clone(), v));
            } else {
                let mut known = vec!["kss".to_string()];
                known.extend(conditions.iter().cloned());
                self.error(
                    key.span,
                    format!(
                        "unknown audit condition `{}` for model `{}`",
                        key.text, model.name
                    ),
                    "no such condition",
                    format!(
                        "expected one of {}",
                        one_of(known.iter().map(String::as_str))
                    ),
                );
            }
        }
        Some(out)
    }

    fn audit_default(&mut self, profile: &ast::Name, level: &ast::Expr) {
        let Some(p) = self.policy.audit_profiles.get(&profile.text) else {
            self.unknown_profile(profile);
            return;
        };
        let lvl = match &level.kind {
            ast::ExprKind::Int(v) => u32::try_from(*v).ok(),
            _ => None,
        };
        let Some(lvl) = lvl else {
            self.error(
                level.span,
                "expected an audit level number".to_string(),
                "not a level",
                "expected `audit default = <profile> <level>`, e.g. `audit default = trace 0`"
                    .to_string(),
            );
            return;
        };
        if !p.levels.contains_key(&lvl) {
            let known: Vec<String> = p.levels.keys().map(|k| k.to_string()).collect();
            self.error(
                level.span,
                format!("audit profile `{}` has no level {lvl}", profile.text),
                "no such level",
                format!(
                    "expected one of {}",
                    one_of(known.iter().map(String::as_str))
                ),
            );
            return;
        }
        self.policy.audit_default = Some(AuditDefault {
            profile: profile.text.clone(),
            level: lvl,
        });
    }

    pub(crate) fn unknown_profile(&mut self, profile: &ast::Name) {
        let known = one_of(self.policy.audit_profiles.keys().map(String::as_str));
        self.error(
            profile.span,
            format!("unknown audit profile `{}`", profile.text),
            "no such profile",
            format!("expected one of {known}"),
        );
    }
}

/// The states of a Flow object.
pub(crate) fn flow_states(config: &ObjectConfig) -> Option<Vec<String>> {
    match config {
        ObjectConfig::Flow(f) => Some(f.states.clone()),
        _ => None,
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// Whether a declared type accepts `()`.
pub(crate) fn admits_unit(t: &ast::TypeExpr) -> bool {
    match &t.kind {
        TypeExprKind::Unit => true,
        TypeExprKind::Variant(alts) => alts.iter().any(admits_unit),
        _ => false,
    }
}

/// The coarse type of a declared type.
pub(crate) fn type_of_decl(t: &ast::TypeExpr) -> Type {
    match &t.kind {
        TypeExprKind::Unit => Type::Unit,
        TypeExprKind::Text(_) => Type::Text,
        TypeExprKind::Int(_) => Type::Int(None),
        TypeExprKind::Dict(_) => Type::Dict,
        TypeExprKind::Tuple(_) | TypeExprKind::Variant(_) => Type::Any,
        TypeExprKind::Named(n, args) => match n.text.as_str() {
            "Boolean" => Type::Bool,
            "Text" => Type::Text,
            "Sid" => Type::Sid,
            "Number" | "Signed" | "Unsigned" => Type::Int(None),
            "List" | "Set" => Type::List(Box::new(args.first().map_or(Type::Any, type_of_decl))),
            other => IntType::from_name(other).map_or(Type::Any, |i| Type::Int(Some(i))),
        },
    }
}
