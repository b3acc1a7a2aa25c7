//! The Linux personality: the native shell around the `linux` library. On Ostrog it loads
//! the Linux executable named by its first argument and serves its system calls (see
//! `native`); built for the host it only says that it runs on Ostrog.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod native;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "linux: the Linux personality runs on Ostrog only (build it for a bare-metal target)"
    );
    std::process::exit(1);
}
