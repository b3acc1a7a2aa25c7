//! `task.Fork`, and what a caller can do wrong with it. The program:
//!
//! 1. with a thread of its own blocked in `futex.Wait`, forks: the copy's thread starts at
//!    `child` on a stack of the copy, sees the parent's memory as it was (a global, a
//!    `vmm.Allocate` buffer), sees a shared region shared (what it writes there the parent
//!    reads), changes its private copies and exits with 5; the parent's private memory is
//!    unchanged, and the copy has no other thread (it ends when its one thread exits);
//!    A copy of its handle without the control right, or a forged handle, cannot start it;
//! 2. asks for copies with entry points and stacks outside the user range:
//!    `InvalidArgument`;
//! 3. holds a buffer larger than half its limit: a copy does not fit (`NoMemory`), and its
//!    memory use is what it was before the attempt;
//! 4. makes copies without starting them until refused (`NoMemory`: the copies are charged
//!    to its limit), then ends half with `task.Kill` and only closes the handles of the
//!    others (a process never started goes with the last handle to it): its use is back
//!    where it was.
//!
//! Prints `forker: FAILED ...` when a check does not hold.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use ostrog_abi::Status;
use ostrog_rt::println;
use ostrog_rt::sys::{self, VMM_WRITE};

ostrog_rt::main!(main);

const PAGE: usize = 4096;
const STACK: usize = 16 * 1024;

/// Memory the copy must see as it was at the fork.
static GLOBAL: AtomicU32 = AtomicU32::new(1);
/// The word the blocked thread waits on.
static GATE: AtomicU32 = AtomicU32::new(0);

/// What the copy's thread is given: the private buffer and the shared page.
#[repr(C)]
struct Shared {
    private: usize,
    shared: usize,
}

/// The thread that stays blocked while the process forks.
extern "C" fn waiter(_: usize) -> ! {
    while GATE.load(Ordering::SeqCst) == 0 {
        let _ = sys::futex_wait(&GATE, 0, sys::FUTEX_FOREVER);
    }
    sys::thread_exit(0)
}

/// The copy's one thread.
extern "C" fn child(arg: usize) -> ! {
    // SAFETY: the first action of the copy's only thread.
    unsafe { sys::forked() };
    // SAFETY: `arg` is the address of the parent's `Shared`, copied with its stack.
    let s = unsafe { &*(arg as *const Shared) };
    let private = s.private as *mut u8;
    let shared = s.shared as *mut u8;
    // SAFETY: both pages are mapped writable in the copy as in the parent.
    let (p, q) = unsafe { (private.read_volatile(), shared.read_volatile()) };
    let sees = GLOBAL.load(Ordering::SeqCst) == 7 && p == 0xab && q == 0x11;
    println!(
        "forker: child: sees the parent's memory as it was: {}",
        if sees { "yes" } else { "FAILED" }
    );
    GLOBAL.store(99, Ordering::SeqCst);
    // SAFETY: as above.
    unsafe {
        private.write_volatile(0xcd);
        shared.write_volatile(0x22);
    }
    // The copy has no other thread (the parent's waiter is not copied): its one thread's
    // end is the process's end, with this status.
    sys::thread_exit(5)
}

fn fork(arg: usize, stack: usize) -> Result<(ostrog_rt::idl::spec_rt::Handle, u64), Status> {
    sys::fork(child, stack + STACK, arg)
}

fn main() -> i32 {
    let mut failed = 0;
    let tasks = || sys::tasks();
    // 1. A copy, with a thread blocked meanwhile.
    let stack = sys::vmm()
        .allocate(STACK as u64, VMM_WRITE)
        .map(|r| r.addr as usize);
    let private = sys::vmm()
        .allocate(PAGE as u64, VMM_WRITE)
        .map(|r| r.addr as usize);
    let shared = sys::vmm()
        .allocate(PAGE as u64, VMM_WRITE)
        .map(|r| r.addr as usize);
    let waiter_stack = sys::vmm()
        .allocate(STACK as u64, VMM_WRITE)
        .map(|r| r.addr as usize);
    let (Ok(stack), Ok(private), Ok(shared), Ok(waiter_stack)) =
        (stack, private, shared, waiter_stack)
    else {
        println!("forker: FAILED vmm.Allocate");
        return 1;
    };
    let Ok(region) = sys::vmm()
        .share(shared as u64, PAGE as u64)
        .map(|r| r.region)
    else {
        println!("forker: FAILED vmm.Share");
        return 1;
    };
    let Ok(waiting) = sys::thread_create(waiter, waiter_stack + STACK, 0, 15) else {
        println!("forker: FAILED thread.Create");
        return 1;
    };
    // SAFETY: the pages were just allocated writable for this process.
    unsafe {
        (private as *mut u8).write_volatile(0xab);
        (shared as *mut u8).write_volatile(0x11);
    }
    GLOBAL.store(7, Ordering::SeqCst);
    sys::yield_now();
    let s = Shared { private, shared };
    let (task, sid) = match fork(&s as *const Shared as usize, stack) {
        Ok(r) => r,
        Err(e) => {
            println!("forker: FAILED task.Fork: {}", e.name());
            return 1;
        }
    };
    GLOBAL.store(8, Ordering::SeqCst);
    // The copy is started only through a handle with the control right: not through a
    // copy of the handle without it, nor through a number that names nothing.
    let weak = sys::handles().duplicate(task, 0).map(|r| r.copy).ok();
    let weak_refused = weak.is_some_and(|w| {
        matches!(
            tasks().start(w).map_err(sys::call_status),
            Err(Status::AccessDenied)
        )
    });
    if let Some(w) = weak {
        let _ = sys::handles().close(w);
    }
    let forged = ostrog_rt::idl::spec_rt::Handle {
        handle: task.handle ^ 0x00ff_0000,
        rights_and_mode: task.rights_and_mode,
    };
    let forged_refused = matches!(
        tasks().start(forged).map_err(sys::call_status),
        Err(Status::BadHandle)
    );
    if weak_refused && forged_refused {
        println!("forker: the copy cannot be started without the control right or a handle");
    } else {
        println!("forker: FAILED start without the control right {weak_refused}, forged {forged_refused}");
        failed += 1;
    }
    if tasks().start(task).is_err() {
        println!("forker: FAILED task.Start of the copy");
        return 1;
    }
    match tasks().wait(task) {
        Ok(r) if r.code == 5 => println!("forker: the copy ended with status 5"),
        other => {
            println!("forker: FAILED the copy ended with {other:?}");
            failed += 1;
        }
    }
    // SAFETY: as above.
    let (p, q) = unsafe {
        (
            (private as *const u8).read_volatile(),
            (shared as *const u8).read_volatile(),
        )
    };
    if GLOBAL.load(Ordering::SeqCst) == 8 && p == 0xab && q == 0x22 && sid != 0 {
        println!("forker: private memory stayed the parent's, the shared page is shared");
    } else {
        println!("forker: FAILED after the copy: global, private {p:#x}, shared {q:#x}");
        failed += 1;
    }
    let _ = sys::handles().close(task);
    GATE.store(1, Ordering::SeqCst);
    let _ = sys::futex_wake(&GATE, 1);
    let _ = sys::thread_join(waiting);
    let _ = sys::handles().close(region);

    // 2. Entry points and stacks outside the user range.
    let bad = [
        (0u64, (stack + STACK) as u64),
        (child as *const () as usize as u64, 0),
        (0xffff_8000_0000_0000, (stack + STACK) as u64),
        (child as *const () as usize as u64, 0xffff_ffff_ffff_f000),
    ];
    let refused = bad.iter().all(|&(pc, sp)| {
        matches!(
            tasks().fork(pc, sp, 0).map_err(sys::call_status),
            Err(Status::InvalidArgument)
        )
    });
    if refused {
        println!("forker: copies entering outside the user range are refused");
    } else {
        println!("forker: FAILED a copy entering outside the user range was made");
        failed += 1;
    }

    // 3. A copy that does not fit the limit. (First what ended above is freed: that
    // happens once another thread runs.)
    let _ = sys::sleep_ms(20);
    let Ok((used, limit)) = sys::memory_usage() else {
        println!("forker: FAILED task.MemoryUsage");
        return 1;
    };
    let big = ((limit - used) as usize / 2 + PAGE * 64).min(60 << 20) & !(PAGE - 1);
    match sys::vmm().allocate(big as u64, VMM_WRITE) {
        Ok(r) => {
            let before = sys::memory_usage().map(|u| u.0);
            let result = fork(&s as *const Shared as usize, stack);
            let after = sys::memory_usage().map(|u| u.0);
            match result {
                Err(Status::NoMemory) if before == after => {
                    println!("forker: a copy beyond the limit is refused and takes nothing")
                }
                other => {
                    println!("forker: FAILED a copy beyond the limit: {other:?}");
                    failed += 1;
                }
            }
            let _ = sys::vmm().free(r.addr, big as u64);
        }
        Err(e) => {
            println!("forker: FAILED vmm.Allocate of {big} bytes: {e:?}");
            failed += 1;
        }
    }

    // 4. Copies without end: bounded by the limit; ending them gives everything back. Each
    // copy holds a copy of a 4 MiB buffer (so the list below is long enough).
    let ballast = match sys::vmm().allocate(4 << 20, VMM_WRITE) {
        Ok(r) => r.addr,
        Err(e) => {
            println!("forker: FAILED vmm.Allocate of 4 MiB: {e:?}");
            return 1;
        }
    };
    let before = sys::memory_usage().map(|u| u.0);
    let mut made = alloc_list();
    let status = loop {
        match fork(&s as *const Shared as usize, stack) {
            Ok((task, _)) => {
                if made.push(task).is_err() {
                    break Status::Busy;
                }
            }
            Err(e) => break e,
        }
    };
    let count = made.len();
    // Half are ended with task.Kill; the others only lose their handle, the last one to
    // them, which ends a copy that was never started.
    for (i, t) in made.iter().enumerate() {
        if i % 2 == 0 {
            let _ = tasks().kill(*t, -1);
        }
        let _ = sys::handles().close(*t);
    }
    // Ended processes are freed once another thread has run.
    let _ = sys::sleep_ms(20);
    let after = sys::memory_usage().map(|u| u.0);
    if status == Status::NoMemory && count > 0 && before == after {
        println!("forker: copies without end stop at the limit (out of memory) and all go");
    } else {
        println!(
            "forker: FAILED copies without end: {count} made, then {}; use {before:?} -> {after:?}",
            status.name()
        );
        failed += 1;
    }
    let _ = sys::vmm().free(ballast, 4 << 20);
    println!("forker: done, {failed} failed");
    0
}

/// The handles of the copies made in step 4 (a fixed list: no heap needed).
fn alloc_list() -> List {
    List {
        items: [ostrog_rt::idl::spec_rt::Handle {
            handle: 0,
            rights_and_mode: 0,
        }; 64],
        len: 0,
    }
}

struct List {
    items: [ostrog_rt::idl::spec_rt::Handle; 64],
    len: usize,
}

impl List {
    fn push(&mut self, h: ostrog_rt::idl::spec_rt::Handle) -> Result<(), ()> {
        let slot = self.items.get_mut(self.len).ok_or(())?;
        *slot = h;
        self.len += 1;
        Ok(())
    }
    fn len(&self) -> usize {
        self.len
    }
    fn iter(&self) -> impl Iterator<Item = &ostrog_rt::idl::spec_rt::Handle> {
        self.items.iter().take(self.len)
    }
}
