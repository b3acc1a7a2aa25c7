//! The engine on a hand-made policy: two classes, one server method with an `UInt32`
//! request, a unit that grants requests of it and a unit that sets the audit runtime level
//! and then denies responses of it.

use super::*;
use crate::audit::{AuditRecord, DenyReason};
use crate::base::{self, RuntimeLevel};
use crate::profile::{AuditProfile, Call, CallDetail};
use crate::validate::{FieldDesc, IntKind, TypeDesc};
use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};
use std::vec::Vec;

static REQUEST: MessageDesc = MessageDesc {
    fixed_size: 8,
    flags: 0,
    params: &[FieldDesc {
        name: "n",
        offset: 0,
        ty: TypeDesc::int(IntKind::U32),
    }],
};
static EMPTY: MessageDesc = MessageDesc {
    fixed_size: 0,
    flags: 0,
    params: &[],
};
static ERROR: MessageDesc = MessageDesc {
    fixed_size: 0,
    flags: FLAG_ERROR,
    params: &[],
};

static TABLES: Tables = Tables {
    class_names: &["a.Client", "a.Server"],
    class_endpoints: &[(0, 0), (0, 1)],
    class_security: &[(0, 0), (1, 0)],
    endpoints: &[(0, 1)],
    method_names: &[("main", "Get")],
    method_descs: &[[&REQUEST, &EMPTY, &ERROR]],
};

/// Keys: request of method 0 (any src, any dst) -> unit 0; response from class 1 -> unit 1.
const REQUEST_KEY: u64 = (1 << 61) | 1;
const RESPONSE_KEY: u64 = (2 << 61) | (2 << 41);

static DISPATCH: Dispatch = Dispatch {
    slot_keys: &[REQUEST_KEY, RESPONSE_KEY],
    slot_spans: &[(0, 1), (1, 1)],
    displacements: &[0],
    unit_lists: &[0, 1],
    combos: [0, 0b0001_0000, 0b0000_0010, 0, 0],
};

struct Policy {
    level: RuntimeLevel,
}

const GRANT: Call = Call {
    object: "base",
    method: "grant",
    detail: CallDetail::Plain,
};

fn grant(_: &mut Policy, _: &Ctx<'_>, d: &mut Decision<4>) {
    d.rule(&AuditProfile::EMPTY, GRANT, base::grant());
}

fn raise_then_deny(p: &mut Policy, _: &Ctx<'_>, d: &mut Decision<4>) {
    let _ = p.level.set_level(7);
    d.rule(&AuditProfile::EMPTY, GRANT, base::deny_always());
}

impl Transactional for Policy {
    fn commit(&mut self) {
        self.level.commit();
    }
    fn rollback(&mut self) {
        self.level.rollback();
    }
}

impl PolicyTables<4> for Policy {
    const TABLES: &'static Tables = &TABLES;
    const DISPATCH: &'static Dispatch = &DISPATCH;
    const UNITS: &'static [Unit<Self, 4>] = &[grant, raise_then_deny];
    fn runtime_level(&self) -> u32 {
        self.level.current()
    }
}

fn engine() -> Engine<Policy, 4> {
    Engine::new(Policy {
        level: RuntimeLevel::new(0),
    })
}

fn message(fixed: &[u8], flags: u32) -> Vec<u8> {
    let header = Header {
        riid: 0,
        mid: 0,
        fixed_size: fixed.len() as u32,
        flags,
        ..Header::default()
    };
    let mut out = std::vec![0u8; HEADER_SIZE];
    header.write(&mut out);
    out.extend_from_slice(fixed);
    out
}

fn event(kind: EventKind, src: ClassId, dst: ClassId, message: &[u8]) -> Event<'_> {
    Event {
        kind,
        src_sid: 1,
        src_class: src,
        dst_sid: 2,
        dst_class: dst,
        riid: 0,
        mid: 0,
        message,
        handles: &[],
    }
}

/// Keeps the reason of the last record.
#[derive(Default)]
struct Reasons(Vec<Option<DenyReason>>);

impl AuditSink for Reasons {
    fn record(&mut self, record: &AuditRecord<'_>) {
        self.0.push(record.reason);
    }
}

#[test]
fn the_perfect_hash_of_the_test_keys_is_what_the_tables_say() {
    // One bucket, two slots: each key's second hash must land on its own slot.
    assert_eq!(mix(REQUEST_KEY, 1) % 2, 0);
    assert_eq!(mix(RESPONSE_KEY, 1) % 2, 1);
    assert_eq!(pack(1, None, None, Some(0)), REQUEST_KEY);
    assert_eq!(pack(2, Some(1), None, None), RESPONSE_KEY);
    assert_eq!(lookup(&DISPATCH, REQUEST_KEY), &[0]);
    assert_eq!(lookup(&DISPATCH, RESPONSE_KEY), &[1]);
    assert_eq!(lookup(&DISPATCH, 12345), &[] as &[u32]);
}

#[test]
fn names_come_from_the_tables() {
    let e = engine();
    assert_eq!(e.class_id("a.Server"), Some(1));
    assert_eq!(e.class_id("b"), None);
    assert_eq!(e.class_name(0), "a.Client");
    assert_eq!(e.class_name(9), "?");
    assert_eq!(e.method_name(1, 0, 0), Some(("main", "Get")));
    assert_eq!(e.method_name(1, 0, 1), None);
    assert_eq!(e.method_name(0, 0, 0), None);
}

#[test]
fn a_well_formed_request_runs_its_unit() {
    let mut e = engine();
    let m = message(&[5, 0, 0, 0, 0, 0, 0, 0], 0);
    let mut audit = Reasons::default();
    let v = e.decide(&event(EventKind::Request, 0, 1, &m), &mut audit);
    assert!(v.is_granted(), "{:?}", audit.0);
}

#[test]
fn unknown_classes_methods_and_malformed_messages_are_denied_before_any_rule() {
    let mut e = engine();
    let good = message(&[5, 0, 0, 0, 0, 0, 0, 0], 0);
    let short = message(&[5, 0, 0, 0], 0);
    let mut audit = Reasons::default();
    assert!(!e
        .decide(&event(EventKind::Request, 0, 7, &good), &mut audit)
        .is_granted());
    assert!(!e
        .decide(&event(EventKind::Request, 1, 0, &good), &mut audit)
        .is_granted());
    assert!(!e
        .decide(&event(EventKind::Request, 0, 1, &short), &mut audit)
        .is_granted());
    assert!(!e
        .decide(&Event::execute((1, 0), (2, 1)), &mut audit)
        .is_granted());
    assert_eq!(
        audit.0,
        [
            Some(DenyReason::Unknown),
            Some(DenyReason::Unknown),
            Some(DenyReason::Malformed),
            Some(DenyReason::NoBinding)
        ]
    );
}

#[test]
fn state_changed_by_a_denied_event_is_rolled_back() {
    let mut e = engine();
    let m = message(&[], 0);
    let mut audit = Reasons::default();
    let v = e.decide(&event(EventKind::Response, 1, 0, &m), &mut audit);
    assert!(!v.is_granted());
    // The empty audit profile records no rule denial.
    assert!(audit.0.is_empty(), "{:?}", audit.0);
    assert_eq!(e.policy.runtime_level(), 0);
}
