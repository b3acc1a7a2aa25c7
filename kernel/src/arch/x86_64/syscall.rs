//! The system call entry: the `syscall` instruction and its return through `sysretq`.
//!
//! `syscall` leaves the user stack pointer in place and switches nothing but the code
//! segment, so the entry stub fetches the current thread's kernel stack from per-CPU data
//! (reached through `swapgs`, only inside the stub; the rest of the kernel never uses GS),
//! builds the same [`TrapFrame`] that interrupts build, and calls the arch-independent
//! dispatcher. Interrupts stay masked during a system call (the kernel is not preemptible;
//! a thread that waits switches away explicitly).
//!
//! The return uses `sysretq` for speed. `sysretq` to a non-canonical address would fault in
//! kernel mode on Intel CPUs with the user's stack, so the frame's return address is checked
//! and a bad one goes out through `iretq` instead (where the fault is the user's). A system
//! call that replaced the registers altogether (a foreign system call entering the trap
//! entry, a resumed frame: [`crate::trap_redirect`]) also returns through `iretq`, which
//! restores every register, `rcx` and `r11` included (`sysretq` would load them with the
//! return address and flags). [`read_user_frame`] and [`write_user_frame`] copy between the
//! saved registers (with the thread's FS base, live in its MSR while it runs) and an
//! [`ostrog_abi::trap::TrapFrame`].

use core::arch::global_asm;

use x86_64::registers::model_specific::{Efer, EferFlags, FsBase, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::VirtAddr;

use super::cpu;
use super::trap::{restore_registers, save_registers, TrapFrame};

/// Marker in `TrapFrame::vector` for frames built by the system call entry.
pub const SYSCALL_VECTOR: u64 = 0x100;
/// Marker in `TrapFrame::vector` for a system call frame whose registers were replaced: it
/// returns through `iretq`.
pub const REPLACED_VECTOR: u64 = 0x101;

/// Per-CPU data reached through the kernel GS base.
#[repr(C)]
pub struct PerCpu {
    /// Top of the current thread's kernel stack (offset 0).
    pub kernel_rsp: u64,
    /// Scratch slot for the user stack pointer during entry (offset 8).
    pub user_rsp: u64,
}

static mut PER_CPU: PerCpu = PerCpu {
    kernel_rsp: 0,
    user_rsp: 0,
};

global_asm!(
    r#"
    .text
.global ostrog_syscall_entry
ostrog_syscall_entry:
    swapgs
    mov gs:[8], rsp
    mov rsp, gs:[0]
    push {user_ss}
    push qword ptr gs:[8]
    swapgs
    push r11
    push {user_cs}
    push rcx
    push 0
    push {vector}
"#,
    save_registers!(),
    r#"
    mov rdi, rsp
    cld
    call {dispatch}
    /* Replaced registers (rcx and r11 among them) go back through iretq. */
    cmp qword ptr [rsp + 15 * 8], {vector}
    jne 3f
    /* A user-controlled return address that is not canonical must not reach sysretq. */
    mov rcx, [rsp + 17 * 8]
    mov rax, rcx
    sar rax, 47
    jz 2f
    cmp rax, -1
    jne 3f
2:
"#,
    restore_registers!(),
    r#"
    add rsp, 16
    pop rcx
    add rsp, 8
    pop r11
    pop rsp
    sysretq
3:
    jmp trap_return
"#,
    user_ss = const 0x1b,
    user_cs = const 0x23,
    vector = const SYSCALL_VECTOR,
    dispatch = sym syscall_dispatch,
);

unsafe extern "C" {
    fn ostrog_syscall_entry();
}

extern "C" fn syscall_dispatch(frame: &mut TrapFrame) {
    let args = crate::syscall::Args {
        number: frame.rax as usize,
        a: [
            frame.rdi as usize,
            frame.rsi as usize,
            frame.rdx as usize,
            frame.r10 as usize,
            frame.r8 as usize,
            frame.r9 as usize,
        ],
    };
    if let Some((result, second)) = crate::syscall::dispatch(&args, frame) {
        frame.rax = result as u64;
        frame.rdx = second as u64;
    }
    crate::sched::preempt_if_needed();
    crate::trap_redirect::deliver_notification(frame);
}

/// The user registers saved in `frame` (a system call's) and the running thread's FS base,
/// as a trap frame (`kind` and `info` 0).
pub fn read_user_frame(frame: &TrapFrame) -> ostrog_abi::trap::TrapFrame {
    ostrog_abi::trap::TrapFrame {
        rax: frame.rax,
        rbx: frame.rbx,
        rcx: frame.rcx,
        rdx: frame.rdx,
        rsi: frame.rsi,
        rdi: frame.rdi,
        rbp: frame.rbp,
        rsp: frame.rsp,
        r8: frame.r8,
        r9: frame.r9,
        r10: frame.r10,
        r11: frame.r11,
        r12: frame.r12,
        r13: frame.r13,
        r14: frame.r14,
        r15: frame.r15,
        rip: frame.rip,
        rflags: frame.rflags,
        fs_base: FsBase::read().as_u64(),
        kind: 0,
        info: 0,
    }
}

/// Replaces the user registers saved in `frame` (a system call's) and the running thread's
/// FS base with `user`'s, checked by [`ostrog_abi::trap::x86_64::TrapFrame::sanitized`]
/// (user addresses, user flags, a canonical FS base). The system call returns through
/// `iretq`. The code and stack selectors stay the user's.
pub fn write_user_frame(frame: &mut TrapFrame, user: &ostrog_abi::trap::TrapFrame) {
    frame.rax = user.rax;
    frame.rbx = user.rbx;
    frame.rcx = user.rcx;
    frame.rdx = user.rdx;
    frame.rsi = user.rsi;
    frame.rdi = user.rdi;
    frame.rbp = user.rbp;
    frame.rsp = user.rsp;
    frame.r8 = user.r8;
    frame.r9 = user.r9;
    frame.r10 = user.r10;
    frame.r11 = user.r11;
    frame.r12 = user.r12;
    frame.r13 = user.r13;
    frame.r14 = user.r14;
    frame.r15 = user.r15;
    frame.rip = user.rip;
    // Checked by `sanitized` already; filtered again so that no kernel flag can ever leave
    // through here.
    frame.rflags =
        user.rflags & ostrog_abi::trap::x86_64::USER_FLAGS | ostrog_abi::trap::x86_64::FORCED_FLAGS;
    frame.vector = REPLACED_VECTOR;
    // Checked canonical by `sanitized` (below 2^47), so the MSR write cannot fault;
    // `new_truncate` keeps a bad value from ever panicking.
    FsBase::write(VirtAddr::new_truncate(user.fs_base));
}

/// Sets the stack the system call entry switches to.
pub fn set_entry_stack(top: usize) {
    // SAFETY: one CPU, interrupts disabled by the caller (the scheduler); the stub reads
    // this only on entry from user mode.
    unsafe {
        (*core::ptr::addr_of_mut!(PER_CPU)).kernel_rsp = top as u64;
    }
}

#[allow(
    clippy::panic,
    reason = "boot: a system call entry that does not match the GDT cannot run"
)]
pub fn init() {
    let sel = cpu::selectors();
    // The GDT layout must match the constants pushed by the stub and what sysretq derives.
    if sel.user_data.0 != 0x1b || sel.user_code.0 != 0x23 {
        panic!("GDT layout does not match the system call entry");
    }
    // SAFETY: the MSRs configure `syscall` to enter our stub with interrupts, direction,
    // trap, alignment-check and nested-task flags cleared (a user's NT would make the
    // kernel's `iretq` fault); the selectors were checked above.
    unsafe {
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
        LStar::write(VirtAddr::new(ostrog_syscall_entry as *const () as u64));
        SFMask::write(
            RFlags::INTERRUPT_FLAG
                | RFlags::DIRECTION_FLAG
                | RFlags::TRAP_FLAG
                | RFlags::ALIGNMENT_CHECK
                | RFlags::NESTED_TASK,
        );
        x86_64::registers::model_specific::KernelGsBase::write(VirtAddr::new(core::ptr::addr_of!(
            PER_CPU
        ) as u64));
    }
    if let Err(e) = Star::write(
        sel.user_code,
        sel.user_data,
        sel.kernel_code,
        sel.kernel_data,
    ) {
        panic!("cannot program STAR: {e}");
    }
}
