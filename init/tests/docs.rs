//! The examples in `docs/languages/init-yaml.md` are true: `yaml` blocks check clean,
//! `yaml-invalid` blocks give the diagnostic their `# expect:` line names, and the table
//! dump matches the bytes of the first example's table.

use std::path::Path;

use ostrog_init::{check, Options};

/// Code blocks as (tag, text).
fn blocks(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in doc.lines() {
        match current.as_mut() {
            Some((tag, text)) => {
                if line.trim_start() == "```" {
                    out.push((tag.clone(), text.clone()));
                    current = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            None => {
                if let Some(tag) = line.strip_prefix("```") {
                    current = Some((tag.to_string(), String::new()));
                }
            }
        }
    }
    out
}

#[test]
fn doc_examples_are_true() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/languages/init-yaml.md");
    let doc = std::fs::read_to_string(&path).expect("the doc exists");
    let blocks = blocks(&doc);
    let mut first_table = None;
    let (mut valid, mut invalid) = (0, 0);
    for (i, (tag, text)) in blocks.iter().enumerate() {
        let name = format!("doc-{i}.yaml");
        match tag.as_str() {
            "yaml" => {
                let solution = match check::check_source(&name, text.as_str(), &Options::default())
                {
                    Ok(s) => s,
                    Err(d) => panic!("block {i} should check clean: {:#?}", d[0].short()),
                };
                let bytes = solution.to_table().expect("encodes");
                first_table.get_or_insert(bytes);
                valid += 1;
            }
            "yaml-invalid" => {
                let expect = text
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("# expect: "))
                    .expect("an invalid block starts with `# expect:`");
                let diagnostics = check::check_source(&name, text.as_str(), &Options::default())
                    .expect_err("an invalid block does not check");
                assert!(
                    diagnostics.iter().any(|d| d.message == expect),
                    "block {i}: expected `{expect}`, got {:?}",
                    diagnostics.iter().map(|d| d.short()).collect::<Vec<_>>()
                );
                invalid += 1;
            }
            "text" => {
                let dumped: Vec<u8> = text
                    .lines()
                    .flat_map(|l| l.split("   ").next().unwrap_or("").split_whitespace())
                    .filter_map(|b| u8::from_str_radix(b, 16).ok())
                    .collect();
                let table = first_table.as_ref().expect("the dump follows an example");
                assert_eq!(&table[..dumped.len()], &dumped[..], "the dump is the table");
                assert_eq!(table.len(), 196, "the doc says 196 bytes");
            }
            other => panic!("unexpected block tag `{other}`"),
        }
    }
    assert!(valid >= 2 && invalid >= 3, "the doc has its examples");
}
