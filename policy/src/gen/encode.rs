//! Encoding PAL message dictionaries into real messages (host side).
//!
//! A PAL case gives some parameters of its method (`{ code : "1234" }`); the others take
//! default values (0, empty text, empty list, union variant 0, a handle with SID 0 and no
//! rights). The message is laid out exactly as `ostrog_idl::layout` says, so it passes the
//! module's validator like a message of a real client would.
//!
//! Handles: a `Handle` parameter's value is its SID (an integer) or `{ handle : sid,
//! rights : mask }`. Each handle parameter gets a copy-mode slot; the event carries the
//! SID and rights the kernel would attach.

use ostrog_abi::message::{ArenaRef, HandleSlot, Header, HANDLE_COPY};
use ostrog_abi::wire;
use ostrog_idl::layout::{LayoutKind, MessageLayout, TypeLayout, SEQUENCE_ALIGN};

use crate::model::Value;

/// An encoded message and the handle information for its event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    /// `(sid, rights)` per handle slot.
    pub handles: Vec<(u64, u32)>,
}

struct Writer {
    body: Vec<u8>,
    fixed: usize,
    handles: Vec<(u64, u32)>,
}

fn field<'v>(v: Option<&'v Value>, name: &str) -> Option<&'v Value> {
    match v {
        Some(Value::Dict(entries)) => entries.iter().find(|(k, _)| k == name).map(|(_, x)| x),
        _ => None,
    }
}

impl Writer {
    fn put(&mut self, pos: usize, bytes: &[u8]) -> Result<(), String> {
        let end = pos + bytes.len();
        let dst = self
            .body
            .get_mut(pos..end)
            .ok_or_else(|| "value outside its message".to_string())?;
        dst.copy_from_slice(bytes);
        Ok(())
    }

    /// Appends `len` zero bytes to the arena, aligned (the padding before them zero too);
    /// returns their body position.
    fn reserve(&mut self, len: usize, align: usize) -> usize {
        let arena_len = self.body.len() - self.fixed;
        let at = self.fixed + wire::arena_next(arena_len, align).unwrap_or(arena_len);
        self.body.resize(at + len, 0);
        at
    }

    fn arena_ref(&mut self, pos: usize, at: usize, len: usize) -> Result<(), String> {
        let r = ArenaRef {
            offset: (at - self.fixed) as u32,
            len: len as u32,
        };
        let written = self.body.get_mut(pos..).is_some_and(|dst| r.write(dst));
        written
            .then_some(())
            .ok_or_else(|| "value outside its message".to_string())
    }

    fn value(
        &mut self,
        pos: usize,
        l: &TypeLayout,
        v: Option<&Value>,
        what: &str,
    ) -> Result<(), String> {
        match &l.kind {
            LayoutKind::Int(t) => {
                let n = match v {
                    None => 0,
                    Some(Value::Int(n)) => *n,
                    Some(Value::Bool(b)) => i128::from(*b),
                    Some(other) => {
                        return Err(format!("`{what}` needs an integer, found {other:?}"))
                    }
                };
                let (lo, hi) = t.range();
                if n < lo || n > hi {
                    return Err(format!("`{what}` = {n} does not fit {}", t.idl_name()));
                }
                let bytes = n.to_le_bytes();
                self.put(pos, &bytes[..t.size() as usize])
            }
            LayoutKind::Handle { .. } => {
                let (sid, rights) = match v {
                    None => (0, 0),
                    Some(Value::Int(n)) => (
                        u64::try_from(*n).map_err(|_| format!("`{what}`: bad SID"))?,
                        0,
                    ),
                    Some(d @ Value::Dict(_)) => {
                        let sid = match field(Some(d), "handle") {
                            Some(Value::Int(n)) => {
                                u64::try_from(*n).map_err(|_| format!("`{what}`: bad SID"))?
                            }
                            _ => 0,
                        };
                        let rights = match field(Some(d), "rights") {
                            Some(Value::Int(n)) => {
                                u32::try_from(*n).map_err(|_| format!("`{what}`: bad rights"))?
                            }
                            _ => 0,
                        };
                        (sid, rights)
                    }
                    Some(other) => {
                        return Err(format!(
                            "`{what}` needs a SID or {{handle, rights}}, found {other:?}"
                        ))
                    }
                };
                let index = self.handles.len() as u32;
                self.handles.push((sid, rights));
                self.put(pos, &index.to_le_bytes())
            }
            LayoutKind::String { bound } | LayoutKind::Bytes { bound } => {
                let data: Vec<u8> = match v {
                    None => Vec::new(),
                    Some(Value::Text(t)) => t.as_bytes().to_vec(),
                    Some(Value::List(items)) => items
                        .iter()
                        .map(|x| match x {
                            Value::Int(n) => {
                                u8::try_from(*n).map_err(|_| format!("`{what}`: {n} is not a byte"))
                            }
                            _ => Err(format!("`{what}`: a byte list needs integers")),
                        })
                        .collect::<Result<_, _>>()?,
                    Some(other) => return Err(format!("`{what}` needs a text, found {other:?}")),
                };
                if data.len() > *bound as usize {
                    return Err(format!("`{what}` is longer than its bound {bound}"));
                }
                let at = self.reserve(data.len(), 1);
                self.put(at, &data)?;
                self.arena_ref(pos, at, data.len())
            }
            LayoutKind::Sequence { bound, element } => {
                let items: &[Value] = match v {
                    None => &[],
                    Some(Value::List(items)) => items,
                    Some(other) => return Err(format!("`{what}` needs a list, found {other:?}")),
                };
                if items.len() > *bound as usize {
                    return Err(format!("`{what}` has more than {bound} elements"));
                }
                let stride = element.size as usize;
                let at = self.reserve(items.len() * stride, SEQUENCE_ALIGN as usize);
                for (i, item) in items.iter().enumerate() {
                    self.value(at + i * stride, element, Some(item), what)?;
                }
                self.arena_ref(pos, at, items.len())
            }
            LayoutKind::Array { len, element } => {
                let items: &[Value] = match v {
                    None => &[],
                    Some(Value::List(items)) => items,
                    Some(other) => return Err(format!("`{what}` needs a list, found {other:?}")),
                };
                if items.len() > *len as usize {
                    return Err(format!("`{what}` has more than {len} elements"));
                }
                for i in 0..*len as usize {
                    self.value(pos + i * element.size as usize, element, items.get(i), what)?;
                }
                Ok(())
            }
            LayoutKind::Struct { fields, .. } => {
                for f in fields {
                    let name = format!("{what}.{}", f.name);
                    self.value(pos + f.offset as usize, &f.layout, field(v, &f.name), &name)?;
                }
                Ok(())
            }
            LayoutKind::Union {
                payload_offset,
                variants,
                ..
            } => {
                let (tag, inner) = match v {
                    Some(Value::Dict(entries)) if entries.len() == 1 => {
                        let (k, x) = &entries[0];
                        let tag = variants
                            .iter()
                            .position(|f| f.name == *k)
                            .ok_or_else(|| format!("`{what}` has no variant `{k}`"))?;
                        (tag, Some(x))
                    }
                    None => (0, None),
                    Some(other) => {
                        return Err(format!(
                            "`{what}` needs `{{ variant : value }}`, found {other:?}"
                        ))
                    }
                };
                self.put(pos, &(tag as u32).to_le_bytes())?;
                match variants.get(tag) {
                    Some(var) => {
                        self.value(pos + *payload_offset as usize, &var.layout, inner, what)
                    }
                    None => Ok(()),
                }
            }
        }
    }
}

/// Encodes `values` as a message of `layout` with the given RIID, MID and flags.
pub fn encode(
    layout: &MessageLayout,
    values: &[(String, Value)],
    riid: u32,
    mid: u32,
    flags: u32,
) -> Result<Encoded, String> {
    let fixed = layout.fixed_size as usize;
    let mut w = Writer {
        body: vec![0; fixed],
        fixed,
        handles: Vec::new(),
    };
    for (name, _) in values {
        if layout.param(name).is_none() {
            return Err(format!("no parameter `{name}`"));
        }
    }
    for p in &layout.params {
        let v = values.iter().find(|(k, _)| *k == p.name).map(|(_, v)| v);
        w.value(p.offset as usize, &p.layout, v, &p.name)?;
    }
    let header = Header {
        riid,
        mid,
        flags,
        handle_count: w.handles.len() as u32,
        fixed_size: layout.fixed_size,
        arena_size: (w.body.len() - fixed) as u32,
        ..Header::default()
    };
    let mut bytes = vec![0u8; header.fixed_offset()];
    let mut head = wire::Writer::new(&mut bytes);
    head.set_header(&header);
    for i in 0..w.handles.len() {
        let slot = HandleSlot {
            handle: i as u32,
            rights_and_mode: HANDLE_COPY << 16,
        };
        head.set_slot(i, slot);
    }
    bytes.extend_from_slice(&w.body);
    Ok(Encoded {
        bytes,
        handles: w.handles,
    })
}
