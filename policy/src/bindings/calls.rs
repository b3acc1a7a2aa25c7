//! Calls: model methods resolved to the policy's objects, their arguments checked against
//! the model's declarations, and the calls the runtime (`ostrog-ksm`) implements.

use ostrog_idl::model::IntType;

use super::*;
use crate::ast;
use crate::check::{flow_states, one_of, Checker};
use crate::model::*;

impl Checker<'_> {
    pub(super) fn call_type(&self, c: &Call) -> Type {
        self.policy
            .models
            .get(&c.model)
            .and_then(|m| m.methods.get(&c.method))
            .map_or(Type::Any, |m| m.result.clone())
    }

    /// Resolves and checks a call; `e` must be an [`ast::ExprKind::Call`].
    pub(super) fn call(&mut self, e: &ast::Expr, scope: &Scope, place: CallPlace) -> Option<Call> {
        let ast::ExprKind::Call { callee, arg } = &e.kind else {
            self.error(
                e.span,
                "expected a rule call".to_string(),
                "not a call",
                "expected `rule (...)` or `object.rule {...}`".to_string(),
            );
            return None;
        };
        let (object, method) = self.resolve_callee(callee)?;
        let model = self
            .policy
            .objects
            .get(&object)
            .map(|o| o.model.clone())
            .unwrap_or_default();
        let shown = callee.dotted();
        match (place, method.kind) {
            (CallPlace::Statement, MethodKind::Expression) => {
                self.error(
                    callee.span,
                    format!("`{shown}` is an expression, not a rule"),
                    "expression used as a rule",
                    "expected a rule here; use an expression inside `assert (...)` or `choice (...)`"
                        .to_string(),
                );
                return None;
            }
            (CallPlace::Choice, MethodKind::Rule) => {
                self.error(
                    callee.span,
                    format!("`choice` needs an expression, but `{shown}` is a rule"),
                    "rule used as an expression",
                    "expected an expression such as `flow.query {sid : dst_sid}` or `re.select {text : ...}`"
                        .to_string(),
                );
                return None;
            }
            (CallPlace::Expression, MethodKind::Rule) => {
                self.error(
                    callee.span,
                    format!("`{shown}` is a rule, not an expression"),
                    "rule used as an expression",
                    "expected an expression method; rules stand on their own in a binding body"
                        .to_string(),
                );
                return None;
            }
            _ => {}
        }
        if !has_runtime(&model, &method.name) {
            let help = if RUNTIME.iter().any(|(m, _)| *m == model) {
                format!(
                    "expected a method the runtime of `{model}` implements: {}",
                    one_of(runtime_methods(&model))
                )
            } else {
                format!(
                    "expected a method of a standard model ({}); a model declared in a policy file can be checked but not compiled",
                    one_of(RUNTIME.iter().map(|(m, _)| *m))
                )
            };
            self.error(
                callee.span,
                format!(
                    "`{shown}` calls model `{model}`, which has no runtime: only the standard models have one"
                ),
                "no runtime for this call",
                help,
            );
            return None;
        }
        if model == "Regex" && method.name == "select" && place != CallPlace::Choice {
            self.error(
                callee.span,
                format!("`{shown}` stands only as the scrutinee of a `choice`"),
                "`select` outside `choice`",
                "expected `choice (re.select {text : ...}) { \"<pattern>\" : ... _ : ... }`; use `re.match {text : ..., pattern : ...}` in expressions"
                    .to_string(),
            );
            return None;
        }
        let arg = self.argument(&shown, &object, &method, arg, scope)?;
        Some(Call {
            object,
            model,
            method: method.name.clone(),
            kind: method.kind,
            arg: Box::new(arg),
            span: e.span,
        })
    }

    pub(super) fn resolve_callee(&mut self, callee: &ast::Path) -> Option<(String, Method)> {
        match callee.segments.as_slice() {
            [name] => {
                let mut found: Option<(bool, String, Method)> = None;
                for o in self.policy.objects.values() {
                    let Some(m) = self
                        .policy
                        .models
                        .get(&o.model)
                        .and_then(|m| m.methods.get(&name.text))
                    else {
                        continue;
                    };
                    if m.global && found.as_ref().is_none_or(|(lib, ..)| !lib && o.library) {
                        found = Some((o.library, o.name.clone(), m.clone()));
                    }
                }
                if let Some((_, o, m)) = found {
                    return Some((o, m));
                }
                let globals: Vec<String> = self
                    .policy
                    .models
                    .values()
                    .flat_map(|m| {
                        m.methods
                            .values()
                            .filter(|x| x.global)
                            .map(|x| x.name.clone())
                    })
                    .collect();
                self.error(
                    name.span,
                    format!("unknown rule `{}`", name.text),
                    "no such rule",
                    format!(
                        "expected `object.method` or one of {} (did you include `nk.base._`?)",
                        one_of(globals.iter().map(String::as_str))
                    ),
                );
                None
            }
            [obj, meth] => {
                let Some(o) = self.policy.objects.get(&obj.text) else {
                    let known = one_of(self.policy.objects.keys().map(String::as_str));
                    self.error(
                        obj.span,
                        format!("unknown policy object `{}`", obj.text),
                        "no such object",
                        format!("expected one of {known}"),
                    );
                    return None;
                };
                let model = self.policy.models.get(&o.model)?;
                if let Some(m) = model.methods.get(&meth.text) {
                    return Some((o.name.clone(), m.clone()));
                }
                let known = one_of(model.methods.keys().map(String::as_str));
                let model_name = model.name.clone();
                self.error(
                    meth.span,
                    format!("model `{model_name}` has no method `{}`", meth.text),
                    "no such method",
                    format!("expected one of {known}"),
                );
                None
            }
            _ => {
                self.error(
                    callee.span,
                    format!("`{}` is not a method call", callee.dotted()),
                    "too many dots",
                    "expected `method` or `object.method`".to_string(),
                );
                None
            }
        }
    }

    pub(super) fn argument(
        &mut self,
        shown: &str,
        object: &str,
        method: &Method,
        arg: &ast::Expr,
        scope: &Scope,
    ) -> Option<Expr> {
        let mut a = arg;
        while let ast::ExprKind::Paren(inner) = &a.kind {
            a = inner;
        }
        match &method.arg {
            ArgSpec::Unit => {
                if a.kind != ast::ExprKind::Unit {
                    self.error(
                        arg.span,
                        format!("`{shown}` takes `()`"),
                        "unexpected argument",
                        format!("expected `{shown} ()`"),
                    );
                    return None;
                }
                Some(self.literal(ExprKind::Unit, Type::Unit, arg.span))
            }
            ArgSpec::Value { ty, unit_ok } => {
                if a.kind == ast::ExprKind::Unit {
                    if !unit_ok {
                        self.error(
                            arg.span,
                            format!("`{shown}` needs a value"),
                            "missing value",
                            format!("expected `{shown} (<value>)`"),
                        );
                        return None;
                    }
                    return Some(self.literal(ExprKind::Unit, Type::Unit, arg.span));
                }
                let e = self.expr(a, scope)?;
                let want = crate::check::type_of_decl(ty);
                if want == Type::Bool && !compatible(&e.ty, &Type::Bool) {
                    self.error(
                        a.span,
                        format!("`{shown}` needs a Boolean"),
                        "not a Boolean",
                        "expected a comparison, `true`/`false` or a Boolean expression".to_string(),
                    );
                    return None;
                }
                Some(e)
            }
            ArgSpec::Dict(fields) => {
                let ast::ExprKind::Dict(entries) = &a.kind else {
                    let names: Vec<String> =
                        fields.iter().map(|f| format!("{} : ...", f.name)).collect();
                    self.error(
                        arg.span,
                        format!("`{shown}` takes a dictionary"),
                        "not a dictionary",
                        format!("expected `{shown} {{{}}}`", names.join(", ")),
                    );
                    return None;
                };
                let mut out = Vec::new();
                let mut ok = true;
                for (k, v) in entries {
                    if !fields.iter().any(|f| f.name == k.text) {
                        self.error(
                            k.span,
                            format!("unknown argument field `{}` of `{shown}`", k.text),
                            "no such field",
                            format!(
                                "expected {}",
                                one_of(fields.iter().map(|f| f.name.as_str()))
                            ),
                        );
                        ok = false;
                        continue;
                    }
                    if out.iter().any(|(n, _): &(String, Expr)| *n == k.text) {
                        self.error(
                            k.span,
                            format!("argument field `{}` is given twice", k.text),
                            "repeated field",
                            "expected each field once".to_string(),
                        );
                        ok = false;
                        continue;
                    }
                    self.flow_state_argument(object, &k.text, v);
                    match self.expr(v, scope) {
                        Some(e) => {
                            if k.text == "entry" && !self.entry_argument(object, &e) {
                                ok = false;
                            }
                            if k.text == "key" && !self.key_argument(object, &e) {
                                ok = false;
                            }
                            out.push((k.text.clone(), e));
                        }
                        None => ok = false,
                    }
                }
                for f in fields {
                    if !f.optional && !entries.iter().any(|(k, _)| k.text == f.name) {
                        self.error(
                            arg.span,
                            format!("missing argument field `{}` of `{shown}`", f.name),
                            "field missing",
                            format!(
                                "expected {}",
                                one_of(fields.iter().map(|f| f.name.as_str()))
                            ),
                        );
                        ok = false;
                    }
                }
                ok.then(|| self.literal(ExprKind::Dict(out), Type::Dict, arg.span))
            }
        }
    }

    /// A HashSet `entry` argument must have the shape of the object's `type Entry`: a
    /// dictionary literal with exactly its fields, a list literal with one element per
    /// tuple item, numbers and Booleans at the leaves (integer literals in range).
    pub(super) fn entry_argument(&mut self, object: &str, e: &Expr) -> bool {
        let Some(o) = self.policy.objects.get(object) else {
            return true;
        };
        if o.model != "HashSet" {
            return true;
        }
        // A bad declaration has been reported with the object.
        let Ok(ty) = EntryType::of_object(o) else {
            return true;
        };
        match entry_shape(&ty, e) {
            Ok(()) => true,
            Err((span, message, help)) => {
                self.error(span, message, "does not fit `type Entry`", help);
                false
            }
        }
    }

    /// A StaticMap `key` is a `Text` or a `List<UInt8>` (a list literal of bytes, a message
    /// `bytes`, `sequence<UInt8>` or `array<UInt8>`).
    pub(super) fn key_argument(&mut self, object: &str, e: &Expr) -> bool {
        if self
            .policy
            .objects
            .get(object)
            .is_none_or(|o| o.model != "StaticMap")
        {
            return true;
        }
        let help = "expected a `Text` key or a `List<UInt8>` key such as `[0x6b, 0x31]`";
        let bad = match (&e.kind, &e.ty) {
            (ExprKind::List(items), _) => items.iter().find_map(|x| match (&x.kind, &x.ty) {
                (ExprKind::Int(v), _) if !(0..=255).contains(v) => {
                    Some((x.span, format!("{v} is not a byte of a `List<UInt8>` key")))
                }
                (_, Type::Int(None | Some(IntType::U8)) | Type::Any) => None,
                (_, t) => Some((x.span, format!("a {} in a `List<UInt8>` key", type_name(t)))),
            }),
            (_, Type::Text | Type::Any) => None,
            (_, Type::List(t)) if matches!(**t, Type::Int(Some(IntType::U8)) | Type::Any) => None,
            (_, t) => Some((e.span, format!("a {} is not a StaticMap key", type_name(t)))),
        };
        match bad {
            Some((span, message)) => {
                self.error(span, message, "not a key", help.to_string());
                false
            }
            None => true,
        }
    }

    /// Flow `state`/`states` arguments written as literals must name states of the object.
    pub(super) fn flow_state_argument(&mut self, object: &str, field: &str, v: &ast::Expr) {
        if field != "state" && field != "states" {
            return;
        }
        let Some(states) = self
            .policy
            .objects
            .get(object)
            .and_then(|o| flow_states(&o.config))
        else {
            return;
        };
        let items: Vec<&ast::Expr> = match &v.kind {
            ast::ExprKind::List(items) => items.iter().collect(),
            _ => vec![v],
        };
        for item in items {
            if let ast::ExprKind::Text(t) = &item.kind {
                if !states.contains(t) {
                    self.error(
                        item.span,
                        format!("`{t}` is not a state of `{object}`"),
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
}

/// The models and methods `ostrog-ksm` implements: the only calls the code generator can
/// translate. A model declared by a user's own PSL file has no runtime.
pub(crate) const RUNTIME: &[(&str, &[&str])] = &[
    ("Base", &["grant", "deny", "assert", "set_level"]),
    ("Pred", &["empty"]),
    ("Bool", &["all", "any", "cond", "assert"]),
    (
        "Math",
        &[
            "neg", "abs", "sum", "product", "uint8", "uint16", "uint32", "uint64", "sint8",
            "sint16", "sint32", "sint64",
        ],
    ),
    ("Struct", &["size"]),
    ("Regex", &["match", "select"]),
    ("HashSet", &["init", "fini", "add", "remove", "contains"]),
    (
        "StaticMap",
        &[
            "init",
            "fini",
            "set",
            "commit",
            "rollback",
            "get",
            "get_uncommited",
        ],
    ),
    ("Flow", &["init", "fini", "enter", "allow", "query"]),
    (
        "Mic",
        &[
            "create",
            "execute",
            "upgrade",
            "downgrade",
            "call",
            "invoke",
            "read",
            "write",
            "fini",
            "query_level",
        ],
    ),
];

pub(super) fn runtime_methods(model: &str) -> impl Iterator<Item = &'static str> + '_ {
    RUNTIME
        .iter()
        .filter(move |(m, _)| *m == model)
        .flat_map(|(_, ms)| ms.iter().copied())
}

/// Whether the runtime implements `model.method`.
pub(crate) fn has_runtime(model: &str, method: &str) -> bool {
    runtime_methods(model).any(|m| m == method)
}

/// Checks a value against a HashSet entry type.
pub(super) fn entry_shape(ty: &EntryType, e: &Expr) -> Result<(), WalkError> {
    let want = || format!("expected a value of `{}`", ty.psl());
    match ty {
        EntryType::Bool => {
            if compatible(&e.ty, &Type::Bool) {
                Ok(())
            } else {
                Err((
                    e.span,
                    format!("a {} where the entry has a Boolean", type_name(&e.ty)),
                    want(),
                ))
            }
        }
        EntryType::Int(t) => {
            if let ExprKind::Int(v) = e.kind {
                let (lo, hi) = t.range();
                if v < lo || v > hi {
                    return Err((
                        e.span,
                        format!("{v} does not fit the entry's `{}`", ty.psl()),
                        format!("expected a value from {lo} to {hi}"),
                    ));
                }
            }
            if compatible(&e.ty, &Type::Int(None)) || e.ty == Type::Sid {
                Ok(())
            } else {
                Err((
                    e.span,
                    format!("a {} where the entry has a number", type_name(&e.ty)),
                    want(),
                ))
            }
        }
        EntryType::Dict(fields) => {
            let ExprKind::Dict(entries) = &e.kind else {
                return Err((
                    e.span,
                    format!(
                        "a {} where the entry is a dictionary",
                        type_name(&e.ty)
                    ),
                    format!(
                        "expected a dictionary literal `{}` (a whole message struct is not an entry: list its fields)",
                        ty.psl()
                    ),
                ));
            };
            for (k, v) in entries {
                let Some((_, ft)) = fields.iter().find(|(n, _)| n == k) else {
                    return Err((
                        v.span,
                        format!("the entry has no field `{k}`"),
                        format!(
                            "expected the fields of `{}`: {}",
                            ty.psl(),
                            one_of(fields.iter().map(|(n, _)| n.as_str()))
                        ),
                    ));
                };
                entry_shape(ft, v)?;
            }
            if let Some((missing, _)) = fields
                .iter()
                .find(|(n, _)| !entries.iter().any(|(k, _)| k == n))
            {
                return Err((
                    e.span,
                    format!("the entry lacks field `{missing}`"),
                    format!("expected every field of `{}`", ty.psl()),
                ));
            }
            Ok(())
        }
        EntryType::Tuple(items) => {
            let ExprKind::List(values) = &e.kind else {
                return Err((
                    e.span,
                    format!("a {} where the entry is a tuple", type_name(&e.ty)),
                    format!("expected a list literal `{}`", ty.psl()),
                ));
            };
            if values.len() != items.len() {
                return Err((
                    e.span,
                    format!(
                        "a tuple of {} values where the entry has {}",
                        values.len(),
                        items.len()
                    ),
                    format!("expected `{}`", ty.psl()),
                ));
            }
            for (t, v) in items.iter().zip(values) {
                entry_shape(t, v)?;
            }
            Ok(())
        }
    }
}
