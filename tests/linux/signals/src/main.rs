//! signals: Linux signal delivery as a Rust program sees it, through the C library (`libc`,
//! musl): handlers run for `raise`, with the signal's information and the handler's mask;
//! a blocked signal waits until it is unblocked; `SA_RESETHAND`, `SA_NODEFER`, `SA_ONSTACK`
//! with `sigaltstack`; ignored and default-ignored signals; a `SIGSEGV` handler that makes a
//! `PROT_NONE` page writable and returns, so that the write is made again and succeeds; a
//! `SIGILL` handler that steps over the instruction through the saved context; and last
//! `abort()`, whose default action ends the process (status 134 on Ostrog, killed by
//! `SIGABRT` on Linux).
//!
//! The test runs it on the host and on Ostrog and compares the outputs: nothing printed may
//! depend on the run (no addresses, only comparisons).

use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

static SIGNO: AtomicI32 = AtomicI32::new(0);
static CODE: AtomicI32 = AtomicI32::new(0);
static PID: AtomicI32 = AtomicI32::new(0);
static ADDR: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicU64 = AtomicU64::new(0);
static LOCAL_AT: AtomicUsize = AtomicUsize::new(0);
/// Whether the handler's signal and SIGUSR2 were blocked while it ran (bits 0 and 1).
static MASK_SEEN: AtomicU64 = AtomicU64::new(0);
/// The page the SIGSEGV handler makes writable.
static PAGE: AtomicUsize = AtomicUsize::new(0);

extern "C" fn record(sig: i32, info: *mut libc::siginfo_t, _uc: *mut libc::c_void) {
    COUNT.fetch_add(1, Ordering::SeqCst);
    SIGNO.store(sig, Ordering::SeqCst);
    if !info.is_null() {
        // SAFETY: the kernel (personality) passes a valid siginfo_t with SA_SIGINFO.
        unsafe {
            CODE.store((*info).si_code, Ordering::SeqCst);
            PID.store((*info).si_pid(), Ordering::SeqCst);
            ADDR.store((*info).si_addr() as usize, Ordering::SeqCst);
        }
    }
    let local = 0u8;
    LOCAL_AT.store(&local as *const u8 as usize, Ordering::SeqCst);
    // SAFETY: queries the current mask only.
    unsafe {
        let mut now: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, ptr::null(), &mut now);
        let mut seen = 0;
        if libc::sigismember(&now, sig) == 1 {
            seen |= 1;
        }
        if libc::sigismember(&now, libc::SIGUSR2) == 1 {
            seen |= 2;
        }
        MASK_SEEN.store(seen, Ordering::SeqCst);
    }
}

extern "C" fn segv(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    record(sig, info, uc);
    let page = PAGE.load(Ordering::SeqCst);
    // SAFETY: makes the test's own mapping writable.
    unsafe {
        libc::mprotect(page as *mut _, 4096, libc::PROT_READ | libc::PROT_WRITE);
    }
}

/// The program counter in a ucontext (Linux `struct ucontext` layout).
fn pc_slot(uc: *mut libc::c_void) -> *mut u64 {
    #[cfg(target_arch = "x86_64")]
    let offset = 40 + 16 * 8; // uc_mcontext.gregs[REG_RIP]
    #[cfg(target_arch = "aarch64")]
    let offset = 176 + 264; // uc_mcontext.pc
    (uc as usize + offset) as *mut u64
}

#[cfg(target_arch = "x86_64")]
const ILLEGAL_LEN: u64 = 2; // ud2
#[cfg(target_arch = "aarch64")]
const ILLEGAL_LEN: u64 = 4; // udf #0

extern "C" fn ill(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    record(sig, info, uc);
    // SAFETY: the ucontext the handler was given; stepping over the illegal instruction.
    unsafe {
        let pc = pc_slot(uc);
        *pc += ILLEGAL_LEN;
    }
}

/// A handler that overwrites the vector registers 0 and 1.
extern "C" fn clobber_fp(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    record(sig, info, uc);
    // SAFETY: only changes registers a handler may change.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!("pcmpeqd xmm0, xmm0", "pcmpeqd xmm1, xmm1", out("xmm0") _, out("xmm1") _);
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!("movi v0.16b, #0x5a", "movi v1.16b, #0xa5", out("v0") _, out("v1") _);
    }
}

/// Puts a pattern in vector register 0, sends `sig` to thread `tid` with a raw `tkill`
/// (which leaves vector registers alone), and says whether the pattern is still there.
fn fp_across_signal(tid: u64, sig: u64) -> bool {
    let pattern: u64 = 0x0123_4567_89ab_cdef;
    let after: u64;
    // SAFETY: a system call with every register it changes declared.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!(
            "movq xmm0, {p}",
            "syscall",
            "movq {a}, xmm0",
            p = in(reg) pattern,
            a = lateout(reg) after,
            inlateout("rax") libc::SYS_tkill as u64 => _,
            in("rdi") tid,
            in("rsi") sig,
            lateout("rcx") _,
            lateout("r11") _,
            out("xmm0") _,
        );
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!(
            "fmov d0, {p}",
            "svc #0",
            "fmov {a}, d0",
            p = in(reg) pattern,
            a = lateout(reg) after,
            in("x8") libc::SYS_tkill as u64,
            inlateout("x0") tid => _,
            in("x1") sig,
            out("v0") _,
        );
    }
    after == pattern
}

fn set(sig: i32, handler: usize, flags: i32) {
    // SAFETY: a plain sigaction with an empty mask.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = flags;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, ptr::null_mut()) != 0 {
            println!("signals: sigaction({sig}) failed");
        }
    }
}

fn reset() {
    COUNT.store(0, Ordering::SeqCst);
    SIGNO.store(0, Ordering::SeqCst);
    CODE.store(0, Ordering::SeqCst);
    ADDR.store(0, Ordering::SeqCst);
    MASK_SEEN.store(0, Ordering::SeqCst);
}

fn mask(how: i32, sig: i32) {
    // SAFETY: sigprocmask with a set of one signal.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(how, &set, ptr::null_mut());
    }
}

fn blocked(sig: i32) -> bool {
    // SAFETY: queries the mask.
    unsafe {
        let mut now: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, ptr::null(), &mut now);
        libc::sigismember(&now, sig) == 1
    }
}

fn main() {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let count = || COUNT.load(Ordering::SeqCst);

    // 1. raise with a handler.
    set(
        libc::SIGUSR1,
        record as *const () as usize,
        libc::SA_SIGINFO,
    );
    // SAFETY: raise with a handler installed.
    unsafe { libc::raise(libc::SIGUSR1) };
    println!(
        "signals: raise(SIGUSR1): handler ran {} time(s), signal {}, si_code {}, si_pid is mine: {}",
        count(),
        SIGNO.load(Ordering::SeqCst),
        CODE.load(Ordering::SeqCst),
        PID.load(Ordering::SeqCst) == pid
    );
    println!(
        "signals: in the handler SIGUSR1 was blocked: {}; after it: {}",
        MASK_SEEN.load(Ordering::SeqCst) & 1 != 0,
        blocked(libc::SIGUSR1)
    );

    // 2. kill to the process.
    reset();
    // SAFETY: a signal to this process, which has a handler.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    println!(
        "signals: kill(getpid(), SIGUSR1): handler ran {} time(s), si_code {}",
        count(),
        CODE.load(Ordering::SeqCst)
    );

    // 3. Blocked, then unblocked.
    reset();
    set(
        libc::SIGUSR2,
        record as *const () as usize,
        libc::SA_SIGINFO,
    );
    mask(libc::SIG_BLOCK, libc::SIGUSR2);
    // SAFETY: raise of a blocked signal.
    unsafe { libc::raise(libc::SIGUSR2) };
    println!(
        "signals: SIGUSR2 blocked and raised: handler ran {} time(s)",
        count()
    );
    mask(libc::SIG_UNBLOCK, libc::SIGUSR2);
    println!(
        "signals: SIGUSR2 unblocked: handler ran {} time(s), signal {}",
        count(),
        SIGNO.load(Ordering::SeqCst)
    );

    // 4. SA_NODEFER and the handler's mask (sa_mask).
    reset();
    // SAFETY: sigaction with SIGUSR2 in sa_mask.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = record as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaddset(&mut sa.sa_mask, libc::SIGUSR2);
        libc::sigaction(libc::SIGUSR1, &sa, ptr::null_mut());
        libc::raise(libc::SIGUSR1);
    }
    let seen = MASK_SEEN.load(Ordering::SeqCst);
    println!(
        "signals: SA_NODEFER: SIGUSR1 blocked in the handler: {}, SIGUSR2 (sa_mask): {}",
        seen & 1 != 0,
        seen & 2 != 0
    );

    // 5. SA_RESETHAND: the action is the default after one delivery.
    reset();
    set(
        libc::SIGUSR1,
        record as *const () as usize,
        libc::SA_SIGINFO | libc::SA_RESETHAND,
    );
    // SAFETY: raise with a handler; then a query of the action.
    let after = unsafe {
        libc::raise(libc::SIGUSR1);
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGUSR1, ptr::null(), &mut old);
        old.sa_sigaction
    };
    println!(
        "signals: SA_RESETHAND: handler ran {} time(s); the action is now the default: {}",
        count(),
        after == libc::SIG_DFL
    );

    // 6. Ignored and default-ignored signals.
    set(libc::SIGUSR2, libc::SIG_IGN, 0);
    // SAFETY: raises of ignored signals.
    unsafe {
        libc::raise(libc::SIGUSR2);
        libc::raise(libc::SIGCHLD);
        libc::raise(libc::SIGWINCH);
        libc::raise(libc::SIGURG);
    }
    println!(
        "signals: ignored SIGUSR2 and default-ignored SIGCHLD, SIGWINCH, SIGURG: still running"
    );

    // 7. An alternate signal stack.
    reset();
    const ALT: usize = 64 * 1024;
    let alt = vec![0u8; ALT];
    let base = alt.as_ptr() as usize;
    // SAFETY: the stack lives until the end of main; the action is a plain handler.
    unsafe {
        let ss = libc::stack_t {
            ss_sp: base as *mut _,
            ss_flags: 0,
            ss_size: ALT,
        };
        if libc::sigaltstack(&ss, ptr::null_mut()) != 0 {
            println!("signals: sigaltstack failed");
        }
    }
    set(
        libc::SIGUSR1,
        record as *const () as usize,
        libc::SA_SIGINFO | libc::SA_ONSTACK,
    );
    // SAFETY: raise with a handler.
    unsafe { libc::raise(libc::SIGUSR1) };
    let at = LOCAL_AT.load(Ordering::SeqCst);
    println!(
        "signals: SA_ONSTACK: handler ran {} time(s), on the alternate stack: {}",
        count(),
        (base..base + ALT).contains(&at)
    );

    // 8. SIGSEGV on a PROT_NONE page: the handler makes it writable and returns.
    reset();
    // SAFETY: an anonymous mapping of one page, used only here.
    let page = unsafe {
        libc::mmap(
            ptr::null_mut(),
            4096,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        println!("signals: mmap failed");
        return;
    }
    PAGE.store(page as usize, Ordering::SeqCst);
    set(
        libc::SIGSEGV,
        segv as *const () as usize,
        libc::SA_SIGINFO | libc::SA_ONSTACK,
    );
    let slot = (page as usize + 40) as *mut u64;
    // SAFETY: the first write faults; the handler makes the page writable and the write
    // is made again.
    let value = unsafe {
        ptr::write_volatile(slot, 42);
        ptr::read_volatile(slot)
    };
    println!(
        "signals: write to a PROT_NONE page: SIGSEGV handler ran {} time(s), signal {}, si_code {} (SEGV_ACCERR), si_addr is the address: {}, value {}",
        count(),
        SIGNO.load(Ordering::SeqCst),
        CODE.load(Ordering::SeqCst),
        ADDR.load(Ordering::SeqCst) == slot as usize,
        value
    );

    // 9. SIGILL: the handler steps over the instruction in the saved context.
    reset();
    set(libc::SIGILL, ill as *const () as usize, libc::SA_SIGINFO);
    let at: usize;
    // SAFETY: an illegal instruction whose handler moves the saved pc past it; `at` is
    // its address.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!("lea {at}, [rip + 2f]", "2:", "ud2", at = out(reg) at);
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!("adr {at}, 2f", "2:", "udf #0", at = out(reg) at);
    }
    println!(
        "signals: illegal instruction: SIGILL handler ran {} time(s), signal {}, si_addr is the instruction: {}",
        count(),
        SIGNO.load(Ordering::SeqCst),
        ADDR.load(Ordering::SeqCst) == at
    );

    // 10. FP/SIMD registers live across a signal are kept, whatever the handler does with
    // them (the signal frame saves them and rt_sigreturn loads them).
    reset();
    set(
        libc::SIGUSR2,
        clobber_fp as *const () as usize,
        libc::SA_SIGINFO,
    );
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as u64;
    let kept = fp_across_signal(tid, libc::SIGUSR2 as u64);
    println!(
        "signals: FP/SIMD register across a handler that changes it: handler ran {} time(s), kept: {}",
        count(),
        kept
    );

    drop(alt);
    // 11. abort(): SIGABRT's default action ends the process.
    println!("signals: abort()");
    std::process::abort();
}
