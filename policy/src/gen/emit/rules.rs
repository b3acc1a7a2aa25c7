//! Statements: rule calls of the standard models, `choice` and nested `match`, each emitted
//! as one function (identical bodies once).

use std::fmt::Write as _;

use ostrog_diag::source::Span;

use super::models::{dict_field, is_unit};
use super::*;
use crate::model::*;

impl<'p> Emitter<'p> {
    // ---------------------------------------------------------------- statements

    /// Emits a statement function; returns its name.
    pub(super) fn stmt_fn(&mut self, stmt: &'p Stmt, at: &Place<'_>) -> Gen<String> {
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
        let text = format!(
            "fn NAME(o: &mut Objects, c: &Ctx<'_>, d: &mut Dec) -> Expr<()> {{\n    {body}\n    Ok(())\n}}"
        );
        Ok(self.function("st", text, Some(stmt_span(stmt))))
    }

    /// Code running the statements of `b` (each through its own function, so that a failure
    /// in one does not skip the next).
    pub(super) fn block(&mut self, b: &'p Block, at: &Place<'_>) -> Gen<String> {
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

    pub(super) fn choice(&mut self, ch: &'p Choice, at: &Place<'_>) -> Gen<String> {
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

    pub(super) fn rule(&mut self, call: &'p Call, at: &Place<'_>) -> Gen<String> {
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
                let sid = self.sid_field(call, "sid", at)?;
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
                            return self.fail(
                                states.span,
                                "computed states",
                                "expected a list of state names",
                            );
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
                        return self.fail(
                            call.span,
                            format!("Flow rule `{other}`"),
                            "expected init, fini, enter or allow",
                        );
                    }
                };
                format!("let sid: u64 = {sid}; let call = {flow_call}; let v = {action}; d.rule(&{profile}, call, v);")
            }
            ("HashSet", m) => {
                let sid = self.sid_field(call, "sid", at)?;
                let action = match m {
                    "init" | "fini" => format!("o.{obj}.{m}(sid)"),
                    "add" | "remove" => {
                        let entry = self.hashset_entry(call, at)?;
                        format!("{{ let entry = {entry}; o.{obj}.{m}(sid, entry) }}")
                    }
                    other => {
                        return self.fail(
                            call.span,
                            format!("HashSet rule `{other}`"),
                            "expected init, fini, add or remove",
                        );
                    }
                };
                format!("let sid: u64 = {sid}; let v = {action}; {}", report("v"))
            }
            ("StaticMap", m) => {
                let sid = self.sid_field(call, "sid", at)?;
                let action = match m {
                    "init" | "fini" => format!("o.{obj}.{m}(sid)"),
                    "commit" => format!("o.{obj}.commit_sid(sid)"),
                    "rollback" => format!("o.{obj}.rollback_sid(sid)"),
                    "set" => {
                        let key = self.staticmap_key(call, at)?;
                        let value = self.int_field(call, "value", at)?;
                        let rust = self.staticmap_value(&call.object).map_or("i64", |x| x.0);
                        format!("{{ let key: usize = {key}; let value = math::cast::<{rust}>({value})?; o.{obj}.set(sid, key, value) }}")
                    }
                    other => {
                        return self.fail(
                            call.span,
                            format!("StaticMap rule `{other}`"),
                            "expected init, fini, set, commit or rollback",
                        );
                    }
                };
                format!("let sid: u64 = {sid}; let v = {action}; {}", report("v"))
            }
            ("Mic", m) => {
                let o_name = call.object.clone();
                let action = match m {
                    "call" | "invoke" | "read" | "write" => {
                        let s = self.sid_field(call, "source", at)?;
                        let t = self.sid_field(call, "target", at)?;
                        format!("{{ let source: u64 = {s}; let target: u64 = {t}; o.{obj}.{m}(source, target) }}")
                    }
                    "fini" => {
                        let s = self.sid_field(call, "sid", at)?;
                        format!("o.{obj}.fini({s})")
                    }
                    "execute" => {
                        let image = self.opt_sid(dict_field(arg, "image"), at)?;
                        let target = self.sid_field(call, "target", at)?;
                        let level = self.opt_level(&o_name, dict_field(arg, "level"), at)?;
                        let level_r = self.opt_level(&o_name, dict_field(arg, "levelR"), at)?;
                        format!("{{ let a = mic::ExecuteArgs {{ image: {image}, target: {target}, level: {level}, level_r: {level_r} }}; o.{obj}.execute(a) }}")
                    }
                    "create" | "upgrade" | "downgrade" => {
                        let source = self.sid_field(call, "source", at)?;
                        let target = self.sid_field(call, "target", at)?;
                        let container = self.opt_sid(dict_field(arg, "container"), at)?;
                        let driver = self.sid_field(call, "driver", at)?;
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
                        return self.fail(
                            call.span,
                            format!("Mic rule `{other}`"),
                            "expected a rule of nk/mic.psl",
                        );
                    }
                };
                format!("let v = {action}; {}", report("v"))
            }
            (model, method) => {
                return self.fail(
                    call.span,
                    format!("rule `{method}` of model `{model}`"),
                    "expected a rule of a standard model (nk/*.psl)",
                );
            }
        })
    }
}

/// Where a statement is written.
pub(super) fn stmt_span(stmt: &Stmt) -> Span {
    match stmt {
        Stmt::Rule(call) => call.span,
        Stmt::Match(m) => m.span,
        Stmt::Choice(ch) => ch.span,
    }
}
