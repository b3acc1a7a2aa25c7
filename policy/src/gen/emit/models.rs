//! Model calls inside expressions (`flow.query`, `re.match`, `set.contains`, `math.*` ...)
//! and the fixed-width keys of HashSet and StaticMap.

use std::fmt::Write as _;

use ostrog_idl::layout::LayoutKind;
use ostrog_idl::model::IntType;

use super::*;
use crate::model::*;

pub(super) fn dict_field<'p>(e: &'p Expr, name: &str) -> Option<&'p Expr> {
    match &e.kind {
        ExprKind::Dict(entries) => entries.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        _ => None,
    }
}

pub(super) fn is_unit(e: Option<&Expr>) -> bool {
    e.is_none_or(|e| matches!(e.kind, ExprKind::Unit))
}

/// The Rust type of a declared integer or Boolean type (`type Entry = UInt32`).
pub(super) fn rust_scalar(t: &TypeExpr) -> Option<(&'static str, Option<IntType>)> {
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
    pub(super) fn call_ref(&self, call: &Call, detail: &str) -> String {
        format!(
            "Call {{ object: {}, method: {}, detail: {detail} }}",
            lit_str(&call.object),
            lit_str(&call.method)
        )
    }

    pub(super) fn arg_field(&mut self, call: &'p Call, name: &str) -> Gen<&'p Expr> {
        match dict_field(&call.arg, name) {
            Some(e) => Ok(e),
            None => self.fail(
                call.span,
                format!("`{}.{}` without `{name}`", call.object, call.method),
                format!("expected a `{name}` field"),
            ),
        }
    }

    /// The SID given by field `name` of the call's argument.
    pub(super) fn sid_field(&mut self, call: &'p Call, name: &str, at: &Place<'_>) -> Gen<String> {
        let a = self.arg_field(call, name)?;
        self.sid(a, at)
    }

    /// The integer given by field `name` of the call's argument.
    pub(super) fn int_field(&mut self, call: &'p Call, name: &str, at: &Place<'_>) -> Gen<String> {
        let a = self.arg_field(call, name)?;
        self.int(a, at)
    }

    pub(super) fn flow_state(&mut self, object: &str, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
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

    pub(super) fn mic_level(&mut self, object: &str, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        let Some(ObjectConfig::Mic { levels, .. }) = self.object(object).map(|o| &o.config) else {
            return self.fail(
                e.span,
                "a level for an object that is not a Mic object",
                "expected a Mic object",
            );
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
                                return self.fail(
                                    it.span,
                                    "a computed category",
                                    "expected category names as text literals",
                                );
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

    pub(super) fn opt_level(
        &mut self,
        object: &str,
        e: Option<&'p Expr>,
        at: &Place<'_>,
    ) -> Gen<String> {
        match e {
            Some(x) if !is_unit(Some(x)) => Ok(format!("Some({})", self.mic_level(object, x, at)?)),
            _ => Ok("None".into()),
        }
    }

    pub(super) fn opt_sid(&mut self, e: Option<&'p Expr>, at: &Place<'_>) -> Gen<String> {
        match e {
            Some(x) if !is_unit(Some(x)) => Ok(format!("Some({})", self.sid(x, at)?)),
            _ => Ok("None".into()),
        }
    }

    pub(super) fn list_items(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<ListVal<'p>> {
        match self.expr(e, at)? {
            Val::List(l) => Ok(l),
            _ => self.fail(e.span, "not a list", "expected a list"),
        }
    }

    pub(super) fn call_expr(&mut self, call: &'p Call, at: &Place<'_>) -> Gen<Val<'p>> {
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
                    return self.fail(
                        call.span,
                        "`pred.empty` of this value",
                        "expected a text or a list",
                    );
                }
            },
            ("Bool", m @ ("all" | "any")) => {
                let ListVal::Lit(items) = self.list_items(arg, at)? else {
                    return self.fail(
                        call.span,
                        "a message list of Booleans",
                        "expected a list literal",
                    );
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
                    return self.fail(
                        call.span,
                        "`bool.cond` without `if`, `then` and `else`",
                        "expected all three fields",
                    );
                };
                let i = self.boolean(i, at)?;
                let (t, gt) = self.scalar(t, at)?;
                let (e2, ge) = self.scalar(e, at)?;
                let g = match (&gt, &ge) {
                    (G::Int(a), G::Int(b)) => G::Int(common(*a, *b)),
                    (a, b) if a == b => gt.clone(),
                    _ => {
                        return self.fail(
                            call.span,
                            "`then` and `else` of different kinds",
                            "expected two values of one kind",
                        );
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
                            return self.fail(
                                call.span,
                                "a sum of non-numbers",
                                "expected a list of integers",
                            );
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
                        return self.fail(
                            call.span,
                            format!("`math.{other}`"),
                            "expected a method of nk/basic.psl",
                        );
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
                    return self.fail(
                        call.span,
                        "`size` of this value",
                        "expected a text or a list",
                    );
                }
            },
            ("Regex", "match") => {
                let text = self.arg_field(call, "text")?;
                let pattern = self.arg_field(call, "pattern")?;
                let ExprKind::Text(p) = &pattern.kind else {
                    return self.fail(pattern.span, "a computed pattern", "expected the pattern as a text literal (patterns are compiled when the policy is built)");
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
                let sid = self.sid_field(call, "sid", at)?;
                let call_code =
                    self.call_ref(call, &format!("CallDetail::Flow(o.{obj}.state_of(sid))"));
                Val::Code(format!("{{ let sid: u64 = {sid}; d.expr(&{profile}, {call_code}, o.{obj}.query(sid))? }}"), G::State(call.object.clone()))
            }
            ("HashSet", "contains") => {
                let sid = self.sid_field(call, "sid", at)?;
                let entry = self.hashset_entry(call, at)?;
                let call_code = self.call_ref(call, "CallDetail::Plain");
                Val::Code(format!("{{ let sid: u64 = {sid}; let entry = {entry}; d.expr(&{profile}, {call_code}, o.{obj}.contains(sid, entry))? }}"), G::Bool)
            }
            ("StaticMap", m @ ("get" | "get_uncommited")) => {
                let sid = self.sid_field(call, "sid", at)?;
                let key = self.staticmap_key(call, at)?;
                let call_code = self.call_ref(call, "CallDetail::Plain");
                let t = self
                    .staticmap_value(&call.object)
                    .map(|x| x.1)
                    .unwrap_or(Some(IntType::S64));
                Val::Code(format!("{{ let sid: u64 = {sid}; let key: usize = {key}; i128::from(d.expr(&{profile}, {call_code}, o.{obj}.{m}(sid, key))?) }}"), G::Int(t))
            }
            ("Mic", "query_level") => {
                let sid = self.sid_field(call, "source", at)?;
                let call_code = self.call_ref(call, "CallDetail::Plain");
                Val::Code(format!("{{ let sid: u64 = {sid}; d.expr(&{profile}, {call_code}, o.{obj}.query_level(sid))? }}"), G::Level(call.object.clone()))
            }
            (model, method) => {
                return self.fail(
                    call.span,
                    format!("expression `{method}` of model `{model}`"),
                    "expected an expression of a standard model (nk/*.psl)",
                );
            }
        })
    }

    pub(super) fn hashset_entry(&mut self, call: &'p Call, at: &Place<'_>) -> Gen<String> {
        let e = self.arg_field(call, "entry")?;
        let Some(ty) = self.hashset_type(&call.object) else {
            return self.fail(
                call.span,
                "HashSet entries of this type",
                "expected `type Entry = <integer type>`, `Boolean`, or a dictionary or tuple of them",
            );
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
    pub(super) fn entry_key(
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
                        return self.fail(
                            e.span,
                            format!("an entry without field `{name}`"),
                            format!("expected a dictionary literal `{}`", ty.psl()),
                        );
                    };
                    self.entry_key(ft, v, at, offset, out)?;
                }
                return Ok(());
            }
            EntryType::Tuple(items) => {
                let ExprKind::List(values) = &e.kind else {
                    return self.fail(
                        e.span,
                        "an entry that is not a list literal",
                        format!("expected a list literal `{}`", ty.psl()),
                    );
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
    pub(super) fn hashset_type(&self, object: &str) -> Option<EntryType> {
        EntryType::of_object(self.object(object)?).ok()
    }

    /// The Rust type of a HashSet object's entries.
    pub(super) fn hashset_rust(&self, object: &str) -> String {
        match self.hashset_type(object) {
            Some(EntryType::Bool) => "bool".to_string(),
            Some(EntryType::Int(t)) => reader(t).to_string(),
            Some(t) => format!("[u8; {}]", t.width()),
            None => "u64".to_string(),
        }
    }

    pub(super) fn staticmap_value(&self, object: &str) -> Option<(&'static str, Option<IntType>)> {
        let o = self.object(object)?;
        match o.types.iter().find(|(n, _)| n == "Value") {
            Some((_, t)) => rust_scalar(t).filter(|x| x.1.is_some()),
            None => Some(("i64", Some(IntType::S64))),
        }
    }

    /// The keys of a StaticMap object, as bytes (a `Text` key is its UTF-8).
    pub(super) fn staticmap_keys(&self, object: &str) -> Vec<Vec<u8>> {
        match self.object(object).map(|o| &o.config) {
            Some(ObjectConfig::StaticMap { keys, .. }) => {
                keys.iter().map(|(k, _)| k.as_bytes().to_vec()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Code of the key index of a StaticMap call: a `Text` or a `List<UInt8>` key, resolved
    /// at build time when it is a literal.
    pub(super) fn staticmap_key(&mut self, call: &'p Call, at: &Place<'_>) -> Gen<String> {
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
            _ => self.fail(
                e.span,
                "a StaticMap key of this type",
                "expected a `Text` or a `List<UInt8>` key",
            ),
        }
    }
}
