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
