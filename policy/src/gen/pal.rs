//! The PAL runner: PAL tests compiled into a host program around the generated module.
//!
//! For a policy with tests, [`harness`] writes a small cargo crate (under the workspace's
//! target folder, `ostrog/pal/<name>/`): the generated module as a `no_std` library (the
//! very file the kernel would include, compiled with `deny(warnings)`), and a `main` that
//! replays every test as real events through `SecurityModule::decide`. Messages are encoded
//! here, on the compiler's side, from the PAL dictionaries and the IDL layouts
//! ([`super::encode`]), so they pass the module's validator as a client's messages would.
//!
//! Semantics (reference 3.8): each sequence of a set runs on a fresh module (setup, the
//! sequence, finally), so no state leaks from one test to the next; `var <- execute ...`
//! binds a fresh SID to the variable; a process named by class (the KCE 1.0 form) has one
//! SID per class; an `execute` without `src` is started by the kernel (`kl.core.Core`),
//! and the kernel starting itself has equal source and destination SIDs; `security`
//! events go to the kernel. `grant`/`deny` check the verdict, `any` only that the case ran.
//!
//! [`run`] builds and runs the crate with cargo (offline; one shared target folder, so the
//! dependencies build once) and copies the program's lines to the caller.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use ostrog_idl::ast::Direction;
use ostrog_idl::layout::layout;

use super::encode::encode;
use crate::model::{EventKind, Expect, Party, Policy, TestCase};
use crate::Checked;

/// The workspace folder (parent of this crate).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The system root: EDL/IDL of `kl.core.Core` and `Einit`.
pub fn sysroot_dir() -> PathBuf {
    ostrog_idl::sysroot()
}

/// The target folder cargo uses (`CARGO_TARGET_DIR` or the workspace's `target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().join("target"))
}

fn kind_path(k: EventKind) -> &'static str {
    match k {
        EventKind::Execute => "EventKind::Execute",
        EventKind::Request => "EventKind::Request",
        EventKind::Response => "EventKind::Response",
        EventKind::Error => "EventKind::Error",
        EventKind::Security => "EventKind::Security",
    }
}

struct Vars(Vec<String>);

impl Vars {
    fn slot(&mut self, name: &str) -> usize {
        if let Some(i) = self.0.iter().position(|v| v == name) {
            return i;
        }
        self.0.push(name.to_string());
        self.0.len() - 1
    }
}

fn party(p: Option<&Party>, vars: &mut Vars) -> String {
    match p {
        None => "Party::Kernel".into(),
        Some(Party::Var { name, .. }) => format!("Party::Var({})", vars.slot(name)),
        Some(Party::Class(c)) => format!("Party::Class({c:?})"),
    }
}

fn case(checked: &Checked, c: &TestCase, vars: &mut Vars) -> Result<String, String> {
    let (line, _) = checked
        .workspace
        .sources
        .line_col(c.span.file, c.span.start);
    let (riid, mid, msg, handles) = match &c.target {
        Some(t) if c.event != EventKind::Execute => {
            let dir = match c.event {
                EventKind::Response => Direction::Out,
                EventKind::Error => Direction::Error,
                _ => Direction::In,
            };
            let ml = layout(&checked.spec, &t.interface, &t.method).ok_or_else(|| {
                format!("line {line}: no layout for {}.{}", t.interface, t.method)
            })?;
            let flags = if c.event == EventKind::Error { 1 } else { 0 };
            let e = encode(ml.message(dir), &c.message, t.riid, t.mid, flags)
                .map_err(|e| format!("line {line}: message: {e}"))?;
            (t.riid, t.mid, e.bytes, e.handles)
        }
        _ => (0, 0, Vec::new(), Vec::new()),
    };
    let bind = match &c.bind {
        Some(v) => format!("Some({})", vars.slot(v)),
        None => "None".into(),
    };
    let expect = match c.expect {
        Expect::Grant => 0,
        Expect::Deny => 1,
        Expect::Any => 2,
    };
    let src = party(c.src.as_ref(), vars);
    let dst = party(c.dst.as_ref(), vars);
    let hs: Vec<String> = handles
        .iter()
        .map(|(sid, rights)| format!("HandleInfo {{ sid: {sid}, rights: {rights} }}"))
        .collect();
    let title = c.title.clone().unwrap_or_default();
    Ok(format!(
        "Case {{ bind: {bind}, expect: {expect}, kind: {}, src: {src}, dst: {dst}, riid: {riid}, mid: {mid}, msg: &{msg:?}, handles: &[{}], line: {line}, title: {title:?} }}",
        kind_path(c.event),
        hs.join(", ")
    ))
}

fn cases(checked: &Checked, cs: &[TestCase], vars: &mut Vars) -> Result<String, String> {
    let mut out = Vec::new();
    for c in cs {
        out.push(case(checked, c, vars)?);
    }
    Ok(format!("&[{}]", out.join(", ")))
}

/// Number of PAL tests (sequences) of a policy.
pub fn test_count(policy: &Policy) -> usize {
    policy.tests.iter().map(|t| t.sequences.len().max(1)).sum()
}

/// The harness's `main.rs` for the tests of `checked`.
pub fn harness(checked: &Checked, policy: &Policy) -> Result<String, String> {
    let mut tests = String::new();
    for (si, set) in policy.tests.iter().enumerate() {
        let set_name = set
            .name
            .clone()
            .unwrap_or_else(|| format!("set {}", si + 1));
        let mut vars = Vars(Vec::new());
        let setup = cases(checked, &set.setup, &mut vars)?;
        let finally = cases(checked, &set.finally, &mut vars)?;
        let mut seqs: Vec<(String, String)> = Vec::new();
        for (qi, seq) in set.sequences.iter().enumerate() {
            let name = seq
                .name
                .clone()
                .unwrap_or_else(|| format!("sequence {}", qi + 1));
            seqs.push((name, cases(checked, &seq.cases, &mut vars)?));
        }
        if seqs.is_empty() {
            seqs.push(("(setup)".into(), "&[]".into()));
        }
        for (name, body) in seqs {
            let _ = writeln!(
                tests,
                "    Test {{ set: {set_name:?}, name: {name:?}, setup: {setup}, cases: {body}, finally: {finally}, vars: {} }},",
                vars.0.len().max(1)
            );
        }
    }
    Ok(format!(
        "{HARNESS_HEAD}\nstatic TESTS: &[Test] = &[\n{tests}];\n"
    ))
}

const HARNESS_HEAD: &str = r#"//! PAL tests of the solution, run against its generated security module.
#![deny(warnings)]

use ostrog_ksm::{
    AuditRecord, AuditSink, ClassId, DenyReason, Event, EventKind, HandleInfo, SecurityModule,
    Sid, Verdict,
};

enum Party {
    Kernel,
    Var(usize),
    Class(&'static str),
}

struct Case {
    bind: Option<usize>,
    expect: u8,
    kind: EventKind,
    src: Party,
    dst: Party,
    riid: u32,
    mid: u32,
    msg: &'static [u8],
    handles: &'static [HandleInfo],
    line: u32,
    title: &'static str,
}

struct Test {
    set: &'static str,
    name: &'static str,
    setup: &'static [Case],
    cases: &'static [Case],
    finally: &'static [Case],
    vars: usize,
}

/// Keeps the reason and the text of the last record.
struct Last(Option<(Option<DenyReason>, String)>);

impl AuditSink for Last {
    fn record(&mut self, record: &AuditRecord<'_>) {
        self.0 = Some((record.reason, record.to_string()));
    }
}

const KERNEL: &str = "kl.core.Core";
const KERNEL_SID: Sid = 1;

struct Run {
    module: Box<dyn SecurityModule>,
    vars: Vec<Option<(Sid, ClassId)>>,
    next_sid: Sid,
}

impl Run {
    fn class(&self, name: &str) -> Result<ClassId, String> {
        self.module
            .class_id(name)
            .ok_or_else(|| format!("the module does not know class `{name}`"))
    }

    fn party(&self, p: &Party) -> Result<(Sid, ClassId), String> {
        match p {
            Party::Kernel => Ok((KERNEL_SID, self.class(KERNEL)?)),
            Party::Var(i) => self
                .vars
                .get(*i)
                .copied()
                .flatten()
                .ok_or_else(|| "variable used before its process was started".to_string()),
            Party::Class(name) => {
                let c = self.class(name)?;
                Ok((0x1_0000 + Sid::from(c), c))
            }
        }
    }

    fn case(&mut self, c: &Case) -> Result<(), String> {
        let (src, dst) = if c.kind == EventKind::Execute {
            let Party::Class(name) = c.dst else {
                return Err("execute needs a class to start".to_string());
            };
            let class = self.class(name)?;
            let sid = self.next_sid;
            self.next_sid += 1;
            let src = match (&c.src, name == KERNEL) {
                (Party::Kernel, true) => (sid, class),
                (p, _) => self.party(p)?,
            };
            if let Some(slot) = c.bind.and_then(|b| self.vars.get_mut(b)) {
                *slot = Some((sid, class));
            }
            (src, (sid, class))
        } else {
            (self.party(&c.src)?, self.party(&c.dst)?)
        };
        let event = Event {
            kind: c.kind,
            src_sid: src.0,
            src_class: src.1,
            dst_sid: dst.0,
            dst_class: dst.1,
            riid: c.riid,
            mid: c.mid,
            message: c.msg,
            handles: c.handles,
        };
        let mut last = Last(None);
        let verdict = self.module.decide(&event, &mut last);
        let word = |v: Verdict| if v.is_granted() { "grant" } else { "deny" };
        let expected = match c.expect {
            0 => Verdict::Granted,
            1 => Verdict::Denied,
            _ => return Ok(()),
        };
        if verdict == expected {
            return Ok(());
        }
        let reason = match &last.0 {
            Some((Some(r), line)) => format!("{}; audit: {line}", r.describe()),
            Some((None, line)) => format!("audit: {line}"),
            None => "a rule denied".to_string(),
        };
        let title = if c.title.is_empty() { String::new() } else { format!(" \"{}\"", c.title) };
        Err(format!(
            "(line {}){title} expected {}, got {} ({reason})",
            c.line,
            word(expected),
            word(verdict)
        ))
    }
}

fn run(t: &Test) -> Result<(), String> {
    let mut r = Run {
        module: ksm_solution::solution::module(),
        vars: vec![None; t.vars],
        next_sid: 0x100,
    };
    for (phase, cases) in [("setup case", t.setup), ("case", t.cases), ("finally case", t.finally)] {
        for (i, c) in cases.iter().enumerate() {
            r.case(c).map_err(|e| format!("{phase} {} {e}", i + 1))?;
        }
    }
    Ok(())
}

fn main() {
    let mut failed = 0;
    for t in TESTS {
        match run(t) {
            Ok(()) => println!("PASS {}/{}", t.set, t.name),
            Err(e) => {
                failed += 1;
                println!("FAIL {}/{}: {e}", t.set, t.name);
            }
        }
    }
    println!("{} passed, {failed} failed", TESTS.len() - failed);
    std::process::exit(i32::from(failed > 0));
}
"#;

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() {
        "solution".into()
    } else {
        s
    }
}

/// Writes a host crate `<target>/ostrog/<kind>/<name>/` holding `module` as the library
/// `ksm_solution` (`no_std`, warnings denied) and `main` as the binary `<kind>-<name>`.
/// Returns the crate folder and the binary name.
pub fn write_crate(
    kind: &str,
    name: &str,
    module: &str,
    main: &str,
    release: bool,
) -> std::io::Result<(PathBuf, String)> {
    let name = sanitize(name);
    let dir = target_dir().join("ostrog").join(kind).join(&name);
    std::fs::create_dir_all(dir.join("src"))?;
    let ksm = workspace_dir().join("ksm");
    let bin = format!("{kind}-{name}");
    let profile = if release {
        "[profile.release]\npanic = \"abort\"\nopt-level = 3\n"
    } else {
        "[profile.dev]\npanic = \"abort\"\n"
    };
    let manifest = format!(
        "[package]\nname = \"{bin}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [lib]\nname = \"ksm_solution\"\npath = \"src/lib.rs\"\n\n\
         [[bin]]\nname = \"{bin}\"\npath = \"src/main.rs\"\n\n\
         [dependencies]\nostrog-ksm = {{ path = {:?} }}\n\n{profile}\n[workspace]\n",
        ksm.display().to_string()
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        let _ = std::fs::copy(workspace_dir().join("Cargo.lock"), &lock);
    }
    write_if_changed(
        &dir.join("src/lib.rs"),
        "//! The generated security module, compiled as the kernel compiles it.\n#![no_std]\n#![deny(warnings)]\nextern crate alloc;\n\npub mod solution {\n    include!(\"module.rs\");\n}\n",
    )?;
    write_if_changed(&dir.join("src/module.rs"), module)?;
    write_if_changed(&dir.join("src/main.rs"), main)?;
    Ok((dir, bin))
}

fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    std::fs::write(path, text)
}

/// Builds the crate and returns the path of its binary, or cargo's error output.
pub fn build(dir: &Path, bin: &str, release: bool) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let shared = target_dir().join("ostrog").join("host-target");
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--quiet")
        .arg("--offline")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&shared)
        .arg("--bin")
        .arg(bin)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if release {
        cmd.arg("--release");
    }
    let output = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(shared
        .join(if release { "release" } else { "debug" })
        .join(bin))
}

/// Generates, builds and runs the PAL tests of one checked policy, writing one line per
/// test and a summary to `out`. Returns (passed, failed).
pub fn run(
    checked: &Checked,
    name: &str,
    origin: &str,
    out: &mut dyn Write,
) -> std::io::Result<(usize, usize)> {
    let module = match super::generate(checked, name, origin) {
        Ok(m) => m,
        Err(e) => {
            writeln!(out, "{e}")?;
            writeln!(out, "FAIL {name}: the policy does not compile")?;
            return Ok((0, 1));
        }
    };
    let Some(policy) = checked.policy() else {
        return Ok((0, 1));
    };
    if policy.tests.is_empty() {
        writeln!(out, "{name}: no PAL tests")?;
        return Ok((0, 0));
    }
    let main = match harness(checked, policy) {
        Ok(m) => m,
        Err(e) => {
            writeln!(out, "FAIL {name}: {e}")?;
            return Ok((0, test_count(policy)));
        }
    };
    let (dir, bin) = write_crate("pal", name, &module.source, &main, false)?;
    let exe = match build(&dir, &bin, false) {
        Ok(p) => p,
        Err(e) => {
            writeln!(out, "{e}")?;
            writeln!(
                out,
                "FAIL {name}: the generated test crate in {} does not build",
                dir.display()
            )?;
            return Ok((0, test_count(policy)));
        }
    };
    let output = Command::new(&exe).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let (mut passed, mut failed) = (0, 0);
    for line in text.lines() {
        if line.starts_with("PASS ") {
            passed += 1;
        } else if line.starts_with("FAIL ") {
            failed += 1;
        } else {
            continue;
        }
        writeln!(out, "{line}")?;
    }
    if passed + failed == 0 {
        writeln!(
            out,
            "FAIL {name}: the test program ended without results ({})",
            output.status
        )?;
        writeln!(out, "{}", String::from_utf8_lossy(&output.stderr))?;
        failed = test_count(policy).max(1);
    }
    Ok((passed, failed))
}
