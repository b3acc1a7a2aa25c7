//! Touches a page it made inaccessible with `vmm.Protect` flag `NONE`: must be killed with a
//! report (the pages beside it work).
#![no_std]
#![no_main]

use ostrog_rt::println;
use ostrog_rt::sys::{self, VMM_NONE, VMM_WRITE};

ostrog_rt::main!(main);

const PAGE: usize = 4096;

fn main() -> i32 {
    let Ok(r) = sys::vmm().allocate(3 * PAGE as u64, VMM_WRITE) else {
        println!("fault-guard: FAILED to allocate");
        return 1;
    };
    let base = r.addr as usize;
    if sys::protect(base + PAGE, PAGE, VMM_NONE).is_err() {
        println!("fault-guard: FAILED to protect");
        return 1;
    }
    // SAFETY: the first and last pages are mapped writable.
    unsafe {
        core::ptr::write_volatile(base as *mut u8, 1);
        core::ptr::write_volatile((base + 2 * PAGE) as *mut u8, 1);
    }
    println!("fault-guard: reading the guard page at {:#x}", base + PAGE);
    // SAFETY: deliberately invalid: the page has no access.
    let value = unsafe { core::ptr::read_volatile((base + PAGE) as *const u8) };
    println!("fault-guard: SURVIVED (read {value})");
    0
}
