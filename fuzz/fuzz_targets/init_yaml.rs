//! Arbitrary text as `init.yaml`: the checker must give a solution or diagnostics; a
//! solution it accepts must encode into an Einit table that parses back with the same
//! processes and channels.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let options = ostrog_init::Options::default();
    let Ok(solution) = ostrog_init::check_source("init.yaml", text, &options) else {
        return;
    };
    let Ok(bytes) = ostrog_init::table::encode(&solution) else {
        return;
    };
    let table = ostrog_init::table::Table::parse(&bytes).expect("an encoded table parses");
    ostrog_fuzz::walk_table(&table);
});
