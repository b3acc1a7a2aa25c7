//! Message paths: `message.<param>...` checked against the layouts of every targeted
//! method, which must all have the path with one type.

use ostrog_diag::source::Span;
use ostrog_idl::ast::Direction;
use ostrog_idl::layout::{layout, LayoutKind, TypeLayout};

use super::*;
use crate::ast::{self, EventKind};
use crate::check::{one_of, Checker};
use crate::model::*;

impl Checker<'_> {
    pub(super) fn message(&mut self, e: &ast::Expr, scope: &Scope) -> Option<Expr> {
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

/// One raw step of a `message...` chain: a name or a literal index, with its place.
#[derive(Clone, Debug)]
pub(super) enum RawStep {
    Field(String, Span),
    Index(Option<u32>, Span),
}

/// The steps after `message` if `e` is a message access.
pub(super) fn message_chain(e: &ast::Expr) -> Option<(Vec<RawStep>, Span)> {
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

pub(super) type WalkError = (Span, String, String);

pub(super) fn walk(
    msg: &ostrog_idl::layout::MessageLayout,
    steps: &[RawStep],
    direction: Direction,
    t: &Target,
) -> Result<(Vec<MessageStep>, TypeLayout), WalkError> {
    let Some(RawStep::Field(first, span)) = steps.first() else {
        let span = match steps.first() {
            Some(RawStep::Index(_, s)) => *s,
            _ => Span {
                file: ostrog_diag::source::FileId(0),
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
    // A kernel method's parameter under KasperskyOS's name (crate::kos::PARAMS).
    let first = match (t.class.as_str(), msg.param(first)) {
        ("kl.core.Core", None) => crate::kos::param(&t.endpoint, &t.method, first)
            .map_or_else(|| first.clone(), str::to_string),
        _ => first.clone(),
    };
    let first = &first;
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
                    kind: LayoutKind::Int(ostrog_idl::model::IntType::U8),
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

pub(super) fn type_of_layout(l: &TypeLayout, last: Option<&MessageStep>) -> Type {
    match last {
        Some(MessageStep::Handle) => return Type::Sid,
        Some(MessageStep::Rights) => return Type::Int(Some(ostrog_idl::model::IntType::U32)),
        _ => {}
    }
    match &l.kind {
        LayoutKind::Int(i) => Type::Int(Some(*i)),
        LayoutKind::Handle { .. } => Type::HandleDesc,
        LayoutKind::Bytes { .. } => {
            Type::List(Box::new(Type::Int(Some(ostrog_idl::model::IntType::U8))))
        }
        LayoutKind::String { .. } => Type::Text,
        LayoutKind::Sequence { element, .. } | LayoutKind::Array { element, .. } => {
            Type::List(Box::new(type_of_layout(element, None)))
        }
        LayoutKind::Struct { .. } | LayoutKind::Union { .. } => Type::Dict,
    }
}
