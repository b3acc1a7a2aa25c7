//! Thin wrappers over the system calls. Each returns `Ok(value)` or the kernel's
//! [`Status`].

use ostrog_abi::syscall as nr;
use ostrog_abi::Status;

/// Makes a raw system call: `number` and up to six arguments; returns the two result
/// registers. Exposed so that tests can pass anything at all to the kernel.
#[inline(always)]
pub fn raw(number: usize, args: [usize; 6]) -> (isize, usize) {
    let result: isize;
    let second: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `syscall` enters the kernel, which reads only registers and checks every
    // pointer; it clobbers rcx and r11 (return address and flags) and nothing else.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => result,
            in("rdi") args[0],
            in("rsi") args[1],
            inlateout("rdx") args[2] => second,
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: `svc #0` enters the kernel, which reads only registers and checks every
    // pointer; results come back in x0 and x1.
    unsafe {
        core::arch::asm!(
            "svc #0",
            in("x8") number,
            inlateout("x0") args[0] as isize => result,
            inlateout("x1") args[1] => second,
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x5") args[5],
            options(nostack),
        );
    }
    (result, second)
}

fn call(number: usize, args: [usize; 6]) -> Result<usize, Status> {
    Status::from_result(raw(number, args).0)
}

/// Writes bytes to the kernel console (at most [`ostrog_abi::DEBUG_WRITE_MAX`] per call).
pub fn debug_write(bytes: &[u8]) -> Result<usize, Status> {
    call(
        nr::DEBUG_WRITE,
        [bytes.as_ptr() as usize, bytes.len(), 0, 0, 0, 0],
    )
}

/// Ends the process with `status`.
pub fn exit(status: isize) -> ! {
    raw(nr::PROCESS_EXIT, [status as usize, 0, 0, 0, 0, 0]);
    // The kernel never returns from PROCESS_EXIT; if it did, spin rather than run on.
    loop {
        core::hint::spin_loop();
    }
}

/// Gives up the rest of the time slice.
pub fn yield_now() {
    raw(nr::YIELD, [0; 6]);
}

/// The cheapest round trip through the kernel.
pub fn null() -> Result<usize, Status> {
    call(nr::NULL, [0; 6])
}

/// Sleeps for at least `ms` milliseconds.
pub fn sleep_ms(ms: usize) -> Result<usize, Status> {
    call(nr::SLEEP, [ms, 0, 0, 0, 0, 0])
}

/// Starts a thread of this process at `entry(arg)` on the stack ending at `stack_top`.
pub fn thread_create(
    entry: extern "C" fn(usize) -> !,
    stack_top: usize,
    arg: usize,
    priority: u8,
) -> Result<usize, Status> {
    call(
        nr::THREAD_CREATE,
        [entry as usize, stack_top, arg, usize::from(priority), 0, 0],
    )
}

/// Ends the calling thread.
pub fn thread_exit(status: isize) -> ! {
    raw(nr::THREAD_EXIT, [status as usize, 0, 0, 0, 0, 0]);
    loop {
        core::hint::spin_loop();
    }
}

/// Waits for thread `id` of this process to end; returns its status.
pub fn thread_join(id: usize) -> Result<isize, Status> {
    call(nr::THREAD_JOIN, [id, 0, 0, 0, 0, 0]).map(|s| s as isize)
}

/// A free-running counter: the TSC on x86_64, the virtual counter on AArch64.
#[inline(always)]
pub fn cycles() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: rdtsc reads the time-stamp counter and has no other effect.
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
    #[cfg(target_arch = "aarch64")]
    {
        let value: u64;
        // SAFETY: reads the virtual counter, which the kernel makes readable from EL0.
        unsafe { core::arch::asm!("isb", "mrs {0}, cntvct_el0", out(reg) value) };
        value
    }
}
