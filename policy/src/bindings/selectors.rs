//! Selectors: `src=`, `dst=`, `interface=`, `component=`, `endpoint=`, `method=` resolved
//! against the included classes into a level's targets.

use ostrog_diag::source::Span;

use super::*;
use crate::ast::{self, EventKind, SelectorKey};
use crate::check::{one_of, Checker};
use crate::model::*;

impl Checker<'_> {
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
        // KasperskyOS's names of the kernel's endpoints and methods (crate::kos).
        let on_core = |dst: Option<&String>| dst.is_none_or(|d| d == "kl.core.Core");
        let dst_here = sels
            .iter()
            .find(|s| s.key == SelectorKey::Dst)
            .map(|s| s.value.dotted());
        let kos = on_core(dst_here.as_ref().or(parent.sel.dst.as_ref()));
        let endpoint_here = sels
            .iter()
            .find(|s| s.key == SelectorKey::Endpoint)
            .map(|s| s.value.dotted())
            .map(|e| match kos {
                true => crate::kos::endpoint(&e).map_or(e, str::to_string),
                false => e,
            });
        let mut absent = false;
        for s in sels {
            let key = s.key;
            let mut value = s.value.dotted();
            if kos && key == SelectorKey::Endpoint {
                if let Some(o) = crate::kos::endpoint(&value) {
                    value = o.to_string();
                }
            }
            if kos && key == SelectorKey::Method {
                let endpoint = endpoint_here.as_ref().or(parent.sel.endpoint.as_ref());
                match endpoint.and_then(|e| crate::kos::method(e, &value)) {
                    Some(Some(o)) => value = o.to_string(),
                    Some(None) => absent = true,
                    None => {}
                }
            }
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
        scope.targets = match absent {
            // A KasperskyOS kernel method Ostrog's kernel has no counterpart for: no request
            // of Ostrog's is ever this one.
            true => Targets::Only(Vec::new()),
            false => self.targets(&scope, sels, at)?,
        };
        Some((own, scope))
    }

    /// What a selection of the KasperskyOS-only kernel endpoint `f` (and of `method`, if
    /// given) stands for: the Ostrog methods doing the same, nothing for the rest.
    fn foreign_targets(&self, f: &crate::kos::Foreign, method: Option<&str>) -> Targets {
        let mut out = Vec::new();
        let core = self.policy.classes.get("kl.core.Core");
        for (kos, (endpoint, name)) in f.mapped {
            if method.is_some_and(|m| m != *kos) {
                continue;
            }
            if let Some(class) = core {
                for e in class.endpoints.iter().filter(|e| e.qualified == *endpoint) {
                    let found = self
                        .spec
                        .packages
                        .get(&e.interface)
                        .and_then(|p| p.interface.as_ref())
                        .and_then(|i| i.methods.iter().find(|m| m.name == *name));
                    if let Some(m) = found {
                        out.push(Target {
                            class: class.name.clone(),
                            endpoint: e.qualified.clone(),
                            riid: e.riid,
                            interface: e.interface.clone(),
                            method: m.name.clone(),
                            mid: m.mid,
                        });
                    }
                }
            }
        }
        out.sort();
        Targets::Only(out)
    }

    pub(super) fn known_class(&mut self, p: &ast::Path) -> bool {
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
        // A KasperskyOS kernel endpoint Ostrog has none of (crate::kos::FOREIGN).
        if let Some(f) = sel.endpoint.as_deref().and_then(crate::kos::foreign) {
            if server.is_none_or(|s| s == "kl.core.Core") {
                return Some(self.foreign_targets(f, sel.method.as_deref()));
            }
        }
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
}
