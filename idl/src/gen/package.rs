//! One IDL package as Rust: constants, types with their wire codecs, and for the interface
//! the message types, the server trait, the dispatcher and the client proxy.

use std::fmt::Write;

use crate::ast::Direction;
use crate::layout::{message_layout, type_layout, LayoutError, LayoutKind};
use crate::model::{Model, Package, Ty, TypeDeclKind, TypeRef};

use super::codec::{at, Ctx};
use super::names::{camel, screaming, snake};

const DERIVES: &str = "#[derive(Clone, Debug, PartialEq, Eq, Hash)]";
/// Type parameters of the proxy and the security client. Their methods name user types, so
/// the parameters start with `_`, which no converted IDL type name does: a struct `T` or `Q`
/// next to the interface stays reachable.
const TRANSPORT: &str = "_T";
const QUERY: &str = "_Q";

/// The Rust text (unformatted) of a package; with `security`, the interface is the security
/// interface of some class or component and also gets a security client.
pub fn package(model: &Model, pkg: &Package, security: bool) -> Result<String, LayoutError> {
    let ctx = Ctx {
        model,
        package: &pkg.name,
    };
    let mut out = String::new();
    for c in &pkg.consts {
        let _ = writeln!(
            out,
            "/// `{}` from `{}`.\npub const {}: {} = {};",
            c.name,
            pkg.name,
            screaming(&c.name),
            c.ty.rust(),
            c.value
        );
    }
    for t in &pkg.types {
        let r = TypeRef {
            package: pkg.name.clone(),
            name: t.name.clone(),
        };
        match &t.kind {
            TypeDeclKind::Alias(ty) => {
                let _ = writeln!(
                    out,
                    "/// `{}` (`{}`).\npub type {} = {};",
                    t.name,
                    ty.idl(),
                    camel(&t.name),
                    ctx.rust_type(ty)
                );
            }
            TypeDeclKind::Struct(_) => out.push_str(&structure(&ctx, &r)?),
            TypeDeclKind::Union(_) => out.push_str(&union(&ctx, &r)?),
        }
    }
    if let Some(iface) = &pkg.interface {
        let base = camel(pkg.name.rsplit('.').next().unwrap_or(&pkg.name));
        let mut server = String::new();
        let mut arms = String::new();
        let mut proxy = String::new();
        let mut queries = String::new();
        for m in &iface.methods {
            let mcamel = camel(&m.name);
            let msnake = snake(&m.name);
            for (dir, suffix, flags) in [
                (Direction::In, "Request", "0"),
                (Direction::Out, "Response", "0"),
                (
                    Direction::Error,
                    "Error",
                    "::ostrog_abi::message::FLAG_ERROR",
                ),
            ] {
                let params: Vec<_> = m.params_of(dir).collect();
                let layout =
                    message_layout(model, params.iter().map(|p| (p.name.as_str(), &p.ty)))?;
                let name = format!("{mcamel}{suffix}");
                let mut fields = String::new();
                let mut enc = String::new();
                let mut dec = String::new();
                for (p, l) in params.iter().zip(&layout.params) {
                    let f = snake(&p.name);
                    let _ = write!(
                        fields,
                        "/// `{} {}`.\npub {f}: {},",
                        p.ty.idl(),
                        p.name,
                        ctx.rust_type(&p.ty)
                    );
                    enc.push_str(&ctx.encode(
                        &p.ty,
                        &l.layout,
                        &format!("&self.{f}"),
                        &l.offset.to_string(),
                        0,
                    ));
                    let _ = write!(
                        dec,
                        "{f}: {},",
                        ctx.decode(&p.ty, &l.layout, &l.offset.to_string(), 0)
                    );
                }
                let (enc_arg, dec_arg) = if params.is_empty() {
                    ("_enc", "_dec")
                } else {
                    ("enc", "dec")
                };
                let _ = write!(
                    out,
                    "/// {suffix} of `{}` (MID {}).\n{DERIVES}\npub struct {name} {{ {fields} }}\n\
                     impl rt::Message for {name} {{\n\
                     const MID: u32 = {};\nconst FLAGS: u32 = {flags};\nconst FIXED_SIZE: u32 = {};\nconst MAX_SIZE: u32 = {};\n\
                     fn encode_body(&self, {enc_arg}: &mut rt::Encoder) -> Result<(), rt::EncodeError> {{ {enc} Ok(()) }}\n\
                     fn decode_body({dec_arg}: &rt::Decoder<'_>) -> Result<Self, rt::DecodeError> {{ Ok(Self {{ {dec} }}) }}\n}}\n",
                    m.name,
                    m.mid,
                    m.mid,
                    layout.fixed_size,
                    layout.max_size()
                );
            }
            let _ = writeln!(
                server,
                "/// `{}` (MID {}).\nfn {msnake}(&mut self, request: {mcamel}Request) -> Result<{mcamel}Response, {mcamel}Error>;",
                m.name, m.mid
            );
            let _ = writeln!(
                arms,
                "{} => rt::serve(request, |r: {mcamel}Request| server.{msnake}(r)),",
                m.mid
            );
            let args: Vec<String> = m
                .params_of(Direction::In)
                .map(|p| format!("{}: {}", snake(&p.name), ctx.rust_type(&p.ty)))
                .collect();
            let inits: Vec<String> = m.params_of(Direction::In).map(|p| snake(&p.name)).collect();
            let _ = write!(
                proxy,
                "/// Calls `{}`.\npub fn {msnake}(&mut self, {}) -> Result<{mcamel}Response, rt::CallError<{mcamel}Error>> {{\n\
                 rt::call(&mut self.transport, self.riid, &{mcamel}Request {{ {} }})\n}}\n",
                m.name,
                args.join(", "),
                inits.join(", ")
            );
            let _ = write!(
                queries,
                "/// Asks the security module about `{}`; `Ok` if the policy grants it.\n\
                 pub fn {msnake}(&mut self, {}) -> Result<(), rt::SecurityError<{QUERY}::Error>> {{\n\
                 rt::security_query(&mut self.query, &{mcamel}Request {{ {} }})\n}}\n",
                m.name,
                args.join(", "),
                inits.join(", ")
            );
        }
        let server_arg = if iface.methods.is_empty() {
            "_server"
        } else {
            "server"
        };
        let _ = write!(
            out,
            "/// The server side of `{name}`: one method per IDL method.\npub trait {base}Server {{ {server} }}\n\
             /// Decodes a request for `{name}`, calls `server`, and returns the encoded reply.\n\
             pub fn dispatch<S: {base}Server + ?Sized>({server_arg}: &mut S, request: &rt::Decoder<'_>) -> Result<Vec<u8>, rt::DispatchError> {{\n\
             match request.header.mid {{ {arms} m => Err(rt::DispatchError::Decode(rt::DecodeError::UnknownMethod(m))), }}\n}}\n\
             /// A client of `{name}`: calls go through `transport` to endpoint `riid` of the server.\n\
             #[derive(Debug)]\npub struct {base}Proxy<{TRANSPORT}> {{\n/// The channel.\npub transport: {TRANSPORT},\n/// The endpoint index in the server's class.\npub riid: u32,\n}}\n\
             impl<{TRANSPORT}: rt::Transport> {base}Proxy<{TRANSPORT}> {{ {proxy} }}\n",
            name = pkg.name
        );
        if security {
            let _ = write!(
                out,
                "/// A client of `{name}` as a security interface: each method encodes its request and \
                 asks the security module through `query` (e.g. `ostrog_rt::sys::security_query`), \
                 which judges it as a `security` event.\n\
                 #[derive(Debug)]\npub struct {base}Security<{QUERY}> {{\n\
                 /// Sends one query: `Ok` if granted.\npub query: {QUERY},\n}}\n\
                 impl<{QUERY}: rt::SecurityQuery> {base}Security<{QUERY}> {{ {queries} }}\n",
                name = pkg.name
            );
        }
    }
    Ok(out)
}

fn structure(ctx: &Ctx<'_>, r: &TypeRef) -> Result<String, LayoutError> {
    let ty = Ty::Struct(r.clone());
    let l = type_layout(ctx.model, &ty)?;
    let LayoutKind::Struct { fields, .. } = &l.kind else {
        return Err(LayoutError(format!("`{}` is not a struct", r.name)));
    };
    let name = camel(&r.name);
    let mut defs = String::new();
    let mut enc = String::new();
    let mut dec = String::new();
    for f in fields {
        let n = snake(&f.name);
        let _ = write!(
            defs,
            "/// `{} {}`.\npub {n}: {},",
            f.ty.idl(),
            f.name,
            ctx.rust_type(&f.ty)
        );
        enc.push_str(&ctx.encode(
            &f.ty,
            &f.layout,
            &format!("&self.{n}"),
            &at("pos", u64::from(f.offset)),
            0,
        ));
        let _ = write!(
            dec,
            "{n}: {},",
            ctx.decode(&f.ty, &f.layout, &at("pos", u64::from(f.offset)), 0)
        );
    }
    Ok(format!(
        "/// `struct {}` ({} bytes on the wire).\n{DERIVES}\npub struct {name} {{ {defs} }}\n\
         impl rt::Wire for {name} {{\nconst SIZE: usize = {};\n\
         fn encode(&self, enc: &mut rt::Encoder, pos: usize) -> Result<(), rt::EncodeError> {{ {enc} Ok(()) }}\n\
         fn decode(dec: &rt::Decoder<'_>, pos: usize) -> Result<Self, rt::DecodeError> {{ Ok(Self {{ {dec} }}) }}\n}}\n",
        r.name, l.size, l.size
    ))
}

fn union(ctx: &Ctx<'_>, r: &TypeRef) -> Result<String, LayoutError> {
    let ty = Ty::Union(r.clone());
    let l = type_layout(ctx.model, &ty)?;
    let LayoutKind::Union {
        variants,
        payload_offset,
        ..
    } = &l.kind
    else {
        return Err(LayoutError(format!("`{}` is not a union", r.name)));
    };
    let name = camel(&r.name);
    let mut defs = String::new();
    let mut enc = String::new();
    let mut dec = String::new();
    let payload = at("pos", u64::from(*payload_offset));
    for (tag, v) in variants.iter().enumerate() {
        let n = camel(&v.name);
        let _ = write!(
            defs,
            "/// `{} {}` (tag {tag}).\n{n}({}),",
            v.ty.idl(),
            v.name,
            ctx.rust_type(&v.ty)
        );
        let inner = ctx.encode(&v.ty, &v.layout, "v", &payload, 0);
        let _ = writeln!(
            enc,
            "Self::{n}(v) => {{ rt::Wire::encode(&{tag}u32, enc, pos)?; {inner} }}"
        );
        let _ = writeln!(
            dec,
            "{tag} => Ok(Self::{n}({})),",
            ctx.decode(&v.ty, &v.layout, &payload, 0)
        );
    }
    Ok(format!(
        "/// `union {}` ({} bytes on the wire: a `u32` tag, the variant at offset {payload_offset}).\n{DERIVES}\npub enum {name} {{ {defs} }}\n\
         impl rt::Wire for {name} {{\nconst SIZE: usize = {};\n\
         fn encode(&self, enc: &mut rt::Encoder, pos: usize) -> Result<(), rt::EncodeError> {{ match self {{ {enc} }} Ok(()) }}\n\
         fn decode(dec: &rt::Decoder<'_>, pos: usize) -> Result<Self, rt::DecodeError> {{\n\
         match <u32 as rt::Wire>::decode(dec, pos)? {{ {dec} t => Err(rt::DecodeError::BadUnionTag(t)), }}\n}}\n}}\n",
        r.name, l.size, l.size
    ))
}
