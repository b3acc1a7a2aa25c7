//! Arbitrary text as one EDL, CDL or IDL file (the first byte picks the language), next to
//! the IDL test corpus: the front end must report diagnostics, never panic; a file it
//! accepts gets message layouts for every method.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = match which % 3 {
        0 => "fuzz/Input.idl",
        1 => "fuzz/Input.edl",
        _ => "fuzz/Input.cdl",
    };
    let corpus = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../idl/tests/corpus"));
    let checked = ostrog_idl::check_sources(&[(name, text)], &[corpus]);
    let mut report = Vec::new();
    checked.report(&mut report).expect("writing to a Vec");
    if checked.error_count() == 0 {
        for (name, package) in &checked.model.packages {
            for method in package.interface.iter().flat_map(|i| &i.methods) {
                let _ = ostrog_idl::layout(&checked.model, name, &method.name);
            }
        }
    }
});
