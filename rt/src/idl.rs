//! Client proxies for the core endpoints, generated at build time by `ostrog-idl` from
//! `sysroot/kl/core/*.idl` (see `build.rs`); [`crate::sys`] wraps them.

#![allow(clippy::all, clippy::pedantic, missing_docs, dead_code)]

include!(concat!(env!("OUT_DIR"), "/include.rs"));
