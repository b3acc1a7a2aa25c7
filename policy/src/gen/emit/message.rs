//! Message paths: `message.<param>...` as bounds-checked reads of the validated message,
//! one access plan per distinct layout of the selected methods.

use std::fmt::Write as _;

use ostrog_diag::source::Span;
use ostrog_idl::layout::{layout, LayoutKind, MessageLayout, TypeLayout};
use ostrog_idl::model::IntType;

use super::*;
use crate::model::*;

impl<'p> Emitter<'p> {
    /// A message access: `Val` of the leaf.
    pub(super) fn message(
        &mut self,
        path: &MessagePath,
        span: Span,
        at: &Place<'_>,
    ) -> Gen<Val<'p>> {
        let Some(targets) = at.targets else {
            return self.fail(
                span,
                "`message` without a selected method",
                "expected `method=` on the binding",
            );
        };
        // One access plan per distinct layout; usually all targets share one.
        let mut plans: Vec<(String, Vec<u32>)> = Vec::new();
        let mut kind: Option<KindTag> = None;
        for t in targets {
            let Some(gm) = self.plan.gm(at.kind, t) else {
                continue;
            };
            let Some(ml) = layout(self.spec, &t.interface, &t.method) else {
                continue;
            };
            let msg = ml.message(path.direction);
            let Some((code, leaf_kind)) = self.walk(msg, &path.steps, span)? else {
                continue;
            };
            if kind.as_ref().is_some_and(|k| *k != leaf_kind) {
                return self.fail(
                    span,
                    "this parameter has different layouts in the selected methods",
                    "expected a `method=` selector naming one method",
                );
            }
            kind = Some(leaf_kind);
            match plans.iter_mut().find(|(c, _)| *c == code) {
                Some((_, gms)) => gms.push(gm),
                None => plans.push((code, vec![gm])),
            }
        }
        let Some(kind) = kind else {
            return self.fail(
                span,
                "`message` names no parameter of the selected methods",
                "expected a parameter of the method",
            );
        };
        let code = if plans.len() == 1 {
            plans.remove(0).0
        } else {
            let mut arms = String::new();
            for (code, gms) in &plans {
                let pats: Vec<String> = gms.iter().map(u32::to_string).collect();
                let _ = write!(arms, "{} => {code}, ", pats.join(" | "));
            }
            format!("(match c.gm {{ {arms}_ => return Err(ExprError::BadField) }})")
        };
        Ok(match kind {
            KindTag::Scalar(g) => Val::Code(code, g),
            KindTag::Items(elem) => Val::List(ListVal::Msg(code, elem)),
            KindTag::Bytes => Val::List(ListVal::Bytes(code)),
        })
    }

    /// Code reading `steps` in `msg`, and a tag of the leaf's representation (so that the
    /// plans of different targets can be compared). `None` if the method lacks the path.
    pub(super) fn walk(
        &mut self,
        msg: &MessageLayout,
        steps: &[MessageStep],
        span: Span,
    ) -> Gen<Option<(String, KindTag)>> {
        let Some(MessageStep::Field(first)) = steps.first() else {
            return Ok(None);
        };
        let Some(param) = msg.param(first) else {
            return Ok(None);
        };
        let mut pos = format!("{}usize", param.offset);
        let mut l = param.layout.clone();
        let mut iter = steps.iter().skip(1).peekable();
        while let Some(step) = iter.next() {
            match (step, &l.kind) {
                (MessageStep::Field(f), LayoutKind::Struct { fields, .. }) => {
                    let Some(field) = fields.iter().find(|x| x.name == *f) else {
                        return Ok(None);
                    };
                    pos = format!("off({pos}, {})?", field.offset);
                    l = field.layout.clone();
                }
                (
                    MessageStep::Field(f),
                    LayoutKind::Union {
                        variants,
                        payload_offset,
                        ..
                    },
                ) => {
                    let Some(tag) = variants.iter().position(|x| x.name == *f) else {
                        return Ok(None);
                    };
                    let Some(v) = variants.get(tag) else {
                        return Ok(None);
                    };
                    pos = format!("variant(c.v()?, {pos}, {tag}, {payload_offset})?");
                    l = v.layout.clone();
                }
                (MessageStep::Index(i), LayoutKind::Array { element, .. }) => {
                    pos = format!("off({pos}, {})?", u64::from(*i) * u64::from(element.size));
                    l = (**element).clone();
                }
                (MessageStep::Index(i), LayoutKind::Sequence { bound, element }) => {
                    pos = format!(
                        "c.v()?.sequence({pos}, {bound}, {})?.element({i}u32)?",
                        element.size
                    );
                    l = (**element).clone();
                }
                (MessageStep::Index(i), LayoutKind::Bytes { bound }) => {
                    let code = format!("i128::from(*c.v()?.bytes({pos}, {bound})?.get({i}usize).ok_or(ExprError::IndexOutOfRange)?)");
                    return Ok(Some((code, KindTag::Scalar(G::Int(Some(IntType::U8))))));
                }
                (MessageStep::Handle, LayoutKind::Handle { .. }) => {
                    if iter.peek().is_some() {
                        return Ok(None);
                    }
                    return Ok(Some((
                        format!("c.v()?.handle({pos})?.sid"),
                        KindTag::Scalar(G::Sid),
                    )));
                }
                (MessageStep::Rights, LayoutKind::Handle { .. }) => {
                    if iter.peek().is_some() {
                        return Ok(None);
                    }
                    return Ok(Some((
                        format!("i128::from(c.v()?.handle({pos})?.rights)"),
                        KindTag::Scalar(G::Int(Some(IntType::U32))),
                    )));
                }
                _ => return Ok(None),
            }
        }
        let (code, tag) = match &l.kind {
            LayoutKind::Int(t) => (
                format!("i128::from(c.v()?.{}({pos})?)", reader(*t)),
                KindTag::Scalar(G::Int(Some(*t))),
            ),
            LayoutKind::String { bound } => (
                format!("c.v()?.string({pos}, {bound})?"),
                KindTag::Scalar(G::Text),
            ),
            LayoutKind::Bytes { bound } => {
                (format!("c.v()?.bytes({pos}, {bound})?"), KindTag::Bytes)
            }
            LayoutKind::Handle { .. } => {
                (format!("c.v()?.handle({pos})?"), KindTag::Scalar(G::Handle))
            }
            LayoutKind::Sequence { bound, element } => (
                format!(
                    "Items::of(c.v()?.sequence({pos}, {bound}, {})?, {})",
                    element.size, element.size
                ),
                KindTag::Items((**element).clone()),
            ),
            LayoutKind::Array { len, element } => (
                format!(
                    "Items {{ start: {pos}, len: {len}, stride: {} }}",
                    element.size
                ),
                KindTag::Items((**element).clone()),
            ),
            LayoutKind::Struct { .. } | LayoutKind::Union { .. } => {
                return self.fail(
                    span,
                    "a whole struct or union as a value",
                    "expected a path down to a number, text, handle or list",
                );
            }
        };
        Ok(Some((code, tag)))
    }

    /// The value of a list element at body position `pos` (code).
    pub(super) fn leaf(&mut self, pos: &str, l: &TypeLayout, span: Span) -> Gen<Val<'p>> {
        Ok(match &l.kind {
            LayoutKind::Int(t) => Val::Code(
                format!("i128::from(c.v()?.{}({pos})?)", reader(*t)),
                G::Int(Some(*t)),
            ),
            LayoutKind::String { bound } => {
                Val::Code(format!("c.v()?.string({pos}, {bound})?"), G::Text)
            }
            LayoutKind::Handle { .. } => Val::Code(format!("c.v()?.handle({pos})?"), G::Handle),
            _ => {
                return self.fail(
                    span,
                    "an element of this type as a value",
                    "expected a list of numbers or texts",
                );
            }
        })
    }
}

/// What a message leaf is.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum KindTag {
    Scalar(G),
    Items(TypeLayout),
    Bytes,
}
