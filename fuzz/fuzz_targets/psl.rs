//! Arbitrary text as the top file of a policy (in the folder of the policy compiler's test
//! corpus, so `use` and EDL/CDL/IDL names resolve): the front end must report diagnostics,
//! and a policy it accepts must compile or be refused with a `CompileError`; never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let corpus = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policy/tests/corpus"
    ));
    let top = corpus.join("fuzz-input.psl");
    let checked = ostrog_policy::load_policy_source(&top, text, &[corpus]);
    let mut report = Vec::new();
    checked.report(&mut report).expect("writing to a Vec");
    if checked.error_count() == 0 {
        let _ = ostrog_policy::gen::generate(&checked, "fuzz", "fuzz-input.psl");
    }
});
