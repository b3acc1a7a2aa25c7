//! Starting a program: map the load plan, the main stack and the initial stack, and make the
//! personality's state. The shell adds only the file's bytes (`romfs.Read`), the trap entry
//! and the first resume.

use core::fmt;

use crate::elf::{self, Rights};
use crate::mm::{Kind, Space};
use crate::stack::{self, Start};
use crate::sys::{Kernel, State, MAIN_STACK_SIZE};
use crate::{Arch, PERSONALITY_BASE};

/// Why a program cannot be started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    Elf(elf::Error),
    Stack(stack::Error),
    /// A kernel request failed (which, and the Linux errno it maps to).
    Kernel(&'static str, i64),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Elf(e) => write!(f, "{e}"),
            Error::Stack(stack::Error::TooBig) => f.write_str("arguments and environment too long"),
            Error::Stack(stack::Error::Nul) => f.write_str("a NUL byte in an argument"),
            Error::Kernel(what, errno) => write!(f, "{what} failed (errno {errno})"),
        }
    }
}

/// A program ready to run: resume a frame with `pc` and `sp`.
pub struct Started {
    pub state: State,
    pub pc: u64,
    pub sp: u64,
}

/// What to start.
pub struct Program<'a> {
    pub arch: Arch,
    /// The executable's bytes.
    pub file: &'a [u8],
    /// Where those bytes are mapped (kept out of the program's reach).
    pub file_at: u64,
    pub argv: &'a [&'a [u8]],
    pub envp: &'a [&'a [u8]],
    /// The executable's path (`AT_EXECFN`, `/proc/self/exe`).
    pub path: &'a [u8],
    pub random: [u8; 16],
    pub pid: i32,
    /// Lowest address no program mapping may use (the personality's own image).
    pub user_min: u64,
}

/// Maps the program and its stacks.
pub fn start<K: Kernel>(k: &mut K, p: &Program<'_>) -> Result<Started, Error> {
    let plan = elf::plan(p.file, p.arch).map_err(Error::Elf)?;
    let mut space = Space::new();
    space.reserve(0, p.user_min);
    // The personality (image, heap, native stack) and everything above the user range.
    space.reserve(PERSONALITY_BASE, u64::MAX);
    space.reserve(p.file_at, p.file_at.saturating_add(p.file.len() as u64));
    for r in &plan.regions {
        k.allocate_at(r.start, r.end - r.start, Rights::RW)
            .map_err(|e| Error::Kernel("vmm.AllocateAt", e))?;
        space.record(r.start, r.end, r.rights, Kind::Image);
    }
    for c in &plan.copies {
        // In bounds: the plan checked every copy against the file.
        k.write_user(c.addr, &p.file[c.offset..c.offset + c.len]);
    }
    for r in plan.regions.iter().filter(|r| r.rights != Rights::RW) {
        k.protect(r.start, r.end - r.start, r.rights)
            .map_err(|e| Error::Kernel("vmm.Protect", e))?;
    }
    space.set_brk_start(plan.brk);

    let base = k
        .allocate(MAIN_STACK_SIZE, Rights::RW)
        .map_err(|e| Error::Kernel("vmm.Allocate (stack)", e))?;
    let top = base + MAIN_STACK_SIZE;
    space.record(base, top, Rights::RW, Kind::Stack);
    let initial = stack::build(
        top,
        &plan,
        &Start {
            argv: p.argv,
            envp: p.envp,
            execfn: p.path,
            random: p.random,
            hwcap: 0,
        },
    )
    .map_err(Error::Stack)?;
    k.write_user(initial.sp, &initial.bytes);
    Ok(Started {
        state: State::new(p.arch, space, p.pid, top, p.path),
        pc: plan.entry,
        sp: initial.sp,
    })
}
