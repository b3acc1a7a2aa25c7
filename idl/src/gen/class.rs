//! A process class (EDL) or component (CDL) as Rust: endpoint indices, a trait giving the
//! implementation of each endpoint, and the dispatch of a request by RIID.

use std::fmt::Write;

use crate::model::Endpoint;

use super::names::{camel, module, screaming, snake};

/// The Rust text (unformatted) for a class or component with these endpoints.
pub fn class(kind: &str, name: &str, endpoints: &[Endpoint]) -> String {
    let base = camel(name.rsplit('.').next().unwrap_or(name));
    let mut consts = String::new();
    let mut accessors = String::new();
    let mut arms = String::new();
    for e in endpoints {
        let _ = writeln!(
            consts,
            "/// `{}` (`{}`).\npub const {}: u32 = {};",
            e.qualified,
            e.interface,
            screaming(&e.qualified),
            e.riid
        );
        let acc = snake(&e.qualified);
        let iface = module(&e.interface);
        let server = camel(e.interface.rsplit('.').next().unwrap_or(&e.interface));
        let _ = writeln!(
            accessors,
            "/// The implementation of endpoint `{}` (RIID {}).\nfn {acc}(&mut self) -> &mut dyn super::{iface}::{server}Server;",
            e.qualified, e.riid
        );
        let _ = writeln!(
            arms,
            "{} => super::{iface}::dispatch(target.{acc}(), &dec),",
            e.riid
        );
    }
    let (target, route) = if endpoints.is_empty() {
        (
            "_target",
            "Err(rt::DispatchError::Decode(rt::DecodeError::UnknownEndpoint(dec.header.riid)))"
                .to_string(),
        )
    } else {
        (
            "target",
            format!("match dec.header.riid {{ {arms} r => Err(rt::DispatchError::Decode(rt::DecodeError::UnknownEndpoint(r))), }}"),
        )
    };
    format!(
        "/// Endpoint indices (RIID) of {kind} `{name}`.\npub mod riid {{ {consts} }}\n\
         /// The endpoints of {kind} `{name}`.\npub trait {base}Endpoints {{ {accessors} }}\n\
         /// Decodes a request to {kind} `{name}`, routes it by RIID, and returns the encoded reply.\n\
         pub fn dispatch<C: {base}Endpoints + ?Sized>({target}: &mut C, request: &[u8]) -> Result<Vec<u8>, rt::DispatchError> {{\n\
         let dec = rt::Decoder::parse(request).map_err(rt::DispatchError::Decode)?;\n\
         {route}\n}}\n"
    )
}
