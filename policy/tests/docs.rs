//! The examples in `docs/languages/psl.md` check clean. A `psl` block without an
//! `execute:` line is checked after the preamble the document states.

use std::path::{Path, PathBuf};

const PREAMBLE: &str = "execute: kl.core.Execute
use nk.basic._
use nk.flow._
use nk.regex._
use EDL Einit
use EDL kl.core.Core
use EDL lock.Panel
use EDL lock.Controller
";

fn blocks(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        if let Some(text) = current.as_mut() {
            if line.trim_start() == "```" {
                out.push(text.clone());
                current = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
        } else if line == "```psl" {
            current = Some(String::new());
        }
    }
    out
}

#[test]
fn doc_examples_check_clean() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(manifest.join("../docs/languages/psl.md"))
        .expect("the language doc exists");
    assert!(doc.contains(PREAMBLE), "the doc states the preamble");
    let corpus: PathBuf = manifest.join("tests/corpus");
    let examples = blocks(&doc);
    assert!(examples.len() >= 9, "expected an example per construct");
    let mut failures = Vec::new();
    for (i, text) in examples.iter().enumerate() {
        let full = if text.contains("execute:") {
            text.clone()
        } else {
            format!("{PREAMBLE}{text}")
        };
        let path = corpus.join(format!("doc-example-{i}.psl"));
        let checked =
            ostrog_policy::load_policy_source(&path, &full, std::slice::from_ref(&corpus));
        if checked.error_count() > 0 {
            let mut out = Vec::new();
            checked.report(&mut out).ok();
            failures.push(format!("example {i}:\n{}", String::from_utf8_lossy(&out)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
