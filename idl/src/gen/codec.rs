//! Encode statements and decode expressions for one value, generated from its layout.
//!
//! The code is inline (no generic helpers parameterised by bounds) so that every bound,
//! stride and offset is a literal taken from [`crate::layout`], the same numbers the policy
//! compiler uses.

use crate::layout::{LayoutKind, TypeLayout};
use crate::model::{Model, Ty};

use super::names::{camel, module};

/// Generation context: the package being generated.
pub struct Ctx<'m> {
    /// The model.
    pub model: &'m Model,
    /// Dotted name of the package whose file is being written.
    pub package: &'m str,
}

/// `base + index * stride`, without a `* 1`.
fn elem_pos(base: &str, index: &str, stride: u32) -> String {
    if stride == 1 {
        format!("{base} + {index}")
    } else {
        format!("{base} + {index} * {stride}")
    }
}

/// `pos + off`, without a `+ 0`.
pub fn at(pos: &str, off: u64) -> String {
    if off == 0 {
        pos.to_string()
    } else {
        format!("{pos} + {off}")
    }
}

impl Ctx<'_> {
    /// The Rust type of a resolved IDL type.
    pub fn rust_type(&self, ty: &Ty) -> String {
        match ty {
            Ty::Int(i) => i.rust().to_string(),
            Ty::Handle(_) => "rt::Handle".to_string(),
            Ty::Bytes(_) => "Vec<u8>".to_string(),
            Ty::String(_) => "String".to_string(),
            Ty::Array(t, n) => format!("[{}; {n}]", self.rust_type(t)),
            Ty::Sequence(t, _) => format!("Vec<{}>", self.rust_type(t)),
            Ty::Struct(r) | Ty::Union(r) => {
                if r.package == self.package {
                    camel(&r.name)
                } else {
                    format!("super::{}::{}", module(&r.package), camel(&r.name))
                }
            }
        }
    }

    /// Statements writing `val` (an expression of type `&T`) at body position `pos`.
    pub fn encode(&self, ty: &Ty, l: &TypeLayout, val: &str, pos: &str, depth: usize) -> String {
        match (&l.kind, ty) {
            (LayoutKind::String { bound }, _) => format!("enc.put_str({pos}, {val}, {bound})?;\n"),
            (LayoutKind::Bytes { bound }, _) => format!("enc.put_bytes({pos}, {val}, {bound})?;\n"),
            (LayoutKind::Sequence { bound, element }, Ty::Sequence(elem_ty, _)) => {
                let d = depth;
                let stride = element.size;
                let inner = self.encode(
                    elem_ty,
                    element,
                    &format!("__e{d}"),
                    &elem_pos(&format!("__base{d}"), &format!("__i{d}"), stride),
                    d + 1,
                );
                format!(
                    "{{ let __s{d} = {val}; let __base{d} = enc.put_seq({pos}, __s{d}.len(), {bound}, {stride})?; \
                     for (__i{d}, __e{d}) in __s{d}.iter().enumerate() {{ {inner} }} }}\n"
                )
            }
            (LayoutKind::Array { element, .. }, Ty::Array(elem_ty, _)) => {
                let d = depth;
                let stride = element.size;
                let inner = self.encode(
                    elem_ty,
                    element,
                    &format!("__e{d}"),
                    &elem_pos(&format!("({pos})"), &format!("__i{d}"), stride),
                    d + 1,
                );
                {
                    let owner = val.strip_prefix('&').unwrap_or(val);
                    format!("for (__i{d}, __e{d}) in {owner}.iter().enumerate() {{ {inner} }}\n")
                }
            }
            _ => format!("rt::Wire::encode({val}, enc, {pos})?;\n"),
        }
    }

    /// An expression reading and validating a value at body position `pos`.
    pub fn decode(&self, ty: &Ty, l: &TypeLayout, pos: &str, depth: usize) -> String {
        match (&l.kind, ty) {
            (LayoutKind::String { bound }, _) => format!("dec.string({pos}, {bound})?"),
            (LayoutKind::Bytes { bound }, _) => format!("dec.bytes({pos}, {bound})?"),
            (LayoutKind::Sequence { bound, element }, Ty::Sequence(elem_ty, _)) => {
                let d = depth;
                let stride = element.size;
                let inner = self.decode(
                    elem_ty,
                    element,
                    &elem_pos(&format!("__base{d}"), &format!("__i{d}"), stride),
                    d + 1,
                );
                format!(
                    "{{ let (__base{d}, __n{d}) = dec.seq({pos}, {bound}, {stride})?; \
                     let mut __v{d} = Vec::with_capacity(__n{d}); \
                     for __i{d} in 0..__n{d} {{ __v{d}.push({inner}); }} __v{d} }}"
                )
            }
            (LayoutKind::Array { len, element }, Ty::Array(elem_ty, _)) => {
                let d = depth;
                let stride = element.size;
                let inner = self.decode(
                    elem_ty,
                    element,
                    &elem_pos(&format!("({pos})"), &format!("__i{d}"), stride),
                    d + 1,
                );
                let rust = self.rust_type(ty);
                format!(
                    "{{ let mut __v{d} = Vec::with_capacity({len}); \
                     for __i{d} in 0..{len}usize {{ __v{d}.push({inner}); }} \
                     match <{rust}>::try_from(__v{d}) {{ Ok(a) => a, Err(_) => return Err(rt::DecodeError::Truncated) }} }}"
                )
            }
            _ => format!("<{} as rt::Wire>::decode(dec, {pos})?", self.rust_type(ty)),
        }
    }
}
