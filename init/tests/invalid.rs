//! One invalid `init.yaml` per diagnostic. Each file's first line says where the error is
//! and what it says (`# expect: line:col: message prefix`); optional `# executables: a, b`
//! and `# classes: a, b` lines give the checker the image's executables and the EDL classes.

use std::path::{Path, PathBuf};

use ostrog_init::{check, Options};

struct Case {
    place: String,
    message: String,
    options: Options,
}

fn list(text: &str, key: &str) -> Option<Vec<String>> {
    let prefix = format!("# {key}: ");
    let line = text.lines().find_map(|l| l.strip_prefix(prefix.as_str()))?;
    Some(line.split(',').map(|s| s.trim().to_string()).collect())
}

fn case(text: &str) -> Option<Case> {
    let line = text.lines().next()?.strip_prefix("# expect: ")?;
    let (place, message) = line.split_once(": ")?;
    Some(Case {
        place: place.to_string(),
        message: message.to_string(),
        options: Options {
            executables: list(text, "executables"),
            classes: list(text, "classes"),
            include_dirs: Vec::new(),
        },
    })
}

#[test]
fn every_invalid_file_reports_its_diagnostic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    // Headers that cases name (`id: {var, include}`) sit among them.
    files.retain(|f| f.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    assert!(files.len() >= 40, "expected 40+ invalid cases");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let Some(case) = case(&text) else {
            failures.push(format!("{}: no `# expect:` line", file.display()));
            continue;
        };
        let diagnostics = match check::load(file, &case.options) {
            Ok(_) => {
                failures.push(format!("{}: checked clean", file.display()));
                continue;
            }
            Err(d) => d,
        };
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let wanted = format!("{name}:{}: {}", case.place, case.message);
        let Some(hit) = diagnostics.iter().find(|d| d.short().contains(&wanted)) else {
            let got: Vec<String> = diagnostics.iter().map(|d| d.short()).collect();
            failures.push(format!(
                "{}: expected `{wanted}`, got {got:#?}",
                file.display()
            ));
            continue;
        };
        // The rendered form names file, line and column, shows the source, and says what
        // was expected.
        let rendered = hit.render();
        if !rendered.contains(&format!("{name}:{}]", case.place)) || !rendered.contains("help:") {
            failures.push(format!(
                "{}: rendering lacks place or help:\n{rendered}",
                file.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
