//! Planning: numbering classes and methods, flattening bindings into units, and building
//! the dispatch table.
//!
//! * **Classes** are numbered by their position in the sorted list of class names
//!   (`ClassId`).
//! * **Methods** get a *global method number* (`gm`): every `(server class, riid, mid)` of an
//!   endpoint, then every method of the class's security interface. The generated module
//!   computes the `gm` of an event from two small per-class tables, so message descriptors,
//!   names and dispatch keys are all indexed by one number.
//! * **Units**: a binding's body is cut at its `match` sections into runs of statements;
//!   each run is a unit with the accumulated selectors of its level (event kind, `src`,
//!   `dst`, the set of target methods) and its audit profile. An event runs the units whose
//!   selectors it matches, in source order, which is exactly the order in which a tree walk of
//!   the bindings would run their rules.
//! * **Dispatch**: every unit is filed under one key per target method (or one wildcard key)
//!   made of its event kind, `src` (or any), `dst` (or any) and `gm` (or any). An event probes
//!   at most eight keys (each of the three parts given or any), in a perfect hash table, and
//!   merges the sorted unit lists it finds.

use std::collections::BTreeMap;

use crate::model::{Block, EventKind, Policy, Stmt, Target, Targets};

/// Largest class number the key packing allows.
pub const MAX_CLASSES: usize = (1 << 20) - 2;
/// Largest method number the key packing allows.
pub const MAX_METHODS: usize = (1 << 21) - 2;

/// Index of an event kind in the generated tables.
pub fn kind_index(k: EventKind) -> u64 {
    match k {
        EventKind::Execute => 0,
        EventKind::Request => 1,
        EventKind::Response => 2,
        EventKind::Error => 3,
        EventKind::Security => 4,
    }
}

/// Packs a dispatch key as the engine does (`ostrog_ksm::engine::pack`).
pub fn pack(kind: u64, src: Option<usize>, dst: Option<usize>, gm: Option<u32>) -> u64 {
    ostrog_ksm::engine::pack(kind, src.map(|s| s as u32), dst.map(|d| d as u32), gm)
}

/// One method a message can address.
#[derive(Clone, Debug)]
pub struct MethodEntry {
    /// Server class number.
    pub class: usize,
    /// Endpoint index (security: interface index).
    pub riid: u32,
    /// Method index.
    pub mid: u32,
    /// Qualified endpoint name (empty for a security interface).
    pub endpoint: String,
    /// Interface package.
    pub interface: String,
    /// Method name.
    pub method: String,
    /// A method of the class's security interface.
    pub security: bool,
}

/// A run of statements with the selectors of its level.
#[derive(Clone, Debug)]
pub struct Unit<'p> {
    pub kind: EventKind,
    pub src: Option<usize>,
    pub dst: Option<usize>,
    /// `None`: any method.
    pub targets: Option<Vec<Target>>,
    /// Audit profile name in force.
    pub profile: String,
    pub stmts: Vec<&'p Stmt>,
}

/// Everything numbered.
#[derive(Debug)]
pub struct Plan<'p> {
    pub classes: Vec<String>,
    pub class_index: BTreeMap<String, usize>,
    /// Per class: (first endpoint in `endpoints`, count).
    pub class_endpoints: Vec<(u32, u32)>,
    /// Per class: (first gm of the security interface, method count).
    pub class_security: Vec<(u32, u32)>,
    /// Per endpoint: (first gm, method count).
    pub endpoints: Vec<(u32, u32)>,
    pub methods: Vec<MethodEntry>,
    gm_of: BTreeMap<(usize, bool, u32, u32), u32>,
    pub units: Vec<Unit<'p>>,
    /// Dispatch keys and the units filed under each (sorted, distinct).
    pub keys: Vec<u64>,
    pub key_units: Vec<Vec<u32>>,
    /// Per event kind: bit `i` set if some key uses wildcard combination `i`
    /// (bit 0: src given, 1: dst given, 2: gm given).
    pub combos: [u8; 5],
}

impl<'p> Plan<'p> {
    /// The gm of a target of an event kind.
    pub fn gm(&self, kind: EventKind, t: &Target) -> Option<u32> {
        let class = *self.class_index.get(&t.class)?;
        let security = kind == EventKind::Security;
        self.gm_of.get(&(class, security, t.riid, t.mid)).copied()
    }

    /// The class number of a name.
    pub fn class(&self, name: &str) -> Option<usize> {
        self.class_index.get(name).copied()
    }

    /// The class number of a `src=`/`dst=` selector (`None`: not given). A name the policy
    /// has no class for is an error, never "any class".
    fn selected(&self, name: Option<&str>) -> Result<Option<usize>, PlanError> {
        name.map(|n| {
            self.class(n)
                .ok_or_else(|| PlanError(format!("selector names `{n}`, which is not a class")))
        })
        .transpose()
    }
}

/// Why a policy cannot be planned.
#[derive(Debug)]
pub struct PlanError(pub String);

/// Numbers classes and methods and builds units and dispatch keys.
pub fn plan<'p>(
    policy: &'p Policy,
    spec: &ostrog_idl::Model,
    default_profile: &str,
) -> Result<Plan<'p>, PlanError> {
    let classes: Vec<String> = policy.classes.keys().cloned().collect();
    if classes.len() > MAX_CLASSES {
        return Err(PlanError(format!(
            "{} process classes, more than the {MAX_CLASSES} the module supports",
            classes.len()
        )));
    }
    let class_index: BTreeMap<String, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i))
        .collect();
    let mut p = Plan {
        classes,
        class_index,
        class_endpoints: Vec::new(),
        class_security: Vec::new(),
        endpoints: Vec::new(),
        methods: Vec::new(),
        gm_of: BTreeMap::new(),
        units: Vec::new(),
        keys: Vec::new(),
        key_units: Vec::new(),
        combos: [0; 5],
    };
    let methods_of = |interface: &str| -> Vec<(u32, String)> {
        spec.packages
            .get(interface)
            .and_then(|p| p.interface.as_ref())
            .map(|i| i.methods.iter().map(|m| (m.mid, m.name.clone())).collect())
            .unwrap_or_default()
    };
    for (ci, name) in p.classes.clone().iter().enumerate() {
        let class = &policy.classes[name];
        let first_ep = p.endpoints.len() as u32;
        for e in &class.endpoints {
            let first = p.methods.len() as u32;
            let ms = methods_of(&e.interface);
            for (mid, m) in &ms {
                p.gm_of
                    .insert((ci, false, e.riid, *mid), p.methods.len() as u32);
                p.methods.push(MethodEntry {
                    class: ci,
                    riid: e.riid,
                    mid: *mid,
                    endpoint: e.qualified.clone(),
                    interface: e.interface.clone(),
                    method: m.clone(),
                    security: false,
                });
            }
            p.endpoints.push((first, ms.len() as u32));
        }
        p.class_endpoints
            .push((first_ep, p.endpoints.len() as u32 - first_ep));
        let first = p.methods.len() as u32;
        let mut count = 0;
        if let Some(sec) = &class.security {
            for (mid, m) in methods_of(sec) {
                p.gm_of.insert((ci, true, 0, mid), p.methods.len() as u32);
                p.methods.push(MethodEntry {
                    class: ci,
                    riid: 0,
                    mid,
                    endpoint: String::new(),
                    interface: sec.clone(),
                    method: m,
                    security: true,
                });
                count += 1;
            }
        }
        p.class_security.push((first, count));
    }
    if p.methods.len() > MAX_METHODS {
        return Err(PlanError(format!(
            "{} methods, more than the {MAX_METHODS} the module supports",
            p.methods.len()
        )));
    }
    for b in &policy.bindings {
        let scope = Scope {
            kind: b.event,
            src: p.selected(b.selectors.src.as_deref())?,
            dst: p.selected(b.selectors.dst.as_deref())?,
            targets: match &b.targets {
                Targets::Any => None,
                Targets::Only(t) => Some(t.clone()),
            },
            profile: b
                .body
                .audit
                .clone()
                .unwrap_or_else(|| default_profile.to_string()),
        };
        flatten(&b.body, &scope, &mut p)?;
    }
    let mut filed: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    for (ui, u) in p.units.iter().enumerate() {
        let k = kind_index(u.kind);
        let gms: Vec<Option<u32>> = match &u.targets {
            None => vec![None],
            Some(ts) => {
                let mut v: Vec<Option<u32>> = ts
                    .iter()
                    .filter_map(|t| p.gm(u.kind, t))
                    .map(Some)
                    .collect();
                v.sort();
                v.dedup();
                v
            }
        };
        for gm in gms {
            let combo = u8::from(u.src.is_some())
                | (u8::from(u.dst.is_some()) << 1)
                | (u8::from(gm.is_some()) << 2);
            p.combos[k as usize] |= 1 << combo;
            filed
                .entry(pack(k, u.src, u.dst, gm))
                .or_default()
                .push(ui as u32);
        }
    }
    for (k, v) in filed {
        p.keys.push(k);
        p.key_units.push(v);
    }
    Ok(p)
}

#[derive(Clone)]
struct Scope {
    kind: EventKind,
    src: Option<usize>,
    dst: Option<usize>,
    targets: Option<Vec<Target>>,
    profile: String,
}

fn flatten<'p>(block: &'p Block, scope: &Scope, p: &mut Plan<'p>) -> Result<(), PlanError> {
    let mut run: Vec<&'p Stmt> = Vec::new();
    let flush = |run: &mut Vec<&'p Stmt>, p: &mut Plan<'p>| {
        if !run.is_empty() {
            p.units.push(Unit {
                kind: scope.kind,
                src: scope.src,
                dst: scope.dst,
                targets: scope.targets.clone(),
                profile: scope.profile.clone(),
                stmts: std::mem::take(run),
            });
        }
    };
    for s in &block.stmts {
        match s {
            Stmt::Match(m) => {
                flush(&mut run, p);
                let mut inner = scope.clone();
                if let Some(c) = p.selected(m.selectors.src.as_deref())? {
                    inner.src = Some(c);
                }
                if let Some(c) = p.selected(m.selectors.dst.as_deref())? {
                    inner.dst = Some(c);
                }
                inner.targets = match &m.targets {
                    Targets::Any => None,
                    Targets::Only(t) => Some(t.clone()),
                };
                if let Some(a) = &m.body.audit {
                    inner.profile = a.clone();
                }
                flatten(&m.body, &inner, p)?;
            }
            other => run.push(other),
        }
    }
    flush(&mut run, p);
    Ok(())
}
