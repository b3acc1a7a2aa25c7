//! The corpus of valid specification files parses and checks clean, and indices come out as
//! documented.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("idl" | "cdl" | "edl")
        ) {
            out.push(p);
        }
    }
}

fn corpus() -> ostrog_idl::Checked {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut list = Vec::new();
    files(&root, &mut list);
    assert!(list.len() >= 15, "corpus too small: {list:?}");
    ostrog_idl::load_and_check(&list, &[root])
}

#[test]
fn corpus_checks_clean() {
    let checked = corpus();
    let mut out = Vec::new();
    checked.report(&mut out).ok();
    assert_eq!(
        checked.error_count(),
        0,
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(checked.model.packages.len() >= 7);
}

#[test]
fn endpoint_indices_follow_source_order_and_nesting() {
    let checked = corpus();
    let studio = &checked.model.classes["shapes.Studio"];
    let names: Vec<(&str, u32, &str)> = studio
        .endpoints
        .iter()
        .map(|e| (e.qualified.as_str(), e.riid, e.interface.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("front", 0, "shapes.Canvas"),
            ("painter.canvas", 1, "shapes.Canvas"),
            ("painter.store", 2, "demo.Storage"),
            ("painter.helper.door", 3, "lock.Door"),
            ("spare.door", 4, "lock.Door"),
        ]
    );
    assert_eq!(studio.security.as_deref(), Some("shapes.Audit"));
    let controller = &checked.model.classes["lock.Controller"];
    assert_eq!(controller.endpoints.len(), 1);
    assert_eq!(controller.endpoints[0].qualified, "main.door");
    let client = &checked.model.classes["net.Client"];
    let q: Vec<&str> = client
        .endpoints
        .iter()
        .map(|e| e.qualified.as_str())
        .collect();
    assert_eq!(q, vec!["first.echo", "second.echo", "direct"]);
}

#[test]
fn method_indices_and_constants() {
    let checked = corpus();
    let canvas = &checked.model.packages["shapes.Canvas"];
    let mids: Vec<(&str, u32)> = canvas
        .interface
        .as_ref()
        .map(|i| i.methods.iter().map(|m| (m.name.as_str(), m.mid)).collect())
        .unwrap_or_default();
    assert_eq!(
        mids,
        vec![
            ("Draw", 0),
            ("Group", 1),
            ("Share", 2),
            ("Clear", 3),
            ("Bulk", 4)
        ]
    );
    let kinds = &checked.model.packages["shapes.Kinds"];
    let value = |n: &str| kinds.consts.iter().find(|c| c.name == n).map(|c| c.value);
    assert_eq!(value("Hex"), Some(94));
    assert_eq!(value("Oct"), Some(30));
    assert_eq!(value("Shifted"), Some(16));
    assert_eq!(value("Power"), Some(256));
    assert_eq!(value("Negative"), Some(-15));
    assert_eq!(value("FromImport"), Some(255));
    assert_eq!(value("Big"), Some(1 << 40));
    assert_eq!(value("Paren"), Some(64));
    let types = &checked.model.packages["kl.core.Types"];
    assert_eq!(
        types
            .consts
            .iter()
            .find(|c| c.name == "Minus")
            .map(|c| c.value),
        Some(-256)
    );
}
