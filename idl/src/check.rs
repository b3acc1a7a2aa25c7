//! Semantic checks: from syntax trees to the [`Model`].
//!
//! Names are resolved (unqualified names in the package itself, then in its imports in
//! order; qualified names only in the package itself or an imported one), constants are
//! evaluated with checked 128-bit arithmetic, aliases are followed, and every size is computed
//! through [`crate::layout`] so that an overflow is reported where the type is written.
//! Endpoint indices (RIID) count the endpoints of a class or component in source order,
//! descending depth-first into each component instance where it is declared; method indices
//! (MID) count methods in source order.

use std::collections::{HashMap, HashSet};

use crate::ast::{self, BinOp, Decl, Direction, ExprKind, Section, TypeExpr, TypeExprKind, Unit};
use crate::layout::{message_layout, type_layout, LayoutKind};
use crate::model::*;
use crate::parser::Language;
use crate::resolve::Workspace;
use ostrog_diag::source::Span;
use ostrog_diag::Diagnostic;

/// Largest whole message (header, handle slots, fixed part and arena), as in `ostrog_abi`.
pub const MAX_MESSAGE: u32 = 64 * 1024;
/// Header plus the largest number of handle slots.
const MESSAGE_OVERHEAD: u32 = (ostrog_abi::message::HEADER_SIZE
    + ostrog_abi::message::MAX_HANDLES * ostrog_abi::message::HANDLE_SLOT_SIZE)
    as u32;

/// Checks every unit of the workspace and builds the model.
pub fn check(ws: &Workspace) -> (Model, Vec<Diagnostic>) {
    let mut c = Checker {
        ws,
        diags: Vec::new(),
        consts: HashMap::new(),
        aliases: HashMap::new(),
    };
    let model = c.run();
    c.diags.extend(crate::collide::check(ws, &model));
    (model, c.diags)
}

/// (qualified name, interface, where declared) of one endpoint before numbering.
type FlatEndpoint = (String, String, Span);
/// Flattened endpoints of each component, memoised.
type Flattened = HashMap<String, Memo<Vec<FlatEndpoint>>>;

#[derive(Clone)]
enum Memo<T> {
    InProgress,
    Done(Option<T>),
}

struct Checker<'w> {
    ws: &'w Workspace,
    diags: Vec<Diagnostic>,
    consts: HashMap<(String, String), Memo<(IntType, i128)>>,
    aliases: HashMap<(String, String), Memo<Ty>>,
}

fn has_underscore(s: &str) -> bool {
    s.contains('_')
}

impl<'w> Checker<'w> {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn idl(&self, name: &str) -> Option<&'w ast::Idl> {
        match self.ws.get(Language::Idl, name).map(|l| &l.unit) {
            Some(Unit::Idl(i)) => Some(i),
            _ => None,
        }
    }

    fn run(&mut self) -> Model {
        let ws = self.ws;
        let mut model = Model::default();
        self.import_cycles();
        for loaded in &ws.units {
            if let Unit::Idl(idl) = &loaded.unit {
                let pkg = self.package(idl, loaded.file);
                model.packages.insert(pkg.name.clone(), pkg);
            }
        }
        self.type_cycles(&model);
        if self.diags.is_empty() {
            self.sizes(&model);
        }
        let mut flat: Flattened = HashMap::new();
        for loaded in &ws.units {
            match &loaded.unit {
                Unit::Cdl(cdl) => {
                    let endpoints = self
                        .flatten(&cdl.name.dotted(), &mut flat)
                        .unwrap_or_default();
                    let security = self.security(&cdl.sections, &cdl.name.dotted(), &model);
                    model.components.insert(
                        cdl.name.dotted(),
                        Component {
                            name: cdl.name.dotted(),
                            file: loaded.file,
                            security,
                            endpoints: number(endpoints),
                        },
                    );
                }
                Unit::Edl(edl) => {
                    self.names_in_sections(&edl.sections);
                    let endpoints = self.endpoints_of(&edl.sections, &mut flat);
                    let security = self.security(&edl.sections, &edl.name.dotted(), &model);
                    model.classes.insert(
                        edl.name.dotted(),
                        Class {
                            name: edl.name.dotted(),
                            form: edl.form,
                            file: loaded.file,
                            security,
                            endpoints: number(endpoints),
                        },
                    );
                }
                Unit::Idl(_) => {}
            }
        }
        model
    }

    // ---- IDL ----

    fn import_cycles(&mut self) {
        let ws = self.ws;
        let mut state: HashMap<String, u8> = HashMap::new();
        for loaded in &ws.units {
            if let Unit::Idl(idl) = &loaded.unit {
                let mut stack = Vec::new();
                self.visit_imports(idl, &mut state, &mut stack);
            }
        }
    }

    fn visit_imports(
        &mut self,
        idl: &'w ast::Idl,
        state: &mut HashMap<String, u8>,
        stack: &mut Vec<String>,
    ) {
        let name = idl.name.dotted();
        if state.get(&name).is_some() {
            return;
        }
        state.insert(name.clone(), 1);
        stack.push(name.clone());
        for imp in &idl.imports {
            let target = imp.dotted();
            match state.get(&target) {
                Some(1) => {
                    let start = stack.iter().position(|s| *s == target).unwrap_or(0);
                    let mut cycle: Vec<String> = stack.get(start..).unwrap_or_default().to_vec();
                    cycle.push(target.clone());
                    self.err(
                        Diagnostic::new(imp.span, format!("import cycle: {}", cycle.join(" -> ")), "this import closes the cycle")
                            .help("expected packages to import each other without a cycle; move the shared declarations into a third package"),
                    );
                }
                Some(_) => {}
                None => {
                    if let Some(next) = self.idl(&target) {
                        self.visit_imports(next, state, stack);
                    }
                }
            }
        }
        stack.pop();
        state.insert(name, 2);
    }

    fn package(&mut self, idl: &'w ast::Idl, file: ostrog_diag::FileId) -> Package {
        let pkg = idl.name.dotted();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for d in &idl.decls {
            let n = d.name();
            if let Some(first) = seen.insert(n.text.as_str(), n.span) {
                let (l, c) = self.ws.sources.line_col(first.file, first.start);
                self.err(
                    Diagnostic::new(
                        n.span,
                        format!("`{}` is declared twice in package `{pkg}`", n.text),
                        "second declaration",
                    )
                    .help(format!(
                        "the first declaration is at line {l}, column {c}; expected a unique name"
                    )),
                );
            }
        }
        let mut consts = Vec::new();
        let mut types = Vec::new();
        for d in &idl.decls {
            match d {
                Decl::Const { name, .. } => {
                    if let Some((ty, value)) = self.constant(&pkg, &name.text) {
                        consts.push(Const {
                            name: name.text.clone(),
                            ty,
                            value,
                            span: name.span,
                        });
                    }
                }
                Decl::Typedef { name, .. } => {
                    if let Some(ty) = self.alias(&pkg, &name.text) {
                        types.push(TypeDecl {
                            name: name.text.clone(),
                            kind: TypeDeclKind::Alias(ty),
                            span: name.span,
                        });
                    }
                }
                Decl::Struct { name, fields } | Decl::Union { name, fields } => {
                    let is_struct = matches!(d, Decl::Struct { .. });
                    let what = if is_struct { "struct" } else { "union" };
                    if fields.is_empty() {
                        self.err(
                            Diagnostic::new(
                                name.span,
                                format!("{what} `{}` has no fields", name.text),
                                format!("empty {what}"),
                            )
                            .help(format!(
                                "expected at least one `Type name;` inside the {what}"
                            )),
                        );
                    }
                    let defs = self.fields(idl, fields, what);
                    types.push(TypeDecl {
                        name: name.text.clone(),
                        kind: if is_struct {
                            TypeDeclKind::Struct(defs)
                        } else {
                            TypeDeclKind::Union(defs)
                        },
                        span: name.span,
                    });
                }
            }
        }
        let interface = idl.interface.as_ref().map(|i| self.interface(idl, i));
        Package {
            name: pkg,
            file,
            imports: idl.imports.iter().map(|p| p.dotted()).collect(),
            consts,
            types,
            interface,
        }
    }

    fn fields(&mut self, idl: &'w ast::Idl, fields: &'w [ast::Field], what: &str) -> Vec<FieldDef> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for f in fields {
            if !seen.insert(f.name.text.as_str()) {
                self.err(
                    Diagnostic::new(
                        f.name.span,
                        format!("{what} field `{}` is declared twice", f.name.text),
                        "duplicate field",
                    )
                    .help("expected every field name to be unique"),
                );
            }
            if let Some(ty) = self.ty(idl, &f.ty) {
                out.push(FieldDef {
                    name: f.name.text.clone(),
                    ty,
                    span: f.name.span,
                });
            }
        }
        out
    }

    fn interface(&mut self, idl: &'w ast::Idl, iface: &'w ast::Interface) -> Interface {
        let mut methods = Vec::new();
        let mut seen = HashSet::new();
        for (mid, m) in iface.methods.iter().enumerate() {
            if has_underscore(&m.name.text) {
                self.err(
                    Diagnostic::new(
                        m.name.span,
                        format!("method name `{}` contains `_`", m.name.text),
                        "`_` is not allowed here",
                    )
                    .help("expected a method name of letters and digits only, e.g. `GetValue`"),
                );
            }
            if !seen.insert(m.name.text.as_str()) {
                self.err(
                    Diagnostic::new(
                        m.name.span,
                        format!("method `{}` is declared twice", m.name.text),
                        "duplicate method",
                    )
                    .help("expected method names to be unique within the interface"),
                );
            }
            let mut params = Vec::new();
            let mut last = Direction::In;
            let mut names = HashSet::new();
            for p in &m.params {
                if p.dir < last {
                    self.err(
                        Diagnostic::new(
                            p.dir_span,
                            format!(
                                "`{}` parameter `{}` after an `{}` parameter",
                                p.dir.keyword(),
                                p.name.text,
                                last.keyword()
                            ),
                            "out of order",
                        )
                        .help("expected all `in` parameters first, then `out`, then `error`"),
                    );
                }
                last = last.max(p.dir);
                if !names.insert(p.name.text.as_str()) {
                    self.err(
                        Diagnostic::new(
                            p.name.span,
                            format!("parameter `{}` is declared twice", p.name.text),
                            "duplicate parameter",
                        )
                        .help("expected parameter names to be unique within the method"),
                    );
                }
                if let Some(ty) = self.ty(idl, &p.ty) {
                    params.push(ParamDef {
                        name: p.name.text.clone(),
                        dir: p.dir,
                        ty,
                        span: p.name.span,
                    });
                }
            }
            methods.push(MethodDef {
                name: m.name.text.clone(),
                mid: u32::try_from(mid).unwrap_or(u32::MAX),
                params,
                span: m.name.span,
            });
        }
        Interface { methods }
    }

    /// Finds the package declaring `path` (its last segment) as seen from `idl`.
    fn scope(
        &mut self,
        idl: &'w ast::Idl,
        path: &ast::Path,
        want_type: bool,
    ) -> Option<(&'w ast::Idl, &'w Decl)> {
        let name = path.last();
        let find = |p: &'w ast::Idl| {
            p.decls
                .iter()
                .find(|d| d.name().text == name)
                .map(|d| (p, d))
        };
        let what = if want_type { "type" } else { "constant" };
        if path.segments.len() == 1 {
            let mut candidates = vec![idl];
            candidates.extend(idl.imports.iter().filter_map(|i| self.idl(&i.dotted())));
            if let Some(found) = candidates.into_iter().find_map(find) {
                return Some(found);
            }
            let hint = if want_type {
                "expected a built-in type (SInt8..SInt64, UInt8..UInt64, UIntSize, UIntPtr, Handle, bytes<N>, string<N>, array<T, N>, sequence<T, N>) or a type declared in this package or an imported one"
            } else {
                "expected a constant declared in this package or an imported one"
            };
            self.err(
                Diagnostic::new(
                    path.span,
                    format!("unknown {what} `{name}`"),
                    format!("no such {what}"),
                )
                .help(hint),
            );
            return None;
        }
        let pkg_segments: Vec<&str> = path
            .segments
            .iter()
            .take(path.segments.len() - 1)
            .map(|s| s.text.as_str())
            .collect();
        let pkg = pkg_segments.join(".");
        let pkg_span = path
            .segments
            .first()
            .map(|f| f.span)
            .unwrap_or(path.span)
            .to(path
                .segments
                .get(pkg_segments.len().saturating_sub(1))
                .map_or(path.span, |s| s.span));
        let imported = pkg == idl.name.dotted() || idl.imports.iter().any(|i| i.dotted() == pkg);
        if !imported {
            self.err(
                Diagnostic::new(
                    pkg_span,
                    format!("package `{pkg}` is not imported"),
                    "not imported",
                )
                .help(format!("expected `import {pkg}` after the `package` line")),
            );
            return None;
        }
        let Some(target) = self.idl(&pkg) else {
            return None; // already reported as an unknown package by the loader
        };
        match find(target) {
            Some(found) => Some(found),
            None => {
                self.err(
                    Diagnostic::new(
                        path.span,
                        format!("unknown {what} `{name}` in package `{pkg}`"),
                        format!("no such {what}"),
                    )
                    .help(format!("expected a {what} declared in `{pkg}`")),
                );
                None
            }
        }
    }

    fn ty(&mut self, idl: &'w ast::Idl, t: &'w TypeExpr) -> Option<Ty> {
        match &t.kind {
            TypeExprKind::Named(path) => {
                if path.segments.len() == 1 {
                    let n = path.last();
                    if let Some(i) = IntType::from_name(n) {
                        return Some(Ty::Int(i));
                    }
                    if n == "Handle" {
                        return Some(Ty::Handle(None));
                    }
                }
                let (pkg, decl) = self.scope(idl, path, true)?;
                let package = pkg.name.dotted();
                let r = TypeRef {
                    package: package.clone(),
                    name: decl.name().text.clone(),
                };
                match decl {
                    Decl::Struct { .. } => Some(Ty::Struct(r)),
                    Decl::Union { .. } => Some(Ty::Union(r)),
                    Decl::Typedef { .. } => self.alias(&package, &r.name),
                    Decl::Const { .. } => {
                        self.err(
                            Diagnostic::new(
                                path.span,
                                format!("`{}` is a constant, not a type", path.dotted()),
                                "not a type",
                            )
                            .help("expected a type name here"),
                        );
                        None
                    }
                }
            }
            TypeExprKind::Handle(path) => {
                let name = path.dotted();
                match self.idl(&name) {
                    Some(target) if target.interface.is_some() => Some(Ty::Handle(Some(name))),
                    Some(_) => {
                        self.err(
                            Diagnostic::new(path.span, format!("package `{name}` has no interface"), "not an interface")
                                .help("expected `handle<I>` to name a package that declares an `interface { ... }`"),
                        );
                        None
                    }
                    None => None, // reported by the loader
                }
            }
            TypeExprKind::Bytes(e) => Some(Ty::Bytes(self.bound(idl, e, "bytes")?)),
            TypeExprKind::String(e) => Some(Ty::String(self.bound(idl, e, "string")?)),
            TypeExprKind::Array(elem, e) => {
                let elem = self.ty(idl, elem);
                let n = self.bound(idl, e, "array")?;
                Some(Ty::Array(Box::new(elem?), n))
            }
            TypeExprKind::Sequence(elem, e) => {
                let elem = self.ty(idl, elem);
                let n = self.bound(idl, e, "sequence")?;
                Some(Ty::Sequence(Box::new(elem?), n))
            }
        }
    }

    fn bound(&mut self, idl: &'w ast::Idl, e: &'w ast::Expr, what: &str) -> Option<u32> {
        let v = self.eval(idl, e)?;
        match u32::try_from(v) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                self.err(
                    Diagnostic::new(
                        e.span,
                        format!("{what} bound {v} is out of range"),
                        "bad bound",
                    )
                    .help(format!("expected a bound from 1 to {}", u32::MAX)),
                );
                None
            }
        }
    }

    fn alias(&mut self, pkg: &str, name: &str) -> Option<Ty> {
        let key = (pkg.to_string(), name.to_string());
        match self.aliases.get(&key) {
            Some(Memo::Done(t)) => return t.clone(),
            Some(Memo::InProgress) => {
                let span = self.decl_span(pkg, name);
                if let Some(span) = span {
                    self.err(
                        Diagnostic::new(
                            span,
                            format!("typedef `{name}` refers to itself"),
                            "recursive typedef",
                        )
                        .help("expected a typedef to name an existing type"),
                    );
                }
                self.aliases.insert(key, Memo::Done(None));
                return None;
            }
            None => {}
        }
        self.aliases.insert(key.clone(), Memo::InProgress);
        let idl = self.idl(pkg);
        let result = idl.and_then(|idl| {
            let ty = idl.decls.iter().find_map(|d| match d {
                Decl::Typedef { ty, name: n } if n.text == name => Some(ty),
                _ => None,
            })?;
            self.ty(idl, ty)
        });
        if let Some(Memo::Done(None)) = self.aliases.get(&key) {
            return None;
        }
        self.aliases.insert(key, Memo::Done(result.clone()));
        result
    }

    fn decl_span(&self, pkg: &str, name: &str) -> Option<Span> {
        self.idl(pkg)?
            .decls
            .iter()
            .find(|d| d.name().text == name)
            .map(|d| d.name().span)
    }

    fn constant(&mut self, pkg: &str, name: &str) -> Option<(IntType, i128)> {
        let key = (pkg.to_string(), name.to_string());
        match self.consts.get(&key) {
            Some(Memo::Done(v)) => return *v,
            Some(Memo::InProgress) => {
                if let Some(span) = self.decl_span(pkg, name) {
                    self.err(
                        Diagnostic::new(
                            span,
                            format!("constant `{name}` depends on itself"),
                            "recursive constant",
                        )
                        .help("expected a value computed from literals and other constants"),
                    );
                }
                self.consts.insert(key, Memo::Done(None));
                return None;
            }
            None => {}
        }
        self.consts.insert(key.clone(), Memo::InProgress);
        let result = self.idl(pkg).and_then(|idl| {
            let (ty, value) = idl.decls.iter().find_map(|d| match d {
                Decl::Const { ty, name: n, value } if n.text == name => Some((ty, value)),
                _ => None,
            })?;
            let declared = self.ty(idl, ty);
            let v = self.eval(idl, value)?;
            let int = match declared? {
                Ty::Int(i) => i,
                other => {
                    self.err(
                        Diagnostic::new(
                            ty.span,
                            format!("constant of type `{}`", other.idl()),
                            "not an integer type",
                        )
                        .help("expected an integer type such as `UInt32`"),
                    );
                    return None;
                }
            };
            let (lo, hi) = int.range();
            if v < lo || v > hi {
                self.err(
                    Diagnostic::new(
                        value.span,
                        format!("value {v} does not fit in `{}`", int.idl_name()),
                        "out of range",
                    )
                    .help(format!("expected a value from {lo} to {hi}")),
                );
                return None;
            }
            Some((int, v))
        });
        if let Some(Memo::Done(None)) = self.consts.get(&key) {
            return None;
        }
        self.consts.insert(key, Memo::Done(result));
        result
    }

    fn eval(&mut self, idl: &'w ast::Idl, e: &'w ast::Expr) -> Option<i128> {
        let overflow = |e: &ast::Expr| {
            Diagnostic::new(e.span, "constant expression overflows", "overflows")
                .help("expected a value that fits in 128-bit signed arithmetic")
        };
        match &e.kind {
            ExprKind::Int(v) => match i128::try_from(*v) {
                Ok(v) => Some(v),
                Err(_) => {
                    self.err(overflow(e));
                    None
                }
            },
            ExprKind::Const(path) => {
                let (pkg, decl) = self.scope(idl, path, false)?;
                if !matches!(decl, Decl::Const { .. }) {
                    self.err(
                        Diagnostic::new(
                            path.span,
                            format!("`{}` is a type, not a constant", path.dotted()),
                            "not a constant",
                        )
                        .help("expected a number or a constant name"),
                    );
                    return None;
                }
                let pkg = pkg.name.dotted();
                self.constant(&pkg, path.last()).map(|(_, v)| v)
            }
            ExprKind::Neg(inner) => {
                let v = self.eval(idl, inner)?;
                let r = v.checked_neg();
                if r.is_none() {
                    self.err(overflow(e));
                }
                r
            }
            ExprKind::Binary(op, l, r) => {
                let a = self.eval(idl, l);
                let b = self.eval(idl, r);
                let (a, b) = (a?, b?);
                let result = match op {
                    BinOp::Add => a.checked_add(b),
                    BinOp::Sub => a.checked_sub(b),
                    BinOp::Mul => a.checked_mul(b),
                    BinOp::Shl => u32::try_from(b)
                        .ok()
                        .filter(|&s| s < 127)
                        .and_then(|s| a.checked_mul(1i128 << s)),
                    BinOp::Pow => u32::try_from(b).ok().and_then(|p| a.checked_pow(p)),
                };
                if result.is_none() {
                    let d = if matches!(op, BinOp::Shl | BinOp::Pow) && b < 0 {
                        Diagnostic::new(r.span, "negative shift or exponent", "negative")
                            .help("expected a shift amount or exponent of zero or more")
                    } else {
                        overflow(e)
                    };
                    self.err(d);
                }
                result
            }
        }
    }

    fn type_cycles(&mut self, model: &Model) {
        let mut state: HashMap<TypeRef, u8> = HashMap::new();
        for pkg in model.packages.values() {
            for t in &pkg.types {
                let r = TypeRef {
                    package: pkg.name.clone(),
                    name: t.name.clone(),
                };
                let mut stack = Vec::new();
                self.visit_type(model, r, &mut state, &mut stack);
            }
        }
    }

    fn visit_type(
        &mut self,
        model: &Model,
        r: TypeRef,
        state: &mut HashMap<TypeRef, u8>,
        stack: &mut Vec<TypeRef>,
    ) {
        if state.contains_key(&r) {
            return;
        }
        let Some(decl) = model
            .packages
            .get(&r.package)
            .and_then(|p| p.type_decl(&r.name))
        else {
            return;
        };
        state.insert(r.clone(), 1);
        stack.push(r.clone());
        let mut refs = Vec::new();
        match &decl.kind {
            TypeDeclKind::Alias(t) => collect_refs(t, &mut refs),
            TypeDeclKind::Struct(fs) | TypeDeclKind::Union(fs) => {
                fs.iter().for_each(|f| collect_refs(&f.ty, &mut refs))
            }
        }
        for next in refs {
            match state.get(&next) {
                Some(1) => {
                    let start = stack.iter().position(|s| *s == next).unwrap_or(0);
                    let mut names: Vec<String> = stack
                        .get(start..)
                        .unwrap_or_default()
                        .iter()
                        .map(|t| t.name.clone())
                        .collect();
                    names.push(next.name.clone());
                    let span = model
                        .packages
                        .get(&next.package)
                        .and_then(|p| p.type_decl(&next.name))
                        .map_or(decl.span, |d| d.span);
                    self.err(
                        Diagnostic::new(
                            span,
                            format!(
                                "type `{}` contains itself: {}",
                                next.name,
                                names.join(" -> ")
                            ),
                            "recursive type",
                        )
                        .help("expected types without cycles (messages have a bounded size)"),
                    );
                }
                Some(_) => {}
                None => self.visit_type(model, next, state, stack),
            }
        }
        stack.pop();
        state.insert(r, 2);
    }

    /// Sizes of every declared type and message, with overflow reported at the declaration.
    fn sizes(&mut self, model: &Model) {
        for pkg in model.packages.values() {
            for t in &pkg.types {
                let ty = Ty::Struct(TypeRef {
                    package: pkg.name.clone(),
                    name: t.name.clone(),
                });
                match type_layout(model, &ty) {
                    Err(e) => self.err(
                        Diagnostic::new(
                            t.span,
                            format!("size of `{}` overflows: {}", t.name, e.0),
                            "too large",
                        )
                        .help("expected sizes and bounds whose byte counts fit in 32 bits"),
                    ),
                    Ok(l) => self.zero_sized_elements(&l, t.span),
                }
            }
            let Some(iface) = &pkg.interface else {
                continue;
            };
            for m in &iface.methods {
                for dir in [Direction::In, Direction::Out, Direction::Error] {
                    let params = m.params_of(dir).map(|p| (p.name.as_str(), &p.ty));
                    match message_layout(model, params) {
                        Err(e) => self.err(
                            Diagnostic::new(
                                m.span,
                                format!("size of a `{}` message overflows: {}", m.name, e.0),
                                "too large",
                            )
                            .help("expected sizes and bounds whose byte counts fit in 32 bits"),
                        ),
                        Ok(l) => {
                            for p in &l.params {
                                let span = m
                                    .params
                                    .iter()
                                    .find(|x| x.name == p.name)
                                    .map_or(m.span, |x| x.span);
                                self.zero_sized_elements(&p.layout, span);
                            }
                            let limit = MAX_MESSAGE - MESSAGE_OVERHEAD;
                            if l.fixed_size > limit {
                                self.err(
                                    Diagnostic::new(
                                        m.span,
                                        format!(
                                            "the fixed part of a `{}` {} message is {} bytes, more than fits in a message",
                                            m.name,
                                            match dir {
                                                Direction::In => "request",
                                                Direction::Out => "response",
                                                Direction::Error => "error",
                                            },
                                            l.fixed_size
                                        ),
                                        "too large",
                                    )
                                    .help(format!("expected at most {limit} bytes of fixed parameters; use a sequence for bulk data")),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn zero_sized_elements(&mut self, l: &crate::layout::TypeLayout, span: Span) {
        match &l.kind {
            LayoutKind::Sequence { element, .. } => {
                if element.size == 0 {
                    self.err(
                        Diagnostic::new(
                            span,
                            "sequence of zero-sized elements",
                            "zero-sized elements",
                        )
                        .help("expected an element type that occupies at least one byte"),
                    );
                }
                self.zero_sized_elements(element, span);
            }
            LayoutKind::Array { element, .. } => self.zero_sized_elements(element, span),
            LayoutKind::Struct { .. } | LayoutKind::Union { .. } => {}
            LayoutKind::Int(_)
            | LayoutKind::Handle { .. }
            | LayoutKind::Bytes { .. }
            | LayoutKind::String { .. } => {}
        }
    }

    // ---- EDL / CDL ----

    fn names_in_sections(&mut self, sections: &'w [Section]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for s in sections {
            let (entries, what) = match s {
                Section::Endpoints { entries, .. } => (entries, "endpoint"),
                Section::Components { entries, .. } => (entries, "instance"),
                Section::Security(_) => continue,
            };
            for b in entries {
                if has_underscore(&b.name.text) {
                    self.err(
                        Diagnostic::new(
                            b.name.span,
                            format!("{what} name `{}` contains `_`", b.name.text),
                            "`_` is not allowed here",
                        )
                        .help(format!(
                            "expected an {what} name of letters and digits only"
                        )),
                    );
                }
                if seen.insert(b.name.text.as_str(), b.name.span).is_some() {
                    self.err(
                        Diagnostic::new(
                            b.name.span,
                            format!("`{}` is declared twice", b.name.text),
                            "duplicate name",
                        )
                        .help("expected endpoint and instance names to be unique within the file"),
                    );
                }
            }
        }
    }

    fn endpoints_of(&mut self, sections: &'w [Section], flat: &mut Flattened) -> Vec<FlatEndpoint> {
        let mut out = Vec::new();
        for s in sections {
            match s {
                Section::Endpoints { entries, .. } => {
                    for b in entries {
                        if self.ws.get(Language::Idl, &b.target.dotted()).is_some() {
                            out.push((b.name.text.clone(), b.target.dotted(), b.name.span));
                        }
                    }
                }
                Section::Components { entries, .. } => {
                    for b in entries {
                        let target = b.target.dotted();
                        if self.ws.get(Language::Cdl, &target).is_none() {
                            continue; // reported by the loader
                        }
                        match self.flatten(&target, flat) {
                            Some(inner) => {
                                out.extend(inner.into_iter().map(|(q, i, _)| {
                                    (format!("{}.{q}", b.name.text), i, b.name.span)
                                }))
                            }
                            None => {
                                if let Some(Memo::InProgress) = flat.get(&target) {
                                    self.err(
                                        Diagnostic::new(
                                            b.target.span,
                                            format!("component `{target}` contains itself"),
                                            "recursive component",
                                        )
                                        .help("expected nested components to form a tree"),
                                    );
                                }
                            }
                        }
                    }
                }
                Section::Security(_) => {}
            }
        }
        out
    }

    fn flatten(&mut self, name: &str, flat: &mut Flattened) -> Option<Vec<FlatEndpoint>> {
        match flat.get(name) {
            Some(Memo::Done(v)) => return v.clone(),
            Some(Memo::InProgress) => return None,
            None => {}
        }
        let Some(Unit::Cdl(cdl)) = self.ws.get(Language::Cdl, name).map(|l| &l.unit) else {
            return None;
        };
        flat.insert(name.to_string(), Memo::InProgress);
        let last = cdl.name.last();
        if has_underscore(last) {
            self.err(
                Diagnostic::new(
                    cdl.name.span,
                    format!("component name `{last}` contains `_`"),
                    "`_` is not allowed here",
                )
                .help("expected a component name of letters and digits only"),
            );
        }
        self.names_in_sections(&cdl.sections);
        let v = self.endpoints_of(&cdl.sections, flat);
        flat.insert(name.to_string(), Memo::Done(Some(v.clone())));
        Some(v)
    }

    fn security(&mut self, sections: &'w [Section], owner: &str, model: &Model) -> Option<String> {
        let mut found: Option<String> = None;
        for s in sections {
            let Section::Security(p) = s else { continue };
            let name = p.dotted();
            if found.is_some() {
                self.err(
                    Diagnostic::new(
                        p.span,
                        "second `security` section",
                        "second security interface",
                    )
                    .help("expected at most one security interface per class or component"),
                );
                continue;
            }
            found = Some(name.clone());
            let Some(pkg) = model.packages.get(&name) else {
                continue;
            };
            let Some(iface) = &pkg.interface else {
                self.err(
                    Diagnostic::new(
                        p.span,
                        format!("package `{name}` has no interface"),
                        "not an interface",
                    )
                    .help("expected a security interface: a package with an `interface { ... }`"),
                );
                continue;
            };
            for m in &iface.methods {
                for par in m.params.iter().filter(|x| x.dir != Direction::In) {
                    self.err(
                        Diagnostic::new(
                            par.span,
                            format!(
                                "`{}` parameter `{}` in method `{}` of security interface `{name}`",
                                par.dir.keyword(),
                                par.name,
                                m.name
                            ),
                            "security methods take only `in` parameters",
                        )
                        .help(format!("`{owner}` uses `{name}` as its security interface; expected only `in` parameters")),
                    );
                }
            }
        }
        found
    }
}

fn collect_refs(t: &Ty, out: &mut Vec<TypeRef>) {
    match t {
        Ty::Struct(r) | Ty::Union(r) => out.push(r.clone()),
        Ty::Array(e, _) | Ty::Sequence(e, _) => collect_refs(e, out),
        Ty::Int(_) | Ty::Handle(_) | Ty::Bytes(_) | Ty::String(_) => {}
    }
}

fn number(endpoints: Vec<FlatEndpoint>) -> Vec<Endpoint> {
    endpoints
        .into_iter()
        .enumerate()
        .map(|(i, (qualified, interface, span))| Endpoint {
            qualified,
            riid: u32::try_from(i).unwrap_or(u32::MAX),
            interface,
            span,
        })
        .collect()
}
