//! What the personality reads and writes in a trap frame (`ostrog_abi::trap::TrapFrame`):
//! the Linux system-call number and arguments, the result, the stack pointer (set;
//! `TrapFrame::sp` reads it) and the thread pointer, named the same on both architectures.

pub use ostrog_abi::trap::TrapFrame;

/// The Linux view of a trap frame.
pub trait LinuxFrame {
    /// The first frame of a program: everything zero but pc and sp (x86_64: `rdx` = 0, no
    /// function for `atexit`).
    fn start(pc: u64, sp: u64) -> TrapFrame;
    fn number(&self) -> u64;
    fn args(&self) -> [u64; 6];
    fn set_result(&mut self, v: i64);
    fn set_sp(&mut self, sp: u64);
    fn tls(&self) -> u64;
    fn set_tls(&mut self, tls: u64);
    /// Points the frame back at its system-call instruction, so that the call is made again
    /// when it is resumed (a call restarted after a signal handler, `SA_RESTART`); the
    /// number and arguments are still in their registers until a result is set.
    fn restart(&mut self);
}

#[cfg(target_arch = "x86_64")]
impl LinuxFrame for TrapFrame {
    fn start(pc: u64, sp: u64) -> TrapFrame {
        TrapFrame {
            rip: pc,
            rsp: sp,
            rflags: 0x202,
            ..TrapFrame::default()
        }
    }
    fn number(&self) -> u64 {
        self.rax
    }
    fn args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }
    fn set_result(&mut self, v: i64) {
        self.rax = v as u64;
    }
    fn set_sp(&mut self, sp: u64) {
        self.rsp = sp;
    }
    fn tls(&self) -> u64 {
        self.fs_base
    }
    fn set_tls(&mut self, tls: u64) {
        self.fs_base = tls;
    }
    fn restart(&mut self) {
        // `syscall` is 2 bytes.
        self.rip = self.rip.wrapping_sub(2);
    }
}

#[cfg(target_arch = "aarch64")]
impl LinuxFrame for TrapFrame {
    fn start(pc: u64, sp: u64) -> TrapFrame {
        TrapFrame {
            pc,
            sp,
            ..TrapFrame::default()
        }
    }
    fn number(&self) -> u64 {
        self.x[8]
    }
    fn args(&self) -> [u64; 6] {
        [
            self.x[0], self.x[1], self.x[2], self.x[3], self.x[4], self.x[5],
        ]
    }
    fn set_result(&mut self, v: i64) {
        self.x[0] = v as u64;
    }
    fn set_sp(&mut self, sp: u64) {
        self.sp = sp;
    }
    fn tls(&self) -> u64 {
        self.tpidr_el0
    }
    fn set_tls(&mut self, tls: u64) {
        self.tpidr_el0 = tls;
    }
    fn restart(&mut self) {
        // `svc #0` is 4 bytes.
        self.pc = self.pc.wrapping_sub(4);
    }
}

/// Runs `f(arg)` with the stack pointer at `top` (16-byte aligned, the top of memory that
/// nothing else uses while `f` runs); `f` never returns, so the stack this is called on is
/// left as it is.
pub fn run_on_stack(top: u64, arg: usize, f: extern "C" fn(usize) -> !) -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `top` is the aligned top of a mapping the caller reserved for this call alone;
    // `f` follows the C calling convention (argument in rdi, a 16-byte aligned stack before
    // the call) and never returns, so no register or stack state of the caller is needed.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "call {f}",
            "ud2",
            top = in(reg) top,
            f = in(reg) f,
            in("rdi") arg,
            options(noreturn),
        )
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as for x86_64: the argument in x0, sp 16-byte aligned, `f` never returns.
    unsafe {
        core::arch::asm!(
            "mov sp, {top}",
            "blr {f}",
            "udf #0",
            top = in(reg) top,
            f = in(reg) f,
            in("x0") arg,
            options(noreturn),
        )
    }
}
