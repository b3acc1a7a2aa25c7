//! Sets a trap entry, points its stack pointer at unmapped memory and makes a foreign system
//! call: the kernel cannot write the trap frame, so it ends this process with a report, as on
//! a fault; the rest of the system runs on.
#![no_std]
#![no_main]

use ostrog_rt::{println, sys};

ostrog_rt::main!(main);

/// Never reached: the frame cannot be delivered.
extern "C" fn never(_frame: usize) -> ! {
    println!("trap-no-stack: SURVIVED: the trap entry ran");
    sys::exit(1)
}

/// Unmapped user memory (the system-call fuzzer's unmapped pointer).
const UNMAPPED: u64 = 0x5000_0000;

fn main() -> i32 {
    if let Err(e) = sys::set_trap_entry(never as *const () as usize) {
        println!("trap-no-stack: task.TrapEntry refused: {}", e.name());
        return 1;
    }
    println!("trap-no-stack: a foreign system call with the stack pointer at {UNMAPPED:#x}");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the kernel ends the process at the system call; should it not, `ud2` does.
    unsafe {
        core::arch::asm!("mov rsp, {0}", "mov eax, 39", "syscall", "ud2", in(reg) UNMAPPED,
                         options(noreturn))
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: the kernel ends the process at the system call; should it not, `brk` does.
    unsafe {
        core::arch::asm!("mov sp, {0}", "mov x8, #39", "svc #0", "brk #0", in(reg) UNMAPPED,
                         options(noreturn))
    };
}
