//! Expressions: PSL values as Rust code with a static type (numbers checked in the range
//! of their PSL type, Booleans, texts, SIDs, states and levels).

use std::fmt::Write as _;

use ostrog_diag::source::Span;
use ostrog_idl::model::IntType;

use super::*;
use crate::model::*;

impl<'p> Emitter<'p> {
    pub(super) fn expr(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<Val<'p>> {
        Ok(match &e.kind {
            ExprKind::Int(v) => Val::Code(format!("{v}i128"), G::Int(None)),
            ExprKind::Text(t) => Val::Code(lit_str(t), G::Text),
            ExprKind::Bool(b) => Val::Code(format!("{b}"), G::Bool),
            ExprKind::Unit => Val::Code("()".into(), G::Unit),
            ExprKind::List(items) => Val::List(ListVal::Lit(items)),
            ExprKind::Dict(entries) => Val::Dict(entries),
            ExprKind::SrcSid => Val::Code("c.ev.src_sid".into(), G::Sid),
            ExprKind::DstSid => Val::Code("c.ev.dst_sid".into(), G::Sid),
            ExprKind::Message(path) => return self.message(path, e.span, at),
            ExprKind::Field(inner, name) => {
                let v = self.expr(inner, at)?;
                match v {
                    Val::Dict(entries) => match entries.iter().find(|(k, _)| k == name) {
                        Some((_, x)) => return self.expr(x, at),
                        None => Val::Code("return Err(ExprError::UnknownKey)".into(), G::Unit),
                    },
                    _ => {
                        return self.fail(
                            e.span,
                            format!("field `{name}` of a computed value"),
                            "expected a field of a message parameter or of a dictionary literal",
                        );
                    }
                }
            }
            ExprKind::Index(inner, index) => {
                let list = self.expr(inner, at)?;
                let i = self.int(index, at)?;
                match list {
                    Val::List(ListVal::Lit(items)) => {
                        let mut arms = String::new();
                        let mut ty: Option<G> = None;
                        for (n, item) in items.iter().enumerate() {
                            let (code, g) = self.scalar(item, at)?;
                            if ty.as_ref().is_some_and(|t| *t != g) {
                                let g2 = ty.clone().unwrap_or(G::Unit);
                                if !matches!((&g, &g2), (G::Int(_), G::Int(_))) {
                                    return self.fail(item.span, "list elements of different types", "expected elements of one type");
                                }
                            }
                            ty.get_or_insert(g);
                            let _ = write!(arms, "{n} => {code}, ");
                        }
                        let ty = ty.unwrap_or(G::Int(None));
                        let ty = if let G::Int(_) = ty { G::Int(None) } else { ty };
                        Val::Code(
                            format!("(match usize::try_from({i}).unwrap_or(usize::MAX) {{ {arms}_ => return Err(ExprError::IndexOutOfRange) }})"),
                            ty,
                        )
                    }
                    Val::List(ListVal::Bytes(b)) => Val::Code(
                        format!("i128::from(*{b}.get(usize::try_from({i}).unwrap_or(usize::MAX)).ok_or(ExprError::IndexOutOfRange)?)"),
                        G::Int(Some(IntType::U8)),
                    ),
                    Val::List(ListVal::Msg(items, elem)) => {
                        let pos = format!("{items}.at({i})?");
                        return self.leaf(&pos, &elem, e.span);
                    }
                    _ => {
                        return self.fail(e.span, "index of a value that is not a list", "expected a list");
                    }
                }
            }
            ExprKind::Unary(op, inner) => match op {
                UnOp::Not => {
                    let b = self.boolean(inner, at)?;
                    Val::Code(format!("(!{b})"), G::Bool)
                }
                UnOp::BitNot => {
                    let (code, t) = self.int_typed(inner, at)?;
                    let f = match t {
                        Some(t) if !t.signed() => {
                            format!("bnot_unsigned({code}, {})", t.size() * 8)
                        }
                        _ => format!("(!{code})"),
                    };
                    Val::Code(f, G::Int(t))
                }
            },
            ExprKind::Binary(op, l, r) => return self.binary(*op, l, r, at, e.span),
            ExprKind::Call(call) => return self.call_expr(call, at),
        })
    }

    /// A scalar value: its code and type (lists and dictionaries are refused).
    pub(super) fn scalar(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<(String, G)> {
        match self.expr(e, at)? {
            Val::Code(c, g) => Ok((c, g)),
            _ => self.fail(
                e.span,
                "a list or dictionary where a single value is needed",
                "expected a number, text, Boolean or SID",
            ),
        }
    }

    pub(super) fn int_typed(
        &mut self,
        e: &'p Expr,
        at: &Place<'_>,
    ) -> Gen<(String, Option<IntType>)> {
        match self.scalar(e, at)? {
            (c, G::Int(t)) => Ok((c, t)),
            (c, G::Sid) => Ok((format!("i128::from({c})"), Some(IntType::U64))),
            _ => self.fail(e.span, "not a number", "expected an integer expression"),
        }
    }

    pub(super) fn int(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        self.int_typed(e, at).map(|x| x.0)
    }

    pub(super) fn boolean(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        match self.scalar(e, at)? {
            (c, G::Bool) => Ok(c),
            _ => self.fail(e.span, "not a Boolean", "expected a Boolean expression"),
        }
    }

    pub(super) fn text(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        match self.scalar(e, at)? {
            (c, G::Text) => Ok(c),
            _ => self.fail(e.span, "not a text", "expected a text expression"),
        }
    }

    pub(super) fn sid(&mut self, e: &'p Expr, at: &Place<'_>) -> Gen<String> {
        match self.scalar(e, at)? {
            (c, G::Sid) => Ok(c),
            (c, G::Int(_)) => Ok(format!(
                "u64::try_from({c}).map_err(|_| ExprError::NotBound)?"
            )),
            _ => self.fail(
                e.span,
                "not a SID",
                "expected `src_sid`, `dst_sid` or `message.<handle>.handle`",
            ),
        }
    }

    pub(super) fn binary(
        &mut self,
        op: BinOp,
        l: &'p Expr,
        r: &'p Expr,
        at: &Place<'_>,
        span: Span,
    ) -> Gen<Val<'p>> {
        use BinOp as B;
        match op {
            B::And | B::Or | B::Implies => {
                let a = self.boolean(l, at)?;
                let b = self.boolean(r, at)?;
                // Both sides are evaluated: a failure on either side fails the whole.
                let body = match op {
                    B::And => "a && b",
                    B::Or => "a || b",
                    _ => "!a || b",
                };
                Ok(Val::Code(
                    format!("{{ let a: bool = {a}; let b: bool = {b}; {body} }}"),
                    G::Bool,
                ))
            }
            B::Lt | B::Le | B::Gt | B::Ge => {
                let a = self.int(l, at)?;
                let b = self.int(r, at)?;
                Ok(Val::Code(
                    format!(
                        "{{ let a: i128 = {a}; let b: i128 = {b}; a {} b }}",
                        op.text()
                    ),
                    G::Bool,
                ))
            }
            B::Eq | B::Ne => {
                let eq = self.equality(l, r, at, span)?;
                Ok(Val::Code(
                    if op == B::Eq { eq } else { format!("(!{eq})") },
                    G::Bool,
                ))
            }
            B::Add | B::Sub | B::Mul | B::BitAnd | B::BitOr => {
                let (a, ta) = self.int_typed(l, at)?;
                let (b, tb) = self.int_typed(r, at)?;
                let t = common(ta, tb);
                let (lo, hi) = range(t);
                let f = match op {
                    B::Add => "ar_add",
                    B::Sub => "ar_sub",
                    B::Mul => "ar_mul",
                    B::BitAnd => "ar_and",
                    _ => "ar_or",
                };
                Ok(Val::Code(format!("{f}({a}, {b}, {lo}, {hi})?"), G::Int(t)))
            }
        }
    }

    /// Code of `l == r`.
    pub(super) fn equality(
        &mut self,
        l: &'p Expr,
        r: &'p Expr,
        at: &Place<'_>,
        span: Span,
    ) -> Gen<String> {
        let (a, ga) = self.scalar(l, at)?;
        let (b, gb) = self.scalar(r, at)?;
        let numeric = |g: &G| matches!(g, G::Int(_) | G::Sid);
        let as_int = |c: &str, g: &G| {
            if *g == G::Sid {
                format!("i128::from({c})")
            } else {
                c.to_string()
            }
        };
        Ok(match (&ga, &gb) {
            (x, y) if numeric(x) && numeric(y) => {
                format!(
                    "{{ let a: i128 = {}; let b: i128 = {}; a == b }}",
                    as_int(&a, x),
                    as_int(&b, y)
                )
            }
            (G::Bool, G::Bool) | (G::Text, G::Text) | (G::Handle, G::Handle) => {
                format!("{{ let a = {a}; let b = {b}; a == b }}")
            }
            (G::Unit, G::Unit) => "true".to_string(),
            (G::State(o), G::Text) | (G::Text, G::State(o)) => {
                let (s, t) = if matches!(ga, G::State(_)) {
                    (&a, &b)
                } else {
                    (&b, &a)
                };
                let cfg = format!("FLOW_{o}");
                format!(
                    "{{ let s: StateId = {s}; let t: &str = {t}; {cfg}.state_name(s) == Some(t) }}"
                )
            }
            (G::State(x), G::State(y)) if x == y => {
                format!("{{ let a = {a}; let b = {b}; a == b }}")
            }
            (G::Level(o), G::Text) | (G::Text, G::Level(o)) => {
                let (s, t) = if matches!(ga, G::Level(_)) {
                    (&a, &b)
                } else {
                    (&b, &a)
                };
                let cfg = format!("MIC_{o}");
                format!(
                    "{{ let l: Level = {s}; let t: &str = {t}; {cfg}.level(t, &[]) == Some(l) }}"
                )
            }
            (G::Level(x), G::Level(y)) if x == y => {
                format!("{{ let a = {a}; let b = {b}; a == b }}")
            }
            _ => {
                return self.fail(
                    span,
                    "comparison of values of different kinds",
                    "expected two numbers, two texts, two Booleans or a state and a state name",
                );
            }
        })
    }
}
