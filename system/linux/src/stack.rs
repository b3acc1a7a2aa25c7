//! The initial stack of a Linux process, as the kernel lays it out at `execve`:
//!
//! ```text
//! sp ->  argc
//!        argv[0] .. argv[argc-1], NULL
//!        envp[0] .. envp[n-1], NULL
//!        auxv pairs (type, value) .. AT_NULL, 0
//!        (padding)
//!        16 random bytes (AT_RANDOM), platform string (AT_PLATFORM)
//!        argument and environment strings, the executable's name (AT_EXECFN)
//! top -> 8 zero bytes
//! ```
//!
//! `sp` is 16-byte aligned, as both ABIs require at process entry.

use alloc::vec;
use alloc::vec::Vec;

use crate::elf::LoadPlan;
use crate::PAGE_SIZE;

pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_RANDOM: u64 = 25;
pub const AT_EXECFN: u64 = 31;

/// Clock ticks per second reported by `AT_CLKTCK` (and used by `times`).
pub const CLOCK_TICKS: u64 = 100;
/// Largest initial stack content accepted (strings, pointers and vectors together).
pub const MAX_SIZE: usize = 128 * 1024;

/// Why the stack cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Arguments and environment do not fit in [`MAX_SIZE`] (Linux: `E2BIG`).
    TooBig,
    /// A string contains a NUL byte.
    Nul,
}

/// The bytes to place at `sp..top` and the stack pointer to start with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    pub sp: u64,
    pub bytes: Vec<u8>,
}

/// What goes into the stack besides the load plan.
pub struct Start<'a> {
    pub argv: &'a [&'a [u8]],
    pub envp: &'a [&'a [u8]],
    /// The executable's path (`AT_EXECFN`).
    pub execfn: &'a [u8],
    pub random: [u8; 16],
    pub hwcap: u64,
}

/// Builds the initial stack ending at `top` (exclusive, 16-byte aligned).
pub fn build(top: u64, plan: &LoadPlan, start: &Start<'_>) -> Result<InitialStack, Error> {
    let strings = || start.argv.iter().chain(start.envp).chain([&start.execfn]);
    if strings().any(|s| s.contains(&0)) {
        return Err(Error::Nul);
    }
    let platform = plan.arch.machine().as_bytes();
    let text_len: usize = strings().map(|s| s.len() + 1).sum::<usize>() + platform.len() + 1 + 16;
    let auxv: [(u64, u64); 18] = [
        (AT_PHDR, plan.phdr),
        (AT_PHENT, u64::from(plan.phent)),
        (AT_PHNUM, u64::from(plan.phnum)),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, plan.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_SECURE, 0),
        (AT_RANDOM, 0),
        (AT_HWCAP, start.hwcap),
        (AT_CLKTCK, CLOCK_TICKS),
        (AT_PLATFORM, 0),
        (AT_EXECFN, 0),
        (AT_NULL, 0),
    ];
    let words = 1 + start.argv.len() + 1 + start.envp.len() + 1 + auxv.len() * 2;
    let total = (8 + text_len).checked_add(words * 8).ok_or(Error::TooBig)?;
    if total > MAX_SIZE {
        return Err(Error::TooBig);
    }
    // The text area sits just below the 8-byte terminator; the vectors below it, with sp
    // rounded down to 16.
    let text_start = top - 8 - text_len as u64;
    let sp = (text_start - (words as u64) * 8) & !15;
    let size = (top - sp) as usize;
    let mut bytes = vec![0u8; size];
    let at = |addr: u64| (addr - sp) as usize;

    // Strings: the random bytes first, then the platform, arguments, environment, name.
    let random = text_start;
    bytes[at(random)..at(random) + 16].copy_from_slice(&start.random);
    let mut cursor = text_start + 16;
    let mut put = |bytes: &mut [u8], s: &[u8]| -> u64 {
        let addr = cursor;
        let i = at(addr);
        bytes[i..i + s.len()].copy_from_slice(s);
        // The NUL is already zero.
        cursor += s.len() as u64 + 1;
        addr
    };
    let platform_at = put(&mut bytes, platform);
    let mut argv_at = Vec::with_capacity(start.argv.len());
    for a in start.argv {
        argv_at.push(put(&mut bytes, a));
    }
    let mut envp_at = Vec::with_capacity(start.envp.len());
    for e in start.envp {
        envp_at.push(put(&mut bytes, e));
    }
    let execfn_at = put(&mut bytes, start.execfn);

    // Vectors.
    let mut w = sp;
    let mut word = |bytes: &mut [u8], v: u64| {
        let i = at(w);
        bytes[i..i + 8].copy_from_slice(&v.to_le_bytes());
        w += 8;
    };
    word(&mut bytes, start.argv.len() as u64);
    for a in &argv_at {
        word(&mut bytes, *a);
    }
    word(&mut bytes, 0);
    for e in &envp_at {
        word(&mut bytes, *e);
    }
    word(&mut bytes, 0);
    for (key, value) in auxv {
        let value = match key {
            AT_RANDOM => random,
            AT_PLATFORM => platform_at,
            AT_EXECFN => execfn_at,
            _ => value,
        };
        word(&mut bytes, key);
        word(&mut bytes, value);
    }
    Ok(InitialStack { sp, bytes })
}
