//! No input text makes the front end panic: arbitrary text, and corpus files with bytes
//! replaced, give a model or diagnostics.

use proptest::prelude::*;

const SAMPLE: &str = include_str!("corpus/shapes/Kinds.idl");
const EDL: &str = include_str!("corpus/shapes/Studio.edl");

fn check(path: &str, text: &str) {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let checked = ostrog_idl::check_sources(&[(path, text)], &[corpus]);
    let mut out = Vec::new();
    let _ = checked.report(&mut out);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "[a-zA-Z0-9_ {}()<>,;:=.+*/\\-\n]{0,200}") {
        check("x/Kinds.idl", &text);
        check("x/Studio.edl", &text);
        check("x/Comp.cdl", &text);
    }

    #[test]
    fn mutated_corpus_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), "[a-z0-9_{}()<>,;:=.+*\\- ]"), 1..6),
    ) {
        for (base, path) in [(SAMPLE, "x/Kinds.idl"), (EDL, "x/Studio.edl")] {
            let mut text: Vec<char> = base.chars().collect();
            for (at, s) in &edits {
                let i = at.index(text.len());
                text.splice(i..=i, s.chars());
            }
            let text: String = text.into_iter().collect();
            check(path, &text);
        }
    }
}
