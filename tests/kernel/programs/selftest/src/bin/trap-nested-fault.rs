//! A fault of the trap entry's own code ends the process, however the process got there: this
//! program's trap entry answers a foreign system call (so the thread runs a resumed frame),
//! then gets a fault delivered (a read of unmapped memory), and faults itself while handling
//! it. The kernel must end the process with a report for the second fault rather than
//! deliver it again (which would loop); the rest of the system runs on.
#![no_std]
#![no_main]

use ostrog_abi::trap::{fault_type, TrapFrame, FAULT_PAGE, SYSCALL};
use ostrog_rt::{println, sys};

ostrog_rt::main!(main);

/// Unmapped user memory: the program's fault, and the entry's own a little above it.
const UNMAPPED: u64 = 0x5000_0000;
const ENTRY_FAULT: u64 = 0x5000_0040;

/// The trap entry.
extern "C" fn entry(frame: *mut TrapFrame) -> ! {
    // SAFETY: the kernel passes the address of the frame it wrote on this thread's stack,
    // above the stack pointer this function runs with.
    let mut copy = unsafe { *frame };
    if copy.kind == SYSCALL {
        #[cfg(target_arch = "x86_64")]
        {
            copy.rax = 0;
        }
        #[cfg(target_arch = "aarch64")]
        {
            copy.x[0] = 0;
        }
        let status = sys::resume(&copy);
        println!(
            "trap-nested-fault: SURVIVED: resume refused: {}",
            status.name()
        );
        sys::exit(1)
    }
    if fault_type(copy.kind) == FAULT_PAGE && copy.info == UNMAPPED {
        println!("trap-nested-fault: the fault at {UNMAPPED:#x} reached the trap entry");
    } else {
        println!(
            "trap-nested-fault: SURVIVED: unexpected frame kind {:#x}",
            copy.kind
        );
    }
    // SAFETY: deliberately faults: nothing is mapped there; the kernel ends the process.
    let value = unsafe { core::ptr::read_volatile(ENTRY_FAULT as *const u64) };
    println!("trap-nested-fault: SURVIVED: the entry's fault came back ({value})");
    sys::exit(1)
}

/// A foreign system call (number 39, Linux `getpid` on x86_64); the result register.
fn foreign() -> u64 {
    let result: u64;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a system call the trap entry answers by resuming the frame with rax = 0.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") 39u64 => result, lateout("rcx") _,
                         lateout("r11") _, options(nostack))
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: a system call the trap entry answers by resuming the frame with x0 = 0.
    unsafe {
        core::arch::asm!("svc #0", in("x8") 39u64, lateout("x0") result, lateout("x1") _,
                         options(nostack))
    };
    result
}

fn main() -> i32 {
    // trap-no-stack (started beside this and trapper) ends first, so that the scenario sees
    // its report before this program's.
    for _ in 0..2000 {
        if matches!(sys::tasks().count(), Ok(r) if r.live <= 2) {
            break;
        }
        let _ = sys::sleep_ms(1);
    }
    if let Err(e) = sys::set_trap_entry(entry as *const () as usize) {
        println!("trap-nested-fault: task.TrapEntry refused: {}", e.name());
        return 1;
    }
    if foreign() != 0 {
        println!("trap-nested-fault: SURVIVED: the foreign system call was not answered");
        return 1;
    }
    // SAFETY: deliberately faults: nothing is mapped there; the trap entry gets the fault.
    let value = unsafe { core::ptr::read_volatile(UNMAPPED as *const u64) };
    println!("trap-nested-fault: SURVIVED: the read returned {value}");
    1
}
