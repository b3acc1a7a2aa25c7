//! Kernel self tests selected with `ostrog.selftest=NAME` on the command line.
//!
//! They exist so that scenario tests can prove the failure paths work on real hardware models:
//! a kernel fault must produce a crash report and a failure status, never a hang.

use crate::arch;

pub fn run(name: &str) {
    println!("selftest: {name}");
    match name {
        "page-fault" => {
            // Virtual address 0 is never mapped in the kernel's address space.
            let null = core::ptr::null::<u64>();
            // SAFETY: deliberately unsound: this read must fault, and the fault path is
            // what is being tested. It never returns normally.
            let value = unsafe { core::ptr::read_volatile(core::hint::black_box(null)) };
            println!("selftest: read {value:#x} from address 0: page fault expected");
        }
        "breakpoint" => arch::breakpoint(),
        "illegal-instruction" => arch::illegal_instruction(),
        #[allow(clippy::panic, reason = "this self test checks the panic report")]
        "panic" => panic!("self test requested a panic"),
        "kernel-stack-overflow" => kernel_stack_overflow(),
        "heap" => heap(),
        // Interrupts at vectors nothing handles (exception numbers, unused vectors, an NMI,
        // SGIs on AArch64) arrive on the next timer ticks; the kernel and the programs that
        // are running must not notice.
        "stray-interrupts" => arch::inject_strays(),
        "cycles" => {
            let start = arch::cycles();
            let end = arch::cycles();
            println!(
                "selftest: cycle counter advanced by {}",
                end.wrapping_sub(start)
            );
        }
        other => println!("selftest: unknown test {other:?}; ignored"),
    }
}

fn heap() {
    use alloc::{boxed::Box, vec::Vec};
    let mut blocks: Vec<Box<[u8]>> = Vec::new();
    for i in 0..64usize {
        blocks.push(alloc::vec![i as u8; 1024 + i * 61].into_boxed_slice());
    }
    let ok = blocks
        .iter()
        .enumerate()
        .all(|(i, b)| b.len() == 1024 + i * 61 && b.iter().all(|&x| x == i as u8));
    drop(blocks);
    let big: Vec<u64> = (0..65536u64).collect();
    let sum: u64 = big.iter().sum();
    println!(
        "selftest: heap {} (sum {sum})",
        if ok && sum == 65535 * 65536 / 2 {
            "ok"
        } else {
            "CORRUPT"
        }
    );
}

/// Runs a recursion without end on a thread kernel stack: it must fault in the guard page
/// below the stack (a crash report naming an address there), not write over memory.
fn kernel_stack_overflow() {
    let Some(stack) = crate::mm::kstack::KernelStack::new() else {
        println!("selftest: no memory for a kernel stack");
        return;
    };
    println!(
        "selftest: overflowing the kernel stack {:#x}-{:#x}, guard from {:#x}",
        stack.top() - crate::task::KERNEL_STACK_PAGES * crate::mm::PAGE_SIZE,
        stack.top() - 1,
        stack.guard()
    );
    let top = stack.top();
    // The stack stays mapped for good: the recursion never returns.
    core::mem::forget(stack);
    arch::run_on_stack(top, recurse_forever)
}

#[allow(
    clippy::panic,
    reason = "this self test checks the guard page's fault report"
)]
extern "C" fn recurse_forever() -> ! {
    fn deeper(depth: u64) -> u64 {
        let frame = core::hint::black_box([depth; 32]);
        if core::hint::black_box(depth) == u64::MAX {
            return 0;
        }
        deeper(depth + 1).wrapping_add(frame[7])
    }
    let sum = deeper(0);
    panic!("selftest: recursion returned {sum}; the guard page did not stop it");
}
