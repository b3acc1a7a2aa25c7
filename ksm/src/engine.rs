//! # The engine: the half of every security module that does not depend on the policy
//!
//! A generated module is two things: what its policy says (class and method tables, message
//! descriptors, dispatch keys, the rule functions, the model objects) and how an event is
//! judged against that. The second half is the same for every policy, so it lives here, is
//! compiled and linted once with the rest of this crate, and is tested without a PSL file.
//! The PSL compiler emits only the first half, as an implementation of [`PolicyTables`].
//!
//! [`decide`] is the whole path of one event:
//!
//! 1. the two class numbers must be the policy's, and (but for `execute`) the endpoint and
//!    method indices must name a method of the class that serves it: the *global method
//!    number*; anything else is denied as unknown;
//! 2. the message is validated against the method's descriptor for the event kind; a
//!    malformed message is denied and no rule sees it;
//! 3. the units filed under the event's dispatch keys run in source order (see [`run_units`]);
//! 4. the [`Decision`] gives the verdict, the model state is committed or rolled back with
//!    it, and the audit record is written.
//!
//! The dispatch keys are found with a perfect hash built on the host by the PSL compiler
//! with the same [`mix`] and [`pack`] as here, so placement and lookup agree by construction.

use crate::decision::{Decision, EventNames};
use crate::expr::{Expr, ExprError};
use crate::message::MessageView;
use crate::txn::Transactional;
use crate::validate::{validate_event, MessageDesc};
use crate::{AuditSink, ClassId, Event, EventKind, SecurityModule, Verdict};

/// The global method number of an event that addresses no method (`execute`).
pub const NO_METHOD: u32 = u32::MAX;

/// What the rule functions see of the event being decided.
pub struct Ctx<'a> {
    /// The event.
    pub ev: &'a Event<'a>,
    /// Global method number ([`NO_METHOD`] for execute).
    pub gm: u32,
    /// The validated message.
    pub view: Option<MessageView<'a>>,
}

impl<'a> Ctx<'a> {
    /// The validated message; an expression that reads a message without one fails.
    pub fn v(&self) -> Expr<MessageView<'a>> {
        self.view.ok_or(ExprError::BadField)
    }
}

/// A unit of the policy: a run of statements with the selectors of its binding level.
pub type Unit<P, const N: usize> = fn(&mut P, &Ctx<'_>, &mut Decision<N>);

/// The policy's names and message descriptors, indexed by class and global method number.
#[derive(Debug)]
pub struct Tables {
    /// Class names, sorted: a `ClassId` is an index.
    pub class_names: &'static [&'static str],
    /// Per class: (first endpoint in `endpoints`, count).
    pub class_endpoints: &'static [(u32, u32)],
    /// Per class: (first method of its security interface, count).
    pub class_security: &'static [(u32, u32)],
    /// Per endpoint: (first method, count).
    pub endpoints: &'static [(u32, u32)],
    /// Per method: endpoint and method names.
    pub method_names: &'static [(&'static str, &'static str)],
    /// Per method: request (or security), response and error descriptors.
    pub method_descs: &'static [[&'static MessageDesc; 3]],
}

/// The dispatch table: a perfect hash of `(kind, src, dst, method)` keys to sorted lists of
/// unit numbers.
#[derive(Debug)]
pub struct Dispatch {
    /// Per slot: the key placed there (`u64::MAX` for none).
    pub slot_keys: &'static [u64],
    /// Per slot: (first entry in `unit_lists`, count).
    pub slot_spans: &'static [(u32, u32)],
    /// Per bucket of the first hash: the seed of the second.
    pub displacements: &'static [u32],
    /// The unit lists, each sorted.
    pub unit_lists: &'static [u32],
    /// Per event kind: which (src, dst, method) given/any combinations have keys (bit
    /// number `src + 2 * dst + 4 * method`).
    pub combos: [u8; 5],
}

/// What a compiled policy gives the engine. The implementor is the policy's model state
/// (transactional: kept only when the event is granted); `N` is how many audited results
/// one decision keeps.
pub trait PolicyTables<const N: usize>: Transactional + Send + Sized + 'static {
    /// Names and descriptors.
    const TABLES: &'static Tables;
    /// Where each event's units are filed.
    const DISPATCH: &'static Dispatch;
    /// The units, by unit number.
    const UNITS: &'static [Unit<Self, N>];
    /// The audit runtime level now in force.
    fn runtime_level(&self) -> u32;
}

/// A policy as a [`SecurityModule`].
pub struct Engine<P, const N: usize> {
    policy: P,
}

impl<P: PolicyTables<N>, const N: usize> Engine<P, N> {
    /// The module of `policy`, in its initial state.
    pub const fn new(policy: P) -> Self {
        Engine { policy }
    }
}

impl<P: PolicyTables<N>, const N: usize> SecurityModule for Engine<P, N> {
    fn class_id(&self, name: &str) -> Option<ClassId> {
        P::TABLES
            .class_names
            .binary_search(&name)
            .ok()
            .and_then(|i| ClassId::try_from(i).ok())
    }

    fn class_name(&self, class: ClassId) -> &str {
        class_name(P::TABLES, class)
    }

    fn method_name(&self, class: ClassId, riid: u32, mid: u32) -> Option<(&str, &str)> {
        let gm = endpoint_gm(P::TABLES, class, riid, mid)?;
        P::TABLES.method_names.get(gm as usize).copied()
    }

    fn decide(&mut self, event: &Event<'_>, audit: &mut dyn AuditSink) -> Verdict {
        decide(&mut self.policy, event, audit)
    }
}

/// Decides `event` under `policy` (see the module essay for the steps).
pub fn decide<P: PolicyTables<N>, const N: usize>(
    policy: &mut P,
    event: &Event<'_>,
    audit: &mut dyn AuditSink,
) -> Verdict {
    let t = P::TABLES;
    let mut d: Decision<N> = Decision::new(policy.runtime_level());
    let known = (event.src_class as usize) < t.class_names.len()
        && (event.dst_class as usize) < t.class_names.len();
    let gm = method_of(t, event);
    let (endpoint, method) = gm
        .and_then(|g| t.method_names.get(g as usize).copied())
        .unwrap_or(("", ""));
    let names = EventNames {
        src_class: class_name(t, event.src_class),
        dst_class: class_name(t, event.dst_class),
        endpoint,
        method,
    };
    if !known || (event.kind != EventKind::Execute && gm.is_none()) {
        d.unknown();
    } else {
        let mut view = None;
        let mut well_formed = true;
        if let Some(g) = gm {
            let which = match event.kind {
                EventKind::Response => 1,
                EventKind::Error => 2,
                _ => 0,
            };
            let desc = t.method_descs.get(g as usize).and_then(|m| m.get(which));
            match desc.map(|desc| validate_event(desc, event)) {
                Some(Ok(())) => view = MessageView::of(event).ok(),
                _ => {
                    d.malformed();
                    well_formed = false;
                }
            }
        }
        if well_formed {
            let c = Ctx {
                ev: event,
                gm: gm.unwrap_or(NO_METHOD),
                view,
            };
            run_units(policy, &c, &mut d);
        }
    }
    let mut state: [&mut dyn Transactional; 1] = [policy];
    d.finish(event, &names, audit, &mut state)
}

/// The global method number an event addresses: requests name a method of the destination
/// class, responses and errors one of the source class, security queries one of the source
/// class's security interface; `execute` none.
fn method_of(t: &Tables, event: &Event<'_>) -> Option<u32> {
    match event.kind {
        EventKind::Execute => None,
        EventKind::Request => endpoint_gm(t, event.dst_class, event.riid, event.mid),
        EventKind::Response | EventKind::Error => {
            endpoint_gm(t, event.src_class, event.riid, event.mid)
        }
        EventKind::Security => security_gm(t, event.src_class, event.riid, event.mid),
    }
}

fn endpoint_gm(t: &Tables, class: ClassId, riid: u32, mid: u32) -> Option<u32> {
    let &(first, count) = t.class_endpoints.get(class as usize)?;
    if riid >= count {
        return None;
    }
    let &(m0, n) = t.endpoints.get(first.checked_add(riid)? as usize)?;
    if mid >= n {
        return None;
    }
    m0.checked_add(mid)
}

fn security_gm(t: &Tables, class: ClassId, riid: u32, mid: u32) -> Option<u32> {
    let &(m0, n) = t.class_security.get(class as usize)?;
    if riid != 0 || mid >= n {
        return None;
    }
    m0.checked_add(mid)
}

fn class_name(t: &'static Tables, class: ClassId) -> &'static str {
    t.class_names.get(class as usize).copied().unwrap_or("?")
}

/// The number of an event kind in dispatch keys.
pub fn kind_index(kind: EventKind) -> u64 {
    match kind {
        EventKind::Execute => 0,
        EventKind::Request => 1,
        EventKind::Response => 2,
        EventKind::Error => 3,
        EventKind::Security => 4,
    }
}

/// A dispatch key: kind, then src, dst and method, each `0` for "any" or number + 1.
pub fn pack(kind: u64, src: Option<u32>, dst: Option<u32>, gm: Option<u32>) -> u64 {
    let part = |v: Option<u32>| v.map_or(0u64, |x| u64::from(x).wrapping_add(1));
    kind.wrapping_shl(61) | part(src).wrapping_shl(41) | part(dst).wrapping_shl(21) | part(gm)
}

/// The hash of `key` under `seed` (a 64-bit finalizer; not cryptographic: the keys are the
/// policy's own, fixed at build time, so nobody can choose colliding keys at run time).
pub fn mix(key: u64, seed: u64) -> u64 {
    let mut x = key ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `hash` reduced to an index below `len` (> 0): a mask when `len` is a power of two, as
/// the PSL compiler sizes every table (a division costs tens of cycles, and a decision
/// makes up to sixteen of these), the remainder otherwise. [`lookup`] and the compiler's
/// placement (`ostrog_policy::gen::phf`) use this same function.
#[inline(always)]
pub fn reduce(hash: u64, len: u64) -> u64 {
    if len.is_power_of_two() {
        hash & len.wrapping_sub(1)
    } else {
        hash.checked_rem(len).unwrap_or(0)
    }
}

/// The units filed under `key` (perfect hash: two hashes and one comparison).
pub fn lookup(t: &'static Dispatch, key: u64) -> &'static [u32] {
    let buckets = t.displacements.len() as u64;
    let slots = t.slot_keys.len() as u64;
    if buckets == 0 || slots == 0 {
        return &[];
    }
    let Some(&d) = t.displacements.get(reduce(mix(key, 0), buckets) as usize) else {
        return &[];
    };
    let s = reduce(mix(key, u64::from(d).wrapping_add(1)), slots) as usize;
    match (t.slot_keys.get(s), t.slot_spans.get(s)) {
        (Some(&k), Some(&(start, len))) if k == key => t
            .unit_lists
            .get(start as usize..(start as usize).saturating_add(len as usize))
            .unwrap_or(&[]),
        _ => &[],
    }
}

/// Runs, in source order, every unit whose selectors the event matches: the lists filed
/// under each given/any combination of source, destination and method are merged.
pub fn run_units<P: PolicyTables<N>, const N: usize>(
    policy: &mut P,
    c: &Ctx<'_>,
    d: &mut Decision<N>,
) {
    let kind = kind_index(c.ev.kind);
    let combos = P::DISPATCH.combos.get(kind as usize).copied().unwrap_or(0);
    let gm = (c.gm != NO_METHOD).then_some(c.gm);
    let mut lists: [&[u32]; 8] = [&[]; 8];
    for (combo, list) in lists.iter_mut().enumerate() {
        if combos & (1u8 << combo) == 0 {
            continue;
        }
        let src = (combo & 1 != 0).then_some(c.ev.src_class);
        let dst = (combo & 2 != 0).then_some(c.ev.dst_class);
        let method = if combo & 4 != 0 {
            match gm {
                Some(g) => Some(g),
                None => continue,
            }
        } else {
            None
        };
        *list = lookup(P::DISPATCH, pack(kind, src, dst, method));
    }
    loop {
        let mut best: Option<(usize, u32)> = None;
        for (i, list) in lists.iter().enumerate() {
            if let Some(&u) = list.first() {
                if best.is_none_or(|(_, b)| u < b) {
                    best = Some((i, u));
                }
            }
        }
        let Some((i, unit)) = best else { break };
        if let Some(list) = lists.get_mut(i) {
            *list = list.get(1..).unwrap_or(&[]);
        }
        if let Some(f) = P::UNITS.get(unit as usize) {
            f(policy, c, d);
        }
    }
}

/// Everything a generated module names, for one glob import.
pub mod prelude {
    pub use super::{Ctx, Dispatch, Engine, PolicyTables, Tables, Unit};
    pub use crate::arith::*;
    pub use crate::base;
    pub use crate::decision::Decision;
    pub use crate::expr::{Expr, ExprError};
    pub use crate::flow::{Flow, FlowConfig, StateId};
    pub use crate::hashset::HashSet;
    pub use crate::items::*;
    pub use crate::math;
    pub use crate::message::{MessageView, Sequence};
    pub use crate::mic::{self, Level, Mic, MicConfig};
    pub use crate::profile::{
        AuditProfile, Call, CallDetail, ObjectAudit, Outcomes, ProfileLevel, RegexEmit, RegexOp,
    };
    pub use crate::regex::{self, Pattern};
    pub use crate::staticmap::{StaticMap, StaticMapConfig};
    pub use crate::txn::Transactional;
    pub use crate::validate::{FieldDesc, IntKind, MessageDesc, Shape, TypeDesc};
    pub use crate::SecurityModule;
    pub use ostrog_abi::message::FLAG_ERROR;
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
