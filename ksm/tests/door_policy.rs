//! The toy solution of the reference (lock.Panel -> lock.Controller, `Open(in string<16>
//! code)`, `Close()`), written by hand the way the PSL compiler is meant to generate it.
//! It shows the whole runtime API in use: validation, message reads, a Regex DFA embedded as
//! a static, a Flow object, the per-event Decision with audit, and commit/rollback.
//!
//! ```text
//! execute src=Einit, dst=lock.Controller { door_state.init {sid : dst_sid} }
//! request src=lock.Panel, dst=lock.Controller {
//!     match endpoint=main.door, method=Open {
//!         assert (re.match {text : message.code, pattern : "^[0-9]{4,8}$"})
//!         door_state.enter {sid : dst_sid, state : "opened"}
//!     }
//!     match endpoint=main.door, method=Close { door_state.enter {sid : dst_sid, state : "closed"} }
//! }
//! ```

use ostrog_abi::message::{Header, HEADER_SIZE};
use ostrog_ksm::decision::{Decision, EventNames};
use ostrog_ksm::flow::{Flow, FlowConfig, StateId};
use ostrog_ksm::message::MessageView;
use ostrog_ksm::profile::{
    AuditProfile, Call, CallDetail, ObjectAudit, Outcomes, ProfileLevel, RegexEmit, RegexOp,
};
use ostrog_ksm::regex::Pattern;
use ostrog_ksm::validate::{validate_event, FieldDesc, MessageDesc, TypeDesc};
use ostrog_ksm::{AuditRecord, AuditSink, ClassId, Event, EventKind, SecurityModule, Verdict};
use proptest::prelude::*;

const EINIT: ClassId = 1;
const PANEL: ClassId = 2;
const CONTROLLER: ClassId = 3;
const CLOSED: StateId = 0;
const OPENED: StateId = 1;

static DOOR_STATE: FlowConfig = FlowConfig {
    states: &["closed", "opened"],
    initial: CLOSED,
    transitions: &[&[OPENED], &[CLOSED]],
};
const _: () = assert!(DOOR_STATE.is_valid());

ostrog_ksm::static_dfa!(static PIN_CODE = include_bytes!("fixtures/pin.dfa"));

static OPEN_REQUEST: MessageDesc = MessageDesc {
    fixed_size: 8,
    flags: 0,
    params: &[FieldDesc {
        name: "code",
        offset: 0,
        ty: TypeDesc::string(16),
    }],
};
static CLOSE_REQUEST: MessageDesc = MessageDesc {
    fixed_size: 0,
    flags: 0,
    params: &[],
};

// audit default = trace 0
static TRACE: AuditProfile = AuditProfile {
    name: "trace",
    levels: &[ProfileLevel {
        level: 0,
        objects: &[
            ObjectAudit::new("base", Outcomes::DENIED),
            ObjectAudit {
                object: "door_state",
                kss: Outcomes::ALL,
                omit: &[],
                emit: RegexEmit::ALL,
            },
            ObjectAudit {
                object: "re",
                kss: Outcomes::ALL,
                omit: &[],
                emit: RegexEmit {
                    matches: true,
                    select: false,
                },
            },
        ],
    }],
};

// Names are static in generated code, so records can borrow them while state changes.
fn class_name(class: ClassId) -> &'static str {
    match class {
        EINIT => "Einit",
        PANEL => "lock.Panel",
        CONTROLLER => "lock.Controller",
        _ => "?",
    }
}

fn method_name(class: ClassId, riid: u32, mid: u32) -> Option<(&'static str, &'static str)> {
    match (class, riid, mid) {
        (CONTROLLER, 0, 0) => Some(("main.door", "Open")),
        (CONTROLLER, 0, 1) => Some(("main.door", "Close")),
        _ => None,
    }
}

struct DoorPolicy {
    level: ostrog_ksm::base::RuntimeLevel,
    door_state: Flow<8>,
    pin_code: Pattern,
}

impl DoorPolicy {
    fn new() -> Self {
        DoorPolicy {
            level: ostrog_ksm::base::RuntimeLevel::new(0),
            door_state: Flow::new(&DOOR_STATE),
            pin_code: Pattern::load(PIN_CODE.as_bytes()),
        }
    }

    fn enter(&mut self, d: &mut Decision<8>, sid: u64, state: StateId) {
        let call = Call {
            object: "door_state",
            method: "enter",
            detail: CallDetail::Flow(self.door_state.state_of(sid)),
        };
        let verdict = self.door_state.enter(sid, state);
        d.rule(&TRACE, call, verdict);
    }
}

impl SecurityModule for DoorPolicy {
    fn class_id(&self, name: &str) -> Option<ClassId> {
        match name {
            "Einit" => Some(EINIT),
            "lock.Panel" => Some(PANEL),
            "lock.Controller" => Some(CONTROLLER),
            _ => None,
        }
    }

    fn class_name(&self, class: ClassId) -> &str {
        class_name(class)
    }

    fn method_name(&self, class: ClassId, riid: u32, mid: u32) -> Option<(&str, &str)> {
        method_name(class, riid, mid)
    }

    fn decide(&mut self, event: &Event<'_>, audit: &mut dyn AuditSink) -> Verdict {
        let mut d: Decision<8> = Decision::new(self.level.current());
        let (endpoint, method) = match event.kind {
            EventKind::Execute => ("", ""),
            _ => method_name(event.dst_class, event.riid, event.mid).unwrap_or(("", "")),
        };
        match (event.kind, event.src_class, event.dst_class) {
            (EventKind::Execute, EINIT, CONTROLLER) => {
                let v = self.door_state.init(event.dst_sid);
                d.rule(&TRACE, Call::new("door_state", "init"), v);
            }
            (EventKind::Request, PANEL, CONTROLLER) => match (event.riid, event.mid) {
                (0, 0) => {
                    if validate_event(&OPEN_REQUEST, event).is_err() {
                        d.malformed();
                    } else {
                        let matched = MessageView::of(event)
                            .map_err(|_| ostrog_ksm::expr::ExprError::BadField)
                            .and_then(|view| view.string(0, 16))
                            .and_then(|code| self.pin_code.is_match(code));
                        let call = Call {
                            object: "re",
                            method: "match",
                            detail: CallDetail::Regex(RegexOp::Match),
                        };
                        let matched = d.expr(&TRACE, call, matched);
                        let v = ostrog_ksm::base::assert_expr(matched);
                        d.rule(&TRACE, Call::new("base", "assert"), v);
                        self.enter(&mut d, event.dst_sid, OPENED);
                    }
                }
                (0, 1) => {
                    if validate_event(&CLOSE_REQUEST, event).is_err() {
                        d.malformed();
                    } else {
                        self.enter(&mut d, event.dst_sid, CLOSED);
                    }
                }
                _ => d.unknown(),
            },
            _ => {}
        }
        let names = EventNames {
            src_class: class_name(event.src_class),
            dst_class: class_name(event.dst_class),
            endpoint,
            method,
        };
        d.finish(
            event,
            &names,
            audit,
            &mut [&mut self.level, &mut self.door_state],
        )
    }
}

#[derive(Default)]
struct Lines(Vec<String>);

impl AuditSink for Lines {
    fn record(&mut self, record: &AuditRecord<'_>) {
        self.0.push(record.to_string());
    }
}

fn message(mid: u32, code: Option<&[u8]>) -> Vec<u8> {
    let (fixed, arena): (Vec<u8>, Vec<u8>) = match code {
        Some(code) => {
            let mut fixed = 0u32.to_le_bytes().to_vec();
            fixed.extend_from_slice(&(code.len() as u32).to_le_bytes());
            (fixed, code.to_vec())
        }
        None => (Vec::new(), Vec::new()),
    };
    let header = Header {
        riid: 0,
        mid,
        fixed_size: fixed.len() as u32,
        arena_size: arena.len() as u32,
        ..Header::default()
    };
    let mut out = vec![0u8; HEADER_SIZE];
    header.write(&mut out);
    out.extend(fixed);
    out.extend(arena);
    out
}

fn request(mid: u32, bytes: &[u8]) -> Event<'_> {
    Event {
        kind: EventKind::Request,
        src_sid: 20,
        src_class: PANEL,
        dst_sid: 30,
        dst_class: CONTROLLER,
        riid: 0,
        mid,
        message: bytes,
        handles: &[],
    }
}

fn started() -> (DoorPolicy, Lines) {
    let mut policy = DoorPolicy::new();
    let mut lines = Lines::default();
    let start = Event::execute((1, EINIT), (30, CONTROLLER));
    assert_eq!(policy.decide(&start, &mut lines), Verdict::Granted);
    (policy, lines)
}

#[test]
fn open_then_close() {
    let (mut policy, mut lines) = started();
    let open = message(0, Some(b"1234"));
    let close = message(1, None);
    assert_eq!(
        policy.decide(&request(0, &open), &mut lines),
        Verdict::Granted
    );
    assert_eq!(
        policy.decide(&request(0, &open), &mut lines),
        Verdict::Denied
    );
    assert_eq!(
        policy.decide(&request(1, &close), &mut lines),
        Verdict::Granted
    );
    assert_eq!(
        lines.0,
        [
            "granted execute Einit(1) -> lock.Controller(30): door_state.init=granted",
            "granted request lock.Panel(20) -> lock.Controller(30) main.door.Open: re.match=granted, door_state.enter=granted",
            "denied request lock.Panel(20) -> lock.Controller(30) main.door.Open: re.match=granted, door_state.enter=denied (a rule denied)",
            "granted request lock.Panel(20) -> lock.Controller(30) main.door.Close: door_state.enter=granted",
        ]
    );
}

#[test]
fn a_bad_code_denies_and_the_transition_is_not_committed() {
    let (mut policy, mut lines) = started();
    let bad = message(0, Some(b"12ab"));
    assert_eq!(
        policy.decide(&request(0, &bad), &mut lines),
        Verdict::Denied
    );
    assert_eq!(policy.door_state.query(30), Ok(CLOSED));
    let good = message(0, Some(b"5678"));
    assert_eq!(
        policy.decide(&request(0, &good), &mut lines),
        Verdict::Granted
    );
    assert_eq!(policy.door_state.query(30), Ok(OPENED));
}

#[test]
fn malformed_unknown_and_unbound_events_are_denied_and_recorded() {
    let (mut policy, mut lines) = started();
    let mut bad_utf8 = message(0, Some(&[0xff, 0xfe]));
    assert_eq!(
        policy.decide(&request(0, &bad_utf8), &mut lines),
        Verdict::Denied
    );
    bad_utf8.push(0);
    assert_eq!(
        policy.decide(&request(0, &bad_utf8), &mut lines),
        Verdict::Denied
    );
    let too_long = message(0, Some(&[b'1'; 17]));
    assert_eq!(
        policy.decide(&request(0, &too_long), &mut lines),
        Verdict::Denied
    );
    let other = message(7, None);
    assert_eq!(
        policy.decide(&request(7, &other), &mut lines),
        Verdict::Denied
    );
    let unbound = Event::execute((1, EINIT), (40, PANEL));
    assert_eq!(policy.decide(&unbound, &mut lines), Verdict::Denied);
    assert_eq!(policy.door_state.query(30), Ok(CLOSED));
    let tail: Vec<&str> = lines.0.iter().skip(1).map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "denied request lock.Panel(20) -> lock.Controller(30) main.door.Open (malformed message)",
            "denied request lock.Panel(20) -> lock.Controller(30) main.door.Open (malformed message)",
            "denied request lock.Panel(20) -> lock.Controller(30) main.door.Open (malformed message)",
            "denied request lock.Panel(20) -> lock.Controller(30) (unknown class, endpoint or method)",
            "denied execute Einit(1) -> lock.Panel(40) (no binding covers the event)",
        ]
    );
}

proptest! {
    // Whatever the panel sends, the FSM changes only on granted events, and only along the
    // transition table.
    #[test]
    fn state_changes_only_on_granted_events(
        requests in proptest::collection::vec((0u32..3, proptest::collection::vec(any::<u8>(), 0..20)), 0..24)
    ) {
        let (mut policy, mut lines) = started();
        for (mid, code) in requests {
            let bytes = if mid == 1 { message(1, None) } else { message(mid, Some(&code)) };
            let before = policy.door_state.query(30);
            let verdict = policy.decide(&request(mid, &bytes), &mut lines);
            let after = policy.door_state.query(30);
            if verdict.is_granted() {
                prop_assert_ne!(before, after);
            } else {
                prop_assert_eq!(before, after);
            }
        }
    }
}
