//! Arbitrary bytes as the binary Einit table (the no_std decoder Einit runs on what the
//! image holds): parse, then read every field of every process and channel.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = ostrog_init::table::Table::parse(data) {
        ostrog_fuzz::walk_table(&table);
    }
});
