//! Checks of bindings, `match` and `choice` sections, calls and expressions.
//!
//! A binding level's selectors are resolved against the classes the policy includes:
//! `src=`/`dst=` name classes, `interface=` an interface package, `component=` a component
//! (CDL), and `component=`/`endpoint=`/`method=` are looked up in the *server* class of the
//! event (the `dst` of a request, the `src` of a response, error or security event; every
//! class when the server is not selected). `component=K` keeps the endpoints that lie in an
//! instance of `K`, at any depth of nesting. The result is the level's [`Targets`].
//!
//! `message` is allowed only where the targets are a known, non-empty set whose methods all
//! have the named parameter with one type (so a binding selecting `method=Open` on two
//! endpoints of one interface may use `message.code`; a binding with no `method=` may not).
//! This is the rule the generated code needs: it reads the parameter at the layout of the
//! event's method, and it must be there.

use ostrog_spec::ast::Direction;
use ostrog_spec::layout::{layout, LayoutKind, TypeLayout};
use ostrog_spec::model::IntType;
use ostrog_spec::source::Span;

use crate::ast::{self, EventKind, SelectorKey};
use crate::check::{flow_states, one_of, Checker};
use crate::model::*;

/// What a binding level sees: the accumulated selectors and their targets.
#[derive(Clone, Debug)]
pub(crate) struct Scope {
    pub(crate) event: EventKind,
    pub(crate) sel: Selectors,
    /// Every `component=` of this level and the enclosing ones: unlike the other selectors,
    /// a nested level may name another component (one nested in the outer one), and the
    /// event's endpoint must lie in all of them.
    pub(crate) components: Vec<String>,
    pub(crate) targets: Targets,
}

/// Where a call stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CallPlace {
    Statement,
    Expression,
    Choice,
}

impl Checker<'_> {
    pub(crate) fn binding(&mut self, b: &ast::Binding) -> Option<Binding> {
        let root = Scope {
            event: b.event,
            sel: Selectors::default(),
            components: Vec::new(),
            targets: Targets::Any,
        };
        let (selectors, scope) = self.selectors(&root, &b.selectors, b.span, false)?;
        let body = self.block(&b.body, &scope);
        Some(Binding {
            event: b.event,
            selectors,
            targets: scope.targets,
            body,
            span: b.span,
        })
    }

    /// Resolves one level's selectors on top of `parent`.
    pub(crate) fn selectors(
        &mut self,
        parent: &Scope,
        sels: &[ast::Selector],
        at: Span,
        pal: bool,
    ) -> Option<(Selectors, Scope)> {
        let mut own = Selectors::default();
        let mut scope = parent.clone();
        let mut ok = true;
        let mut seen = Vec::new();
        for s in sels {
            let key = s.key;
            let value = s.value.dotted();
            if seen.contains(&key) {
                self.error(
                    s.key_span,
                    format!("selector `{}` is given twice", key.keyword()),
                    "repeated selector",
                    "expected each selector at most once per binding or match".to_string(),
                );
                ok = false;
                continue;
            }
            seen.push(key);
            let allowed = match parent.event {
                EventKind::Execute => matches!(key, SelectorKey::Src | SelectorKey::Dst),
                // A security event carries the class's own security interface only (see
                // `Targets`), so no component can provide it.
                EventKind::Security => !matches!(key, SelectorKey::Dst | SelectorKey::Component),
                _ => true,
            };
            if !allowed {
                self.error(
                    s.key_span,
                    format!(
                        "selector `{}` does not apply to `{}` events",
                        key.keyword(),
                        parent.event.keyword()
                    ),
                    "not applicable",
                    match parent.event {
                        EventKind::Execute => "expected only `src=` and `dst=` for execute",
                        _ => "expected `src=`, `interface=` or `method=` for security (a security event \
                              uses the class's own security interface, which no component provides)",
                    }
                    .to_string(),
                );
                ok = false;
                continue;
            }
            let valid = match key {
                SelectorKey::Src | SelectorKey::Dst => pal || self.known_class(&s.value),
                SelectorKey::Interface => {
                    let found = self
                        .spec
                        .packages
                        .get(&value)
                        .is_some_and(|p| p.interface.is_some());
                    if !found {
                        self.error(
                            s.value.span,
                            format!("unknown interface `{value}`"),
                            "no such interface",
                            "expected the name of an interface package used by an included class"
                                .to_string(),
                        );
                    }
                    found
                }
                SelectorKey::Component => {
                    let found = self.spec.components.contains_key(&value);
                    if !found {
                        let known = one_of(self.spec.components.keys().map(String::as_str));
                        let help = if self.policy.classes.contains_key(&value) {
                            format!(
                                "`{value}` is a process class: select it with `src=`/`dst=`; \
                                 expected a component (CDL): {known}"
                            )
                        } else {
                            format!("expected a component (CDL) reached from an included class: {known}")
                        };
                        self.error(
                            s.value.span,
                            format!("unknown component `{value}`"),
                            "no such component",
                            help,
                        );
                    }
                    found
                }
                SelectorKey::Endpoint | SelectorKey::Method => true,
            };
            if !valid {
                ok = false;
                continue;
            }
            let (own_slot, scope_slot) = match key {
                SelectorKey::Src => (&mut own.src, &mut scope.sel.src),
                SelectorKey::Dst => (&mut own.dst, &mut scope.sel.dst),
                SelectorKey::Interface => (&mut own.interface, &mut scope.sel.interface),
                SelectorKey::Component => (&mut own.component, &mut scope.sel.component),
                SelectorKey::Endpoint => (&mut own.endpoint, &mut scope.sel.endpoint),
                SelectorKey::Method => (&mut own.method, &mut scope.sel.method),
            };
            if key == SelectorKey::Component {
                scope.components.push(value.clone());
            } else if let Some(outer) = scope_slot.as_ref().filter(|o| **o != value) {
                let outer = outer.clone();
                self.error(
                    s.value.span,
                    format!(
                        "`{}={value}` conflicts with `{}={outer}` of the enclosing binding",
                        key.keyword(),
                        key.keyword()
                    ),
                    "can never match",
                    "expected the same value as the enclosing level, or no selector".to_string(),
                );
                ok = false;
                continue;
            }
            *own_slot = Some(value.clone());
            *scope_slot = Some(value);
        }
        if !ok {
            return None;
        }
        scope.targets = self.targets(&scope, sels, at)?;
        Some((own, scope))
    }

    fn known_class(&mut self, p: &ast::Path) -> bool {
        let name = p.dotted();
        if self.policy.classes.contains_key(&name) {
            return true;
        }
        let known = one_of(self.policy.classes.keys().map(String::as_str));
        self.error(
            p.span,
            format!("unknown process class `{name}`"),
            "not included",
            format!("expected a class included with `use EDL` or `task class`: {known}"),
        );
        false
    }

    /// The methods the accumulated selectors can match.
    pub(crate) fn targets(
        &mut self,
        scope: &Scope,
        sels: &[ast::Selector],
        at: Span,
    ) -> Option<Targets> {
        let sel = &scope.sel;
        if scope.event == EventKind::Execute
            || (sel.interface.is_none()
                && scope.components.is_empty()
                && sel.endpoint.is_none()
                && sel.method.is_none())
        {
            return Some(Targets::Any);
        }
        let server = match scope.event {
            EventKind::Request => sel.dst.as_ref(),
            _ => sel.src.as_ref(),
        };
        let classes: Vec<&Class> = match server {
            Some(s) => self.policy.classes.get(s).into_iter().collect(),
            None => self.policy.classes.values().collect(),
        };
        let mut out = Vec::new();
        let mut endpoint_seen = false;
        let mut component_seen = false;
        let mut methods_seen: Vec<String> = Vec::new();
        for class in &classes {
            let mut candidates: Vec<(String, u32, String)> = Vec::new();
            if scope.event == EventKind::Security {
                if let Some(sec) = &class.security {
                    candidates.push((String::new(), 0, sec.clone()));
                }
            } else {
                for e in &class.endpoints {
                    candidates.push((e.qualified.clone(), e.riid, e.interface.clone()));
                }
            }
            for (endpoint, riid, interface) in candidates {
                if sel.endpoint.as_ref().is_some_and(|x| *x != endpoint) {
                    continue;
                }
                endpoint_seen = true;
                let path = class.endpoint_components.get(&endpoint);
                if !scope
                    .components
                    .iter()
                    .all(|k| path.is_some_and(|p| p.contains(k)))
                {
                    continue;
                }
                component_seen = true;
                if sel.interface.as_ref().is_some_and(|x| *x != interface) {
                    continue;
                }
                let Some(iface) = self
                    .spec
                    .packages
                    .get(&interface)
                    .and_then(|p| p.interface.as_ref())
                else {
                    continue;
                };
                for m in &iface.methods {
                    if !methods_seen.contains(&m.name) {
                        methods_seen.push(m.name.clone());
                    }
                    if sel.method.as_ref().is_some_and(|x| *x != m.name) {
                        continue;
                    }
                    out.push(Target {
                        class: class.name.clone(),
                        endpoint: endpoint.clone(),
                        riid,
                        interface: interface.clone(),
                        method: m.name.clone(),
                        mid: m.mid,
                    });
                }
            }
        }
        if !out.is_empty() {
            out.sort();
            return Some(Targets::Only(out));
        }
        let span_of = |k: SelectorKey| {
            sels.iter()
                .find(|s| s.key == k)
                .map_or(at, |s| s.value.span)
        };
        let where_ = server.map_or("any included class".to_string(), |s| format!("`{s}`"));
        if let (Some(e), false) = (&sel.endpoint, endpoint_seen) {
            let known: Vec<String> = classes
                .iter()
                .flat_map(|c| c.endpoints.iter().map(|e| e.qualified.clone()))
                .collect();
            let what = if scope.event == EventKind::Security {
                "security events have no endpoint; expected `method=` alone".to_string()
            } else {
                format!(
                    "expected an endpoint of {where_}: {}",
                    one_of(known.iter().map(String::as_str))
                )
            };
            self.error(
                span_of(SelectorKey::Endpoint),
                format!("unknown endpoint `{e}` of {where_}"),
                "no such endpoint",
                what,
            );
        } else if let (Some(k), false) = (&sel.component, component_seen) {
            let mut known: Vec<&str> = classes
                .iter()
                .flat_map(|c| c.endpoint_components.values().flatten())
                .map(String::as_str)
                .collect();
            known.sort_unstable();
            known.dedup();
            self.error(
                span_of(SelectorKey::Component),
                format!("component `{k}` provides no endpoint of {where_}"),
                "not a component of the server",
                format!(
                    "expected a component instantiated in {where_}: {}",
                    one_of(known.into_iter())
                ),
            );
        } else if let Some(m) = &sel.method {
            self.error(
                span_of(SelectorKey::Method),
                format!("unknown method `{m}` for the selected endpoints of {where_}"),
                "no such method",
                format!(
                    "expected one of {}",
                    one_of(methods_seen.iter().map(String::as_str))
                ),
            );
        } else {
            self.error(
                span_of(SelectorKey::Interface),
                format!("no endpoint of {where_} matches these selectors"),
                "matches nothing",
                "expected selectors naming an endpoint that exists".to_string(),
            );
        }
        None
    }

    fn block(&mut self, b: &ast::Block, scope: &Scope) -> Block {
        if let Some(p) = &b.audit {
            if !self.policy.audit_profiles.contains_key(&p.text) {
                self.unknown_profile(p);
            }
        }
        let mut stmts = Vec::new();
        for s in &b.stmts {
            match s {
                ast::Stmt::Call(e) => {
                    if let Some(call) = self.call(e, scope, CallPlace::Statement) {
                        stmts.push(Stmt::Rule(call));
                    }
                }
                ast::Stmt::Match {
                    selectors,
                    body,
                    span,
                } => {
                    if let Some((own, inner)) = self.selectors(scope, selectors, *span, false) {
                        let body = self.block(body, &inner);
                        stmts.push(Stmt::Match(Match {
                            selectors: own,
                            targets: inner.targets,
                            body,
                            span: *span,
                        }));
                    }
                }
                ast::Stmt::Choice {
                    scrutinee,
                    branches,
                    span,
                } => {
                    let chosen = if let ast::ExprKind::Call { .. } = &scrutinee.kind {
                        self.call(scrutinee, scope, CallPlace::Choice)
                            .map(|c| Expr {
                                ty: self.call_type(&c),
                                span: scrutinee.span,
                                kind: ExprKind::Call(c),
                            })
                    } else {
                        self.expr(scrutinee, scope)
                    };
                    let states = match &chosen {
                        Some(Expr {
                            kind: ExprKind::Call(c),
                            ..
                        }) if c.method == "query" => self
                            .policy
                            .objects
                            .get(&c.object)
                            .and_then(|o| flow_states(&o.config)),
                        _ => None,
                    };
                    let mut out = Vec::new();
                    for br in branches {
                        if let (Some(states), ast::Pattern::Text(t)) = (&states, &br.pattern) {
                            if !states.contains(t) {
                                self.error(
                                    br.span,
                                    format!("`{t}` is not a state of the queried object"),
                                    "unknown state",
                                    format!(
                                        "expected one of {}",
                                        one_of(states.iter().map(String::as_str))
                                    ),
                                );
                            }
                        }
                        out.push(Branch {
                            pattern: br.pattern.clone(),
                            body: self.block(&br.body, scope),
                        });
                    }
                    if let Some(scrutinee) = chosen {
                        stmts.push(Stmt::Choice(Choice {
                            scrutinee,
                            branches: out,
                            span: *span,
                        }));
                    }
                }
            }
        }
        Block {
            audit: b.audit.as_ref().map(|n| n.text.clone()),
            stmts,
        }
    }

    fn call_type(&self, c: &Call) -> Type {
        self.policy
            .models
            .get(&c.model)
            .and_then(|m| m.methods.get(&c.method))
            .map_or(Type::Any, |m| m.result.clone())
    }

    /// Resolves and checks a call; `e` must be an [`ast::ExprKind::Call`].
    fn call(&mut self, e: &ast::Expr, scope: &Scope, place: CallPlace) -> Option<Call> {
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

    fn resolve_callee(&mut self, callee: &ast::Path) -> Option<(String, Method)> {
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

    fn argument(
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
    fn entry_argument(&mut self, object: &str, e: &Expr) -> bool {
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
    fn key_argument(&mut self, object: &str, e: &Expr) -> bool {
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
    fn flow_state_argument(&mut self, object: &str, field: &str, v: &ast::Expr) {
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

    fn literal(&self, kind: ExprKind, ty: Type, span: Span) -> Expr {
        Expr { kind, ty, span }
    }

    /// Checks an expression.
    pub(crate) fn expr(&mut self, e: &ast::Expr, scope: &Scope) -> Option<Expr> {
        use ast::ExprKind as A;
        let span = e.span;
        Some(match &e.kind {
            A::Int(v) => self.literal(ExprKind::Int(*v), Type::Int(None), span),
            A::Text(t) => self.literal(ExprKind::Text(t.clone()), Type::Text, span),
            A::Bool(b) => self.literal(ExprKind::Bool(*b), Type::Bool, span),
            A::Unit => self.literal(ExprKind::Unit, Type::Unit, span),
            A::Paren(inner) => return self.expr(inner, scope),
            A::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(self.expr(i, scope)?);
                }
                let elem = out.first().map_or(Type::Any, |x| x.ty.clone());
                self.literal(ExprKind::List(out), Type::List(Box::new(elem)), span)
            }
            A::Dict(entries) => {
                let mut out = Vec::new();
                for (k, v) in entries {
                    out.push((k.text.clone(), self.expr(v, scope)?));
                }
                self.literal(ExprKind::Dict(out), Type::Dict, span)
            }
            A::Path(_) | A::Field(..) | A::Index(..) if message_chain(e).is_some() => {
                return self.message(e, scope)
            }
            A::Path(p) => match p.dotted().as_str() {
                "src_sid" => self.literal(ExprKind::SrcSid, Type::Sid, span),
                "dst_sid" => self.literal(ExprKind::DstSid, Type::Sid, span),
                other => {
                    self.error(
                        p.span,
                        format!("unknown name `{other}`"),
                        "not a value",
                        "expected `src_sid`, `dst_sid`, `message.<param>`, a literal or a call"
                            .to_string(),
                    );
                    return None;
                }
            },
            A::Field(inner, name) => {
                let inner = self.expr(inner, scope)?;
                if matches!(
                    inner.ty,
                    Type::Int(_) | Type::Bool | Type::Text | Type::Unit | Type::Sid
                ) {
                    self.error(
                        name.span,
                        format!(
                            "a {} value has no field `{}`",
                            type_name(&inner.ty),
                            name.text
                        ),
                        "no such field",
                        "expected a dictionary value".to_string(),
                    );
                    return None;
                }
                self.literal(
                    ExprKind::Field(Box::new(inner), name.text.clone()),
                    Type::Any,
                    span,
                )
            }
            A::Index(inner, index) => {
                let inner = self.expr(inner, scope)?;
                let index = self.expr(index, scope)?;
                let elem = match &inner.ty {
                    Type::List(t) => (**t).clone(),
                    _ => Type::Any,
                };
                self.literal(
                    ExprKind::Index(Box::new(inner), Box::new(index)),
                    elem,
                    span,
                )
            }
            A::Unary(op, inner) => {
                let inner = self.expr(inner, scope)?;
                let want = match op {
                    ast::UnOp::Not => Type::Bool,
                    ast::UnOp::BitNot => Type::Int(None),
                };
                self.operand(&inner, &want, if *op == ast::UnOp::Not { "!" } else { "~" })?;
                let ty = if want == Type::Bool {
                    Type::Bool
                } else {
                    inner.ty.clone()
                };
                self.literal(ExprKind::Unary(*op, Box::new(inner)), ty, span)
            }
            A::Binary(op, l, r) => {
                let l = self.expr(l, scope)?;
                let r = self.expr(r, scope)?;
                use ast::BinOp as B;
                let (want, result) = match op {
                    B::And | B::Or | B::Implies => (Some(Type::Bool), Type::Bool),
                    B::Lt | B::Le | B::Gt | B::Ge => (Some(Type::Int(None)), Type::Bool),
                    B::Eq | B::Ne => (None, Type::Bool),
                    B::Add | B::Sub | B::Mul | B::BitAnd | B::BitOr => {
                        (Some(Type::Int(None)), Type::Int(None))
                    }
                };
                if let Some(want) = want {
                    self.operand(&l, &want, op.text())?;
                    self.operand(&r, &want, op.text())?;
                }
                self.literal(
                    ExprKind::Binary(*op, Box::new(l), Box::new(r)),
                    result,
                    span,
                )
            }
            A::Call { .. } => {
                let c = self.call(e, scope, CallPlace::Expression)?;
                let ty = self.call_type(&c);
                self.literal(ExprKind::Call(c), ty, span)
            }
        })
    }

    fn operand(&mut self, e: &Expr, want: &Type, op: &str) -> Option<()> {
        if compatible(&e.ty, want) {
            return Some(());
        }
        self.error(
            e.span,
            format!(
                "`{op}` needs a {} operand, found a {}",
                type_name(want),
                type_name(&e.ty)
            ),
            "wrong operand type",
            format!("expected a {} value", type_name(want)),
        );
        None
    }

    fn message(&mut self, e: &ast::Expr, scope: &Scope) -> Option<Expr> {
        let (steps, _) = message_chain(e)?;
        let direction = match scope.event {
            EventKind::Request | EventKind::Security => Direction::In,
            EventKind::Response => Direction::Out,
            EventKind::Error => Direction::Error,
            EventKind::Execute => {
                self.error(
                    e.span,
                    "`message` is not available in execute bindings".to_string(),
                    "no message",
                    "expected `src_sid` or `dst_sid`; a process start carries no message"
                        .to_string(),
                );
                return None;
            }
        };
        let Targets::Only(targets) = &scope.targets else {
            self.error(
                e.span,
                "`message` needs a binding or match that selects a method".to_string(),
                "no method selected",
                "expected `method=` (with `endpoint=` or `interface=` as needed) on this binding or an enclosing match"
                    .to_string(),
            );
            return None;
        };
        let mut found: Option<(Vec<MessageStep>, TypeLayout)> = None;
        for t in targets {
            let Some(ml) = layout(self.spec, &t.interface, &t.method) else {
                continue;
            };
            let msg = ml.message(direction);
            let r = walk(msg, &steps, direction, t);
            let (out_steps, leaf) = match r {
                Ok(x) => x,
                Err((span, message, help)) => {
                    self.error(span, message, "not in the message", help);
                    return None;
                }
            };
            if let Some((_, prev)) = &found {
                if *prev != leaf {
                    self.error(
                        e.span,
                        "this parameter has different types in the selected methods".to_string(),
                        "ambiguous parameter",
                        "expected a `method=` selector that narrows the binding to one method"
                            .to_string(),
                    );
                    return None;
                }
            } else {
                found = Some((out_steps, leaf));
            }
        }
        let (steps, leaf) = found?;
        let ty = type_of_layout(&leaf, steps.last());
        Some(Expr {
            kind: ExprKind::Message(MessagePath { direction, steps }),
            ty,
            span: e.span,
        })
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

fn runtime_methods(model: &str) -> impl Iterator<Item = &'static str> + '_ {
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
fn entry_shape(ty: &EntryType, e: &Expr) -> Result<(), WalkError> {
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

/// One raw step of a `message...` chain: a name or a literal index, with its place.
#[derive(Clone, Debug)]
enum RawStep {
    Field(String, Span),
    Index(Option<u32>, Span),
}

/// The steps after `message` if `e` is a message access.
fn message_chain(e: &ast::Expr) -> Option<(Vec<RawStep>, Span)> {
    match &e.kind {
        ast::ExprKind::Path(p) if p.segments.first().is_some_and(|s| s.text == "message") => {
            Some((
                p.segments
                    .iter()
                    .skip(1)
                    .map(|s| RawStep::Field(s.text.clone(), s.span))
                    .collect(),
                p.span,
            ))
        }
        ast::ExprKind::Field(inner, name) => {
            let (mut steps, span) = message_chain(inner)?;
            steps.push(RawStep::Field(name.text.clone(), name.span));
            Some((steps, span))
        }
        ast::ExprKind::Index(inner, index) => {
            let (mut steps, span) = message_chain(inner)?;
            let i = match index.kind {
                ast::ExprKind::Int(v) => u32::try_from(v).ok(),
                _ => None,
            };
            steps.push(RawStep::Index(i, index.span));
            Some((steps, span))
        }
        _ => None,
    }
}

type WalkError = (Span, String, String);

fn walk(
    msg: &ostrog_spec::layout::MessageLayout,
    steps: &[RawStep],
    direction: Direction,
    t: &Target,
) -> Result<(Vec<MessageStep>, TypeLayout), WalkError> {
    let Some(RawStep::Field(first, span)) = steps.first() else {
        let span = match steps.first() {
            Some(RawStep::Index(_, s)) => *s,
            _ => Span {
                file: ostrog_spec::source::FileId(0),
                start: 0,
                end: 0,
            },
        };
        return Err((
            span,
            "expected a parameter name after `message.`".to_string(),
            "expected `message.<param>`".to_string(),
        ));
    };
    let names = one_of(msg.params.iter().map(|p| p.name.as_str()));
    let Some(param) = msg.param(first) else {
        return Err((
            *span,
            format!(
                "method `{}.{}` has no {} parameter `{first}`",
                t.interface,
                t.method,
                direction.keyword()
            ),
            format!("expected one of {names}"),
        ));
    };
    let mut out = vec![MessageStep::Field(first.clone())];
    let mut layout = param.layout.clone();
    for step in steps.iter().skip(1) {
        match (step, &layout.kind) {
            (RawStep::Field(f, _), LayoutKind::Struct { fields, .. })
            | (
                RawStep::Field(f, _),
                LayoutKind::Union {
                    variants: fields, ..
                },
            ) if fields.iter().any(|x| x.name == *f) => {
                let Some(next) = fields.iter().find(|x| x.name == *f) else {
                    break;
                };
                out.push(MessageStep::Field(f.clone()));
                layout = next.layout.clone();
            }
            (RawStep::Field(f, _), LayoutKind::Handle { .. }) if f == "handle" || f == "rights" => {
                out.push(if f == "handle" {
                    MessageStep::Handle
                } else {
                    MessageStep::Rights
                });
                layout = TypeLayout {
                    size: 0,
                    align: 1,
                    kind: LayoutKind::Handle { interface: None },
                };
            }
            (RawStep::Index(Some(i), s), LayoutKind::Array { len, element }) => {
                if i >= len {
                    return Err((
                        *s,
                        format!("index {i} is out of range for an array of {len}"),
                        format!("expected an index below {len}"),
                    ));
                }
                out.push(MessageStep::Index(*i));
                layout = (**element).clone();
            }
            (RawStep::Index(Some(i), _), LayoutKind::Sequence { element, .. }) => {
                out.push(MessageStep::Index(*i));
                layout = (**element).clone();
            }
            (RawStep::Index(Some(i), _), LayoutKind::Bytes { .. }) => {
                out.push(MessageStep::Index(*i));
                layout = TypeLayout {
                    size: 1,
                    align: 1,
                    kind: LayoutKind::Int(ostrog_spec::model::IntType::U8),
                };
            }
            (RawStep::Index(None, s), _) => {
                return Err((
                    *s,
                    "a message index must be an integer literal".to_string(),
                    "expected `.[<integer>]`".to_string(),
                ))
            }
            (RawStep::Field(f, s), _) => {
                return Err((
                    *s,
                    format!("`{f}` is not a field of this part of the message"),
                    match &layout.kind {
                        LayoutKind::Struct { fields, .. } => {
                            format!(
                                "expected one of {}",
                                one_of(fields.iter().map(|x| x.name.as_str()))
                            )
                        }
                        LayoutKind::Handle { .. } => "expected `.handle` or `.rights`".to_string(),
                        _ => "expected no further field on this value".to_string(),
                    },
                ))
            }
            (RawStep::Index(_, s), _) => {
                return Err((
                    *s,
                    "this part of the message cannot be indexed".to_string(),
                    "expected an array, sequence or bytes value before `.[i]`".to_string(),
                ))
            }
        }
    }
    Ok((out, layout))
}

fn type_of_layout(l: &TypeLayout, last: Option<&MessageStep>) -> Type {
    match last {
        Some(MessageStep::Handle) => return Type::Sid,
        Some(MessageStep::Rights) => return Type::Int(Some(ostrog_spec::model::IntType::U32)),
        _ => {}
    }
    match &l.kind {
        LayoutKind::Int(i) => Type::Int(Some(*i)),
        LayoutKind::Handle { .. } => Type::HandleDesc,
        LayoutKind::Bytes { .. } => {
            Type::List(Box::new(Type::Int(Some(ostrog_spec::model::IntType::U8))))
        }
        LayoutKind::String { .. } => Type::Text,
        LayoutKind::Sequence { element, .. } | LayoutKind::Array { element, .. } => {
            Type::List(Box::new(type_of_layout(element, None)))
        }
        LayoutKind::Struct { .. } | LayoutKind::Union { .. } => Type::Dict,
    }
}

/// Whether a value of type `have` may stand where `want` is needed.
fn compatible(have: &Type, want: &Type) -> bool {
    match (have, want) {
        (Type::Any, _) | (_, Type::Any) => true,
        (Type::Int(_), Type::Int(_)) => true,
        (a, b) => a == b,
    }
}

fn type_name(t: &Type) -> &'static str {
    match t {
        Type::Bool => "Boolean",
        Type::Int(_) => "number",
        Type::Text => "text",
        Type::Unit => "unit `()`",
        Type::Sid => "SID",
        Type::HandleDesc => "handle",
        Type::List(_) => "list",
        Type::Dict => "dictionary",
        Type::Any => "value",
    }
}
