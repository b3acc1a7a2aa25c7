//! The corpus of valid policies parses and checks clean, and the checked policy says what
//! the files say.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn policies() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root())
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "psl"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn load(name: &str) -> ostrog_policy::Checked {
    ostrog_policy::load_policy(&root().join(name), &[root()])
}

#[test]
fn every_corpus_policy_checks_clean() {
    let list = policies();
    assert!(!list.is_empty());
    let mut failures = Vec::new();
    for p in &list {
        let checked = ostrog_policy::load_policy(p, &[root()]);
        if checked.error_count() > 0 {
            let mut out = Vec::new();
            checked.report(&mut out).ok();
            failures.push(format!(
                "{}:\n{}",
                p.display(),
                String::from_utf8_lossy(&out)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn door_example_resolves_selectors_and_tests() {
    use ostrog_policy::model::*;
    let checked = load("door.psl");
    let policy = checked.policy().expect("door.psl checks clean");
    assert_eq!(policy.execute_interface, "kl.core.Execute");
    assert!(policy.classes.contains_key("lock.Controller"));
    let Some(ObjectConfig::Flow(flow)) = policy.objects.get("door_state").map(|o| &o.config) else {
        panic!("door_state is a Flow object");
    };
    assert_eq!(flow.initial, "closed");
    let panel = policy
        .bindings
        .iter()
        .find(|b| b.selectors.src.as_deref() == Some("lock.Panel"))
        .expect("the panel binding");
    let Stmt::Match(open) = &panel.body.stmts[0] else {
        panic!("a match section");
    };
    assert_eq!(
        open.targets,
        Targets::Only(vec![Target {
            class: "lock.Controller".into(),
            endpoint: "main.door".into(),
            riid: 0,
            interface: "lock.Door".into(),
            method: "Open".into(),
            mid: 0,
        }])
    );
    let set = &policy.tests[0];
    assert_eq!(set.setup.len(), 4);
    assert_eq!(set.sequences.len(), 2);
    let case = &set.sequences[0].cases[1];
    assert_eq!(case.expect, Expect::Deny);
    assert_eq!(case.target.as_ref().map(|t| t.mid), Some(0));
}

#[test]
fn models_policy_uses_every_model_and_resolves_shared_parameters() {
    use ostrog_policy::model::*;
    let checked = load("models.psl");
    let policy = checked.policy().expect("models.psl checks clean");
    for model in [
        "Base",
        "Pred",
        "Bool",
        "Math",
        "Struct",
        "Regex",
        "HashSet",
        "StaticMap",
        "Flow",
        "Mic",
    ] {
        assert!(policy.models.contains_key(model), "model {model} declared");
        assert!(
            policy.objects.values().any(|o| o.model == model),
            "an object of {model}"
        );
    }
    assert_eq!(policy.classes["demo.Mirror"].edl, "demo.Server");
    assert_eq!(
        policy.audit_default,
        Some(AuditDefault {
            profile: "trace".into(),
            level: 0
        })
    );
    // `match method=Get` under `dst=demo.Server` sees Get on both endpoints.
    let server = policy
        .bindings
        .iter()
        .find(|b| b.selectors.dst.as_deref() == Some("demo.Server"))
        .expect("the server binding");
    let Stmt::Match(client) = &server.body.stmts[0] else {
        panic!("match src=demo.Client");
    };
    let Stmt::Match(get) = &client.body.stmts[1] else {
        panic!("match method=Get");
    };
    let Targets::Only(targets) = &get.targets else {
        panic!("targets are known");
    };
    let eps: Vec<(&str, u32, u32)> = targets
        .iter()
        .map(|t| (t.endpoint.as_str(), t.riid, t.mid))
        .collect();
    assert_eq!(eps, vec![("backup", 1, 1), ("store.main", 0, 1)]);
    assert_eq!(policy.tests.len(), 2);
    assert_eq!(policy.tests[1].sequences[0].cases[0].expect, Expect::Deny);
}

#[test]
fn truncated_policies_give_diagnostics_not_panics() {
    let text = std::fs::read_to_string(root().join("models.psl")).unwrap_or_default();
    let path = root().join("truncated.psl");
    for end in (0..text.len()).step_by(13) {
        let Some(prefix) = text.get(..end) else {
            continue;
        };
        let checked = ostrog_policy::load_policy_source(&path, prefix, &[root()]);
        let mut out = Vec::new();
        checked.report(&mut out).ok();
    }
}

#[test]
fn component_selector_narrows_targets_to_the_component_endpoints() {
    use ostrog_policy::model::*;
    let checked = load("components.psl");
    let policy = checked.policy().expect("components.psl checks clean");
    let box_ = &policy.classes["nest.Box"];
    let paths: Vec<(&str, Vec<&str>)> = box_
        .endpoints
        .iter()
        .map(|e| {
            let path = box_.endpoint_components[&e.qualified]
                .iter()
                .map(String::as_str)
                .collect();
            (e.qualified.as_str(), path)
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            ("outer.store.main", vec!["nest.Shelf", "demo.StoreComp"]),
            ("outer.side", vec!["nest.Shelf"]),
            ("own", vec![]),
        ]
    );
    let request = policy
        .bindings
        .iter()
        .find(|b| b.selectors.component.as_deref() == Some("demo.StoreComp"))
        .expect("the request binding");
    let Targets::Only(targets) = &request.targets else {
        panic!("component= narrows the targets, got {:?}", request.targets);
    };
    // Targets are sorted by class, endpoint, interface and method name (Get before Put).
    let eps: Vec<(&str, &str, u32, u32)> = targets
        .iter()
        .map(|t| (t.class.as_str(), t.endpoint.as_str(), t.riid, t.mid))
        .collect();
    assert_eq!(
        eps,
        vec![
            ("demo.Server", "store.main", 0, 1),
            ("demo.Server", "store.main", 0, 0),
            ("nest.Box", "outer.store.main", 0, 1),
            ("nest.Box", "outer.store.main", 0, 0),
        ]
    );
}
