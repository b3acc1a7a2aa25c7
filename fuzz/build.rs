//! For the `engine` target: the security module of the policy compiler's differential test
//! (`policy/tests/differential/policy.psl`), generated as the kernel gets it, and that
//! test's reference evaluator (`policy/tests/differential.rs`, its proptest parts left out),
//! so that random events are judged by both in one process.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let tests = manifest.join("../policy/tests");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    println!(
        "cargo:rerun-if-changed={}",
        tests.join("differential.rs").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        tests.join("differential").display()
    );
    let checked = ostrog_policy::load_policy(
        &tests.join("differential/policy.psl"),
        &[tests.join("corpus")],
    );
    let module = ostrog_policy::gen::generate(&checked, "differential", "differential/policy.psl")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(out.join("module.rs"), module.source).expect("module.rs");

    let text = std::fs::read_to_string(tests.join("differential.rs")).expect("differential.rs");
    let start = text.find("fn event_strategy()").expect("event_strategy");
    let resume = text.find("// ----------------------------------------------------------------------- reference")
        .or_else(|| text.find("// ------------------------------------------------------------------------- reference"))
        .expect("the reference section");
    let end = text
        .find("#[test]\nfn the_setup_is_granted_by_both")
        .expect("the tests");
    let mut kept = String::new();
    kept.push_str(&text[..start]);
    kept.push_str(&text[resume..end]);
    let kept: String = kept
        .lines()
        .filter(|l| !l.starts_with("//!") && !l.starts_with("use proptest"))
        .map(|l| format!("{l}\n"))
        .collect();
    let kept = kept.replace(
        "Path::new(env!(\"CARGO_MANIFEST_DIR\")).join(\"tests\")",
        &format!("PathBuf::from({:?})", tests.display().to_string()),
    );
    std::fs::write(out.join("reference.rs"), kept).expect("reference.rs");
}
