//! `cargo ostrog graph`: a picture of a solution.
//!
//! Nodes are the processes of `init.yaml` (task name and class) and the kernel; an arrow
//! from client to server is a channel, labelled with its name and with every method of the
//! server the policy *can* grant on it: some `request` binding (or `match` section inside
//! one) covers the pair of classes and the method and runs at least one rule other than an
//! unconditional `deny ()`. Whether a call is granted at run time can still depend on
//! model state (a Flow state, a Regex check, a Mic level); methods no binding covers are
//! never drawn, since the policy denies them whatever happens. Arrows to the kernel show the
//! core endpoints each class may call.
//!
//! The graph is written as DOT (for Graphviz users) and rendered to SVG by `layout-rs`, so
//! nothing needs to be installed.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ostrog_policy::model::{Binding, Block, EventKind, ExprKind, Selectors, Stmt, Targets};

use crate::solution::Solution;

const CORE: &str = "kl.core.Core";

/// Does `selectors` (src/dst class names) admit the classes `src` and `dst`?
fn classes_fit(s: &Selectors, src: &str, dst: &str) -> bool {
    s.src.as_deref().is_none_or(|c| c == src) && s.dst.as_deref().is_none_or(|c| c == dst)
}

/// Can `block` grant: does it run a rule other than `deny ()` (or contain a section that
/// does)? Sections are judged by their own targets by the caller.
fn block_may_grant(block: &Block) -> bool {
    block.stmts.iter().any(|s| match s {
        Stmt::Rule(call) => !(call.method == "deny" && matches!(call.arg.kind, ExprKind::Unit)),
        Stmt::Match(_) => false,
        Stmt::Choice(_) => true,
    })
}

/// Every `(endpoint.method)` of server class `dst` that a request from `src` may be granted,
/// found by walking the bindings and their `match` sections.
pub(crate) fn grantable(bindings: &[Binding], src: &str, dst: &str) -> BTreeSet<String> {
    fn walk(
        block: &Block,
        selectors: &[&Selectors],
        targets: &Targets,
        src: &str,
        dst: &str,
        out: &mut BTreeSet<String>,
    ) {
        if !selectors.iter().all(|s| classes_fit(s, src, dst)) {
            return;
        }
        if block_may_grant(block) {
            match targets {
                Targets::Any => {
                    out.insert("*".into());
                }
                Targets::Only(list) => {
                    for t in list.iter().filter(|t| t.class == dst) {
                        out.insert(format!("{}.{}", t.endpoint, t.method));
                    }
                }
            }
        }
        for stmt in &block.stmts {
            if let Stmt::Match(m) = stmt {
                let mut inner = selectors.to_vec();
                inner.push(&m.selectors);
                walk(&m.body, &inner, &m.targets, src, dst, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    for b in bindings.iter().filter(|b| b.event == EventKind::Request) {
        walk(&b.body, &[&b.selectors], &b.targets, src, dst, &mut out);
    }
    out
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The DOT text of the solution's graph.
pub fn dot(solution: &Solution) -> Result<String> {
    let init =
        ostrog_init::load(&solution.init_yaml, &ostrog_init::Options::default()).map_err(|ds| {
            anyhow::anyhow!(
                "{}",
                ds.iter().map(|d| d.render()).collect::<Vec<_>>().join("\n")
            )
        })?;
    let checked = ostrog_policy::load_policy(&solution.policy, &solution.include_dirs());
    let Some(policy) = checked.policy() else {
        let mut out = Vec::new();
        checked.report(&mut out)?;
        bail!("the policy has errors:\n{}", String::from_utf8_lossy(&out));
    };
    let mut text = String::from("digraph solution {\n    rankdir=LR;\n");
    let _ = writeln!(
        text,
        "    core [label={}, shape=box];",
        quote("kernel\nkl.core.Core")
    );
    for (i, p) in init.processes.iter().enumerate() {
        let label = if p.task == p.class {
            p.class.clone()
        } else {
            format!("{}\n{}", p.task, p.class)
        };
        let _ = writeln!(text, "    p{i} [label={}];", quote(&label));
    }
    for c in &init.channels {
        let (Some(client), Some(server)) =
            (init.processes.get(c.client), init.processes.get(c.server))
        else {
            continue;
        };
        let methods = grantable(&policy.bindings, &client.class, &server.class);
        let mut label = format!("channel {}", c.id);
        if methods.is_empty() {
            label.push_str("\n(no method granted)");
        }
        for m in &methods {
            label.push('\n');
            label.push_str(m);
        }
        let _ = writeln!(
            text,
            "    p{} -> p{} [label={}];",
            c.client,
            c.server,
            quote(&label)
        );
    }
    let classes: BTreeSet<&str> = init.processes.iter().map(|p| p.class.as_str()).collect();
    for class in classes {
        let methods = grantable(&policy.bindings, class, CORE);
        if methods.is_empty() {
            continue;
        }
        let Some(i) = init.processes.iter().position(|p| p.class == class) else {
            continue;
        };
        let label = methods.into_iter().collect::<Vec<_>>().join("\n");
        let _ = writeln!(
            text,
            "    p{i} -> core [label={}, style=dashed];",
            quote(&label)
        );
    }
    text.push_str("}\n");
    Ok(text)
}

/// Renders DOT text to SVG.
pub fn svg(dot: &str) -> Result<String> {
    let mut parser = layout::gv::DotParser::new(dot);
    let graph = parser
        .process()
        .map_err(|e| anyhow::anyhow!("cannot parse the generated graph: {e}"))?;
    let mut builder = layout::gv::GraphBuilder::new();
    builder.visit_graph(&graph);
    let mut visual = builder.get();
    let mut writer = layout::backends::svg::SVGWriter::new();
    visual.do_it(false, false, false, &mut writer);
    Ok(writer.finalize())
}

/// Writes `graph.dot` and `graph.svg` for the solution into `out`; returns both paths.
pub fn write(solution: &Solution, out: &std::path::Path) -> Result<(PathBuf, PathBuf)> {
    let dot = dot(solution)?;
    let svg = svg(&dot)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let dot_path = out.join("graph.dot");
    let svg_path = out.join("graph.svg");
    std::fs::write(&dot_path, dot)
        .with_context(|| format!("cannot write {}", dot_path.display()))?;
    std::fs::write(&svg_path, svg)
        .with_context(|| format!("cannot write {}", svg_path.display()))?;
    Ok((dot_path, svg_path))
}
