//! One invalid policy per diagnostic: each file's first line says where the error is and
//! what it says (`// expect: line:col: message prefix`). The EDL/CDL/IDL files they need
//! come from the valid corpus (`tests/corpus`), which is on the include path.

use std::path::{Path, PathBuf};

fn expectation(text: &str) -> Option<(String, String)> {
    let line = text.lines().next()?.strip_prefix("// expect: ")?;
    let (place, message) = line.split_once(": ")?;
    Some((place.to_string(), message.to_string()))
}

#[test]
fn every_invalid_file_reports_its_diagnostic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "psl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    assert!(files.len() >= 50, "expected 50+ invalid cases");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let Some((place, message)) = expectation(&text) else {
            failures.push(format!("{}: no `// expect:` line", file.display()));
            continue;
        };
        let checked = ostrog_policy::load_policy(file, std::slice::from_ref(&corpus));
        let shorts = checked.short_messages();
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let wanted = format!("{name}:{place}: {message}");
        if !shorts.iter().any(|s| s.contains(&wanted)) {
            failures.push(format!(
                "{}: expected `{wanted}`, got {shorts:#?}",
                file.display()
            ));
            continue;
        }
        // The rendered form names the file, line and column, shows the source line and
        // says what was expected.
        let mut out = Vec::new();
        checked.report(&mut out).ok();
        let rendered = String::from_utf8_lossy(&out);
        if !rendered.contains(&format!("{name}:{place}]"))
            || !(rendered.contains("help:") || message.starts_with("expected"))
        {
            failures.push(format!(
                "{}: rendering lacks place or help:\n{rendered}",
                file.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
