//! Foreign system calls and resumed register frames (docs/linux.md, "The kernel contract").
//!
//! A system call whose number is not one of [`crate::syscall`]'s is *foreign*. In a process
//! that set a trap entry (`task.TrapEntry`), the kernel writes the calling thread's registers
//! as a [`TrapFrame`] to its user stack, at `(sp - 128 - size_of::<TrapFrame>()) & !15`, and
//! enters the trap entry with the frame's address as the first argument (`rdi` / `x0`). On
//! x86_64 the stack pointer is then the frame's address minus 8, with a zero there (as after
//! a `call`); on AArch64 it is the frame's address, and `x30` is 0.
//!
//! `Reply(`[`crate::handle::RESUME`]`, frame, size_of::<TrapFrame>())` makes the calling
//! thread continue with every register of a frame; [`x86_64::TrapFrame::sanitized`] and
//! [`aarch64::TrapFrame::sanitized`] are exactly what the kernel checks and keeps.
//!
//! Both layouts are defined on every target (so that host tests can check them);
//! [`TrapFrame`] is the one of the target's architecture.

use crate::layout::{USER_END, USER_MIN};
use crate::Status;

/// [`TrapFrame`] `kind`: a foreign system call (the number is in `rax` / `x8`).
pub const SYSCALL: u64 = 0;

/// [`TrapFrame`] `kind` of a fault (the low byte; [`fault_type`]): a page fault (an access to
/// memory that is not mapped, or mapped without the right: see [`ACCESS_WRITE`],
/// [`ACCESS_EXEC`], [`ACCESS_PROTECTION`]). `info` is the faulting address. The frame's
/// program counter is the faulting instruction's.
pub const FAULT_PAGE: u64 = 1;
/// Fault `kind`: an undefined or illegal instruction (x86_64 `#UD`; AArch64 "unknown
/// reason" and illegal execution state). `info` is 0.
pub const FAULT_ILLEGAL: u64 = 2;
/// Fault `kind`: a misaligned access (x86_64 `#AC`; AArch64 PC and SP alignment faults, with
/// the address in `info`).
pub const FAULT_ALIGNMENT: u64 = 3;
/// Fault `kind`: a breakpoint or debug exception (x86_64 `#BP` `#DB`; AArch64 `brk`).
pub const FAULT_BREAKPOINT: u64 = 4;
/// Fault `kind`: an arithmetic exception (x86_64 divide error, x87 and SIMD floating-point
/// exceptions).
pub const FAULT_ARITHMETIC: u64 = 5;
/// Fault `kind`: a protection fault with no address (x86_64 `#GP`, `#SS`, `#OF`, `#BR`: a
/// privileged instruction, a non-canonical address). `info` is 0.
pub const FAULT_PROTECTION: u64 = 6;
/// Fault `kind` bit ([`FAULT_PAGE`]): the access was a write.
pub const ACCESS_WRITE: u64 = 1 << 8;
/// Fault `kind` bit ([`FAULT_PAGE`]): the access was an instruction fetch.
pub const ACCESS_EXEC: u64 = 1 << 9;
/// Fault `kind` bit ([`FAULT_PAGE`]): the page is mapped but does not allow the access (Linux
/// `SEGV_ACCERR`); without it nothing is mapped there (`SEGV_MAPERR`).
pub const ACCESS_PROTECTION: u64 = 1 << 10;

/// `kind` of a frame passed to `Reply(RESUME)` that also sets the thread's *fault stack* to
/// the frame's `info` (a stack top; 0: none): a fault whose frame cannot be written below the
/// stack pointer (a stack overflow into a guard page) is delivered with its frame below that
/// top instead. Any other `kind` of a resumed frame leaves the fault stack as it is.
pub const SET_FAULT_STACK: u64 = 0x5354_0000;

/// `kind` of a frame delivered because notifications were posted to the process
/// (`task.Signal`, `task.NotifyExit`): `info` holds the bits taken for this delivery (bit
/// `n - 1` for notification `n`), which are no longer pending. The frame is the thread's
/// registers where it was interrupted (a resumed frame's code, at a return to user mode), to
/// be resumed as they are. Its low byte is 0 ([`fault_type`] says [`SYSCALL`]): code at a
/// trap entry that accepts notifications checks for this value first.
pub const NOTIFY: u64 = 0x4e54_0000;

/// The fault type of a frame's `kind` (its low byte): [`SYSCALL`] or a `FAULT_*` value.
pub const fn fault_type(kind: u64) -> u64 {
    kind & 0xff
}

/// Whether `addr` may be a program counter or stack pointer of a resumed thread.
fn user_address(addr: u64) -> bool {
    (USER_MIN as u64..USER_END as u64).contains(&addr)
}

/// The x86_64 frame.
pub mod x86_64 {
    use super::{user_address, Status};

    /// A thread's registers on x86_64. At delivery `rcx` holds the return address (as `rip`
    /// does) and `r11` the flags, as the `syscall` instruction leaves them.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TrapFrame {
        pub rax: u64,
        pub rbx: u64,
        pub rcx: u64,
        pub rdx: u64,
        pub rsi: u64,
        pub rdi: u64,
        pub rbp: u64,
        pub rsp: u64,
        pub r8: u64,
        pub r9: u64,
        pub r10: u64,
        pub r11: u64,
        pub r12: u64,
        pub r13: u64,
        pub r14: u64,
        pub r15: u64,
        pub rip: u64,
        pub rflags: u64,
        /// The FS segment base (the thread pointer of the Linux ABI).
        pub fs_base: u64,
        /// [`super::SYSCALL`], or a fault (`super::FAULT_*`, with `ACCESS_*` bits).
        pub kind: u64,
        /// A fault's address ([`super::FAULT_PAGE`], [`super::FAULT_ALIGNMENT`]); else 0.
        pub info: u64,
    }

    const _: () = assert!(core::mem::size_of::<TrapFrame>() == WORDS * 8);

    /// The flags a resumed frame may set: CF PF AF ZF SF TF DF OF.
    pub const USER_FLAGS: u64 = 1 | 1 << 2 | 1 << 4 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 10 | 1 << 11;
    /// Flags every resumed thread has: IF (interrupts on) and the reserved bit 1.
    pub const FORCED_FLAGS: u64 = 1 << 9 | 1 << 1;
    /// `fs_base` must lie below this (the canonical lower half).
    pub const FS_BASE_END: u64 = 1 << 47;

    impl TrapFrame {
        /// The frame as the kernel resumes it: `rip` and `rsp` user addresses and `fs_base`
        /// in the lower canonical half (else `InvalidArgument`), only [`USER_FLAGS`] kept
        /// and [`FORCED_FLAGS`] set.
        pub fn sanitized(&self) -> Result<TrapFrame, Status> {
            if !user_address(self.rip) || !user_address(self.rsp) || self.fs_base >= FS_BASE_END {
                return Err(Status::InvalidArgument);
            }
            Ok(TrapFrame {
                rflags: self.rflags & USER_FLAGS | FORCED_FLAGS,
                ..*self
            })
        }

        /// The stack pointer.
        pub fn sp(&self) -> u64 {
            self.rsp
        }

        /// The program counter.
        pub fn pc(&self) -> u64 {
            self.rip
        }

        /// The registers on entry to the trap entry `entry` with the frame at `at`: `rdi` =
        /// `at`, `rsp` = `at - 8` (where delivery stores a zero return address), DF and TF
        /// clear (as the function-call ABI expects); the rest as in `self`.
        pub fn entered(&self, entry: u64, at: u64) -> TrapFrame {
            TrapFrame {
                rip: entry,
                rdi: at,
                rsp: at.wrapping_sub(RETURN_SLOT as u64),
                rflags: self.rflags & !(1 << 8 | 1 << 10),
                ..*self
            }
        }

        /// The frame as words, in memory order.
        pub fn to_words(&self) -> [u64; WORDS] {
            [
                self.rax,
                self.rbx,
                self.rcx,
                self.rdx,
                self.rsi,
                self.rdi,
                self.rbp,
                self.rsp,
                self.r8,
                self.r9,
                self.r10,
                self.r11,
                self.r12,
                self.r13,
                self.r14,
                self.r15,
                self.rip,
                self.rflags,
                self.fs_base,
                self.kind,
                self.info,
            ]
        }

        /// The frame from words in memory order.
        pub fn from_words(w: [u64; WORDS]) -> TrapFrame {
            let [rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags, fs_base, kind, info] =
                w;
            TrapFrame {
                rax,
                rbx,
                rcx,
                rdx,
                rsi,
                rdi,
                rbp,
                rsp,
                r8,
                r9,
                r10,
                r11,
                r12,
                r13,
                r14,
                r15,
                rip,
                rflags,
                fs_base,
                kind,
                info,
            }
        }
    }

    /// Words of a frame.
    pub const WORDS: usize = 21;
    /// Bytes below the frame that delivery writes too: a zero return address.
    pub const RETURN_SLOT: usize = 8;
}

/// The AArch64 frame.
pub mod aarch64 {
    use super::{user_address, Status};

    /// A thread's registers on AArch64.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TrapFrame {
        pub x: [u64; 31],
        pub sp: u64,
        pub pc: u64,
        pub pstate: u64,
        /// The thread pointer register `TPIDR_EL0`.
        pub tpidr_el0: u64,
        /// [`super::SYSCALL`], or a fault (`super::FAULT_*`, with `ACCESS_*` bits).
        pub kind: u64,
        /// A fault's address ([`super::FAULT_PAGE`], [`super::FAULT_ALIGNMENT`]); else 0.
        pub info: u64,
    }

    const _: () = assert!(core::mem::size_of::<TrapFrame>() == WORDS * 8);

    /// The PSTATE bits a resumed frame may set: N Z C V. Everything else is 0: EL0t,
    /// interrupts unmasked.
    pub const USER_PSTATE: u64 = 0xf000_0000;

    impl TrapFrame {
        /// The frame as the kernel resumes it: `pc` and `sp` user addresses (else
        /// `InvalidArgument`), only [`USER_PSTATE`] kept.
        pub fn sanitized(&self) -> Result<TrapFrame, Status> {
            if !user_address(self.pc) || !user_address(self.sp) {
                return Err(Status::InvalidArgument);
            }
            Ok(TrapFrame {
                pstate: self.pstate & USER_PSTATE,
                ..*self
            })
        }

        /// The stack pointer.
        pub fn sp(&self) -> u64 {
            self.sp
        }

        /// The program counter.
        pub fn pc(&self) -> u64 {
            self.pc
        }

        /// The registers on entry to the trap entry `entry` with the frame at `at`: `x0` =
        /// `sp` = `at`, `x30` (the link register) 0; the rest as in `self`.
        pub fn entered(&self, entry: u64, at: u64) -> TrapFrame {
            let mut x = self.x;
            x[0] = at;
            x[30] = 0;
            TrapFrame {
                x,
                pc: entry,
                sp: at,
                ..*self
            }
        }

        /// The frame as words, in memory order.
        pub fn to_words(&self) -> [u64; WORDS] {
            let mut w = [0; WORDS];
            w[..31].copy_from_slice(&self.x);
            w[31..].copy_from_slice(&[
                self.sp,
                self.pc,
                self.pstate,
                self.tpidr_el0,
                self.kind,
                self.info,
            ]);
            w
        }

        /// The frame from words in memory order.
        pub fn from_words(w: [u64; WORDS]) -> TrapFrame {
            let mut x = [0; 31];
            x.copy_from_slice(&w[..31]);
            let [sp, pc, pstate, tpidr_el0, kind, info] =
                [w[31], w[32], w[33], w[34], w[35], w[36]];
            TrapFrame {
                x,
                sp,
                pc,
                pstate,
                tpidr_el0,
                kind,
                info,
            }
        }
    }

    /// Words of a frame.
    pub const WORDS: usize = 37;
    /// Bytes below the frame that delivery writes too: none (the return address is `x30`).
    pub const RETURN_SLOT: usize = 0;
}

#[cfg(target_arch = "aarch64")]
pub use self::aarch64::{TrapFrame, RETURN_SLOT, WORDS};
#[cfg(not(target_arch = "aarch64"))]
pub use self::x86_64::{TrapFrame, RETURN_SLOT, WORDS};

/// Bytes of [`TrapFrame`] (the length `Reply(RESUME, ..)` requires).
pub const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();

/// Red zone below the stack pointer that delivery leaves untouched (the x86_64 ABI's).
pub const RED_ZONE: usize = 128;

/// Where delivery writes a frame of `size` bytes for a thread with stack pointer `sp`
/// (`None` if that would wrap below 0).
pub fn frame_address(sp: u64, size: usize) -> Option<u64> {
    sp.checked_sub((RED_ZONE + size) as u64).map(|a| a & !15)
}

/// `frame` as bytes in memory order (little-endian words).
pub fn frame_to_bytes(frame: &TrapFrame) -> [u8; FRAME_SIZE] {
    let mut bytes = [0u8; FRAME_SIZE];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(frame.to_words()) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    bytes
}

/// The frame whose bytes in memory order are `bytes`.
pub fn frame_from_bytes(bytes: &[u8; FRAME_SIZE]) -> TrapFrame {
    let mut words = [0u64; WORDS];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *word = u64::from_le_bytes(b);
    }
    TrapFrame::from_words(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_the_contract() {
        assert_eq!(size_of::<x86_64::TrapFrame>(), 168);
        assert_eq!(offset_of!(x86_64::TrapFrame, rax), 0);
        assert_eq!(offset_of!(x86_64::TrapFrame, rsp), 7 * 8);
        assert_eq!(offset_of!(x86_64::TrapFrame, r15), 15 * 8);
        assert_eq!(offset_of!(x86_64::TrapFrame, rip), 16 * 8);
        assert_eq!(offset_of!(x86_64::TrapFrame, fs_base), 18 * 8);
        assert_eq!(offset_of!(x86_64::TrapFrame, info), 20 * 8);
        assert_eq!(size_of::<aarch64::TrapFrame>(), 296);
        assert_eq!(offset_of!(aarch64::TrapFrame, sp), 31 * 8);
        assert_eq!(offset_of!(aarch64::TrapFrame, pc), 32 * 8);
        assert_eq!(offset_of!(aarch64::TrapFrame, pstate), 33 * 8);
        assert_eq!(offset_of!(aarch64::TrapFrame, tpidr_el0), 34 * 8);
        assert_eq!(offset_of!(aarch64::TrapFrame, info), 36 * 8);
    }

    #[test]
    fn x86_64_frames_are_checked_and_flags_filtered() {
        let good = x86_64::TrapFrame {
            rip: 0x40_0000,
            rsp: 0x7ffe_0000,
            rflags: u64::MAX,
            fs_base: 0x1234_5678,
            rax: 7,
            ..Default::default()
        };
        let s = good.sanitized().unwrap();
        assert_eq!(s.rflags, 0xfd7);
        assert_eq!((s.rax, s.rip, s.fs_base), (7, 0x40_0000, 0x1234_5678));
        assert_eq!(
            x86_64::TrapFrame { rflags: 0, ..good }
                .sanitized()
                .unwrap()
                .rflags,
            0x202
        );
        for bad in [
            x86_64::TrapFrame {
                rip: 0xffff_8000_0000_1000,
                ..good
            },
            x86_64::TrapFrame {
                rip: 0x8000_0000_0000,
                ..good
            },
            x86_64::TrapFrame { rip: 0, ..good },
            x86_64::TrapFrame {
                rsp: USER_END as u64,
                ..good
            },
            x86_64::TrapFrame {
                fs_base: 1 << 47,
                ..good
            },
        ] {
            assert_eq!(bad.sanitized(), Err(Status::InvalidArgument));
        }
    }

    #[test]
    fn aarch64_frames_are_checked_and_pstate_filtered() {
        let good = aarch64::TrapFrame {
            pc: 0x40_0000,
            sp: 0x7ffe_0000,
            pstate: u64::MAX,
            tpidr_el0: u64::MAX,
            ..Default::default()
        };
        let s = good.sanitized().unwrap();
        assert_eq!(s.pstate, 0xf000_0000);
        assert_eq!(s.tpidr_el0, u64::MAX);
        for bad in [
            aarch64::TrapFrame {
                pc: 0xffff_0000_0000_0000,
                ..good
            },
            aarch64::TrapFrame { sp: 8, ..good },
        ] {
            assert_eq!(bad.sanitized(), Err(Status::InvalidArgument));
        }
    }

    #[test]
    fn words_follow_the_memory_layout() {
        let mut w = [0u64; x86_64::WORDS];
        for (i, v) in w.iter_mut().enumerate() {
            *v = i as u64 + 1;
        }
        let f = x86_64::TrapFrame::from_words(w);
        assert_eq!((f.rax, f.rsp, f.r15, f.rip, f.info), (1, 8, 16, 17, 21));
        assert_eq!(f.to_words(), w);
        let mut w = [0u64; aarch64::WORDS];
        for (i, v) in w.iter_mut().enumerate() {
            *v = i as u64 + 1;
        }
        let f = aarch64::TrapFrame::from_words(w);
        assert_eq!((f.x[0], f.x[30], f.sp, f.pc, f.info), (1, 31, 32, 33, 37));
        assert_eq!(f.to_words(), w);
        let g = TrapFrame::from_words([7; WORDS]);
        assert_eq!(frame_from_bytes(&frame_to_bytes(&g)), g);
        assert_eq!(frame_to_bytes(&g)[..8], 7u64.to_le_bytes());
    }

    #[test]
    fn entry_registers_follow_the_contract() {
        let f = x86_64::TrapFrame {
            rax: 39,
            rip: 0x40_1000,
            rflags: 0x702,
            ..Default::default()
        };
        let e = f.entered(0x40_2000, 0x7ffe_ff00);
        assert_eq!(
            (e.rip, e.rdi, e.rsp, e.rax),
            (0x40_2000, 0x7ffe_ff00, 0x7ffe_fef8, 39)
        );
        assert_eq!(e.rflags, 0x202);
        let f = aarch64::TrapFrame {
            pc: 0x40_1000,
            x: [5; 31],
            ..Default::default()
        };
        let e = f.entered(0x40_2000, 0x7ffe_ff00);
        assert_eq!(
            (e.pc, e.x[0], e.sp, e.x[30], e.x[8]),
            (0x40_2000, 0x7ffe_ff00, 0x7ffe_ff00, 0, 5)
        );
    }

    #[test]
    fn frames_go_below_the_red_zone_aligned() {
        assert_eq!(frame_address(0x7fff_0000, 168), Some(0x7fff_0000 - 304));
        assert_eq!(frame_address(0x7fff_0008, 168), Some(0x7fff_0000 - 288));
        assert_eq!(frame_address(100, 168), None);
    }
}
