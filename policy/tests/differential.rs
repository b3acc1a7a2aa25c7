//! Differential property test: the generated module against a reference evaluator.
//!
//! The evaluator below is written directly from the semantics (issue items 3, reference
//! 1.3/1.4 and the readings in docs/policy-compiler.md), walking the checked `Policy`
//! tree: no units, no dispatch table, no perfect hash, its own message decoder and its own
//! model state (plain maps, copied before each event and restored when it is denied). Random
//! event sequences (kinds, classes, endpoints, methods, message values, corrupted messages,
//! SIDs) are judged by both; every verdict must agree.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use ostrog_idl::ast::Direction;
use ostrog_idl::layout::{layout, LayoutKind, MessageLayout, TypeLayout};
use ostrog_idl::model::IntType;
use ostrog_policy::gen::encode::encode;
use ostrog_policy::model::*;
use proptest::prelude::*;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn checked() -> &'static ostrog_policy::Checked {
    static C: OnceLock<ostrog_policy::Checked> = OnceLock::new();
    C.get_or_init(|| {
        let c = ostrog_policy::load_policy(
            &dir().join("differential/policy.psl"),
            &[dir().join("corpus")],
        );
        let mut out = Vec::new();
        c.report(&mut out).ok();
        assert_eq!(c.error_count(), 0, "{}", String::from_utf8_lossy(&out));
        c
    })
}

fn policy() -> &'static Policy {
    checked().policy().expect("checks clean")
}

const HARNESS: &str = r#"#![deny(warnings)]
use std::io::BufRead;
use ostrog_ksm::{Event, EventKind, HandleInfo, NullAudit};

fn main() {
    let mut module = ksm_solution::solution::module();
    let mut out = String::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.is_empty() {
            module = ksm_solution::solution::module();
            out.push('\n');
            continue;
        }
        let f: Vec<&str> = line.split(' ').collect();
        let n = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        let kind = match n(0) {
            0 => EventKind::Execute,
            1 => EventKind::Request,
            2 => EventKind::Response,
            3 => EventKind::Error,
            _ => EventKind::Security,
        };
        let hex = f.get(7).copied().unwrap_or("");
        let msg: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect();
        let handles: Vec<HandleInfo> = f
            .get(8)
            .copied()
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|h| {
                let (s, r) = h.split_once(':').unwrap_or(("0", "0"));
                HandleInfo { sid: s.parse().unwrap_or(0), rights: r.parse().unwrap_or(0) }
            })
            .collect();
        let event = Event {
            kind,
            src_sid: n(1),
            src_class: n(2) as u32,
            dst_sid: n(3),
            dst_class: n(4) as u32,
            riid: n(5) as u32,
            mid: n(6) as u32,
            message: &msg,
            handles: &handles,
        };
        out.push(if module.decide(&event, &mut NullAudit).is_granted() { 'G' } else { 'D' });
    }
    print!("{out}");
}
"#;

/// Builds the generated module with a stdin-driven main, once.
fn module_binary() -> &'static PathBuf {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| {
        let m = ostrog_policy::gen::generate(checked(), "differential", "differential/policy.psl")
            .unwrap_or_else(|e| panic!("{e}"));
        let (dir, bin) =
            ostrog_policy::gen::pal::write_crate("diff", "differential", &m.source, HARNESS, false)
                .expect("write crate");
        ostrog_policy::gen::pal::build(&dir, &bin, false).unwrap_or_else(|e| panic!("{e}"))
    })
}

// ------------------------------------------------------------------------- events

#[derive(Clone, Debug)]
struct Ev {
    kind: EventKind,
    src: (u64, u32),
    dst: (u64, u32),
    riid: u32,
    mid: u32,
    msg: Vec<u8>,
    handles: Vec<(u64, u32)>,
}

fn kind_no(k: EventKind) -> u8 {
    match k {
        EventKind::Execute => 0,
        EventKind::Request => 1,
        EventKind::Response => 2,
        EventKind::Error => 3,
        EventKind::Security => 4,
    }
}

fn line(e: &Ev) -> String {
    let hex: String = e.msg.iter().map(|b| format!("{b:02x}")).collect();
    let hs: Vec<String> = e.handles.iter().map(|(s, r)| format!("{s}:{r}")).collect();
    format!(
        "{} {} {} {} {} {} {} {} {}",
        kind_no(e.kind),
        e.src.0,
        e.src.1,
        e.dst.0,
        e.dst.1,
        e.riid,
        e.mid,
        hex,
        hs.join(",")
    )
}

fn class_names() -> Vec<String> {
    policy().classes.keys().cloned().collect()
}

fn class_no(name: &str) -> u32 {
    class_names().iter().position(|c| c == name).expect("class") as u32
}

/// The SID each class's process gets in the setup.
fn sid_of(class: u32) -> u64 {
    100 + u64::from(class)
}

fn setup() -> Vec<Ev> {
    let core = class_no("kl.core.Core");
    let einit = class_no("Einit");
    let ex = |src: (u64, u32), dst: (u64, u32)| Ev {
        kind: EventKind::Execute,
        src,
        dst,
        riid: 0,
        mid: 0,
        msg: Vec::new(),
        handles: Vec::new(),
    };
    let mut v = vec![
        ex((sid_of(core), core), (sid_of(core), core)),
        ex((sid_of(core), core), (sid_of(einit), einit)),
    ];
    for (i, _) in class_names().iter().enumerate() {
        let i = i as u32;
        if i != core && i != einit {
            v.push(ex((sid_of(einit), einit), (sid_of(i), i)));
        }
    }
    v
}

/// The interface method an event addresses, if any: (interface, method, server class).
fn method_of(kind: EventKind, src: u32, dst: u32, riid: u32, mid: u32) -> Option<(String, String)> {
    let names = class_names();
    let server = match kind {
        EventKind::Execute => return None,
        EventKind::Request => dst,
        _ => src,
    };
    let class = policy().classes.get(names.get(server as usize)?)?;
    let iface = if kind == EventKind::Security {
        if riid != 0 {
            return None;
        }
        class.security.clone()?
    } else {
        class
            .endpoints
            .iter()
            .find(|e| e.riid == riid)?
            .interface
            .clone()
    };
    let m = checked()
        .spec
        .packages
        .get(&iface)?
        .interface
        .as_ref()?
        .methods
        .iter()
        .find(|m| m.mid == mid)?
        .name
        .clone();
    Some((iface, m))
}

fn random_value(l: &TypeLayout, seed: &mut u64) -> Value {
    let mut next = || {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as usize
    };
    match &l.kind {
        LayoutKind::Int(t) => {
            let (lo, hi) = t.range();
            let picks = [
                0, 1, 2, 3, 5, 7, 40, 49, 50, 99, 255, 443, 4095, 4096, hi, lo, -1,
            ];
            let v = picks[next() % picks.len()];
            Value::Int(v.clamp(lo, hi))
        }
        LayoutKind::Handle { .. } => Value::Dict(vec![
            (
                "handle".into(),
                Value::Int([0, 100, 101, 102, 103, 104, 105][next() % 7]),
            ),
            ("rights".into(), Value::Int((next() % 4) as i128)),
        ]),
        LayoutKind::String { bound } => {
            let texts = [
                "", "12", "1234", "abc", "a1", "b", "12345", "0000", "bz", "Ж", "x9",
            ];
            let t = texts[next() % texts.len()];
            Value::Text(if t.len() as u32 > *bound {
                String::new()
            } else {
                t.to_string()
            })
        }
        LayoutKind::Bytes { bound }
        | LayoutKind::Sequence { bound, .. }
        | LayoutKind::Array { len: bound, .. } => {
            let n = (next() % 5).min(*bound as usize);
            let elem = match &l.kind {
                LayoutKind::Sequence { element, .. } | LayoutKind::Array { element, .. } => {
                    (**element).clone()
                }
                _ => TypeLayout {
                    size: 1,
                    align: 1,
                    kind: LayoutKind::Int(IntType::U8),
                },
            };
            Value::List((0..n).map(|_| random_value(&elem, seed)).collect())
        }
        LayoutKind::Struct { fields, .. } => Value::Dict(
            fields
                .iter()
                .map(|f| (f.name.clone(), random_value(&f.layout, seed)))
                .collect(),
        ),
        LayoutKind::Union { variants, .. } => {
            let v = &variants[next() % variants.len().max(1)];
            Value::Dict(vec![(v.name.clone(), random_value(&v.layout, seed))])
        }
    }
}

fn event_strategy() -> impl Strategy<Value = Ev> {
    let n = class_names().len() as u32;
    // Mostly the pairs the policy talks about, sometimes anything (an unknown class too).
    let pairs: Vec<(u32, u32)> = [
        ("lock.Panel", "lock.Controller"),
        ("lock.Controller", "lock.Panel"),
        ("demo.Client", "demo.Server"),
        ("demo.Server", "demo.Client"),
        ("demo.Client", "kl.core.Core"),
        ("kl.core.Core", "demo.Client"),
        ("demo.Server", "kl.core.Core"),
        ("Einit", "kl.core.Core"),
        ("demo.Client", "nest.Box"),
        ("nest.Box", "demo.Client"),
    ]
    .iter()
    .map(|(a, b)| (class_no(a), class_no(b)))
    .collect();
    let pair = prop_oneof![
        4 => proptest::sample::select(pairs),
        1 => (0..n + 1, 0..n + 1),
    ];
    (
        0u8..5,
        pair,
        prop_oneof![9 => Just(None), 1 => (0u64..400).prop_map(Some)],
        prop_oneof![3 => Just(0u32), 1 => 0u32..3],
        0u32..3,
        any::<u64>(),
        prop_oneof![8 => Just(None), 2 => (any::<usize>(), any::<u8>()).prop_map(Some)],
    )
        .prop_map(|(k, (src, dst), sid, riid, mid, seed, corrupt)| {
            let kind = [
                EventKind::Execute,
                EventKind::Request,
                EventKind::Response,
                EventKind::Error,
                EventKind::Security,
            ][k as usize];
            let mut seed = seed;
            let (msg, handles) = match method_of(kind, src, dst, riid, mid) {
                Some((iface, m)) => {
                    let ml = layout(&checked().spec, &iface, &m).expect("layout");
                    let dir = match kind {
                        EventKind::Response => Direction::Out,
                        EventKind::Error => Direction::Error,
                        _ => Direction::In,
                    };
                    let msg = ml.message(dir);
                    let values: Vec<(String, Value)> = msg
                        .params
                        .iter()
                        .map(|p| (p.name.clone(), random_value(&p.layout, &mut seed)))
                        .collect();
                    let flags = u32::from(kind == EventKind::Error);
                    let e = encode(msg, &values, riid, mid, flags).expect("encodes");
                    (e.bytes, e.handles)
                }
                None if kind == EventKind::Execute => (Vec::new(), Vec::new()),
                None => {
                    let e = encode(
                        &MessageLayout {
                            fixed_size: 0,
                            params: Vec::new(),
                        },
                        &[],
                        riid,
                        mid,
                        0,
                    )
                    .expect("encodes");
                    (e.bytes, e.handles)
                }
            };
            let mut msg = msg;
            if let Some((at, byte)) = corrupt {
                if !msg.is_empty() {
                    if byte == 0 {
                        msg.truncate(at % msg.len());
                    } else {
                        let i = at % msg.len();
                        msg[i] ^= byte;
                    }
                }
            }
            let src_sid = sid.unwrap_or(sid_of(src));
            Ev {
                kind,
                src: (src_sid, src),
                dst: (sid_of(dst), dst),
                riid,
                mid,
                msg,
                handles,
            }
        })
}

// ------------------------------------------------------------------------- reference

/// A PSL value in the evaluator.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Int(i128, Option<IntType>),
    Bool(bool),
    Text(String),
    Unit,
    Sid(u64),
    Handle(u64, u32),
    List(Vec<V>),
    Dict(Vec<(String, V)>),
    /// A Flow state: object, state name.
    State(String),
}

type R<T> = Result<T, ()>;

/// Model state: copied before an event, restored if the event is denied.
#[derive(Clone, Debug, Default)]
struct State {
    level: u32,
    flows: BTreeMap<(String, u64), String>,
    sets: BTreeMap<(String, u64), BTreeSet<i128>>,
    maps: BTreeMap<(String, u64), (Vec<i128>, Vec<i128>)>,
}

struct Eval<'a> {
    p: &'a Policy,
    spec: &'a ostrog_idl::Model,
    s: State,
}

struct Msg {
    ev: Ev,
    params: Vec<(String, V)>,
}

fn u32_at(b: &[u8], at: usize) -> R<u32> {
    Ok(u32::from_le_bytes(
        b.get(at..at + 4).ok_or(())?.try_into().map_err(|_| ())?,
    ))
}

/// Decodes (and thereby validates) a message; `Err` if it is not of the method's type.
fn decode(
    bytes: &[u8],
    nh: usize,
    ml: &MessageLayout,
    riid: u32,
    mid: u32,
    flags: u32,
) -> R<Vec<(String, V)>> {
    if bytes.len() < 40 {
        return Err(());
    }
    let w = |i: usize| u32_at(bytes, i * 4);
    let (h_riid, h_mid, h_flags, h_count, h_fixed, h_arena, h_reserved) = (
        w(0)?,
        w(1)?,
        w(2)?,
        w(3)? as usize,
        w(4)? as usize,
        w(5)? as usize,
        w(7)?,
    );
    if h_count > 8 || h_count != nh || 40 + 8 * h_count + h_fixed + h_arena != bytes.len() {
        return Err(());
    }
    if h_riid != riid
        || h_mid != mid
        || h_flags != flags
        || h_reserved != 0
        || h_fixed != ml.fixed_size as usize
    {
        return Err(());
    }
    for i in 0..h_count {
        let mode = u32_at(bytes, 40 + 8 * i + 4)? >> 16;
        if mode > 1 {
            return Err(());
        }
    }
    let body = &bytes[40 + 8 * h_count..];
    let mut out = Vec::new();
    let mut used = vec![false; body.len()];
    for p in &ml.params {
        out.push((
            p.name.clone(),
            value(
                body,
                h_fixed,
                h_count,
                p.offset as usize,
                &p.layout,
                &mut used,
            )?,
        ));
    }
    // Padding: every byte no value occupies is zero.
    if body.iter().zip(&used).any(|(b, u)| !u && *b != 0) {
        return Err(());
    }
    Ok(out)
}

fn arena(
    body: &[u8],
    fixed: usize,
    pos: usize,
    bound: u32,
    stride: usize,
    align: usize,
) -> R<(usize, usize)> {
    let off = u32_at(body, pos)? as usize;
    let len = u32_at(body, pos + 4)?;
    if len > bound || !off.is_multiple_of(align) {
        return Err(());
    }
    let start = fixed + off;
    if start + len as usize * stride > body.len() {
        return Err(());
    }
    Ok((start, len as usize))
}

/// Marks body positions `at..at + n` as occupied by a value.
fn occupy(used: &mut [bool], at: usize, n: usize) {
    if let Some(u) = used.get_mut(at..at + n) {
        u.fill(true);
    }
}

fn value(
    body: &[u8],
    fixed: usize,
    nh: usize,
    pos: usize,
    l: &TypeLayout,
    used: &mut [bool],
) -> R<V> {
    let size = match &l.kind {
        LayoutKind::Int(t) => t.size() as usize,
        LayoutKind::Handle { .. } => 4,
        LayoutKind::String { .. } | LayoutKind::Bytes { .. } | LayoutKind::Sequence { .. } => 8,
        LayoutKind::Union { .. } => 4,
        _ => 0,
    };
    occupy(used, pos, size);
    Ok(match &l.kind {
        LayoutKind::Int(t) => {
            let n = t.size() as usize;
            let raw = body.get(pos..pos + n).ok_or(())?;
            let mut buf = [0u8; 16];
            buf[..n].copy_from_slice(raw);
            let mut v = i128::from_le_bytes(buf);
            if t.signed() && v >= 1i128 << (n * 8 - 1) {
                v -= 1i128 << (n * 8);
            }
            V::Int(v, Some(*t))
        }
        LayoutKind::Handle { .. } => {
            let i = u32_at(body, pos)? as usize;
            if i >= nh {
                return Err(());
            }
            V::Handle(i as u64, 0)
        }
        LayoutKind::String { bound } => {
            let (s, n) = arena(body, fixed, pos, *bound, 1, 1)?;
            occupy(used, s, n);
            V::Text(String::from_utf8(body[s..s + n].to_vec()).map_err(|_| ())?)
        }
        LayoutKind::Bytes { bound } => {
            let (s, n) = arena(body, fixed, pos, *bound, 1, 1)?;
            occupy(used, s, n);
            V::List(
                body[s..s + n]
                    .iter()
                    .map(|b| V::Int(i128::from(*b), Some(IntType::U8)))
                    .collect(),
            )
        }
        LayoutKind::Sequence { bound, element } => {
            let (s, n) = arena(body, fixed, pos, *bound, element.size as usize, 8)?;
            let mut v = Vec::new();
            for i in 0..n {
                v.push(value(
                    body,
                    fixed,
                    nh,
                    s + i * element.size as usize,
                    element,
                    used,
                )?);
            }
            V::List(v)
        }
        LayoutKind::Array { len, element } => {
            let mut v = Vec::new();
            for i in 0..*len as usize {
                v.push(value(
                    body,
                    fixed,
                    nh,
                    pos + i * element.size as usize,
                    element,
                    used,
                )?);
            }
            V::List(v)
        }
        LayoutKind::Struct { fields, .. } => {
            let mut v = Vec::new();
            for f in fields {
                v.push((
                    f.name.clone(),
                    value(body, fixed, nh, pos + f.offset as usize, &f.layout, used)?,
                ));
            }
            V::Dict(v)
        }
        LayoutKind::Union {
            payload_offset,
            variants,
            ..
        } => {
            let tag = u32_at(body, pos)? as usize;
            let var = variants.get(tag).ok_or(())?;
            V::Dict(vec![(
                var.name.clone(),
                value(
                    body,
                    fixed,
                    nh,
                    pos + *payload_offset as usize,
                    &var.layout,
                    used,
                )?,
            )])
        }
    })
}

fn common(a: Option<IntType>, b: Option<IntType>) -> Option<IntType> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => Some(if y.size() > x.size() { y } else { x }),
    }
}

fn fits(v: i128, t: Option<IntType>) -> bool {
    t.is_none_or(|t| v >= t.range().0 && v <= t.range().1)
}

impl Eval<'_> {
    fn class_of(&self, n: u32) -> Option<&str> {
        self.p.classes.keys().nth(n as usize).map(String::as_str)
    }

    /// The verdict of one event: granted iff a rule ran, every rule granted and nothing
    /// failed; state kept only if granted.
    fn decide(&mut self, e: &Ev) -> bool {
        let (Some(src), Some(dst)) = (
            self.class_of(e.src.1).map(str::to_string),
            self.class_of(e.dst.1).map(str::to_string),
        ) else {
            return false;
        };
        let before = self.s.clone();
        let mut msg = Msg {
            ev: e.clone(),
            params: Vec::new(),
        };
        let mut target: Option<Addr> = None;
        if e.kind != EventKind::Execute {
            let Some((iface, m)) = method_of(e.kind, e.src.1, e.dst.1, e.riid, e.mid) else {
                return false;
            };
            let ml = layout(self.spec, &iface, &m).expect("layout");
            let dir = match e.kind {
                EventKind::Response => Direction::Out,
                EventKind::Error => Direction::Error,
                _ => Direction::In,
            };
            let flags = u32::from(e.kind == EventKind::Error);
            match decode(
                &e.msg,
                e.handles.len(),
                ml.message(dir),
                e.riid,
                e.mid,
                flags,
            ) {
                Ok(mut params) => {
                    // Handles: the event's SIDs and rights.
                    for (_, v) in params.iter_mut() {
                        fix_handles(v, &e.handles);
                    }
                    msg.params = params;
                }
                Err(()) => return false,
            }
            let server = if e.kind == EventKind::Request {
                dst.clone()
            } else {
                src.clone()
            };
            let endpoint = if e.kind == EventKind::Security {
                None
            } else {
                self.p.classes[&server]
                    .endpoints
                    .iter()
                    .find(|x| x.riid == e.riid)
                    .map(|x| x.qualified.clone())
            };
            target = Some(Addr {
                server,
                endpoint,
                interface: iface,
                method: m,
            });
        }
        let mut run = Run {
            ran: false,
            ok: true,
        };
        for b in &self.p.bindings {
            if b.event != e.kind || !self.level_fits(&b.selectors, &src, &dst, &target) {
                continue;
            }
            self.block(&b.body, &msg, &src, &dst, &target, &mut run);
        }
        let granted = run.ran && run.ok;
        if !granted {
            self.s = before;
        }
        granted
    }

    /// Whether an event fits one level's own selectors, read straight from the selectors
    /// (not from the checker's `targets`): classes by name; `interface=`, `endpoint=` and
    /// `method=` against what the event addresses; `component=` by walking the endpoint's
    /// instance path through the EDL/CDL syntax trees.
    fn level_fits(&self, sel: &Selectors, src: &str, dst: &str, target: &Option<Addr>) -> bool {
        if sel.src.as_deref().is_some_and(|s| s != src)
            || sel.dst.as_deref().is_some_and(|d| d != dst)
        {
            return false;
        }
        if sel.interface.is_none()
            && sel.component.is_none()
            && sel.endpoint.is_none()
            && sel.method.is_none()
        {
            return true;
        }
        let Some(t) = target else {
            return false;
        };
        if sel.interface.as_ref().is_some_and(|i| *i != t.interface)
            || sel.method.as_ref().is_some_and(|m| *m != t.method)
        {
            return false;
        }
        if let Some(want) = &sel.endpoint {
            if t.endpoint.as_ref() != Some(want) {
                return false;
            }
        }
        if let Some(k) = &sel.component {
            let Some(ep) = &t.endpoint else {
                return false;
            };
            let edl = &self.p.classes[&t.server].edl;
            if !instance_types(edl, ep).contains(k) {
                return false;
            }
        }
        true
    }

    fn block(
        &mut self,
        b: &Block,
        msg: &Msg,
        src: &str,
        dst: &str,
        target: &Option<Addr>,
        run: &mut Run,
    ) {
        for s in &b.stmts {
            match s {
                Stmt::Rule(c) => match self.rule(c, msg) {
                    Ok(g) => {
                        run.ran = true;
                        run.ok &= g;
                    }
                    Err(()) => run.ok = false,
                },
                Stmt::Match(m) => {
                    if self.level_fits(&m.selectors, src, dst, target) {
                        self.block(&m.body, msg, src, dst, target, run);
                    }
                }
                Stmt::Choice(ch) => match self.choose(ch, msg) {
                    Ok(Some(i)) => self.block(&ch.branches[i].body, msg, src, dst, target, run),
                    Ok(None) | Err(()) => run.ok = false,
                },
            }
        }
    }

    fn choose(&mut self, ch: &Choice, msg: &Msg) -> R<Option<usize>> {
        if let ExprKind::Call(c) = &ch.scrutinee.kind {
            if c.method == "select" {
                let V::Text(t) = self.expr(field(&c.arg, "text"), msg)? else {
                    return Err(());
                };
                for (i, b) in ch.branches.iter().enumerate() {
                    if let Pattern::Text(p) = &b.pattern {
                        if regex_match(p, &t) {
                            return Ok(Some(i));
                        }
                    }
                }
                return Ok(ch
                    .branches
                    .iter()
                    .position(|b| b.pattern == Pattern::Default));
            }
        }
        let v = self.expr(&ch.scrutinee, msg)?;
        for (i, b) in ch.branches.iter().enumerate() {
            let hit = match (&b.pattern, &v) {
                (Pattern::Default, _) => true,
                (Pattern::Text(t), V::State(s)) | (Pattern::Text(t), V::Text(s)) => t == s,
                (Pattern::Int(n), V::Int(x, _)) => n == x,
                _ => false,
            };
            if hit {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    fn sid(&mut self, e: &Expr, msg: &Msg) -> R<u64> {
        match self.expr(e, msg)? {
            V::Sid(s) => Ok(s),
            V::Int(n, _) => u64::try_from(n).map_err(|_| ()),
            _ => Err(()),
        }
    }

    fn flow_cfg(&self, o: &str) -> &FlowConfig {
        match &self.p.objects[o].config {
            ObjectConfig::Flow(f) => f,
            _ => panic!("not a Flow object"),
        }
    }

    fn rule(&mut self, c: &Call, msg: &Msg) -> R<bool> {
        let o = c.object.as_str();
        let a = &*c.arg;
        Ok(match (c.model.as_str(), c.method.as_str()) {
            ("Base", "grant") => true,
            ("Base", "deny") => match a.kind {
                ExprKind::Unit => false,
                _ => !self.boolean(a, msg)?,
            },
            ("Base" | "Bool", "assert") => self.boolean(a, msg)?,
            ("Base", "set_level") => {
                let V::Int(n, _) = self.expr(a, msg)? else {
                    return Err(());
                };
                self.s.level = u32::try_from(n).map_err(|_| ())?;
                true
            }
            ("Flow", m) => {
                let sid = self.sid(field(a, "sid"), msg)?;
                let key = (o.to_string(), sid);
                let cfg = self.flow_cfg(o).clone();
                match m {
                    "init" => {
                        let used = self.s.flows.keys().filter(|(x, _)| x == o).count();
                        if self.s.flows.contains_key(&key) || used >= cfg.pool_size as usize {
                            false
                        } else {
                            self.s.flows.insert(key, cfg.initial.clone());
                            true
                        }
                    }
                    "fini" => self.s.flows.remove(&key).is_some(),
                    "enter" => {
                        let V::Text(to) = self.expr(field(a, "state"), msg)? else {
                            return Err(());
                        };
                        match self.s.flows.get(&key) {
                            Some(cur)
                                if cfg.transitions.get(cur).is_some_and(|v| v.contains(&to)) =>
                            {
                                self.s.flows.insert(key, to);
                                true
                            }
                            _ => false,
                        }
                    }
                    _ => panic!("Flow rule {m} not in the differential policy"),
                }
            }
            ("HashSet", m) => {
                let sid = self.sid(field(a, "sid"), msg)?;
                let key = (o.to_string(), sid);
                let ObjectConfig::HashSet {
                    set_size,
                    pool_size,
                } = self.p.objects[o].config
                else {
                    panic!()
                };
                match m {
                    "init" => {
                        let used = self.s.sets.keys().filter(|(x, _)| x == o).count();
                        if self.s.sets.contains_key(&key) || used >= pool_size as usize {
                            false
                        } else {
                            self.s.sets.insert(key, BTreeSet::new());
                            true
                        }
                    }
                    "add" => {
                        let V::Int(v, _) = self.expr(field(a, "entry"), msg)? else {
                            return Err(());
                        };
                        if !fits(v, Some(IntType::U32)) {
                            return Err(());
                        }
                        match self.s.sets.get_mut(&key) {
                            Some(set) if set.contains(&v) => true,
                            Some(set) if set.len() < set_size as usize => {
                                set.insert(v);
                                true
                            }
                            _ => false,
                        }
                    }
                    _ => panic!("HashSet rule {m} not in the differential policy"),
                }
            }
            ("StaticMap", m) => {
                let sid = self.sid(field(a, "sid"), msg)?;
                let key = (o.to_string(), sid);
                let ObjectConfig::StaticMap { keys, pool_size } = &self.p.objects[o].config else {
                    panic!()
                };
                let keys = keys.clone();
                match m {
                    "init" => {
                        let used = self.s.maps.keys().filter(|(x, _)| x == o).count();
                        if self.s.maps.contains_key(&key) || used >= *pool_size as usize {
                            false
                        } else {
                            let d: Vec<i128> = keys.iter().map(|k| k.1).collect();
                            self.s.maps.insert(key, (d.clone(), d));
                            true
                        }
                    }
                    "set" => {
                        let V::Text(k) = self.expr(field(a, "key"), msg)? else {
                            return Err(());
                        };
                        let V::Int(v, _) = self.expr(field(a, "value"), msg)? else {
                            return Err(());
                        };
                        if !fits(v, Some(IntType::U8)) {
                            return Err(());
                        }
                        let Some(i) = keys.iter().position(|x| x.0 == k) else {
                            return Ok(false);
                        };
                        match self.s.maps.get_mut(&key) {
                            Some(t) => {
                                t.1[i] = v;
                                true
                            }
                            None => false,
                        }
                    }
                    "commit" | "rollback" => match self.s.maps.get_mut(&key) {
                        Some(t) => {
                            if m == "commit" {
                                t.0 = t.1.clone();
                            } else {
                                t.1 = t.0.clone();
                            }
                            true
                        }
                        None => false,
                    },
                    _ => panic!("StaticMap rule {m} not in the differential policy"),
                }
            }
            (model, m) => panic!("rule {model}.{m} not in the differential policy"),
        })
    }

    fn boolean(&mut self, e: &Expr, msg: &Msg) -> R<bool> {
        match self.expr(e, msg)? {
            V::Bool(b) => Ok(b),
            _ => Err(()),
        }
    }

    fn int(&mut self, e: &Expr, msg: &Msg) -> R<(i128, Option<IntType>)> {
        match self.expr(e, msg)? {
            V::Int(v, t) => Ok((v, t)),
            V::Sid(s) => Ok((i128::from(s), Some(IntType::U64))),
            _ => Err(()),
        }
    }

    fn expr(&mut self, e: &Expr, msg: &Msg) -> R<V> {
        Ok(match &e.kind {
            ExprKind::Int(v) => V::Int(*v, None),
            ExprKind::Text(t) => V::Text(t.clone()),
            ExprKind::Bool(b) => V::Bool(*b),
            ExprKind::Unit => V::Unit,
            ExprKind::List(items) => {
                V::List(items.iter().map(|i| self.expr(i, msg)).collect::<R<_>>()?)
            }
            ExprKind::Dict(entries) => V::Dict(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.expr(v, msg)?)))
                    .collect::<R<_>>()?,
            ),
            ExprKind::SrcSid => V::Sid(msg.ev.src.0),
            ExprKind::DstSid => V::Sid(msg.ev.dst.0),
            ExprKind::Message(path) => {
                let mut steps = path.steps.iter();
                let Some(MessageStep::Field(first)) = steps.next() else {
                    return Err(());
                };
                let mut v = msg
                    .params
                    .iter()
                    .find(|(k, _)| k == first)
                    .map(|(_, v)| v.clone())
                    .ok_or(())?;
                for s in steps {
                    v = match (s, v) {
                        (MessageStep::Field(f), V::Dict(fs)) => fs
                            .into_iter()
                            .find(|(k, _)| k == f)
                            .map(|(_, x)| x)
                            .ok_or(())?,
                        (MessageStep::Index(i), V::List(items)) => {
                            items.into_iter().nth(*i as usize).ok_or(())?
                        }
                        (MessageStep::Handle, V::Handle(s, _)) => V::Sid(s),
                        (MessageStep::Rights, V::Handle(_, r)) => {
                            V::Int(i128::from(r), Some(IntType::U32))
                        }
                        _ => return Err(()),
                    };
                }
                v
            }
            ExprKind::Field(..) | ExprKind::Index(..) => panic!("not in the differential policy"),
            ExprKind::Unary(op, inner) => match op {
                UnOp::Not => V::Bool(!self.boolean(inner, msg)?),
                UnOp::BitNot => panic!("not in the differential policy"),
            },
            ExprKind::Binary(op, l, r) => {
                let a = self.expr(l, msg)?;
                let b = self.expr(r, msg)?;
                let num = |v: &V| match v {
                    V::Int(x, t) => Some((*x, *t)),
                    V::Sid(s) => Some((i128::from(*s), Some(IntType::U64))),
                    _ => None,
                };
                match op {
                    BinOp::And | BinOp::Or | BinOp::Implies => {
                        let (V::Bool(x), V::Bool(y)) = (a, b) else {
                            return Err(());
                        };
                        V::Bool(match op {
                            BinOp::And => x && y,
                            BinOp::Or => x || y,
                            _ => !x || y,
                        })
                    }
                    BinOp::Eq | BinOp::Ne => {
                        let eq = match (num(&a), num(&b)) {
                            (Some((x, _)), Some((y, _))) => x == y,
                            _ => a == b,
                        };
                        V::Bool(eq == (*op == BinOp::Eq))
                    }
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        let ((x, _), (y, _)) = (num(&a).ok_or(())?, num(&b).ok_or(())?);
                        V::Bool(match op {
                            BinOp::Lt => x < y,
                            BinOp::Le => x <= y,
                            BinOp::Gt => x > y,
                            _ => x >= y,
                        })
                    }
                    _ => {
                        let ((x, tx), (y, ty)) = (num(&a).ok_or(())?, num(&b).ok_or(())?);
                        let t = common(tx, ty);
                        if !fits(x, t) || !fits(y, t) {
                            return Err(());
                        }
                        let v = match op {
                            BinOp::Add => x.checked_add(y),
                            BinOp::Sub => x.checked_sub(y),
                            BinOp::Mul => x.checked_mul(y),
                            BinOp::BitAnd => Some(x & y),
                            _ => Some(x | y),
                        }
                        .ok_or(())?;
                        if !fits(v, t) {
                            return Err(());
                        }
                        V::Int(v, t)
                    }
                }
            }
            ExprKind::Call(c) => self.call(c, msg)?,
        })
    }

    fn call(&mut self, c: &Call, msg: &Msg) -> R<V> {
        let a = &*c.arg;
        Ok(match (c.model.as_str(), c.method.as_str()) {
            ("Struct", "size") => match self.expr(a, msg)? {
                V::Text(t) => V::Int(t.len() as i128, Some(IntType::U32)),
                V::List(l) => V::Int(l.len() as i128, Some(IntType::U32)),
                _ => return Err(()),
            },
            ("Bool", "all") => {
                let V::List(items) = self.expr(a, msg)? else {
                    return Err(());
                };
                V::Bool(items.iter().all(|x| *x == V::Bool(true)))
            }
            ("Math", "uint32") => {
                let (v, _) = self.int(a, msg)?;
                if !fits(v, Some(IntType::U32)) {
                    return Err(());
                }
                V::Int(v, Some(IntType::U32))
            }
            ("Math", "sum") => {
                let V::List(items) = self.expr(a, msg)? else {
                    return Err(());
                };
                let mut t = None;
                for i in &items {
                    if let V::Int(_, ti) = i {
                        t = common(t, *ti);
                    }
                }
                let mut acc: i128 = 0;
                for i in items {
                    let V::Int(x, _) = i else { return Err(()) };
                    acc = acc.checked_add(x).ok_or(())?;
                    if !fits(acc, t) {
                        return Err(());
                    }
                }
                V::Int(acc, t)
            }
            ("Regex", "match") => {
                let V::Text(t) = self.expr(field(a, "text"), msg)? else {
                    return Err(());
                };
                let V::Text(p) = self.expr(field(a, "pattern"), msg)? else {
                    return Err(());
                };
                V::Bool(regex_match(&p, &t))
            }
            ("Flow", "query") => {
                let sid = self.sid(field(a, "sid"), msg)?;
                V::State(
                    self.s
                        .flows
                        .get(&(c.object.clone(), sid))
                        .cloned()
                        .ok_or(())?,
                )
            }
            ("HashSet", "contains") => {
                let sid = self.sid(field(a, "sid"), msg)?;
                let (v, _) = self.int(field(a, "entry"), msg)?;
                if !fits(v, Some(IntType::U32)) {
                    return Err(());
                }
                V::Bool(
                    self.s
                        .sets
                        .get(&(c.object.clone(), sid))
                        .ok_or(())?
                        .contains(&v),
                )
            }
            ("StaticMap", m @ ("get" | "get_uncommited")) => {
                let sid = self.sid(field(a, "sid"), msg)?;
                let V::Text(k) = self.expr(field(a, "key"), msg)? else {
                    return Err(());
                };
                let ObjectConfig::StaticMap { keys, .. } = &self.p.objects[&c.object].config else {
                    panic!()
                };
                let i = keys.iter().position(|x| x.0 == k).ok_or(())?;
                let t = self.s.maps.get(&(c.object.clone(), sid)).ok_or(())?;
                V::Int(if m == "get" { t.0[i] } else { t.1[i] }, Some(IntType::U8))
            }
            (model, m) => panic!("expression {model}.{m} not in the differential policy"),
        })
    }
}

struct Run {
    ran: bool,
    ok: bool,
}

/// What a non-execute event addresses on its server.
struct Addr {
    /// The server class (request: dst; otherwise src).
    server: String,
    /// Qualified endpoint name (`None` for a security event).
    endpoint: Option<String>,
    interface: String,
    method: String,
}

/// The component types of the instances on an endpoint's path (`outer.store.main` of
/// nest.Box: the instance `outer` of the EDL, then `store` inside that component), found by
/// following the instance names one by one through the syntax trees.
fn instance_types(edl: &str, qualified: &str) -> Vec<String> {
    use ostrog_idl::ast::{Section, Unit};
    use ostrog_idl::parser::Language;
    let ws = &checked().workspace;
    let names: Vec<&str> = qualified.split('.').collect();
    let Some((_, instances)) = names.split_last() else {
        return Vec::new();
    };
    let mut sections = match ws.get(Language::Edl, edl).map(|l| &l.unit) {
        Some(Unit::Edl(e)) => &e.sections,
        _ => return Vec::new(),
    };
    let mut types = Vec::new();
    for inst in instances {
        let ty = sections.iter().find_map(|s| match s {
            Section::Components { entries, .. } => entries
                .iter()
                .find(|b| b.name.text == *inst)
                .map(|b| b.target.dotted()),
            _ => None,
        });
        let Some(ty) = ty else {
            return Vec::new();
        };
        sections = match ws.get(Language::Cdl, &ty).map(|l| &l.unit) {
            Some(Unit::Cdl(c)) => &c.sections,
            _ => return Vec::new(),
        };
        types.push(ty);
    }
    types
}

fn field<'e>(e: &'e Expr, name: &str) -> &'e Expr {
    match &e.kind {
        ExprKind::Dict(entries) => entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .expect("argument field"),
        _ => panic!("a dictionary argument"),
    }
}

fn fix_handles(v: &mut V, handles: &[(u64, u32)]) {
    match v {
        V::Handle(i, r) => {
            let (s, rights) = handles[*i as usize];
            *i = s;
            *r = rights;
        }
        V::List(items) => items.iter_mut().for_each(|x| fix_handles(x, handles)),
        V::Dict(fs) => fs.iter_mut().for_each(|(_, x)| fix_handles(x, handles)),
        _ => {}
    }
}

fn regex_match(pattern: &str, text: &str) -> bool {
    use regex_automata::dfa::{dense, Automaton};
    let dfa = dense::DFA::new(pattern).expect("pattern compiles");
    dfa.try_search_fwd(&regex_automata::Input::new(text))
        .expect("search")
        .is_some()
}

fn reference(events: &[Ev]) -> String {
    let mut e = Eval {
        p: policy(),
        spec: &checked().spec,
        s: State::default(),
    };
    events
        .iter()
        .map(|ev| if e.decide(ev) { 'G' } else { 'D' })
        .collect()
}

fn generated(batches: &[Vec<Ev>]) -> Vec<String> {
    let mut input = String::new();
    for b in batches {
        for e in b {
            input.push_str(&line(e));
            input.push('\n');
        }
        input.push('\n');
    }
    let mut child = Command::new(module_binary())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the module");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("output");
    String::from_utf8_lossy(&out.stdout)
        .split('\n')
        .map(str::to_string)
        .collect()
}

#[test]
fn the_setup_is_granted_by_both() {
    let s = setup();
    let got = generated(std::slice::from_ref(&s));
    assert_eq!(got[0], reference(&s));
    assert!(got[0].chars().all(|c| c == 'G'), "{}", got[0]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn generated_module_agrees_with_the_reference_evaluator(
        batches in proptest::collection::vec(proptest::collection::vec(event_strategy(), 1..40), 8)
    ) {
        let full: Vec<Vec<Ev>> = batches.iter().map(|b| {
            let mut v = setup();
            v.extend(b.iter().cloned());
            v
        }).collect();
        let got = generated(&full);
        for (i, b) in full.iter().enumerate() {
            let want = reference(b);
            prop_assert_eq!(&got[i], &want, "events: {:#?}", b);
        }
    }
}

/// The random events are not all denied: the comparison covers granted events of every
/// kind with a message, malformed messages and model state changes.
#[test]
fn random_events_cover_granted_and_denied_decisions() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = proptest::collection::vec(event_strategy(), 200);
    let mut batches = Vec::new();
    for _ in 0..10 {
        let mut v = setup();
        v.extend(strategy.new_tree(&mut runner).expect("tree").current());
        batches.push(v);
    }
    let got = generated(&batches);
    let mut granted: BTreeMap<u8, usize> = BTreeMap::new();
    let mut total = 0;
    for (i, b) in batches.iter().enumerate() {
        assert_eq!(got[i], reference(b));
        for (e, v) in b.iter().zip(got[i].chars()).skip(setup().len()) {
            total += 1;
            if v == 'G' {
                *granted.entry(kind_no(e.kind)).or_default() += 1;
            }
        }
    }
    eprintln!("granted per kind (of {total} events): {granted:?}");
    for k in 0..5u8 {
        assert!(
            granted.get(&k).copied().unwrap_or(0) > 0,
            "no granted event of kind {k}: {granted:?}"
        );
    }
}
