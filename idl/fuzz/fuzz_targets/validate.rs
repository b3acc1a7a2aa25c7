//! Differential: the security module's message validator against the generated decoder, on
//! every message type of the corpus.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let msg = ostrog_idl_fuzz::shape(data);
    ostrog_idl_fuzz::validate::validate_all(&msg);
});
