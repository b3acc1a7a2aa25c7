//! exec-denied: asks for executable memory in every way `mmap` and `mprotect` allow and
//! prints what it gets. Under a policy that denies executable memory to its class once it
//! runs, each request fails with EPERM (audited) and the program goes on; the same requests
//! without `PROT_EXEC` succeed. On a Linux host every call succeeds, so the test has its
//! own expected lines (`xtask/src/linux.rs`).

#[path = "../sys.rs"]
mod sys;

use sys::*;

const PAGE: usize = 4096;

fn mmap(addr: usize, len: usize, prot: usize, flags: usize) -> isize {
    syscall(
        nr::MMAP,
        [
            addr,
            len,
            prot,
            MAP_PRIVATE | MAP_ANONYMOUS | flags,
            usize::MAX,
            0,
        ],
    )
}

fn show(what: &str, ret: isize) {
    match ret {
        r if r < 0 => println!("exec-denied: {what}: {}", errno_name(r)),
        _ => println!("exec-denied: {what}: ok"),
    }
}

fn main() {
    // Ordinary memory: granted.
    let rw = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, 0);
    show("mmap(PROT_READ|PROT_WRITE)", rw.min(0));
    // Executable memory anywhere (vmm.Allocate).
    let rx = mmap(0, PAGE, PROT_READ | PROT_EXEC, 0);
    show("mmap(PROT_READ|PROT_EXEC)", rx.min(0));
    if rw > 0 {
        // Executable memory at a fixed place (vmm.AllocateAt): the second page of `rw`,
        // unmapped first, so the place is free.
        let at = rw as usize + PAGE;
        show("munmap", syscall(nr::MUNMAP, [at, PAGE, 0, 0, 0, 0]));
        let fixed = mmap(at, PAGE, PROT_READ | PROT_EXEC, MAP_FIXED_NOREPLACE);
        show(
            "mmap(PROT_READ|PROT_EXEC, MAP_FIXED_NOREPLACE)",
            fixed.min(0),
        );
        // Making ordinary memory executable (vmm.Protect).
        let page = rw as usize;
        // SAFETY: `page` is a fresh private read-write mapping of this program.
        unsafe { (page as *mut u8).write_volatile(42) };
        let ret = syscall(nr::MPROTECT, [page, PAGE, PROT_READ | PROT_EXEC, 0, 0, 0]);
        show("mprotect(PROT_READ|PROT_EXEC)", ret);
        // The memory is still the program's, as it was: its byte, read-only on request.
        let ret = syscall(nr::MPROTECT, [page, PAGE, PROT_READ, 0, 0, 0]);
        show("mprotect(PROT_READ)", ret);
        // SAFETY: as above; still mapped and readable.
        let byte = unsafe { (page as *const u8).read_volatile() };
        println!("exec-denied: the page still holds {byte}");
        show("munmap", syscall(nr::MUNMAP, [page, PAGE, 0, 0, 0, 0]));
    }
    println!("exec-denied: done");
}
