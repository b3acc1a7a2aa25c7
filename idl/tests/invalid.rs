//! One invalid file per diagnostic: each file's first line says where the error is and what
//! it says (`// expect: [file:]line:col: message prefix`). Files under `invalid/lib/` are
//! valid helpers reached through the include path.

use std::path::{Path, PathBuf};

fn expectation(text: &str) -> Option<(Option<String>, String, String)> {
    let line = text.lines().next()?.strip_prefix("// expect: ")?;
    let mut parts = line.splitn(2, ": ");
    let place = parts.next()?;
    let message = parts.next()?.to_string();
    let segs: Vec<&str> = place.split(':').collect();
    match segs.as_slice() {
        [l, c] => Some((None, format!("{l}:{c}"), message)),
        [f, l, c] => Some((Some((*f).to_string()), format!("{l}:{c}"), message)),
        _ => None,
    }
}

#[test]
fn every_invalid_file_reports_its_diagnostic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let lib = dir.join("lib");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    assert!(
        files.len() >= 40,
        "expected the invalid folder to hold 40+ cases"
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let Some((in_file, place, message)) = expectation(&text) else {
            failures.push(format!("{}: no `// expect:` line", file.display()));
            continue;
        };
        let checked =
            ostrog_idl::load_and_check(std::slice::from_ref(file), std::slice::from_ref(&lib));
        let shorts = checked.short_messages();
        let wanted_file = in_file.unwrap_or_else(|| {
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let hit = shorts
            .iter()
            .any(|s| s.contains(&format!("{wanted_file}:{place}: {message}")));
        if !hit {
            failures.push(format!(
                "{}: expected `{wanted_file}:{place}: {message}`, got {shorts:#?}",
                file.display()
            ));
            continue;
        }
        // The rendered form names the file, line and column and shows the source line.
        let mut out = Vec::new();
        checked.report(&mut out).ok();
        let rendered = String::from_utf8_lossy(&out);
        if !rendered.contains(&format!("{wanted_file}:{place}]"))
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
