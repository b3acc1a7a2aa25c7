//! Checks of PAL test sets (`assert "name" { setup {..} sequence "x" {..} finally {..} }`).
//!
//! A variable is bound by `var <- execute dst=Class` and names the started process (of that
//! class) in the cases after it: variables bound in `setup` are visible in every sequence
//! and in `finally`; variables bound in a sequence only in the rest of that sequence. A
//! `src=`/`dst=` value is a variable, or a process class name (the KCE 1.0 form and the
//! `dst` of an execute). Endpoint and method selectors are resolved against the class of the
//! server party, and the message dictionary against that method's parameters.

use std::collections::BTreeMap;

use ostrog_idl::ast::Direction;

use crate::ast::{self, EventKind, SelectorKey};
use crate::bindings::Scope;
use crate::check::{one_of, Checker};
use crate::model::*;

type Vars = BTreeMap<String, String>;

impl Checker<'_> {
    pub(crate) fn test_set(&mut self, t: &ast::TestSet) -> TestSet {
        let mut setup_vars = Vars::new();
        let setup = self.cases(&t.setup, &mut setup_vars);
        let mut sequences = Vec::new();
        for s in &t.sequences {
            let mut vars = setup_vars.clone();
            let cases = self.cases(&s.cases, &mut vars);
            sequences.push(Sequence {
                name: s.name.clone(),
                cases,
            });
        }
        let mut vars = setup_vars.clone();
        let finally = self.cases(&t.finally, &mut vars);
        TestSet {
            name: t.name.clone(),
            setup,
            sequences,
            finally,
            span: t.span,
        }
    }

    fn cases(&mut self, cases: &[ast::TestCase], vars: &mut Vars) -> Vec<TestCase> {
        let mut out = Vec::new();
        for c in cases {
            if let Some(tc) = self.case(c, vars) {
                out.push(tc);
            }
        }
        out
    }

    fn party(&mut self, p: &ast::Path, vars: &Vars, class_only: bool) -> Option<Party> {
        let name = p.dotted();
        if !class_only {
            if let Some(class) = vars.get(&name) {
                return Some(Party::Var {
                    name,
                    class: class.clone(),
                });
            }
        }
        if self.policy.classes.contains_key(&name) {
            return Some(Party::Class(name));
        }
        if class_only {
            let known = one_of(self.policy.classes.keys().map(String::as_str));
            self.error(
                p.span,
                format!("unknown process class `{name}`"),
                "not included",
                format!("expected a class included with `use EDL` or `task class`: {known}"),
            );
        } else {
            let known = one_of(vars.keys().map(String::as_str));
            self.error(
                p.span,
                format!("unknown variable `{name}`"),
                "not bound",
                format!(
                    "expected a variable bound earlier with `{name} <- execute dst=...` ({known}) or a process class name"
                ),
            );
        }
        None
    }

    fn case(&mut self, c: &ast::TestCase, vars: &mut Vars) -> Option<TestCase> {
        let mut src = None;
        let mut dst = None;
        let mut ok = true;
        for s in &c.selectors {
            match s.key {
                SelectorKey::Src => {
                    src = self.party(&s.value, vars, false);
                    ok &= src.is_some();
                }
                SelectorKey::Dst => {
                    dst = self.party(&s.value, vars, c.event == EventKind::Execute);
                    ok &= dst.is_some();
                }
                _ => {}
            }
        }
        if c.event == EventKind::Execute && dst.is_none() && ok {
            self.error(
                c.span,
                "an execute test case needs `dst=<class>`".to_string(),
                "no class to start",
                "expected e.g. `p <- execute src=einit dst=demo.Server`".to_string(),
            );
            ok = false;
        }
        if let Some(b) = &c.bind {
            if c.event != EventKind::Execute {
                self.error(
                    b.span,
                    "only `execute` test cases can bind a variable".to_string(),
                    "nothing started",
                    "expected `var <- execute dst=<class>`".to_string(),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        // Resolve endpoint and method as a binding would, with classes in place of variables.
        let class_path = |party: &Option<Party>, key: SelectorKey| {
            party.as_ref().map(|p| ast::Selector {
                key,
                key_span: c.span,
                value: ast::Path {
                    segments: vec![ast::Name {
                        text: p.class().to_string(),
                        span: c.span,
                    }],
                    span: c.span,
                },
            })
        };
        let mut sels: Vec<ast::Selector> = c
            .selectors
            .iter()
            .filter(|s| !matches!(s.key, SelectorKey::Src | SelectorKey::Dst))
            .cloned()
            .collect();
        sels.extend(class_path(&src, SelectorKey::Src));
        sels.extend(class_path(&dst, SelectorKey::Dst));
        let root = Scope {
            event: c.event,
            sel: Selectors::default(),
            components: Vec::new(),
            targets: Targets::Any,
        };
        let (_, scope) = self.selectors(&root, &sels, c.span, true)?;
        let target = match &scope.targets {
            Targets::Only(t) if scope.sel.method.is_some() => t.first().cloned(),
            Targets::Only(_) => {
                // The event sent needs one endpoint and method; without `method=` the
                // endpoint, interface or component selector would name no message at all.
                self.error(
                    c.span,
                    "a test case that selects an endpoint, interface or component needs `method=`"
                        .to_string(),
                    "which method?",
                    "expected e.g. `request src=p dst=c endpoint=main.door method=Open`"
                        .to_string(),
                );
                return None;
            }
            Targets::Any => None,
        };
        let mut message = Vec::new();
        if let Some(m) = &c.message {
            if let Some(Value::Dict(entries)) = self.value(m) {
                if let Some(t) = &target {
                    self.pal_message_fields(m, &entries, t, c.event);
                }
                message = entries;
            }
        }
        if let (Some(b), Some(d)) = (&c.bind, &dst) {
            vars.insert(b.text.clone(), d.class().to_string());
        }
        Some(TestCase {
            bind: c.bind.as_ref().map(|b| b.text.clone()),
            expect: c.expect,
            title: c.title.clone(),
            event: c.event,
            src,
            dst,
            target,
            message,
            span: c.span,
        })
    }

    fn pal_message_fields(
        &mut self,
        m: &ast::Expr,
        entries: &[(String, Value)],
        t: &Target,
        event: EventKind,
    ) {
        let dir = match event {
            EventKind::Response => Direction::Out,
            EventKind::Error => Direction::Error,
            _ => Direction::In,
        };
        let Some(method) = self
            .spec
            .packages
            .get(&t.interface)
            .and_then(|p| p.interface.as_ref())
            .and_then(|i| i.methods.iter().find(|x| x.name == t.method))
        else {
            return;
        };
        let names: Vec<String> = method.params_of(dir).map(|p| p.name.clone()).collect();
        let ast::ExprKind::Dict(keys) = &m.kind else {
            return;
        };
        for (name, _) in entries {
            if !names.contains(name) {
                let span = keys
                    .iter()
                    .find(|(k, _)| k.text == *name)
                    .map_or(m.span, |(k, _)| k.span);
                self.error(
                    span,
                    format!(
                        "method `{}.{}` has no {} parameter `{name}`",
                        t.interface,
                        t.method,
                        dir.keyword()
                    ),
                    "not a parameter",
                    format!(
                        "expected one of {}",
                        one_of(names.iter().map(String::as_str))
                    ),
                );
            }
        }
    }
}
