//! Every corpus policy with PAL tests passes them through the generated module.

use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn run(file: &str) -> (usize, usize, String) {
    let dir = corpus();
    let include = ostrog_policy::solution_include_dirs(&dir);
    let mut out = Vec::new();
    let (p, f) = ostrog_policy::pal_test_file(&dir.join(file), &include, &mut out)
        .expect("the PAL runner writes to memory");
    (p, f, String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn door_policy_passes_its_pal_tests() {
    let (p, f, out) = run("door.psl");
    assert_eq!((p, f), (2, 0), "{out}");
}

#[test]
fn models_policy_passes_its_pal_tests() {
    let (p, f, out) = run("models.psl");
    assert!(p > 0 && f == 0, "{out}");
}

#[test]
fn transactional_rule_and_default_deny() {
    let (p, f, out) = run("transactions.psl");
    assert_eq!((p, f), (6, 0), "{out}");
    assert!(out.contains("PASS transactions/a denying rule in the binding undoes the transition"));
    assert!(out.contains("PASS default deny/no binding"));
}

#[test]
fn cargo_ostrog_policy_test_on_the_corpus_folder() {
    let mut out = Vec::new();
    let (p, f) = ostrog_policy::pal_test_cli(&corpus(), &mut out).expect("writes to memory");
    let out = String::from_utf8_lossy(&out);
    assert_eq!(f, 0, "{out}");
    assert!(p >= 10, "{out}");
    assert!(
        out.ends_with(&format!("PAL: {p} passed, 0 failed\n")),
        "{out}"
    );
}

#[test]
fn a_failing_expectation_is_reported_with_its_case_and_reason() {
    let dir = std::env::temp_dir().join("ostrog-pal-failing-door");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = std::fs::read_to_string(corpus().join("door.psl"))
        .expect("door.psl")
        .replace(
            "deny  request src=p dst=c endpoint=main.door method=Open { code : \"1234\" }",
            "grant request src=p dst=c endpoint=main.door method=Open { code : \"1234\" }",
        );
    std::fs::write(dir.join("security.psl"), text).expect("write");
    let mut include = ostrog_policy::solution_include_dirs(&corpus());
    include.insert(0, dir.clone());
    let mut out = Vec::new();
    let (p, f) = ostrog_policy::pal_test_file(&dir.join("security.psl"), &include, &mut out)
        .expect("writes to memory");
    let out = String::from_utf8_lossy(&out);
    assert_eq!((p, f), (1, 1), "{out}");
    assert!(
        out.contains("FAIL door tests/open then close: case 2 (line 46) expected grant, got deny (a rule denied"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flow_and_mic_pool_sizes_from_the_config() {
    let (p, f, out) = run("pools.psl");
    assert_eq!((p, f), (2, 0), "{out}");
}

#[test]
fn hashset_entries_that_are_dictionaries_and_tuples() {
    let (p, f, out) = run("entries.psl");
    assert_eq!((p, f), (5, 0), "{out}");
}

#[test]
fn staticmap_keys_given_as_byte_lists() {
    let (p, f, out) = run("keys.psl");
    assert_eq!((p, f), (4, 0), "{out}");
}

#[test]
fn component_selector_grants_only_the_component_endpoints() {
    let (p, f, out) = run("components.psl");
    assert_eq!((p, f), (4, 0), "{out}");
    assert!(out.contains("PASS component selector/requests to the component's endpoints only"));
    assert!(out.contains("PASS component selector/nested components"));
}
