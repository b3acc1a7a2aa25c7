//! Arbitrary bytes as an executable for each machine: the loader must accept or refuse,
//! and what it accepts must hold what the kernel relies on (`ostrog_fuzz::check_executable`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for machine in [
        ostrog_loader::Machine::X86_64,
        ostrog_loader::Machine::Aarch64,
    ] {
        if let Ok(exe) = ostrog_loader::Executable::parse(data, machine) {
            ostrog_fuzz::check_executable(&exe);
        }
    }
});
