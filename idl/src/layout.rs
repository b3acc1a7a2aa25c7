//! Where every parameter of every message lives: the layout metadata.
//!
//! This module is the single statement of the wire layout of `ostrog_abi::message`: the
//! generated encoders and decoders are produced from it, and the policy compiler reads it to
//! find `message.param`, `message.s.field` and `message.seq.[i]` in a validated message
//! without a decoder of its own.
//!
//! Rules (see `abi/src/message.rs`):
//! * integers: size and alignment are their width; `UIntSize`/`UIntPtr` are 8 bytes;
//! * `Handle`/`handle<I>`: a `u32` index of a handle slot (4 bytes, 4-aligned);
//! * `string<N>`, `bytes<N>`, `sequence<T,N>`: an `ArenaRef {offset: u32, len: u32}` (8 bytes,
//!   4-aligned); sequence data starts 8-aligned in the arena, elements `stride` bytes apart;
//! * `array<T,N>`: N elements, `stride` = size of T (already a multiple of its alignment);
//! * struct: fields in order, each at its natural alignment; size rounded up to the largest;
//! * union: a `u32` tag (the variant's index) at offset 0, the variant at `payload_offset`
//!   (4 rounded up to the largest variant alignment); size rounded up to the alignment;
//! * a message's fixed part: its parameters laid out like a struct, size rounded up to 8.

use crate::ast::Direction;
use crate::model::{IntType, MethodDef, Model, Ty, TypeDeclKind, TypeRef};

/// Size of the union tag.
pub const UNION_TAG_SIZE: u32 = 4;
/// Size of an `ArenaRef`.
pub const ARENA_REF_SIZE: u32 = 8;
/// Size of a handle-slot index in the fixed part.
pub const HANDLE_INDEX_SIZE: u32 = 4;
/// Alignment of sequence data in the arena.
pub const SEQUENCE_ALIGN: u32 = 8;
/// Alignment (and size granularity) of the fixed part.
pub const FIXED_ALIGN: u32 = 8;

/// Size, alignment and shape of a type on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeLayout {
    /// Bytes occupied in the fixed part (or in an element of a sequence).
    pub size: u32,
    /// Alignment in bytes.
    pub align: u32,
    /// What is there.
    pub kind: LayoutKind,
}

/// Shapes of types on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutKind {
    /// A little-endian integer.
    Int(IntType),
    /// A `u32` handle-slot index; the interface for `handle<I>`.
    Handle {
        /// Interface named by `handle<I>`.
        interface: Option<String>,
    },
    /// An `ArenaRef` to at most `bound` bytes.
    Bytes {
        /// Largest length.
        bound: u32,
    },
    /// An `ArenaRef` to at most `bound` bytes of UTF-8.
    String {
        /// Largest length in bytes.
        bound: u32,
    },
    /// An `ArenaRef` to at most `bound` elements, `element.size` bytes apart, 8-aligned.
    Sequence {
        /// Largest number of elements.
        bound: u32,
        /// Layout of one element.
        element: Box<TypeLayout>,
    },
    /// `len` elements, `element.size` bytes apart.
    Array {
        /// Number of elements.
        len: u32,
        /// Layout of one element.
        element: Box<TypeLayout>,
    },
    /// A struct.
    Struct {
        /// Which struct.
        name: TypeRef,
        /// Its fields.
        fields: Vec<FieldLayout>,
    },
    /// A tagged union: `u32` tag at offset 0; variant `i` has tag `i`.
    Union {
        /// Which union.
        name: TypeRef,
        /// Offset of the variant (relative to the union).
        payload_offset: u32,
        /// Its variants; each `offset` equals `payload_offset`.
        variants: Vec<FieldLayout>,
    },
}

/// A named part (parameter, field or variant) and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldLayout {
    /// IDL name.
    pub name: String,
    /// Offset relative to the enclosing struct, union or fixed part.
    pub offset: u32,
    /// Its IDL type (aliases resolved).
    pub ty: Ty,
    /// Its layout.
    pub layout: TypeLayout,
}

/// The fixed part of one message kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageLayout {
    /// `fixed_size` in the header (a multiple of 8).
    pub fixed_size: u32,
    /// Parameters in declaration order.
    pub params: Vec<FieldLayout>,
}

impl MessageLayout {
    /// A parameter by name.
    pub fn param(&self, name: &str) -> Option<&FieldLayout> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Follows a PSL-style path (`s.field`, `arr.[2]`) through fixed-part parameters, structs
    /// and arrays. Returns the offset relative to the fixed part and the layout found there.
    /// Stops (returns `None`) at sequences, strings and unions, whose contents need the
    /// message itself: read their `ArenaRef` or tag at the returned offset of the prefix.
    pub fn locate(&self, path: &[PathStep<'_>]) -> Option<(u32, &TypeLayout)> {
        let (first, rest) = path.split_first()?;
        let PathStep::Field(name) = first else {
            return None;
        };
        let p = self.param(name)?;
        let mut offset = p.offset;
        let mut layout = &p.layout;
        for step in rest {
            match (step, &layout.kind) {
                (PathStep::Field(f), LayoutKind::Struct { fields, .. }) => {
                    let field = fields.iter().find(|x| x.name == *f)?;
                    offset = offset.checked_add(field.offset)?;
                    layout = &field.layout;
                }
                (PathStep::Index(i), LayoutKind::Array { len, element }) if i < len => {
                    offset = offset.checked_add(i.checked_mul(element.size)?)?;
                    layout = element;
                }
                _ => return None,
            }
        }
        Some((offset, layout))
    }
}

/// One step of a path into a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathStep<'a> {
    /// `.name`
    Field(&'a str),
    /// `.[i]`
    Index(u32),
}

/// Request, response and error layouts of one method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodLayout {
    /// Interface (package) name.
    pub interface: String,
    /// Method name.
    pub method: String,
    /// Method index.
    pub mid: u32,
    /// `in` parameters.
    pub request: MessageLayout,
    /// `out` parameters.
    pub response: MessageLayout,
    /// `error` parameters (a response with `FLAG_ERROR`).
    pub error: MessageLayout,
}

impl MethodLayout {
    /// The layout of the message of this direction.
    pub fn message(&self, dir: Direction) -> &MessageLayout {
        match dir {
            Direction::In => &self.request,
            Direction::Out => &self.response,
            Direction::Error => &self.error,
        }
    }
}

/// Why a layout could not be computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutError(pub String);

const MAX_DEPTH: u32 = 64;

fn round_up(value: u64, align: u32) -> u64 {
    let a = u64::from(align.max(1));
    value.div_ceil(a).saturating_mul(a)
}

fn to_u32(value: u64, what: &dyn Fn() -> String) -> Result<u32, LayoutError> {
    u32::try_from(value).map_err(|_| {
        LayoutError(format!(
            "{} is {value} bytes, more than {}",
            what(),
            u32::MAX
        ))
    })
}

/// The layout of a type of a checked model.
pub fn type_layout(model: &Model, ty: &Ty) -> Result<TypeLayout, LayoutError> {
    layout_at(model, ty, 0)
}

fn layout_at(model: &Model, ty: &Ty, depth: u32) -> Result<TypeLayout, LayoutError> {
    if depth > MAX_DEPTH {
        return Err(LayoutError(format!(
            "types are nested more than {MAX_DEPTH} deep"
        )));
    }
    let arena_ref = |kind| TypeLayout {
        size: ARENA_REF_SIZE,
        align: 4,
        kind,
    };
    Ok(match ty {
        Ty::Int(i) => TypeLayout {
            size: i.size(),
            align: i.size(),
            kind: LayoutKind::Int(*i),
        },
        Ty::Handle(iface) => TypeLayout {
            size: HANDLE_INDEX_SIZE,
            align: 4,
            kind: LayoutKind::Handle {
                interface: iface.clone(),
            },
        },
        Ty::Bytes(bound) => arena_ref(LayoutKind::Bytes { bound: *bound }),
        Ty::String(bound) => arena_ref(LayoutKind::String { bound: *bound }),
        Ty::Sequence(elem, bound) => {
            let element = layout_at(model, elem, depth + 1)?;
            let total = u64::from(*bound) * u64::from(element.size);
            to_u32(total, &|| format!("the largest `{}`", ty.idl()))?;
            arena_ref(LayoutKind::Sequence {
                bound: *bound,
                element: Box::new(element),
            })
        }
        Ty::Array(elem, len) => {
            let element = layout_at(model, elem, depth + 1)?;
            let size = to_u32(u64::from(*len) * u64::from(element.size), &|| {
                format!("`{}`", ty.idl())
            })?;
            TypeLayout {
                size,
                align: element.align,
                kind: LayoutKind::Array {
                    len: *len,
                    element: Box::new(element),
                },
            }
        }
        Ty::Struct(r) | Ty::Union(r) => {
            let decl = model
                .packages
                .get(&r.package)
                .and_then(|p| p.type_decl(&r.name))
                .ok_or_else(|| LayoutError(format!("unknown type `{}.{}`", r.package, r.name)))?;
            match &decl.kind {
                TypeDeclKind::Alias(t) => layout_at(model, t, depth + 1)?,
                TypeDeclKind::Struct(fields) => {
                    let mut offset: u64 = 0;
                    let mut align = 1;
                    let mut out = Vec::new();
                    for f in fields {
                        let l = layout_at(model, &f.ty, depth + 1)?;
                        offset = round_up(offset, l.align);
                        align = align.max(l.align);
                        let at = to_u32(offset, &|| format!("struct `{}`", r.name))?;
                        offset += u64::from(l.size);
                        out.push(FieldLayout {
                            name: f.name.clone(),
                            offset: at,
                            ty: f.ty.clone(),
                            layout: l,
                        });
                    }
                    let size = to_u32(round_up(offset, align), &|| format!("struct `{}`", r.name))?;
                    TypeLayout {
                        size,
                        align,
                        kind: LayoutKind::Struct {
                            name: r.clone(),
                            fields: out,
                        },
                    }
                }
                TypeDeclKind::Union(fields) => {
                    let mut variants = Vec::new();
                    let mut align = UNION_TAG_SIZE;
                    let mut largest = 0u32;
                    for f in fields {
                        let l = layout_at(model, &f.ty, depth + 1)?;
                        align = align.max(l.align);
                        largest = largest.max(l.size);
                        variants.push((f, l));
                    }
                    let payload_offset =
                        to_u32(round_up(u64::from(UNION_TAG_SIZE), align), &|| {
                            String::new()
                        })?;
                    let size = to_u32(
                        round_up(u64::from(payload_offset) + u64::from(largest), align),
                        &|| format!("union `{}`", r.name),
                    )?;
                    TypeLayout {
                        size,
                        align,
                        kind: LayoutKind::Union {
                            name: r.clone(),
                            payload_offset,
                            variants: variants
                                .into_iter()
                                .map(|(f, l)| FieldLayout {
                                    name: f.name.clone(),
                                    offset: payload_offset,
                                    ty: f.ty.clone(),
                                    layout: l,
                                })
                                .collect(),
                        },
                    }
                }
            }
        }
    })
}

/// The fixed part holding these parameters.
pub fn message_layout<'a>(
    model: &Model,
    params: impl Iterator<Item = (&'a str, &'a Ty)>,
) -> Result<MessageLayout, LayoutError> {
    let mut offset: u64 = 0;
    let mut out = Vec::new();
    for (name, ty) in params {
        let l = type_layout(model, ty)?;
        offset = round_up(offset, l.align);
        let at = to_u32(offset, &|| "the fixed part".to_string())?;
        offset += u64::from(l.size);
        out.push(FieldLayout {
            name: name.to_string(),
            offset: at,
            ty: ty.clone(),
            layout: l,
        });
    }
    let fixed_size = to_u32(round_up(offset, FIXED_ALIGN), &|| {
        "the fixed part".to_string()
    })?;
    Ok(MessageLayout {
        fixed_size,
        params: out,
    })
}

/// Request, response and error layouts of a method of `interface`.
pub fn method_layout(
    model: &Model,
    interface: &str,
    method: &MethodDef,
) -> Result<MethodLayout, LayoutError> {
    let of = |dir| {
        message_layout(
            model,
            method.params_of(dir).map(|p| (p.name.as_str(), &p.ty)),
        )
    };
    Ok(MethodLayout {
        interface: interface.to_string(),
        method: method.name.clone(),
        mid: method.mid,
        request: of(Direction::In)?,
        response: of(Direction::Out)?,
        error: of(Direction::Error)?,
    })
}

/// Layouts of all methods of an interface, in MID order (empty if the package has none).
pub fn interface_layouts(model: &Model, interface: &str) -> Result<Vec<MethodLayout>, LayoutError> {
    let Some(iface) = model
        .packages
        .get(interface)
        .and_then(|p| p.interface.as_ref())
    else {
        return Ok(Vec::new());
    };
    iface
        .methods
        .iter()
        .map(|m| method_layout(model, interface, m))
        .collect()
}

/// The layout of one method, by interface and method name.
/// The largest arena a value of this layout can need (sequence data 8-aligned).
fn max_arena(l: &TypeLayout) -> u64 {
    match &l.kind {
        LayoutKind::Int(_) | LayoutKind::Handle { .. } => 0,
        LayoutKind::Bytes { bound } | LayoutKind::String { bound } => u64::from(*bound),
        LayoutKind::Sequence { bound, element } => {
            u64::from(SEQUENCE_ALIGN - 1)
                + u64::from(*bound) * (u64::from(element.size) + max_arena(element))
        }
        LayoutKind::Array { len, element } => u64::from(*len) * max_arena(element),
        LayoutKind::Struct { fields, .. } => fields.iter().map(|f| max_arena(&f.layout)).sum(),
        LayoutKind::Union { variants, .. } => variants
            .iter()
            .map(|f| max_arena(&f.layout))
            .max()
            .unwrap_or(0),
    }
}

/// The largest number of handles a value of this layout can carry.
fn max_handles(l: &TypeLayout) -> u64 {
    match &l.kind {
        LayoutKind::Handle { .. } => 1,
        LayoutKind::Int(_) | LayoutKind::Bytes { .. } | LayoutKind::String { .. } => 0,
        LayoutKind::Sequence { bound, element } => u64::from(*bound) * max_handles(element),
        LayoutKind::Array { len, element } => u64::from(*len) * max_handles(element),
        LayoutKind::Struct { fields, .. } => fields.iter().map(|f| max_handles(&f.layout)).sum(),
        LayoutKind::Union { variants, .. } => variants
            .iter()
            .map(|f| max_handles(&f.layout))
            .max()
            .unwrap_or(0),
    }
}

impl MessageLayout {
    /// The largest whole message of this kind (header, handle slots, fixed part, arena),
    /// capped at `ostrog_abi::message::DEFAULT_MAX_MESSAGE`: what a receive buffer must hold.
    pub fn max_size(&self) -> u32 {
        use ostrog_abi::message::{
            DEFAULT_MAX_MESSAGE, HANDLE_SLOT_SIZE, HEADER_SIZE, MAX_HANDLES,
        };
        let handles: u64 = self.params.iter().map(|p| max_handles(&p.layout)).sum();
        let arena: u64 = self.params.iter().map(|p| max_arena(&p.layout)).sum();
        let total = HEADER_SIZE as u64
            + handles.min(MAX_HANDLES as u64) * HANDLE_SLOT_SIZE as u64
            + u64::from(self.fixed_size)
            + arena;
        u32::try_from(total.min(DEFAULT_MAX_MESSAGE as u64)).unwrap_or(u32::MAX)
    }
}

pub fn layout(model: &Model, interface: &str, method: &str) -> Option<MethodLayout> {
    let iface = model.packages.get(interface)?.interface.as_ref()?;
    let m = iface.methods.iter().find(|m| m.name == method)?;
    method_layout(model, interface, m).ok()
}
