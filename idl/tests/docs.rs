//! The examples in `docs/languages/edl-cdl-idl.md` parse and check clean. All blocks are
//! checked together (they may refer to each other); each block's file name comes from its
//! declared name.

use std::path::Path;

fn blocks(doc: &str) -> Vec<Vec<(String, String)>> {
    let mut sections: Vec<Vec<(String, String)>> = vec![Vec::new()];
    let mut current: Option<(String, String)> = None;
    for line in doc.lines() {
        if let Some((lang, text)) = current.as_mut() {
            if line.trim_start() == "```" {
                let (lang, text) = (lang.clone(), text.clone());
                current = None;
                if let Some(s) = sections.last_mut() {
                    s.push((lang, text));
                }
            } else {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        if line.starts_with("## ") {
            sections.push(Vec::new());
        }
        if let Some(lang) = line.strip_prefix("```") {
            if matches!(lang, "idl" | "cdl" | "edl") {
                current = Some((lang.to_string(), String::new()));
            }
        }
    }
    sections
}

fn declared_name(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .flat_map(|l| l.split_whitespace())
        .collect();
    let i = words
        .iter()
        .position(|w| matches!(*w, "package" | "component" | "entity" | "class"))?;
    words.get(i + 1).map(|s| s.to_string())
}

#[test]
fn doc_examples_check_clean() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/languages/edl-cdl-idl.md");
    let doc = std::fs::read_to_string(&path).expect("the language doc exists");
    let mut total = 0;
    let all: Vec<(String, String)> = blocks(&doc).into_iter().flatten().collect();
    let mut sources = Vec::new();
    for (lang, text) in &all {
        let name = declared_name(text).expect("every example declares a name");
        let last = name.rsplit('.').next().unwrap_or(&name).to_string();
        sources.push((format!("doc/{last}.{lang}"), text.clone()));
        total += 1;
    }
    assert!(
        total >= 7,
        "expected the doc to have examples in all three languages"
    );
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let checked = ostrog_idl::check_sources(&refs, &[]);
    let mut out = Vec::new();
    checked.report(&mut out).ok();
    assert_eq!(
        checked.error_count(),
        0,
        "{}",
        String::from_utf8_lossy(&out)
    );
    let keypad = &checked.model.classes["lock.Keypad"];
    let q: Vec<(&str, u32)> = keypad
        .endpoints
        .iter()
        .map(|e| (e.qualified.as_str(), e.riid))
        .collect();
    assert_eq!(q, vec![("door", 0), ("inner.door", 1)]);
}
