//! Arbitrary bytes to `Message::decode` of the request, response and error types.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let msg = ostrog_idl_fuzz::shape(data);
    ostrog_idl_fuzz::decode_all(&msg);
});
