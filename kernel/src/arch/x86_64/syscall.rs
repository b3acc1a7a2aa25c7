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
//! and a bad one goes out through `iretq` instead (where the fault is the user's).

use core::arch::global_asm;

use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::VirtAddr;

use super::cpu;
use super::trap::{restore_registers, save_registers, TrapFrame};

/// Marker in `TrapFrame::vector` for frames built by the system call entry.
pub const SYSCALL_VECTOR: u64 = 0x100;

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
    let (result, second) = crate::syscall::dispatch(&args);
    frame.rax = result as u64;
    frame.rdx = second as u64;
    crate::sched::preempt_if_needed();
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
    // trap and alignment-check flags cleared; the selectors were checked above.
    unsafe {
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
        LStar::write(VirtAddr::new(ostrog_syscall_entry as *const () as u64));
        SFMask::write(
            RFlags::INTERRUPT_FLAG
                | RFlags::DIRECTION_FLAG
                | RFlags::TRAP_FLAG
                | RFlags::ALIGNMENT_CHECK,
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
