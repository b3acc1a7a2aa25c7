//! Transport code generated from `spec/ipctest` (see `build.rs`).

#![no_std]

extern crate alloc;

#[allow(clippy::all, clippy::pedantic, missing_docs, dead_code)]
pub mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}
