//! `cargo xtask bench policy`: nanoseconds per decision of generated security modules with
//! 10, 100 and 1,000 process classes.
//!
//! Each size is a generated solution: classes `bench.C0 .. bench.C<n-1>`, each serving one
//! endpoint `svc : bench.Svc` (`Put(in UInt32 x)`), a request binding from every class to the
//! next one with an `assert` on the message, a response binding back, and the kernel's
//! bindings. The module is compiled by the policy compiler, built in release on the host
//! with a timing `main`, and run on the same event mix for every size: a granted request, a
//! request denied by its rule, a granted response, a request no binding covers, an execute.
//! The classes the mix uses are spread over the whole class range. If dispatch depended on
//! the number of classes, the figures would grow with it. Each figure is the best of five
//! runs, since other work on the machine only adds time.
//!
//! Beside each figure, the `cedar-policy` crate decides the same rules for the same events
//! (`xtask/cedar-bench`): one `permit` per request and response binding, with the message's
//! field as the request's context, requests built before timing.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};

const SIZES: [usize; 3] = [10, 100, 1000];
const ROUNDS: u64 = 200_000;

fn solution(n: usize) -> Result<std::path::PathBuf> {
    let dir = ostrog_policy::gen::pal::target_dir()
        .join("ostrog")
        .join("bench-policy")
        .join(format!("classes-{n}"));
    std::fs::create_dir_all(dir.join("bench"))?;
    std::fs::write(
        dir.join("bench/Svc.idl"),
        "package bench.Svc\ninterface {\n    Put(in UInt32 x, out UInt32 rc);\n}\n",
    )?;
    let mut psl = String::from(
        "execute: kl.core.Execute\nuse nk.basic._\nuse EDL Einit\nuse EDL kl.core.Core\n",
    );
    for i in 0..n {
        std::fs::write(
            dir.join(format!("bench/C{i}.edl")),
            format!("task class bench.C{i}\nendpoints {{\n    svc : bench.Svc\n}}\n"),
        )?;
        let _ = writeln!(psl, "use EDL bench.C{i}");
    }
    psl.push_str(
        "execute src=kl.core.Core { grant () }\nexecute src=Einit { grant () }\n\
         request dst=kl.core.Core { grant () }\nresponse src=kl.core.Core { grant () }\n",
    );
    for i in 0..n {
        let j = (i + 1) % n;
        let _ = writeln!(
            psl,
            "request src=bench.C{i}, dst=bench.C{j}, endpoint=svc, method=Put {{ assert (message.x < 1000) }}\n\
             response src=bench.C{j}, dst=bench.C{i} {{ grant () }}"
        );
    }
    std::fs::write(dir.join("security.psl"), psl)?;
    Ok(dir)
}

fn put(x: i128, response: bool) -> Result<Vec<u8>> {
    use ostrog_idl::layout::{FieldLayout, LayoutKind, MessageLayout, TypeLayout};
    use ostrog_idl::model::{IntType, Ty};
    use ostrog_policy::model::Value;
    let param = |name: &str| FieldLayout {
        name: name.into(),
        offset: 0,
        ty: Ty::Int(IntType::U32),
        layout: TypeLayout {
            size: 4,
            align: 4,
            kind: LayoutKind::Int(IntType::U32),
        },
    };
    let name = if response { "rc" } else { "x" };
    let layout = MessageLayout {
        fixed_size: 8,
        params: vec![param(name)],
    };
    let e = ostrog_policy::gen::encode::encode(&layout, &[(name.into(), Value::Int(x))], 0, 0, 0)
        .map_err(anyhow::Error::msg)?;
    Ok(e.bytes)
}

fn harness(n: usize) -> Result<String> {
    let granted = put(5, false)?;
    let denied = put(5000, false)?;
    let response = put(0, true)?;
    Ok(format!(
        r#"#![deny(warnings)]
use ostrog_ksm::{{Event, EventKind, NullAudit}};
use std::hint::black_box;

const N: u32 = {n};
static GRANTED: &[u8] = &{granted:?};
static DENIED: &[u8] = &{denied:?};
static RESPONSE: &[u8] = &{response:?};

fn main() {{
    let mut m = ksm_solution::solution::module();
    let class = |i: u32| m.class_id(&format!("bench.C{{}}", i % N)).expect("class");
    let einit = m.class_id("Einit").expect("Einit");
    // Eight classes spread over the range, each with the mix of five events.
    let mut events = Vec::new();
    for k in 0..8u32 {{
        let i = k * N / 8;
        let (a, b, c) = (class(i), class(i + 1), class(i + 2));
        let sid = |x: u32| 1000 + u64::from(x);
        let ev = |kind, s: u32, d: u32, msg: &'static [u8]| Event {{
            kind,
            src_sid: sid(s),
            src_class: s,
            dst_sid: sid(d),
            dst_class: d,
            riid: 0,
            mid: 0,
            message: msg,
            handles: &[],
        }};
        events.push((ev(EventKind::Request, a, b, GRANTED), true));
        events.push((ev(EventKind::Request, a, b, DENIED), false));
        events.push((ev(EventKind::Response, b, a, RESPONSE), true));
        events.push((ev(EventKind::Request, a, c, GRANTED), N <= 2));
        events.push((ev(EventKind::Execute, einit, a, &[]), true));
    }}
    for (e, want) in &events {{
        assert_eq!(m.decide(e, &mut NullAudit).is_granted(), *want, "{{e:?}}");
    }}
    // The best of five runs: the machine may be shared, and interference only adds time.
    let rounds: u64 = {ROUNDS} / 5;
    let mut best = f64::MAX;
    for _ in 0..5 {{
        let start = std::time::Instant::now();
        for _ in 0..rounds {{
            for (e, _) in &events {{
                black_box(m.decide(black_box(e), &mut NullAudit));
            }}
        }}
        let ns = start.elapsed().as_nanos() as f64 / (rounds as f64 * events.len() as f64);
        best = best.min(ns);
    }}
    println!("{{best:.1}}");
}}
"#
    ))
}

/// Runs the benchmark.
pub fn run() -> Result<bool> {
    let cedar = build_cedar();
    for n in SIZES {
        let dir = solution(n)?;
        let include = ostrog_policy::solution_include_dirs(&dir);
        let module =
            ostrog_policy::compile(&dir.join("security.psl"), &include, &format!("bench{n}"))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (krate, bin) = ostrog_policy::gen::pal::write_crate(
            "bench",
            &format!("policy-{n}"),
            &module.source,
            &harness(n)?,
            true,
        )?;
        let exe = ostrog_policy::gen::pal::build(&krate, &bin, true).map_err(anyhow::Error::msg)?;
        let out = std::process::Command::new(&exe)
            .output()
            .with_context(|| format!("running {}", exe.display()))?;
        if !out.status.success() {
            bail!(
                "{}: {}",
                exe.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let ns = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let cedar = match &cedar {
            Ok(exe) => cedar_ns(exe, n)?,
            Err(e) => format!("not measured ({e})"),
        };
        println!(
            "policy: {n} classes: {ns} ns/decision (goal <= 20 ns, flat); cedar-policy, same \
             rules and events: {cedar} ns/decision"
        );
    }
    Ok(true)
}

/// Builds `xtask/cedar-bench` (a workspace of its own: Cedar is never a dependency of the
/// kernel or of the project's workspace), release, into the shared target folder.
fn build_cedar() -> Result<std::path::PathBuf> {
    let manifest = cargo_ostrog::source_root().join("xtask/cedar-bench/Cargo.toml");
    let target = ostrog_policy::gen::pal::target_dir()
        .join("ostrog")
        .join("cedar-bench");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "--locked",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building {} failed", manifest.display());
    }
    Ok(target.join("release").join("ostrog-cedar-bench"))
}

/// Cedar's nanoseconds per decision for `n` classes, as the program printed them.
fn cedar_ns(exe: &std::path::Path, n: usize) -> Result<String> {
    // Cedar's cost grows with the rules: fewer rounds for the larger sets, the same mix.
    let rounds = (200_000 / n).clamp(20, 2_000);
    let out = std::process::Command::new(exe)
        .arg(n.to_string())
        .arg(rounds.to_string())
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    if !out.status.success() {
        bail!(
            "{}: {}",
            exe.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
