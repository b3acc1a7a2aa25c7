//! The program entry point: align the stack, set up the heap, run `main`, exit with its
//! status.

use core::arch::global_asm;

#[cfg(target_arch = "x86_64")]
global_asm!(
    r#"
    .text
    .global _start
_start:
    xor     ebp, ebp
    and     rsp, -16
    call    {start}
    ud2
"#,
    start = sym start,
);

#[cfg(target_arch = "aarch64")]
global_asm!(
    r#"
    .text
    .global _start
_start:
    mov     x29, xzr
    mov     x30, xzr
    bl      {start}
    udf     #0
"#,
    start = sym start,
);

unsafe extern "Rust" {
    /// Defined by the program through [`crate::main!`].
    fn __ostrog_main() -> i32;
}

extern "C" fn start() -> ! {
    crate::heap::init();
    // SAFETY: `__ostrog_main` is the program's main function, declared with `main!`, which
    // gives it exactly this signature.
    let status = unsafe { __ostrog_main() };
    crate::sys::exit(status as isize)
}
