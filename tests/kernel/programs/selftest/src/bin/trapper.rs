//! The trap redirect and resume (docs/linux.md, "The kernel contract"), checked from user
//! space:
//!
//! 1. a foreign system call without a trap entry fails with `NoSuchSyscall`, and a trap entry
//!    outside user memory is refused;
//! 2. with a trap entry, a foreign system call made from assembly with every register set
//!    arrives at the entry with the frame on the stack as the contract says (number,
//!    arguments, return address, stack pointer, flags; the entry's own stack pointer and
//!    return address), and after the handler resumes, the result it set is in the result
//!    register and every other register is as before, or as the handler set it (`rcx` and
//!    `r11` on x86_64, which only a full restore can give back);
//! 3. (x86_64) a foreign system call with the NT flag set is delivered and resumed too;
//! 4. the thread pointer (FS base / `TPIDR_EL0`) set through a resumed frame is each thread's
//!    own across switches, and delivered frames carry it;
//! 5. a new thread started by resuming a frame it built runs with that frame's registers;
//! 6. bad frames (kernel or non-canonical program counter, no stack pointer, bad FS base,
//!    wrong length, unmapped or kernel frame pointer) are refused and the program runs on;
//! 7. faults (a read of unmapped memory, a write to read-only code, an illegal instruction)
//!    arrive at the trap entry as frames of kind `FAULT_*` with the address in `info` and the
//!    faulting instruction's program counter, and resuming a changed frame continues there;
//! 8. with the trap entry cleared, foreign system calls fail with `NoSuchSyscall` again.
//!
//! It ends by waiting for `trap-no-stack` and `trap-nested-fault` (started beside it) to be
//! ended by the kernel, so that the scenario sees those reports first.
#![no_std]
#![no_main]

extern crate alloc;

use core::sync::atomic::{AtomicU64, Ordering};

use ostrog_abi::trap::{
    fault_type, TrapFrame, ACCESS_EXEC, ACCESS_PROTECTION, ACCESS_WRITE, FAULT_ILLEGAL, FAULT_PAGE,
    FRAME_SIZE, RED_ZONE, SET_FAULT_STACK, SYSCALL, WORDS,
};
use ostrog_abi::{handle, syscall as nr, Status};
use ostrog_rt::{println, sys, thread};

ostrog_rt::main!(main);

/// The foreign number of the register probe.
const PROBE: u64 = 39;
/// Foreign number: set the thread pointer to the first argument.
const SET_TLS: u64 = 1000;
/// Foreign number: the thread pointer as the delivered frame has it.
const GET_TLS: u64 = 1001;
/// Foreign number: the resumed frame sets the thread's fault stack (`FAULT_STACK`).
const SET_FAULT_STACK_NR: u64 = 1002;
/// The fault stack of the main thread.
#[repr(C, align(16))]
struct FaultStack([u8; 16 * 1024]);
static mut FAULT_STACK: FaultStack = FaultStack([0; 16 * 1024]);

fn fault_stack_top() -> u64 {
    (&raw const FAULT_STACK) as u64 + core::mem::size_of::<FaultStack>() as u64
}

/// What the handler answers the probe with.
const PROBE_RESULT: u64 = 0x600d;
/// Unmapped user memory (the system-call fuzzer's unmapped pointer).
const UNMAPPED: u64 = 0x5000_0000;
/// What any other foreign number gets (Linux's -ENOSYS).
const UNKNOWN_RESULT: u64 = -38i64 as u64;

/// The last probe's frame as delivered, and where it was.
static SEEN: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];
static SEEN_AT: AtomicU64 = AtomicU64::new(0);
/// The trap entry's stack pointer and return address (x86_64: the word at the stack
/// pointer; AArch64: `x30`) on its last entry, recorded by the assembly shim.
static ENTRY_SP: AtomicU64 = AtomicU64::new(0);
static ENTRY_RETURN: AtomicU64 = AtomicU64::new(u64::MAX);
/// Foreign system calls delivered.
static DELIVERED: AtomicU64 = AtomicU64::new(0);
/// The last fault delivered: `kind`, `info`, program counter, stack pointer.
static FAULT_SEEN: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
/// Where the last fault's frame was.
static SEEN_FAULT_AT: AtomicU64 = AtomicU64::new(0);
/// What the handler puts in the result register of a fault it recovers from.
const FAULT_RESULT: u64 = 0xfa17;

/// Values the threads point their thread pointer at (x86_64 reads the first word through
/// `fs`).
static TLS_MAIN: u64 = 0xaaaa_0000_0000_0001;
static TLS_OTHER: u64 = 0xbbbb_0000_0000_0002;
static TLS_STARTED: u64 = 0xcccc_0000_0000_0003;

#[cfg(target_arch = "x86_64")]
mod arch {
    use super::TrapFrame;

    core::arch::global_asm!(
        r#"
    .text
    /* trapper_fault_read(addr) -> rax: a read at addr; trapper_fault_write(addr): a
       write there; trapper_fault_illegal(): ud2. The handler of a fault resumes at the
       matching *_resume label with rax set. */
    .global trapper_fault_read
trapper_fault_read:
    mov rax, [rdi]
    .global trapper_fault_read_resume
trapper_fault_read_resume:
    ret
    .global trapper_fault_write
trapper_fault_write:
    mov qword ptr [rdi], 0
    .global trapper_fault_write_resume
trapper_fault_write_resume:
    ret
    .global trapper_fault_illegal
trapper_fault_illegal:
    ud2
    .global trapper_fault_illegal_resume
trapper_fault_illegal_resume:
    ret
    /* trapper_fault_sp(sp) -> rax: a read at the stack pointer `sp` (unmapped). */
    .global trapper_fault_sp
trapper_fault_sp:
    push rbx
    mov rbx, rsp
    mov rsp, rdi
    .global trapper_fault_sp_at
trapper_fault_sp_at:
    mov rax, [rsp]
    .global trapper_fault_sp_resume
trapper_fault_sp_resume:
    mov rsp, rbx
    pop rbx
    ret
"#
    );

    unsafe extern "C" {
        pub fn trapper_fault_read(addr: u64) -> u64;
        pub fn trapper_fault_read_resume();
        pub fn trapper_fault_write(addr: u64) -> u64;
        pub fn trapper_fault_write_resume();
        pub fn trapper_fault_illegal() -> u64;
        pub fn trapper_fault_illegal_resume();
        pub fn trapper_fault_sp(sp: u64) -> u64;
        pub fn trapper_fault_sp_at();
        pub fn trapper_fault_sp_resume();
    }

    core::arch::global_asm!(
        r#"
    .text
    /* The trap entry: records its rsp and return address, calls the handler with the
       frame (rdi), and resumes the frame. (Programs for x86_64-unknown-none use no SSE
       registers, so there is no FP state to keep around the handler.) */
    .global trapper_entry
trapper_entry:
    mov [rip + {entry_sp}], rsp
    mov rax, [rsp]
    mov [rip + {entry_return}], rax
    sub rsp, 8
    call {handler}
    add rsp, 8
    lea rsi, [rsp + 8]
    mov edi, {resume}
    mov edx, {frame_size}
    mov eax, {reply}
    syscall
    mov rdi, rax
    jmp {refused}

    /* trapper_probe(in: *const [u64; 16], out: *mut [u64; 18]): loads every general
       register from `in` (TrapFrame order, rsp excepted), sets CF, makes the system call
       numbered in[0], and stores every register to `out` (TrapFrame order), with the stack
       pointer before the call at out[16] and the flags after it at out[17]. */
    .global trapper_probe
trapper_probe:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    push rsi
    mov [rsi + 16 * 8], rsp
    mov rax, [rdi + 0 * 8]
    mov rbx, [rdi + 1 * 8]
    mov rcx, [rdi + 2 * 8]
    mov rdx, [rdi + 3 * 8]
    mov rsi, [rdi + 4 * 8]
    mov rbp, [rdi + 6 * 8]
    mov r8, [rdi + 8 * 8]
    mov r9, [rdi + 9 * 8]
    mov r10, [rdi + 10 * 8]
    mov r11, [rdi + 11 * 8]
    mov r12, [rdi + 12 * 8]
    mov r13, [rdi + 13 * 8]
    mov r14, [rdi + 14 * 8]
    mov r15, [rdi + 15 * 8]
    mov rdi, [rdi + 5 * 8]
    stc
    syscall
    .global trapper_after_syscall
trapper_after_syscall:
    pushfq
    push rax
    mov rax, [rsp + 16]
    mov [rax + 1 * 8], rbx
    mov [rax + 2 * 8], rcx
    mov [rax + 3 * 8], rdx
    mov [rax + 4 * 8], rsi
    mov [rax + 5 * 8], rdi
    mov [rax + 6 * 8], rbp
    mov [rax + 8 * 8], r8
    mov [rax + 9 * 8], r9
    mov [rax + 10 * 8], r10
    mov [rax + 11 * 8], r11
    mov [rax + 12 * 8], r12
    mov [rax + 13 * 8], r13
    mov [rax + 14 * 8], r14
    mov [rax + 15 * 8], r15
    lea rbx, [rsp + 16]
    mov [rax + 7 * 8], rbx
    pop rbx
    mov [rax + 0 * 8], rbx
    pop rbx
    mov [rax + 17 * 8], rbx
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

    /* trapper_nt_syscall(number) -> rax: the system call with the NT flag set. */
    .global trapper_nt_syscall
trapper_nt_syscall:
    pushfq
    or qword ptr [rsp], 1 << 14
    popfq
    mov rax, rdi
    syscall
    pushfq
    and qword ptr [rsp], ~(1 << 14)
    popfq
    ret
"#,
        entry_sp = sym super::ENTRY_SP,
        entry_return = sym super::ENTRY_RETURN,
        handler = sym super::on_trap,
        refused = sym super::resume_refused,
        resume = const super::handle::RESUME,
        frame_size = const super::FRAME_SIZE,
        reply = const super::nr::REPLY,
    );

    unsafe extern "C" {
        pub fn trapper_entry();
        pub fn trapper_probe(regs_in: *const u64, regs_out: *mut u64);
        pub fn trapper_after_syscall();
        pub fn trapper_nt_syscall(number: u64) -> u64;
    }

    pub const IN_WORDS: usize = 16;
    pub const OUT_WORDS: usize = 18;

    pub fn number(f: &TrapFrame) -> u64 {
        f.rax
    }
    pub fn arg0(f: &TrapFrame) -> u64 {
        f.rdi
    }
    pub fn set_result(f: &mut TrapFrame, value: u64) {
        f.rax = value;
    }
    pub fn tls(f: &TrapFrame) -> u64 {
        f.fs_base
    }
    pub fn set_tls(f: &mut TrapFrame, value: u64) {
        f.fs_base = value;
    }
    /// The handler's extra changes to the probe's frame: registers the normal return path
    /// would not give back.
    pub fn mark_probe(f: &mut TrapFrame) {
        f.rcx = 0x1111;
        f.r11 = 0x2222;
        f.rdx = 0x3333;
    }

    /// The thread pointer as the thread sees it: the first word at the FS base.
    pub fn read_tls_word() -> u64 {
        let value: u64;
        // SAFETY: only called after the FS base was set to the address of a static u64.
        unsafe {
            core::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) value, options(nostack, readonly))
        };
        value
    }

    /// A foreign system call with one argument; the result register.
    pub fn foreign(number: u64, arg: u64) -> u64 {
        let result: u64;
        // SAFETY: a system call; the kernel (or the trap entry, which resumes the frame
        // with the result) gives back every register but rax, rcx and r11.
        unsafe {
            core::arch::asm!("syscall", inlateout("rax") number => result, in("rdi") arg,
                 lateout("rcx") _, lateout("r11") _, options(nostack))
        };
        result
    }

    /// Checks the probe: `Err` says what is wrong.
    pub fn check_probe(
        regs_in: &[u64; IN_WORDS],
        out: &[u64; OUT_WORDS],
        seen: &TrapFrame,
        at: u64,
        entry_sp: u64,
        entry_return: u64,
    ) -> Result<(), &'static str> {
        let after = trapper_after_syscall as *const () as u64;
        let sp_before = out[16];
        if seen.rax != super::PROBE
            || seen.rdi != regs_in[5]
            || seen.rsi != regs_in[4]
            || seen.rdx != regs_in[3]
            || seen.r10 != regs_in[10]
            || seen.r8 != regs_in[8]
            || seen.r9 != regs_in[9]
        {
            return Err("the frame lacks the number or the arguments");
        }
        if seen.rbx != regs_in[1]
            || seen.rbp != regs_in[6]
            || seen.r12 != regs_in[12]
            || seen.r13 != regs_in[13]
            || seen.r14 != regs_in[14]
            || seen.r15 != regs_in[15]
        {
            return Err("the frame lacks the other registers");
        }
        if seen.rip != after || seen.rcx != after {
            return Err("rip and rcx are not the return address");
        }
        if seen.r11 != seen.rflags || seen.rflags & 1 == 0 || seen.rflags & (1 << 9) == 0 {
            return Err("r11 and rflags are not the flags at the call");
        }
        if seen.rsp != sp_before {
            return Err("the frame's rsp is not the stack pointer at the call");
        }
        if seen.kind != super::SYSCALL || seen.info != 0 {
            return Err("kind or info is not 0");
        }
        if !at.is_multiple_of(16)
            || at + super::FRAME_SIZE as u64 > sp_before - super::RED_ZONE as u64
        {
            return Err("the frame is not aligned below the red zone");
        }
        if entry_sp != at - 8 || entry_return != 0 {
            return Err("the entry's rsp is not the frame's address - 8 with 0 there");
        }
        if out[0] != super::PROBE_RESULT {
            return Err("the result did not arrive in rax");
        }
        if out[2] != 0x1111 || out[11] != 0x2222 || out[3] != 0x3333 {
            return Err("rcx, r11 or rdx are not the frame's (no full restore)");
        }
        for i in [1, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15] {
            if out[i] != regs_in[i] {
                return Err("a register changed across the resume");
            }
        }
        if out[7] != sp_before {
            return Err("rsp changed across the resume");
        }
        if out[17] & 1 == 0 {
            return Err("CF was lost across the resume");
        }
        Ok(())
    }

    /// The probe's input: the number, and a distinct value in every other register.
    pub fn probe_input() -> [u64; IN_WORDS] {
        let mut regs = [0u64; IN_WORDS];
        for (i, r) in regs.iter_mut().enumerate() {
            *r = 0x0101_0101_0000_0000 * (i as u64 + 1) + i as u64;
        }
        regs[0] = super::PROBE;
        regs[7] = 0;
        regs
    }

    /// A program counter in the kernel half, and one that is not canonical.
    pub const KERNEL_PC: u64 = 0xffff_ffff_8000_0000;
    pub const NONCANONICAL_PC: u64 = 0x0000_8000_0000_0000;

    pub fn set_pc(f: &mut TrapFrame, pc: u64) {
        f.rip = pc;
    }
    pub fn set_sp(f: &mut TrapFrame, sp: u64) {
        f.rsp = sp;
    }
    /// The registers on entry to `entry(arg)` with the stack ending at `top`.
    pub fn call_frame(entry: u64, top: u64, arg: u64, tls: u64) -> TrapFrame {
        TrapFrame {
            rip: entry,
            rsp: top - 8,
            rdi: arg,
            fs_base: tls,
            rflags: 0x202,
            ..Default::default()
        }
    }
    /// Frames only x86_64 refuses: an FS base that is not canonical, or in the kernel half.
    pub fn bad_tls_frames(good: &TrapFrame) -> [TrapFrame; 2] {
        [
            TrapFrame {
                fs_base: 0x0000_8000_0000_0000,
                ..*good
            },
            TrapFrame {
                fs_base: 0xffff_8000_0000_0000,
                ..*good
            },
        ]
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    use super::TrapFrame;

    core::arch::global_asm!(
        r#"
    .text
    /* trapper_fault_read(addr) -> x0: a read at addr; trapper_fault_write(addr): a
       write there; trapper_fault_illegal(): udf. The handler of a fault resumes at the
       matching *_resume label with x0 set. */
    .global trapper_fault_read
trapper_fault_read:
    ldr x0, [x0]
    .global trapper_fault_read_resume
trapper_fault_read_resume:
    ret
    .global trapper_fault_write
trapper_fault_write:
    str xzr, [x0]
    .global trapper_fault_write_resume
trapper_fault_write_resume:
    ret
    .global trapper_fault_illegal
trapper_fault_illegal:
    udf #0
    .global trapper_fault_illegal_resume
trapper_fault_illegal_resume:
    ret
    /* trapper_fault_sp(sp) -> x0: a read at the stack pointer `sp` (unmapped). */
    .global trapper_fault_sp
trapper_fault_sp:
    mov x9, sp
    mov sp, x0
    .global trapper_fault_sp_at
trapper_fault_sp_at:
    ldr x0, [sp]
    .global trapper_fault_sp_resume
trapper_fault_sp_resume:
    mov sp, x9
    ret
"#
    );

    unsafe extern "C" {
        pub fn trapper_fault_read(addr: u64) -> u64;
        pub fn trapper_fault_read_resume();
        pub fn trapper_fault_write(addr: u64) -> u64;
        pub fn trapper_fault_write_resume();
        pub fn trapper_fault_illegal() -> u64;
        pub fn trapper_fault_illegal_resume();
        pub fn trapper_fault_sp(sp: u64) -> u64;
        pub fn trapper_fault_sp_at();
        pub fn trapper_fault_sp_resume();
    }

    core::arch::global_asm!(
        r#"
    .text
    /* The trap entry: records its sp and x30, saves the FP/SIMD registers (the frame
       has none, and Rust code for aarch64-unknown-none uses them), calls the handler with
       the frame (x0), restores them, and resumes the frame. */
    .global trapper_entry
trapper_entry:
    mov x9, sp
    adrp x10, {entry_sp}
    add x10, x10, :lo12:{entry_sp}
    str x9, [x10]
    adrp x10, {entry_return}
    add x10, x10, :lo12:{entry_return}
    str x30, [x10]
    sub sp, sp, #528
    stp q0, q1, [sp, #0]
    stp q2, q3, [sp, #32]
    stp q4, q5, [sp, #64]
    stp q6, q7, [sp, #96]
    stp q8, q9, [sp, #128]
    stp q10, q11, [sp, #160]
    stp q12, q13, [sp, #192]
    stp q14, q15, [sp, #224]
    stp q16, q17, [sp, #256]
    stp q18, q19, [sp, #288]
    stp q20, q21, [sp, #320]
    stp q22, q23, [sp, #352]
    stp q24, q25, [sp, #384]
    stp q26, q27, [sp, #416]
    stp q28, q29, [sp, #448]
    stp q30, q31, [sp, #480]
    mrs x9, fpcr
    mrs x10, fpsr
    str x9, [sp, #512]
    str x10, [sp, #520]
    bl {handler}
    ldp q0, q1, [sp, #0]
    ldp q2, q3, [sp, #32]
    ldp q4, q5, [sp, #64]
    ldp q6, q7, [sp, #96]
    ldp q8, q9, [sp, #128]
    ldp q10, q11, [sp, #160]
    ldp q12, q13, [sp, #192]
    ldp q14, q15, [sp, #224]
    ldp q16, q17, [sp, #256]
    ldp q18, q19, [sp, #288]
    ldp q20, q21, [sp, #320]
    ldp q22, q23, [sp, #352]
    ldp q24, q25, [sp, #384]
    ldp q26, q27, [sp, #416]
    ldp q28, q29, [sp, #448]
    ldp q30, q31, [sp, #480]
    ldr x9, [sp, #512]
    ldr x10, [sp, #520]
    msr fpcr, x9
    msr fpsr, x10
    add sp, sp, #528
    mov x1, sp
    mov x0, #{resume}
    mov x2, #{frame_size}
    movz x8, #{reply_high}, lsl #16
    movk x8, #{reply_low}
    svc #0
    b {refused}

    /* trapper_probe(in: *const [u64; 31], out: *mut [u64; 34]): loads x0-x30 from `in`,
       sets Z and C, makes the system call numbered in[8], and stores x0-x30 to `out`, with
       sp before the call at out[31], sp after it at out[32] and NZCV at out[33]. */
    .global trapper_probe
trapper_probe:
    sub sp, sp, #112
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    str x1, [sp, #96]
    mov x9, sp
    str x9, [x1, #248]
    mov x9, #0x60000000
    msr nzcv, x9
    mov x30, x0
    ldp x0, x1, [x30, #0]
    ldp x2, x3, [x30, #16]
    ldp x4, x5, [x30, #32]
    ldp x6, x7, [x30, #48]
    ldp x8, x9, [x30, #64]
    ldp x10, x11, [x30, #80]
    ldp x12, x13, [x30, #96]
    ldp x14, x15, [x30, #112]
    ldp x16, x17, [x30, #128]
    ldp x18, x19, [x30, #144]
    ldp x20, x21, [x30, #160]
    ldp x22, x23, [x30, #176]
    ldp x24, x25, [x30, #192]
    ldp x26, x27, [x30, #208]
    ldp x28, x29, [x30, #224]
    ldr x30, [x30, #240]
    svc #0
    .global trapper_after_syscall
trapper_after_syscall:
    stp x0, x1, [sp, #-16]!
    ldr x0, [sp, #112]
    stp x2, x3, [x0, #16]
    stp x4, x5, [x0, #32]
    stp x6, x7, [x0, #48]
    stp x8, x9, [x0, #64]
    stp x10, x11, [x0, #80]
    stp x12, x13, [x0, #96]
    stp x14, x15, [x0, #112]
    stp x16, x17, [x0, #128]
    stp x18, x19, [x0, #144]
    stp x20, x21, [x0, #160]
    stp x22, x23, [x0, #176]
    stp x24, x25, [x0, #192]
    stp x26, x27, [x0, #208]
    stp x28, x29, [x0, #224]
    str x30, [x0, #240]
    mrs x2, nzcv
    str x2, [x0, #264]
    ldp x2, x3, [sp], #16
    stp x2, x3, [x0, #0]
    mov x2, sp
    str x2, [x0, #256]
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    add sp, sp, #112
    ret
"#,
        entry_sp = sym super::ENTRY_SP,
        entry_return = sym super::ENTRY_RETURN,
        handler = sym super::on_trap,
        refused = sym super::resume_refused,
        resume = const super::handle::RESUME,
        frame_size = const super::FRAME_SIZE,
        reply_high = const super::nr::REPLY >> 16,
        reply_low = const super::nr::REPLY & 0xffff,
    );

    unsafe extern "C" {
        pub fn trapper_entry();
        pub fn trapper_probe(regs_in: *const u64, regs_out: *mut u64);
        pub fn trapper_after_syscall();
    }

    pub const IN_WORDS: usize = 31;
    pub const OUT_WORDS: usize = 34;

    pub fn number(f: &TrapFrame) -> u64 {
        f.x[8]
    }
    pub fn arg0(f: &TrapFrame) -> u64 {
        f.x[0]
    }
    pub fn set_result(f: &mut TrapFrame, value: u64) {
        f.x[0] = value;
    }
    pub fn tls(f: &TrapFrame) -> u64 {
        f.tpidr_el0
    }
    pub fn set_tls(f: &mut TrapFrame, value: u64) {
        f.tpidr_el0 = value;
    }
    /// The handler's extra change to the probe's frame: `x1`, which the normal return path
    /// sets to the second result.
    pub fn mark_probe(f: &mut TrapFrame) {
        f.x[1] = 0x2222;
    }

    /// The thread pointer as the thread sees it: the word at `TPIDR_EL0`.
    pub fn read_tls_word() -> u64 {
        let tp: u64;
        // SAFETY: reads the thread pointer register, nothing else.
        unsafe { core::arch::asm!("mrs {}, tpidr_el0", out(reg) tp, options(nostack, nomem)) };
        if tp == 0 || !tp.is_multiple_of(8) {
            return 0;
        }
        // SAFETY: only called after the thread pointer was set to the address of a static
        // u64 (checked non-null and aligned above, so a broken kernel shows as a mismatch).
        unsafe { core::ptr::read_volatile(tp as *const u64) }
    }

    /// A foreign system call with one argument; the result register.
    pub fn foreign(number: u64, arg: u64) -> u64 {
        let result: u64;
        // SAFETY: a system call; the kernel (or the trap entry, which resumes the frame
        // with the result) gives back every register but x0 and x1.
        unsafe {
            core::arch::asm!("svc #0", in("x8") number, inlateout("x0") arg => result,
                 lateout("x1") _, options(nostack))
        };
        result
    }

    /// Checks the probe: `Err` says what is wrong.
    pub fn check_probe(
        regs_in: &[u64; IN_WORDS],
        out: &[u64; OUT_WORDS],
        seen: &TrapFrame,
        at: u64,
        entry_sp: u64,
        entry_return: u64,
    ) -> Result<(), &'static str> {
        let after = trapper_after_syscall as *const () as u64;
        let sp_before = out[31];
        if seen.x[8] != super::PROBE || seen.x[..6] != regs_in[..6] {
            return Err("the frame lacks the number or the arguments");
        }
        if seen.x[6..] != regs_in[6..] {
            return Err("the frame lacks the other registers");
        }
        if seen.pc != after {
            return Err("pc is not the return address");
        }
        if seen.pstate & 0xf000_0000 != 0x6000_0000 {
            return Err("pstate is not the flags at the call");
        }
        if seen.sp != sp_before {
            return Err("the frame's sp is not the stack pointer at the call");
        }
        if seen.kind != super::SYSCALL || seen.info != 0 {
            return Err("kind or info is not 0");
        }
        if !at.is_multiple_of(16)
            || at + super::FRAME_SIZE as u64 > sp_before - super::RED_ZONE as u64
        {
            return Err("the frame is not aligned below the red zone");
        }
        if entry_sp != at || entry_return != 0 {
            return Err("the entry's sp is not the frame's address, or x30 is not 0");
        }
        if out[0] != super::PROBE_RESULT {
            return Err("the result did not arrive in x0");
        }
        if out[1] != 0x2222 {
            return Err("x1 is not the frame's (no full restore)");
        }
        if out[2..31] != regs_in[2..31] {
            return Err("a register changed across the resume");
        }
        if out[32] != sp_before {
            return Err("sp changed across the resume");
        }
        if out[33] & 0xf000_0000 != 0x6000_0000 {
            return Err("NZCV was lost across the resume");
        }
        Ok(())
    }

    /// The probe's input: the number in x8, and a distinct value in every other register.
    pub fn probe_input() -> [u64; IN_WORDS] {
        let mut regs = [0u64; IN_WORDS];
        for (i, r) in regs.iter_mut().enumerate() {
            *r = 0x0101_0101_0000_0000 * (i as u64 + 1) + i as u64;
        }
        regs[8] = super::PROBE;
        regs
    }

    /// A program counter in the kernel half, and one no translation covers.
    pub const KERNEL_PC: u64 = 0xffff_0000_0000_0000;
    pub const NONCANONICAL_PC: u64 = 0x0010_0000_0000_0000;

    pub fn set_pc(f: &mut TrapFrame, pc: u64) {
        f.pc = pc;
    }
    pub fn set_sp(f: &mut TrapFrame, sp: u64) {
        f.sp = sp;
    }
    /// The registers on entry to `entry(arg)` with the stack ending at `top`.
    pub fn call_frame(entry: u64, top: u64, arg: u64, tls: u64) -> TrapFrame {
        let mut x = [0; 31];
        x[0] = arg;
        TrapFrame {
            x,
            pc: entry,
            sp: top,
            tpidr_el0: tls,
            ..Default::default()
        }
    }
    /// Every thread pointer value is a valid register value on AArch64.
    pub fn bad_tls_frames(_good: &TrapFrame) -> [TrapFrame; 0] {
        []
    }
}

/// The handler the trap entry `trapper_entry` calls: answers the foreign system call in the
/// frame, which the entry then resumes.
extern "C" fn on_trap(frame: *mut TrapFrame) {
    // SAFETY: the kernel passes the address of the frame it wrote on this thread's stack,
    // above the stack pointer this function runs with.
    let frame = unsafe { &mut *frame };
    if fault_type(frame.kind) != SYSCALL {
        on_fault(frame);
        return;
    }
    DELIVERED.fetch_add(1, Ordering::Relaxed);
    match arch::number(frame) {
        PROBE => {
            for (slot, word) in SEEN.iter().zip(frame.to_words()) {
                slot.store(word, Ordering::Relaxed);
            }
            SEEN_AT.store(frame as *mut TrapFrame as u64, Ordering::Relaxed);
            arch::set_result(frame, PROBE_RESULT);
            arch::mark_probe(frame);
        }
        SET_TLS => {
            let value = arch::arg0(frame);
            arch::set_tls(frame, value);
            arch::set_result(frame, 0);
        }
        GET_TLS => {
            let value = arch::tls(frame);
            arch::set_result(frame, value);
        }
        SET_FAULT_STACK_NR => {
            frame.kind = SET_FAULT_STACK;
            frame.info = fault_stack_top();
            arch::set_result(frame, 0);
        }
        _ => arch::set_result(frame, UNKNOWN_RESULT),
    }
}

/// A fault delivered to the trap entry: recorded, and the frame continues after the
/// faulting instruction of the helper with [`FAULT_RESULT`]. A fault anywhere else is a
/// failure.
fn on_fault(frame: &mut TrapFrame) {
    let pc = frame.pc();
    let values = [frame.kind, frame.info, pc, frame.sp()];
    SEEN_FAULT_AT.store(frame as *mut TrapFrame as u64, Ordering::Relaxed);
    for (slot, v) in FAULT_SEEN.iter().zip(values) {
        slot.store(v, Ordering::Relaxed);
    }
    let helpers = [
        (
            arch::trapper_fault_read as *const () as u64,
            arch::trapper_fault_read_resume as *const () as u64,
        ),
        (
            arch::trapper_fault_write as *const () as u64,
            arch::trapper_fault_write_resume as *const () as u64,
        ),
        (
            arch::trapper_fault_illegal as *const () as u64,
            arch::trapper_fault_illegal_resume as *const () as u64,
        ),
        (
            arch::trapper_fault_sp_at as *const () as u64,
            arch::trapper_fault_sp_resume as *const () as u64,
        ),
    ];
    match helpers.iter().find(|(at, _)| *at == pc) {
        Some(&(_, resume)) => {
            arch::set_pc(frame, resume);
            arch::set_result(frame, FAULT_RESULT);
        }
        None => {
            println!(
                "trapper: FAIL: unexpected fault (kind {:#x}, address {:#x}) at pc {pc:#x}",
                frame.kind, frame.info
            );
            sys::exit(1)
        }
    }
}

/// The last fault seen: `kind`, `info`, pc, sp.
fn fault_seen() -> [u64; 4] {
    let mut v = [0; 4];
    for (w, slot) in v.iter_mut().zip(FAULT_SEEN.iter()) {
        *w = slot.swap(0, Ordering::Relaxed);
    }
    v
}

/// Where the trap entry goes if the kernel refused to resume the frame.
extern "C" fn resume_refused(status: isize) -> ! {
    let name = Status::from_result(status).err().map_or("?", Status::name);
    println!("trapper: FAIL: the kernel refused a good frame: {name}");
    sys::exit(1)
}

fn check(what: &str, ok: bool, failures: &mut u32) {
    if ok {
        println!("trapper: ok: {what}");
    } else {
        println!("trapper: FAIL: {what}");
        *failures += 1;
    }
}

/// A raw `Reply(RESUME, ptr, len)`; its status (a successful one would not come back).
fn resume_raw(ptr: usize, len: usize) -> Result<usize, Status> {
    Status::from_result(sys::raw(nr::REPLY, [handle::RESUME as usize, ptr, len, 0, 0, 0]).0)
}

/// A foreign system call with no trap entry: the raw status.
fn foreign_status(number: usize) -> Result<usize, Status> {
    Status::from_result(sys::raw(number, [1, 2, 3, 4, 5, 6]).0)
}

/// Sets the thread pointer through the trap entry and checks it across `rounds` yields.
fn tls_rounds(value: &'static u64, rounds: u32) -> Result<(), &'static str> {
    let addr = value as *const u64 as u64;
    if arch::foreign(SET_TLS, addr) != 0 {
        return Err("SET_TLS was not answered");
    }
    for _ in 0..rounds {
        sys::yield_now();
        if arch::read_tls_word() != *value {
            return Err("the thread pointer changed across a switch");
        }
        if arch::foreign(GET_TLS, 0) != addr {
            return Err("a delivered frame lacks the thread pointer");
        }
    }
    Ok(())
}

/// Where a thread started by a resumed frame lands.
extern "C" fn started(arg: u64) -> ! {
    let ok = arg == 0x5eed && arch::read_tls_word() == TLS_STARTED;
    if !ok {
        println!("trapper: FAIL: the started thread's registers are not the frame's");
    }
    sys::thread_exit(if ok { 7 } else { 1 })
}

fn main() -> i32 {
    let mut failures = 0;

    // 1. No trap entry yet.
    check(
        "a foreign system call without a trap entry is NoSuchSyscall",
        foreign_status(39) == Err(Status::NoSuchSyscall)
            && foreign_status(0) == Err(Status::NoSuchSyscall)
            && foreign_status(usize::MAX) == Err(Status::NoSuchSyscall),
        &mut failures,
    );
    check(
        "a trap entry outside user memory is refused",
        sys::set_trap_entry(0xffff_8000_0000_0000) == Err(Status::InvalidArgument)
            && sys::set_trap_entry(0x100) == Err(Status::InvalidArgument)
            && sys::set_trap_entry(ostrog_abi::layout::USER_END) == Err(Status::InvalidArgument),
        &mut failures,
    );
    if let Err(e) = sys::set_trap_entry(arch::trapper_entry as *const () as usize) {
        println!("trapper: FAIL: task.TrapEntry refused: {}", e.name());
        return 1;
    }

    // 2. The probe.
    let regs_in = arch::probe_input();
    let mut out = [0u64; arch::OUT_WORDS];
    // SAFETY: the probe reads `regs_in` and writes `out` (both of the sizes it expects) and
    // restores every callee-saved register and the stack pointer before it returns.
    unsafe { arch::trapper_probe(regs_in.as_ptr(), out.as_mut_ptr()) };
    let mut words = [0u64; WORDS];
    for (w, slot) in words.iter_mut().zip(SEEN.iter()) {
        *w = slot.load(Ordering::Relaxed);
    }
    let seen = TrapFrame::from_words(words);
    match arch::check_probe(
        &regs_in,
        &out,
        &seen,
        SEEN_AT.load(Ordering::Relaxed),
        ENTRY_SP.load(Ordering::Relaxed),
        ENTRY_RETURN.load(Ordering::Relaxed),
    ) {
        Ok(()) => check(
            "the frame, the entry registers and the resumed registers",
            true,
            &mut failures,
        ),
        Err(what) => check(what, false, &mut failures),
    }
    check(
        "other foreign numbers reach the entry too",
        arch::foreign(0, 0) == UNKNOWN_RESULT
            && arch::foreign(nr::BASE as u64 + 3, 0) == UNKNOWN_RESULT
            && arch::foreign(u64::MAX, 0) == UNKNOWN_RESULT,
        &mut failures,
    );

    // 3. The NT flag at a foreign system call (x86_64).
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: sets NT, makes the system call, clears NT; nothing else.
        let result = unsafe { arch::trapper_nt_syscall(PROBE) };
        check(
            "a foreign system call with NT set is delivered and resumed",
            result == PROBE_RESULT,
            &mut failures,
        );
    }

    // 4. Thread pointers across switches, in two threads.
    let other = thread::spawn(16, || match tls_rounds(&TLS_OTHER, 20) {
        Ok(()) => 0,
        Err(what) => {
            println!("trapper: FAIL: other thread: {what}");
            1
        }
    });
    let mine = tls_rounds(&TLS_MAIN, 20);
    let theirs = match other {
        Ok(h) => h.join().unwrap_or(1),
        Err(_) => 1,
    };
    if let Err(what) = mine {
        println!("trapper: FAIL: main thread: {what}");
    }
    check(
        "thread pointers set by resumed frames are kept per thread across switches",
        mine.is_ok() && theirs == 0,
        &mut failures,
    );

    // 5. A thread started by resuming a frame it built.
    let stack = alloc::vec![0u8; 16 * 1024].into_boxed_slice();
    let top = (stack.as_ptr() as u64 + stack.len() as u64) & !15;
    let frame = arch::call_frame(
        started as *const () as u64,
        top,
        0x5eed,
        &TLS_STARTED as *const u64 as u64,
    );
    let starter = thread::spawn(16, move || {
        let status = sys::resume(&frame);
        println!(
            "trapper: FAIL: the starting frame was refused: {}",
            status.name()
        );
        1
    });
    let status = match starter {
        Ok(h) => h.join().unwrap_or(1),
        Err(_) => 1,
    };
    check(
        "a thread starts with the registers of a resumed frame",
        status == 7,
        &mut failures,
    );
    drop(stack);

    // 6. Bad frames, from a good one.
    let good = seen;
    let mut bad = alloc::vec::Vec::new();
    for pc in [arch::KERNEL_PC, arch::NONCANONICAL_PC, 0, u64::MAX] {
        let mut f = good;
        arch::set_pc(&mut f, pc);
        bad.push(f);
    }
    for sp in [0, arch::KERNEL_PC, ostrog_abi::layout::USER_END as u64] {
        let mut f = good;
        arch::set_sp(&mut f, sp);
        bad.push(f);
    }
    bad.extend(arch::bad_tls_frames(&good));
    let refused = bad
        .iter()
        .filter(|f| sys::resume(f) == Status::InvalidArgument)
        .count();
    check(
        "frames with a bad pc, sp or thread pointer are refused",
        refused == bad.len(),
        &mut failures,
    );
    let at = &good as *const TrapFrame as usize;
    check(
        "a wrong length is refused",
        resume_raw(at, FRAME_SIZE - 8) == Err(Status::InvalidArgument)
            && resume_raw(at, FRAME_SIZE + 8) == Err(Status::InvalidArgument)
            && resume_raw(at, 0) == Err(Status::InvalidArgument),
        &mut failures,
    );
    check(
        "an unmapped or kernel frame pointer is refused",
        resume_raw(0x5000_0000, FRAME_SIZE).is_err()
            && resume_raw(0, FRAME_SIZE).is_err()
            && resume_raw(0xffff_8000_0000_0000, FRAME_SIZE).is_err()
            && resume_raw(ostrog_abi::layout::USER_END - 8, FRAME_SIZE).is_err(),
        &mut failures,
    );

    // 7. Faults.
    let read_at = arch::trapper_fault_read as *const () as u64;
    // SAFETY: the read faults (nothing is mapped there); the handler resumes after it.
    let result = unsafe { arch::trapper_fault_read(UNMAPPED) };
    let [kind, info, pc, sp] = fault_seen();
    check(
        "a read of unmapped memory arrives as FAULT_PAGE with its address and pc",
        result == FAULT_RESULT
            && kind == FAULT_PAGE
            && info == UNMAPPED
            && pc == read_at
            && sp != 0,
        &mut failures,
    );
    let write_at = arch::trapper_fault_write as *const () as u64;
    // SAFETY: the write to this program's own code faults (code is never writable); the
    // handler resumes after it.
    let result = unsafe { arch::trapper_fault_write(write_at) };
    let [kind, info, pc, _] = fault_seen();
    check(
        "a write to read-only code arrives as FAULT_PAGE | WRITE | PROTECTION",
        result == FAULT_RESULT
            && kind == FAULT_PAGE | ACCESS_WRITE | ACCESS_PROTECTION
            && kind & ACCESS_EXEC == 0
            && info == write_at
            && pc == write_at,
        &mut failures,
    );
    let illegal_at = arch::trapper_fault_illegal as *const () as u64;
    // SAFETY: an undefined instruction; the handler resumes after it.
    let result = unsafe { arch::trapper_fault_illegal() };
    let [kind, info, pc, _] = fault_seen();
    check(
        "an illegal instruction arrives as FAULT_ILLEGAL at its pc",
        result == FAULT_RESULT && kind == FAULT_ILLEGAL && info == 0 && pc == illegal_at,
        &mut failures,
    );
    let sp_at = arch::trapper_fault_sp_at as *const () as u64;
    check(
        "a resumed frame of kind SET_FAULT_STACK sets the fault stack",
        arch::foreign(SET_FAULT_STACK_NR, 0) == 0,
        &mut failures,
    );
    // SAFETY: the read at the unmapped stack pointer faults; the frame cannot go below that
    // stack pointer, so it goes to the fault stack; the handler resumes after the read,
    // where the helper restores its stack pointer.
    let result = unsafe { arch::trapper_fault_sp(UNMAPPED + 0x100) };
    let [kind, info, pc, sp] = fault_seen();
    let (low, high) = (fault_stack_top() - 16 * 1024, fault_stack_top());
    let frame_at = SEEN_FAULT_AT.load(Ordering::Relaxed);
    check(
        "a fault at an unusable stack pointer arrives on the fault stack",
        result == FAULT_RESULT
            && kind == FAULT_PAGE
            && info == UNMAPPED + 0x100
            && pc == sp_at
            && sp == UNMAPPED + 0x100
            && (low..high).contains(&frame_at),
        &mut failures,
    );
    check(
        "foreign system calls are delivered after faults",
        arch::foreign(0, 0) == UNKNOWN_RESULT,
        &mut failures,
    );

    // 8. Cleared.
    let delivered = DELIVERED.load(Ordering::Relaxed);
    check(
        "a cleared trap entry gives NoSuchSyscall again",
        sys::set_trap_entry(0).is_ok()
            && foreign_status(39) == Err(Status::NoSuchSyscall)
            && DELIVERED.load(Ordering::Relaxed) == delivered,
        &mut failures,
    );

    // The other process of the scenario must have been ended by the kernel by now, or soon.
    let mut alone = false;
    for _ in 0..2000 {
        if matches!(sys::tasks().count(), Ok(r) if r.live == 1) {
            alone = true;
            break;
        }
        let _ = sys::sleep_ms(1);
    }
    check(
        "trap-no-stack and trap-nested-fault have ended",
        alone,
        &mut failures,
    );

    if failures == 0 {
        println!("trapper: all checks passed ({delivered} foreign system calls delivered)");
        0
    } else {
        println!("trapper: FAIL: {failures} checks failed");
        1
    }
}
