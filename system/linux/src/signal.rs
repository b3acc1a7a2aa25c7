//! Linux signal frames: what the personality writes on a thread's stack (or its alternate
//! signal stack) to run a handler, and reads back at `rt_sigreturn`.
//!
//! The layouts are the Linux ABI's (`struct rt_sigframe`, `struct ucontext`,
//! `struct sigcontext`, `siginfo_t`), written here as byte offsets:
//!
//! - **x86_64**: `pretcode` (the handler's return address, `sa_restorer`), `ucontext` (304
//!   bytes: `uc_flags`, `uc_link`, `uc_stack` at 16, `uc_mcontext` at 40 with `r8..r15 rdi
//!   rsi rbp rbx rdx rax rcx rsp rip eflags csgsfs err trapno oldmask cr2 fpstate`,
//!   `uc_sigmask` at 296), `siginfo` (128 bytes). The handler starts with `rsp` at
//!   `pretcode`, so that `(rsp + 8)` is 16-byte aligned as after a call; below the red zone
//!   (128 bytes) of the interrupted code.
//! - **AArch64**: `siginfo` (128 bytes), `ucontext` (4,560 bytes: `uc_flags`, `uc_link`,
//!   `uc_stack` at 16, `uc_sigmask` at 40, `uc_mcontext` at 176 with `fault_address`,
//!   `regs[31]`, `sp`, `pc`, `pstate` and 4,096 reserved bytes for records), then a frame
//!   record (`x29`, `x30`) that the handler's `x29` points at. `x30` is the return
//!   trampoline (`mov x8, #139; svc #0`), which the personality provides.
//!
//! The FP/SIMD registers ([`FpState`], saved by the shell when a frame is built) go where
//! Linux puts them: on x86_64 an `fxsave` image (512 bytes) that `uc_mcontext.fpstate`
//! points at, after the siginfo; on AArch64 an `fpsimd_context` record (magic `0x46508001`,
//! 528 bytes: `fpsr`, `fpcr`, `v0..v31`) at the start of the record area, then the empty
//! record that ends the list. `rt_sigreturn` gives them back to the shell to load.

use alloc::vec;
use alloc::vec::Vec;

use ostrog_abi::trap::{aarch64 as a64, x86_64 as x86};

pub const SIGHUP: u64 = 1;
pub const SIGINT: u64 = 2;
pub const SIGILL: u64 = 4;
pub const SIGTRAP: u64 = 5;
pub const SIGABRT: u64 = 6;
pub const SIGBUS: u64 = 7;
pub const SIGFPE: u64 = 8;
pub const SIGKILL: u64 = 9;
pub const SIGUSR1: u64 = 10;
pub const SIGSEGV: u64 = 11;
pub const SIGTERM: u64 = 15;
pub const SIGCHLD: u64 = 17;
pub const SIGCONT: u64 = 18;
pub const SIGSTOP: u64 = 19;
pub const SIGURG: u64 = 23;
pub const SIGWINCH: u64 = 28;

/// `sa_flags`.
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// `si_code` values.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_TKILL: i32 = -6;
/// `si_code` of `rt_sigqueueinfo` from another process (`SI_QUEUE`).
pub const SI_QUEUE: i32 = -1;
/// `si_code` of `SIGCHLD`: the child exited, or a signal ended it.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const ILL_ILLOPC: i32 = 1;
pub const ILL_ILLOPN: i32 = 2;
pub const TRAP_BRKPT: i32 = 1;
pub const FPE_INTDIV: i32 = 1;

/// `sigaltstack` flags.
pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;

/// What a handler learns of its signal (`siginfo_t`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: i32,
    pub code: i32,
    /// The sender's pid (`kill`, `tkill`): `si_pid`, `si_uid` is 0.
    pub pid: i32,
    /// The faulting address (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGTRAP`, `SIGFPE`): `si_addr`.
    pub addr: u64,
    /// `SIGCHLD`: the child's exit code or the signal that ended it (`si_status`).
    pub status: i32,
}

impl SigInfo {
    /// The 128 bytes of `siginfo_t` (the same on both architectures).
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        if matches!(
            self.signo as u64,
            SIGSEGV | SIGBUS | SIGILL | SIGTRAP | SIGFPE
        ) && self.code > 0
        {
            b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        } else {
            b[16..20].copy_from_slice(&self.pid.to_le_bytes());
        }
        if self.signo as u64 == SIGCHLD {
            b[24..28].copy_from_slice(&self.status.to_le_bytes());
        }
        b
    }
}

/// Whether `sig` is ignored when its action is the default (`SIGCHLD`, `SIGCONT`, `SIGURG`,
/// `SIGWINCH`).
pub fn default_ignored(sig: u64) -> bool {
    matches!(sig, SIGCHLD | SIGCONT | SIGURG | SIGWINCH)
}

/// Whether the default action of `sig` stops the process (`SIGSTOP`, `SIGTSTP`, `SIGTTIN`,
/// `SIGTTOU`), which Ostrog cannot do.
pub fn default_stops(sig: u64) -> bool {
    matches!(sig, 19..=22)
}

/// Bytes of the FP/SIMD state: x86_64's `fxsave` image (512, the rest unused); AArch64's
/// `fpsr` (u32), `fpcr` (u32) and `v0..v31` (16 bytes each).
pub const FP_SIZE: usize = 520;
/// The FP/SIMD registers as the shell saves and loads them.
pub type FpState = [u8; FP_SIZE];
/// AArch64 `fpsimd_context` magic and size.
pub const FPSIMD_MAGIC: u32 = 0x4650_8001;
pub const FPSIMD_SIZE: u32 = 528;

/// What delivery needs besides the registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub sig: u64,
    pub info: SigInfo,
    pub handler: u64,
    /// Where the handler returns to (`sa_restorer`, or the personality's trampoline).
    pub ret: u64,
    /// The mask saved in the frame (the thread's before the handler).
    pub saved_mask: u64,
    /// The thread's alternate stack `(ss_sp, ss_flags, ss_size)`, saved in `uc_stack`.
    pub altstack: (u64, u32, u64),
    /// The top of the stack to put the frame below, and whether that is the alternate
    /// stack (no red zone kept then).
    pub top: u64,
    pub on_alt: bool,
    /// The thread's FP/SIMD registers, if the shell saved them.
    pub fp: Option<FpState>,
}

/// A register frame that a signal frame can be built from and restored into.
pub trait SignalRegs: Sized + Copy {
    /// Bytes of the signal frame.
    const SIZE: u64;
    fn sp(&self) -> u64;
    /// Where the frame goes for a delivery (`None` if the stack has no room for it).
    fn frame_at(d: &Delivery) -> Option<u64>;
    /// The frame's bytes at address `at`.
    fn image(&self, at: u64, d: &Delivery) -> Vec<u8>;
    /// The registers the handler starts with.
    fn enter(&self, at: u64, d: &Delivery) -> Self;
    /// Where the frame is, from the stack pointer at `rt_sigreturn`.
    fn frame_at_sigreturn(sp: u64) -> Option<u64>;
    /// The registers and signal mask saved in a frame image (`SIZE` bytes), the TLS register
    /// kept from `self`.
    fn restore(&self, image: &[u8]) -> (Self, u64);
    /// Where the FP/SIMD state of a frame image at `at` is ([`FP_SIZE`] bytes, in the layout
    /// of [`FpState`]), if it has one.
    fn fp_at(image: &[u8], at: u64) -> Option<u64>;
}

fn put(b: &mut [u8], at: usize, v: u64) {
    if let Some(slot) = b.get_mut(at..at + 8) {
        slot.copy_from_slice(&v.to_le_bytes());
    }
}

fn get(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// `uc_stack` at `at`: `ss_sp`, `ss_flags`, `ss_size`.
fn put_stack(b: &mut [u8], at: usize, d: &Delivery) {
    let (sp, flags, size) = d.altstack;
    let flags = if d.on_alt { flags | SS_ONSTACK } else { flags };
    put(b, at, sp);
    put(b, at + 8, u64::from(flags));
    put(b, at + 16, size);
}

pub mod x86_64 {
    //! Offsets of the x86_64 frame.
    /// `pretcode`, then the ucontext.
    pub const UC: usize = 8;
    pub const UC_SIZE: usize = 304;
    pub const MCONTEXT: usize = UC + 40;
    pub const SIGMASK: usize = UC + 296;
    pub const SIGINFO: usize = UC + UC_SIZE;
    /// The `fxsave` image: 16-byte aligned (the frame's address is 8 modulo 16).
    pub const FPSTATE: usize = SIGINFO + 128;
    pub const SIZE: usize = FPSTATE + 512;
    /// `sigcontext.fpstate` word index.
    pub const REG_FPSTATE: usize = 23;
    /// `sigcontext` word indices.
    pub const REG_RSP: usize = 15;
    pub const REG_RIP: usize = 16;
    pub const REG_EFL: usize = 17;
    pub const REG_CSGSFS: usize = 18;
    pub const REG_CR2: usize = 22;
}

/// x86_64 `sigcontext` order of the general registers (`r8..r15 rdi rsi rbp rbx rdx rax rcx
/// rsp rip eflags`).
fn x86_words(f: &x86::TrapFrame) -> [u64; 18] {
    [
        f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15, f.rdi, f.rsi, f.rbp, f.rbx, f.rdx,
        f.rax, f.rcx, f.rsp, f.rip, f.rflags,
    ]
}

impl SignalRegs for x86::TrapFrame {
    const SIZE: u64 = x86_64::SIZE as u64;

    fn sp(&self) -> u64 {
        self.rsp
    }

    fn frame_at(d: &Delivery) -> Option<u64> {
        let below = if d.on_alt {
            d.top
        } else {
            d.top.checked_sub(128)?
        };
        (below.checked_sub(Self::SIZE)? & !15).checked_sub(8)
    }

    fn image(&self, at: u64, d: &Delivery) -> Vec<u8> {
        use x86_64::*;
        let mut b = vec![0u8; SIZE];
        put(&mut b, 0, d.ret);
        put_stack(&mut b, UC + 16, d);
        for (i, w) in x86_words(self).iter().enumerate() {
            put(&mut b, MCONTEXT + 8 * i, *w);
        }
        // cs = 0x33, ss = 0x2b as Linux reports them (cs, gs, fs, ss as u16s).
        put(&mut b, MCONTEXT + 8 * REG_CSGSFS, 0x33 | 0x2b << 48);
        put(&mut b, MCONTEXT + 8 * REG_CR2, d.info.addr);
        put(&mut b, SIGMASK, d.saved_mask);
        b[SIGINFO..SIGINFO + 128].copy_from_slice(&d.info.to_bytes());
        if let Some(fp) = &d.fp {
            b[FPSTATE..FPSTATE + 512].copy_from_slice(&fp[..512]);
            put(&mut b, MCONTEXT + 8 * REG_FPSTATE, at + FPSTATE as u64);
        }
        b
    }

    fn enter(&self, at: u64, d: &Delivery) -> Self {
        x86::TrapFrame {
            rdi: d.sig,
            rsi: at + x86_64::SIGINFO as u64,
            rdx: at + x86_64::UC as u64,
            rax: 0,
            rsp: at,
            rip: d.handler,
            // DF and TF clear, as the function-call ABI expects.
            rflags: self.rflags & !(1 << 8 | 1 << 10),
            kind: 0,
            info: 0,
            ..*self
        }
    }

    fn frame_at_sigreturn(sp: u64) -> Option<u64> {
        // The handler's `ret` popped `pretcode`.
        sp.checked_sub(8)
    }

    fn restore(&self, b: &[u8]) -> (Self, u64) {
        use x86_64::*;
        let w = |i: usize| get(b, MCONTEXT + 8 * i);
        let f = x86::TrapFrame {
            r8: w(0),
            r9: w(1),
            r10: w(2),
            r11: w(3),
            r12: w(4),
            r13: w(5),
            r14: w(6),
            r15: w(7),
            rdi: w(8),
            rsi: w(9),
            rbp: w(10),
            rbx: w(11),
            rdx: w(12),
            rax: w(13),
            rcx: w(14),
            rsp: w(REG_RSP),
            rip: w(REG_RIP),
            rflags: w(REG_EFL) & x86::USER_FLAGS | x86::FORCED_FLAGS,
            fs_base: self.fs_base,
            kind: 0,
            info: 0,
        };
        (f, get(b, SIGMASK))
    }

    fn fp_at(image: &[u8], _at: u64) -> Option<u64> {
        Some(get(image, x86_64::MCONTEXT + 8 * x86_64::REG_FPSTATE)).filter(|&p| p != 0)
    }
}

pub mod aarch64 {
    //! Offsets of the AArch64 frame.
    pub const SIGINFO: usize = 0;
    pub const UC: usize = 128;
    pub const SIGMASK: usize = UC + 40;
    pub const MCONTEXT: usize = UC + 176;
    pub const FAULT_ADDRESS: usize = MCONTEXT;
    pub const REGS: usize = MCONTEXT + 8;
    pub const SP: usize = MCONTEXT + 256;
    pub const PC: usize = MCONTEXT + 264;
    pub const PSTATE: usize = MCONTEXT + 272;
    /// The record area, where the `fpsimd_context` goes.
    pub const RESERVED: usize = MCONTEXT + 288;
    pub const UC_SIZE: usize = 176 + 288 + 4096;
    /// The frame record (`x29`, `x30`) after the ucontext.
    pub const RECORD: usize = UC + UC_SIZE;
    pub const SIZE: usize = RECORD + 16;
}

impl SignalRegs for a64::TrapFrame {
    const SIZE: u64 = aarch64::SIZE as u64;

    fn sp(&self) -> u64 {
        self.sp
    }

    fn frame_at(d: &Delivery) -> Option<u64> {
        Some(d.top.checked_sub(Self::SIZE)? & !15)
    }

    fn image(&self, _at: u64, d: &Delivery) -> Vec<u8> {
        use aarch64::*;
        let mut b = vec![0u8; SIZE];
        b[SIGINFO..SIGINFO + 128].copy_from_slice(&d.info.to_bytes());
        put_stack(&mut b, UC + 16, d);
        put(&mut b, SIGMASK, d.saved_mask);
        put(&mut b, FAULT_ADDRESS, d.info.addr);
        for (i, r) in self.x.iter().enumerate() {
            put(&mut b, REGS + 8 * i, *r);
        }
        put(&mut b, SP, self.sp);
        put(&mut b, PC, self.pc);
        put(&mut b, PSTATE, self.pstate);
        put(&mut b, RECORD, self.x[29]);
        put(&mut b, RECORD + 8, self.x[30]);
        if let Some(fp) = &d.fp {
            b[RESERVED..RESERVED + 4].copy_from_slice(&FPSIMD_MAGIC.to_le_bytes());
            b[RESERVED + 4..RESERVED + 8].copy_from_slice(&FPSIMD_SIZE.to_le_bytes());
            b[RESERVED + 8..RESERVED + 8 + FP_SIZE].copy_from_slice(fp);
        }
        b
    }

    fn enter(&self, at: u64, d: &Delivery) -> Self {
        let mut x = self.x;
        x[0] = d.sig;
        x[1] = at + aarch64::SIGINFO as u64;
        x[2] = at + aarch64::UC as u64;
        x[29] = at + aarch64::RECORD as u64;
        x[30] = d.ret;
        a64::TrapFrame {
            x,
            sp: at,
            pc: d.handler,
            kind: 0,
            info: 0,
            ..*self
        }
    }

    fn frame_at_sigreturn(sp: u64) -> Option<u64> {
        Some(sp)
    }

    fn restore(&self, b: &[u8]) -> (Self, u64) {
        use aarch64::*;
        let mut x = [0u64; 31];
        for (i, r) in x.iter_mut().enumerate() {
            *r = get(b, REGS + 8 * i);
        }
        let f = a64::TrapFrame {
            x,
            sp: get(b, SP),
            pc: get(b, PC),
            pstate: get(b, PSTATE) & a64::USER_PSTATE,
            tpidr_el0: self.tpidr_el0,
            kind: 0,
            info: 0,
        };
        (f, get(b, SIGMASK))
    }

    fn fp_at(image: &[u8], at: u64) -> Option<u64> {
        use aarch64::RESERVED;
        let header = get(image, RESERVED);
        (header == u64::from(FPSIMD_MAGIC) | u64::from(FPSIMD_SIZE) << 32)
            .then_some(at + RESERVED as u64 + 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(top: u64, on_alt: bool) -> Delivery {
        Delivery {
            sig: SIGSEGV,
            info: SigInfo {
                signo: SIGSEGV as i32,
                code: SEGV_ACCERR,
                pid: 0,
                addr: 0xdead_b000,
                status: 0,
            },
            handler: 0x40_1000,
            ret: 0x40_2000,
            saved_mask: 0x8000_0001,
            altstack: (0x60_0000, 0, 0x8000),
            top,
            on_alt,
            fp: None,
        }
    }

    #[test]
    fn siginfo_layout() {
        let fault = delivery(0, false).info.to_bytes();
        assert_eq!(&fault[0..4], &11i32.to_le_bytes());
        assert_eq!(&fault[8..12], &2i32.to_le_bytes());
        assert_eq!(&fault[16..24], &0xdead_b000u64.to_le_bytes());
        let kill = SigInfo {
            signo: 10,
            code: SI_TKILL,
            pid: 42,
            addr: 0,
            status: 0,
        }
        .to_bytes();
        assert_eq!(&kill[8..12], &(-6i32).to_le_bytes());
        assert_eq!(&kill[16..20], &42i32.to_le_bytes());
        assert_eq!(&kill[20..24], &[0; 4]);
    }

    #[test]
    fn x86_64_frame_round_trip() {
        let regs = x86::TrapFrame::from_words(core::array::from_fn(|i| 0x100 + i as u64));
        let regs = x86::TrapFrame {
            rsp: 0x7f_0000,
            rflags: 0x202 | 1,
            kind: 1,
            info: 5,
            ..regs
        };
        let d = delivery(regs.rsp, false);
        let at = x86::TrapFrame::frame_at(&d).unwrap();
        assert_eq!((at + 8) % 16, 0, "after a call, rsp + 8 is aligned");
        assert!(
            at + x86::TrapFrame::SIZE <= regs.rsp - 128,
            "below the red zone"
        );
        let image = regs.image(at, &d);
        assert_eq!(image.len() as u64, x86::TrapFrame::SIZE);
        assert_eq!(get(&image, 0), d.ret);
        assert_eq!(
            get(&image, x86_64::MCONTEXT + 8 * x86_64::REG_RIP),
            regs.rip
        );
        assert_eq!(
            get(&image, x86_64::MCONTEXT + 8 * x86_64::REG_RSP),
            regs.rsp
        );
        assert_eq!(get(&image, x86_64::MCONTEXT), regs.r8);
        assert_eq!(get(&image, x86_64::MCONTEXT + 13 * 8), regs.rax);
        assert_eq!(get(&image, x86_64::SIGMASK), d.saved_mask);
        assert_eq!(get(&image, x86_64::SIGINFO + 16), 0xdead_b000);
        assert_eq!(get(&image, x86_64::UC + 16), 0x60_0000);

        let entered = regs.enter(at, &d);
        assert_eq!(entered.rip, d.handler);
        assert_eq!(entered.rsp, at);
        assert_eq!(entered.rdi, SIGSEGV);
        assert_eq!(entered.rsi, at + x86_64::SIGINFO as u64);
        assert_eq!(entered.rdx, at + x86_64::UC as u64);
        assert_eq!(entered.fs_base, regs.fs_base);

        // The handler returned through `ret`: rsp = at + 8.
        let sigreturn_sp = at + 8;
        assert_eq!(x86::TrapFrame::frame_at_sigreturn(sigreturn_sp), Some(at));
        let (back, mask) = entered.restore(&image);
        assert_eq!(mask, d.saved_mask);
        assert_eq!(
            back,
            x86::TrapFrame {
                kind: 0,
                info: 0,
                ..regs
            }
        );
    }

    #[test]
    fn x86_64_restore_keeps_only_user_flags() {
        let regs = x86::TrapFrame {
            rsp: 0x7f_0000,
            ..Default::default()
        };
        let mut image = regs.image(0, &delivery(regs.rsp, false));
        put(&mut image, x86_64::MCONTEXT + 8 * x86_64::REG_EFL, u64::MAX);
        let (back, _) = regs.restore(&image);
        assert_eq!(back.rflags, x86::USER_FLAGS | x86::FORCED_FLAGS);
    }

    #[test]
    fn aarch64_frame_round_trip() {
        let mut x = [0u64; 31];
        for (i, r) in x.iter_mut().enumerate() {
            *r = 0x1000 + i as u64;
        }
        let regs = a64::TrapFrame {
            x,
            sp: 0x7f_0000,
            pc: 0x40_0abc,
            pstate: 0x6000_0000,
            tpidr_el0: 0x77,
            kind: 1,
            info: 3,
        };
        let d = delivery(0x61_0000, true);
        let at = a64::TrapFrame::frame_at(&d).unwrap();
        assert_eq!(at % 16, 0);
        assert!(at + a64::TrapFrame::SIZE <= 0x61_0000);
        let image = regs.image(at, &d);
        assert_eq!(image.len() as u64, a64::TrapFrame::SIZE);
        assert_eq!(aarch64::MCONTEXT % 16, 0);
        assert_eq!(get(&image, aarch64::PC), regs.pc);
        assert_eq!(get(&image, aarch64::SP), regs.sp);
        assert_eq!(get(&image, aarch64::REGS + 8 * 30), regs.x[30]);
        assert_eq!(get(&image, aarch64::FAULT_ADDRESS), 0xdead_b000);
        assert_eq!(get(&image, aarch64::UC + 24), u64::from(SS_ONSTACK));
        let entered = regs.enter(at, &d);
        assert_eq!(entered.x[0], SIGSEGV);
        assert_eq!(entered.x[1], at);
        assert_eq!(entered.x[2], at + 128);
        assert_eq!(entered.x[30], d.ret);
        assert_eq!(entered.x[29], at + aarch64::RECORD as u64);
        assert_eq!(entered.sp, at);
        assert_eq!(a64::TrapFrame::frame_at_sigreturn(entered.sp), Some(at));
        let (back, mask) = entered.restore(&image);
        assert_eq!(mask, d.saved_mask);
        assert_eq!(
            back,
            a64::TrapFrame {
                kind: 0,
                info: 0,
                ..regs
            }
        );
    }

    #[test]
    fn fp_state_is_in_the_frame_where_linux_puts_it() {
        let fp: FpState = core::array::from_fn(|i| i as u8);
        let d = Delivery {
            fp: Some(fp),
            ..delivery(0x7f_0000, false)
        };
        let regs = x86::TrapFrame {
            rsp: 0x7f_0000,
            ..Default::default()
        };
        let at = x86::TrapFrame::frame_at(&d).unwrap();
        let image = regs.image(at, &d);
        let ptr = x86::TrapFrame::fp_at(&image, at).unwrap();
        assert_eq!(ptr % 16, 0);
        let off = (ptr - at) as usize;
        assert_eq!(&image[off..off + 512], &fp[..512]);
        assert_eq!(
            x86::TrapFrame::fp_at(&regs.image(at, &delivery(0, false)), at),
            None
        );

        let regs = a64::TrapFrame {
            sp: 0x7f_0000,
            ..Default::default()
        };
        let at = a64::TrapFrame::frame_at(&d).unwrap();
        let image = regs.image(at, &d);
        let ptr = a64::TrapFrame::fp_at(&image, at).unwrap();
        let off = (ptr - at) as usize;
        assert_eq!(&image[off..off + FP_SIZE], &fp[..]);
        assert_eq!(&image[off - 8..off - 4], &FPSIMD_MAGIC.to_le_bytes());
        // The empty record after it ends the list.
        assert_eq!(&image[off + FP_SIZE..off + FP_SIZE + 8], &[0; 8]);
        assert_eq!(
            a64::TrapFrame::fp_at(&regs.image(at, &delivery(0, false)), at),
            None
        );
    }

    #[test]
    fn no_room_is_none() {
        assert_eq!(x86::TrapFrame::frame_at(&delivery(100, false)), None);
        assert_eq!(a64::TrapFrame::frame_at(&delivery(100, true)), None);
    }
}
