//! Typing of expressions: literals, operators and operands, and which types may stand
//! for which.

use ostrog_diag::source::Span;

use super::*;
use crate::ast;
use crate::check::Checker;
use crate::model::*;

impl Checker<'_> {
    pub(super) fn literal(&self, kind: ExprKind, ty: Type, span: Span) -> Expr {
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
                // KasperskyOS's names of handle rights, as Ostrog's bits (crate::kos::OCAP).
                other if crate::kos::ocap(other).is_some() => {
                    let bits = self.ocap(p)?;
                    self.literal(
                        ExprKind::Int(bits),
                        Type::Int(Some(ostrog_idl::model::IntType::U32)),
                        span,
                    )
                }
                other => {
                    self.error(
                        p.span,
                        format!("unknown name `{other}`"),
                        "not a value",
                        "expected `src_sid`, `dst_sid`, `message.<param>`, a handle right \
                         `OCAP_*`, a literal or a call"
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

    pub(super) fn operand(&mut self, e: &Expr, want: &Type, op: &str) -> Option<()> {
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
}

/// Whether a value of type `have` may stand where `want` is needed.
pub(super) fn compatible(have: &Type, want: &Type) -> bool {
    match (have, want) {
        (Type::Any, _) | (_, Type::Any) => true,
        (Type::Int(_), Type::Int(_)) => true,
        (a, b) => a == b,
    }
}

pub(super) fn type_name(t: &Type) -> &'static str {
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
