//! The core of the Linux personality (`system/linux`), independent of the kernel so that it
//! builds and is tested on the host: the ELF load plan ([`elf`]), the Linux initial stack
//! ([`stack`]), the system-call numbers of both architectures ([`nr`]), the bookkeeping of
//! the address space ([`mm`]), starting a program ([`load`]) and the system-call handlers ([`sys`]), which reach the kernel
//! through the [`sys::Kernel`] trait. The native shell (`src/main.rs`) implements that trait
//! with core-endpoint requests. See `docs/linux.md`, "The personality".

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod elf;
pub mod errno;
pub mod load;
pub mod mm;
pub mod netconf;
pub mod nr;
pub mod signal;
pub mod stack;
pub mod sys;

/// Page size of both architectures as Ostrog runs them (`AT_PAGESZ`).
pub const PAGE_SIZE: u64 = 4096;

/// Where the personality itself is linked (`--image-base`, see `build.rs`): above every Linux
/// image and below the native main stack (`ostrog_abi::layout::STACK_TOP`). Linux images,
/// `brk` and fixed mappings must stay below it.
pub const PERSONALITY_BASE: u64 = 0x7000_0000;

/// The two architectures; their system-call numbers and some structures differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture this code is compiled for.
    #[cfg(target_arch = "x86_64")]
    pub const NATIVE: Arch = Arch::X86_64;
    #[cfg(target_arch = "aarch64")]
    pub const NATIVE: Arch = Arch::Aarch64;

    /// `uname` machine and `AT_PLATFORM`.
    pub fn machine(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

/// Rounds down to a page boundary.
pub const fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

/// Rounds up to a page boundary (saturating at the last page).
pub const fn page_up(a: u64) -> u64 {
    match a.checked_add(PAGE_SIZE - 1) {
        Some(v) => v & !(PAGE_SIZE - 1),
        None => !(PAGE_SIZE - 1),
    }
}
