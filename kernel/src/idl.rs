//! Transport code for the core endpoints, generated at build time by `ostrog-idl` from
//! `sysroot/kl/core/*.idl` and `Core.edl` (see `build.rs`).

// Generated code is checked by its generator's own tests (and its reads are bounds-checked
// there); the kernel's restriction lints are not applied to it.
#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    missing_docs,
    dead_code
)]

include!(concat!(env!("OUT_DIR"), "/include.rs"));
