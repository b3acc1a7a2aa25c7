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

use x86_64::registers::control::Cr2;
use x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::VirtAddr;

use super::gdt;
use super::trap::TrapFrame;

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
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    call {dispatch}
.global ostrog_syscall_return
ostrog_syscall_return:
    /* A user-controlled return address that is not canonical must not reach sysretq. */
    mov rcx, [rsp + 17 * 8]
    mov rax, rcx
    sar rax, 47
    jz 2f
    cmp rax, -1
    jne 3f
2:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    pop rcx
    add rsp, 8
    pop r11
    pop rsp
    sysretq
3:
    jmp trap_return_iret
"#,
    user_ss = const gdt::USER_DS,
    user_cs = const gdt::USER_CS,
    vector = const SYSCALL_VECTOR,
    dispatch = sym syscall_dispatch,
);

unsafe extern "C" {
    fn ostrog_syscall_entry();
}

extern "C" fn syscall_dispatch(frame: &mut TrapFrame) {
    static N: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
    if N.fetch_add(1, core::sync::atomic::Ordering::Relaxed) < 40 {
        let cs: u16;
        // SAFETY: diag
        unsafe { core::arch::asm!("mov {0:x}, cs", out(reg) cs) };
        crate::println!(
            "DIAG syscall nr {} rip {:#x} rflags {:#x} now cs {:#x}",
            frame.rax,
            frame.rip,
            frame.rflags,
            cs
        );
    }
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

/// Page-fault error code of an instruction fetch from a present supervisor page in user mode
/// (present, user, instruction fetch; not a write, no reserved bit).
const PF_USER_FETCH_PROTECTION: u64 = 0x15;
/// The RFLAGS bits a user program may choose (CF, PF, AF, ZF, SF, TF, DF, OF, AC, ID); the
/// rest (IF, IOPL, NT, RF, VM, ...) the kernel sets.
const USER_RFLAGS: u64 = 0x0024_0dd5;

/// Whether a user-mode trap is a `syscall` that the hypervisor left half done: `rip` at our
/// entry point, RCX/R11/RFLAGS updated as `syscall` does, but the CPU still at CPL 3, so the
/// first fetch of the entry stub faults as a user access to a supervisor page.
///
/// The PVM hypervisor that provides `/dev/kvm` on some nested hosts (see
/// docs/user-space.md) does exactly this for every `syscall` of a guest that is not a PVM
/// guest. A program that jumps to the entry address itself ends up here too, which is
/// harmless: it is then making a system call with the return address it put in RCX.
pub fn is_stranded_syscall(frame: &TrapFrame, vector: u64) -> bool {
    let entry = ostrog_syscall_entry as *const () as u64;
    vector == 14
        && frame.is_from_user()
        && frame.rip == entry
        && frame.error_code == PF_USER_FETCH_PROTECTION
        && Cr2::read_raw() == entry
}

/// Finishes a system call found by [`is_stranded_syscall`] as `syscall`/`sysretq` would have:
/// the call is dispatched and the program resumes at RCX with the flags saved in R11 (only
/// those it may set). The trap path returns through `iretq`. Returns false, leaving the
/// frame alone, when RCX is not a canonical lower-half address (possible only when a
/// program jumped to the entry itself); `iretq` to it would fault in kernel mode, so the
/// caller treats that case as the fault it is.
pub fn complete_stranded_syscall(frame: &mut TrapFrame) -> bool {
    if frame.rcx >> 47 != 0 {
        return false;
    }
    frame.rip = frame.rcx;
    frame.rflags = (frame.r11 & USER_RFLAGS) | RFlags::INTERRUPT_FLAG.bits() | 0x2;
    frame.vector = SYSCALL_VECTOR;
    frame.cs = u64::from(gdt::USER_CS);
    frame.ss = u64::from(gdt::USER_DS);
    syscall_dispatch(frame);
    crate::println!(
        "DIAG stranded done -> rip {:#x} rax {:#x} rflags {:#x} cr3 {:#x} tsc {}",
        frame.rip,
        frame.rax,
        frame.rflags,
        x86_64::registers::control::Cr3::read_raw()
            .0
            .start_address()
            .as_u64(),
        super::cycles()
    );
    true
}

/// Sets the kernel stack used on the next entry from user mode (syscall and interrupts).
pub fn set_kernel_stack(top: usize) {
    // SAFETY: one CPU, interrupts disabled by the caller (the scheduler); the stub reads
    // this only on entry from user mode.
    unsafe {
        (*core::ptr::addr_of_mut!(PER_CPU)).kernel_rsp = top as u64;
    }
    gdt::set_interrupt_stack(top);
}

pub fn init() {
    let sel = gdt::selectors();
    // The GDT layout must match the constants pushed by the stub and what sysretq derives.
    if sel.user_data.0 != gdt::USER_DS || sel.user_code.0 != gdt::USER_CS {
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
    {
        let r = core::arch::x86_64::__cpuid(0x4000_0000);
        let mut sig = [0u8; 12];
        sig[0..4].copy_from_slice(&r.ebx.to_le_bytes());
        sig[4..8].copy_from_slice(&r.ecx.to_le_bytes());
        sig[8..12].copy_from_slice(&r.edx.to_le_bytes());
        crate::println!(
            "DIAG hv sig {:?} max {:#x}",
            core::str::from_utf8(&sig),
            r.eax
        );
    }
    if let Err(e) = Star::write(
        sel.user_code,
        sel.user_data,
        sel.kernel_code,
        sel.kernel_data,
    ) {
        panic!("cannot program STAR: {e}");
    }
    // SAFETY: diag
    let (star, efer) = unsafe {
        (
            x86_64::registers::model_specific::Msr::new(0xc000_0081).read(),
            x86_64::registers::model_specific::Msr::new(0xc000_0080).read(),
        )
    };
    crate::println!("DIAG STAR {star:#x} EFER {efer:#x}");
}
