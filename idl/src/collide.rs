//! Collisions between the Rust names the generator would emit.
//!
//! [`crate::gen`] turns IDL names into Rust names ([`crate::gen::names`]) and adds names of
//! its own: `<Method>Request`, `<Method>Response` and `<Method>Error` per method,
//! `<Iface>Server`, `<Iface>Proxy` and `<Iface>Security` per interface, a `dispatch`
//! function, and the imports `rt`, `String` and `Vec` in every module. Two different
//! specification names that become one Rust name, or a specification name that becomes one
//! of those generated or imported names, would make the generated code fail to compile (or,
//! worse, silently refer to the wrong item), so they are reported here, on the specification.
//!
//! The scopes are those of the generated code:
//! * the module of a package (types, message types, interface items; constants);
//! * each struct (fields), union (variants) and method (parameters);
//! * the interface (method names, in `snake_case` for the server trait and the proxy);
//! * each class or component (endpoint constants in `riid` and accessors of the
//!   `<Class>Endpoints` trait);
//! * the generated folder (one module per package, component and class, next to `spec_rt`,
//!   `mod` and `include`).

use std::collections::{HashMap, HashSet};

use crate::ast::Unit;
use crate::gen::names::{camel, screaming, snake, unit_module, UnitKind};
use crate::model::{Endpoint, Model, Package, TypeDeclKind};
use crate::resolve::Workspace;
use ostrog_diag::source::Span;
use ostrog_diag::Diagnostic;

/// Names every package module imports or uses unqualified: a type of the same name would
/// shadow or clash with them.
const RESERVED_TYPES: &[(&str, &str)] = &[
    (
        "String",
        "`alloc::string::String`, imported by every generated module",
    ),
    (
        "Vec",
        "`alloc::vec::Vec`, imported by every generated module",
    ),
    (
        "Result",
        "`Result`, used by every generated encoder and decoder",
    ),
    ("Sized", "`Sized`, used by the generated `dispatch` bound"),
];

/// File stems of the generated folder that are not units.
const RESERVED_MODULES: &[(&str, &str)] = &[
    ("spec_rt", "the transport runtime module `spec_rt`"),
    ("mod", "the generated `mod.rs`"),
    ("include", "the generated `include.rs`"),
];

/// Rust keywords: a unit whose module name is one of them cannot be declared with `mod`.
const KEYWORD_MODULES: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Who claims a Rust name.
#[derive(Clone)]
struct Claim {
    /// How the diagnostic names it: "type `OpenRequest`", "the request type of method `Open`".
    desc: String,
    /// The specification name it comes from and its kind, to skip exact duplicates (already
    /// reported by the checker); `None` for generated and reserved names.
    source: Option<(&'static str, String)>,
    /// Where it is written; `None` for reserved names.
    span: Option<Span>,
}

/// One Rust namespace: names claimed so far.
struct Scope<'a> {
    ws: &'a Workspace,
    /// What the names are, for the help line (e.g. "in the module of package `a.B`").
    place: String,
    taken: HashMap<String, Claim>,
    reported: HashSet<(Option<Span>, Option<Span>)>,
}

impl<'a> Scope<'a> {
    fn new(ws: &'a Workspace, place: impl Into<String>) -> Self {
        Scope {
            ws,
            place: place.into(),
            taken: HashMap::new(),
            reported: HashSet::new(),
        }
    }

    fn reserve(&mut self, rust: &str, desc: &str) {
        self.taken.insert(
            rust.to_string(),
            Claim {
                desc: desc.to_string(),
                source: None,
                span: None,
            },
        );
    }

    /// Claims `rust` for `claim`, reporting a collision with an earlier claim.
    fn claim(&mut self, rust: String, claim: Claim, diags: &mut Vec<Diagnostic>) {
        let Some(first) = self.taken.get(&rust) else {
            self.taken.insert(rust, claim);
            return;
        };
        if first.source.is_some() && first.source == claim.source {
            return; // the same name declared twice: reported as a duplicate already
        }
        let Some(span) = claim.span.or(first.span) else {
            return;
        };
        if !self.reported.insert((first.span, claim.span)) {
            return;
        }
        let (earlier, later) = if claim.span.is_some() {
            (first, &claim)
        } else {
            (&claim, first)
        };
        let whence = match earlier.span {
            Some(s) => {
                let (l, c) = self.ws.sources.line_col(s.file, s.start);
                if s.file == span.file {
                    format!("{} is at line {l}, column {c}", earlier.desc)
                } else {
                    let path = self.ws.sources.path(s.file);
                    format!("{} is at {path}:{l}:{c}", earlier.desc)
                }
            }
            None => format!("the name is taken by {}", earlier.desc),
        };
        diags.push(
            Diagnostic::new(
                span,
                format!(
                    "{} collides with {} (both are `{rust}` in the generated Rust)",
                    later.desc, earlier.desc
                ),
                format!("becomes `{rust}`"),
            )
            .help(format!(
                "{whence}; expected names that stay distinct {} once converted to Rust \
                 (types `UpperCamelCase`, methods, fields and parameters `snake_case`, \
                 constants `SCREAMING_SNAKE_CASE`); rename one of them",
                self.place
            )),
        );
    }
}

fn user(kind: &'static str, name: &str, span: Span) -> Claim {
    Claim {
        desc: format!("{kind} `{name}`"),
        source: Some((kind, name.to_string())),
        span: Some(span),
    }
}

/// Every collision in the model (whose units were read into `ws`).
pub fn check(ws: &Workspace, model: &Model) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for pkg in model.packages.values() {
        package(ws, pkg, &mut diags);
    }
    for c in model.components.values() {
        endpoints(ws, "component", &c.name, &c.endpoints, &mut diags);
    }
    for c in model.classes.values() {
        endpoints(ws, "process class", &c.name, &c.endpoints, &mut diags);
    }
    modules(ws, &mut diags);
    // One report per name: two methods that collide also collide in their message types.
    let mut seen = HashSet::new();
    diags.retain(|d| seen.insert(d.span));
    diags
}

fn package(ws: &Workspace, pkg: &Package, diags: &mut Vec<Diagnostic>) {
    let place = format!("in the module of package `{}`", pkg.name);
    // Type namespace: reserved names, then what the interface generates, then user types,
    // so that a collision is reported on the user's type.
    let mut types = Scope::new(ws, place.clone());
    for (name, desc) in RESERVED_TYPES {
        types.reserve(name, desc);
    }
    if let Some(iface) = &pkg.interface {
        let base = camel(pkg.name.rsplit('.').next().unwrap_or(&pkg.name));
        for (suffix, what) in [
            ("Server", "server trait"),
            ("Proxy", "client proxy"),
            ("Security", "security client"),
        ] {
            types.reserve(
                &format!("{base}{suffix}"),
                &format!("the generated {what} of interface `{}`", pkg.name),
            );
        }
        let mut methods = Scope::new(ws, format!("in interface `{}`", pkg.name));
        for m in &iface.methods {
            methods.claim(snake(&m.name), user("method", &m.name, m.span), diags);
            for (suffix, what) in [
                ("Request", "request"),
                ("Response", "response"),
                ("Error", "error"),
            ] {
                types.claim(
                    format!("{}{suffix}", camel(&m.name)),
                    Claim {
                        desc: format!("the {what} type of method `{}`", m.name),
                        source: Some(("method", m.name.clone())),
                        span: Some(m.span),
                    },
                    diags,
                );
            }
            let mut params = Scope::new(ws, format!("in method `{}`", m.name));
            for p in &m.params {
                params.claim(snake(&p.name), user("parameter", &p.name, p.span), diags);
            }
        }
    }
    let mut consts = Scope::new(ws, place);
    for c in &pkg.consts {
        consts.claim(screaming(&c.name), user("constant", &c.name, c.span), diags);
    }
    for t in &pkg.types {
        types.claim(camel(&t.name), user("type", &t.name, t.span), diags);
        let (fields, what, conv): (_, _, fn(&str) -> String) = match &t.kind {
            TypeDeclKind::Alias(_) => continue,
            TypeDeclKind::Struct(f) => (f, "field", snake),
            TypeDeclKind::Union(f) => (f, "variant", camel),
        };
        let mut scope = Scope::new(ws, format!("in `{}`", t.name));
        for f in fields {
            scope.claim(conv(&f.name), user(what, &f.name, f.span), diags);
        }
    }
}

fn endpoints(
    ws: &Workspace,
    kind: &str,
    name: &str,
    endpoints: &[Endpoint],
    diags: &mut Vec<Diagnostic>,
) {
    // `riid::SCREAMING` and `fn snake` follow the same words, so one scope covers both.
    let mut scope = Scope::new(ws, format!("in {kind} `{name}`"));
    for e in endpoints {
        scope.claim(
            screaming(&e.qualified),
            user("endpoint", &e.qualified, e.span),
            diags,
        );
    }
}

fn modules(ws: &Workspace, diags: &mut Vec<Diagnostic>) {
    let mut scope = Scope::new(ws, "in the generated folder");
    for (name, desc) in RESERVED_MODULES {
        scope.reserve(name, desc);
    }
    let packages: HashSet<String> = ws
        .units
        .iter()
        .filter_map(|l| match &l.unit {
            Unit::Idl(u) => Some(u.name.dotted()),
            _ => None,
        })
        .collect();
    for loaded in &ws.units {
        let (kind, unit, path) = match &loaded.unit {
            Unit::Idl(u) => ("package", UnitKind::Package, &u.name),
            Unit::Cdl(u) => ("component", UnitKind::Component, &u.name),
            Unit::Edl(u) => ("process class", UnitKind::Class, &u.name),
        };
        let dotted = path.dotted();
        // A class or component may share its name with a package (KasperskyOS keeps the
        // two sets of names apart); its module then gets a suffix of its own.
        let rust = unit_module(unit, &dotted, |n| packages.contains(n));
        if KEYWORD_MODULES.contains(&rust.as_str()) {
            diags.push(
                Diagnostic::new(
                    path.span,
                    format!("{kind} `{dotted}` becomes module `{rust}`, a Rust keyword"),
                    "not a Rust module name",
                )
                .help(
                    "expected a dotted name such as `vendor.Name`, whose module is `vendor_name`",
                ),
            );
            continue;
        }
        scope.claim(rust, user(kind, &dotted, path.span), diags);
    }
}
