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
//!
//! The rooms: [`selectors`] (selectors to targets), [`calls`] (model calls and their
//! arguments), [`typing`] (expressions and their types), [`message`] (message paths), and
//! this module (bindings and their statements).

mod calls;
mod message;
mod selectors;
mod typing;

use message::{message_chain, WalkError};
use typing::{compatible, type_name};

use crate::ast::{self, EventKind};
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

    /// Checks a block: its audit profile and each statement.
    pub(super) fn block(&mut self, b: &ast::Block, scope: &Scope) -> Block {
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
}
