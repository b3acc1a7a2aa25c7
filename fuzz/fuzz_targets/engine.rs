//! Differential: the generated security module against the reference evaluator, on random
//! event sequences (`ostrog_fuzz::engine`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ostrog_fuzz::engine::judge(data);
});
