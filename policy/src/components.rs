//! Which components provide each endpoint of a class.
//!
//! `ostrog-idl` flattens nested components into a class's endpoint list (qualified names
//! such as `store.main`, numbered by RIID) and keeps no trace of the component types on the
//! way. The `component=` selector needs them: an event selects `component=K` when its
//! endpoint lies inside an instance of `K`, directly or through other components. This walks
//! the EDL/CDL syntax trees of the workspace the same way the flattening does and records,
//! for every qualified endpoint name, the component types of its instance path.

use std::collections::BTreeMap;

use ostrog_idl::ast::{Section, Unit};
use ostrog_idl::parser::Language;
use ostrog_idl::resolve::Workspace;

/// For each endpoint of the EDL `edl` (qualified name), the components whose instances
/// contain it, outermost first. Endpoints the EDL declares itself map to an empty list.
pub(crate) fn endpoint_components(ws: &Workspace, edl: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    if let Some(Unit::Edl(e)) = ws.get(Language::Edl, edl).map(|l| &l.unit) {
        walk(ws, &e.sections, "", &mut Vec::new(), &mut out);
    }
    out
}

fn walk(
    ws: &Workspace,
    sections: &[Section],
    prefix: &str,
    chain: &mut Vec<String>,
    out: &mut BTreeMap<String, Vec<String>>,
) {
    for s in sections {
        match s {
            Section::Endpoints { entries, .. } => {
                for b in entries {
                    out.insert(format!("{prefix}{}", b.name.text), chain.clone());
                }
            }
            Section::Components { entries, .. } => {
                for b in entries {
                    let target = b.target.dotted();
                    // A component containing itself is reported by the spec checker.
                    if chain.contains(&target) {
                        continue;
                    }
                    let Some(Unit::Cdl(c)) = ws.get(Language::Cdl, &target).map(|l| &l.unit) else {
                        continue;
                    };
                    chain.push(target);
                    walk(
                        ws,
                        &c.sections,
                        &format!("{prefix}{}.", b.name.text),
                        chain,
                        out,
                    );
                    chain.pop();
                }
            }
            Section::Security(_) => {}
        }
    }
}
