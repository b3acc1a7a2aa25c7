//! Arbitrary bytes to the dispatcher of every generated class and component.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let msg = ostrog_idl_fuzz::shape(data);
    ostrog_idl_fuzz::dispatch_all(&msg);
});
