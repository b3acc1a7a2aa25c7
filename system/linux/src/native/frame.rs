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
