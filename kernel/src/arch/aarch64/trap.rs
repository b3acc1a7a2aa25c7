//! Traps on AArch64: the exception vector table, the register save/restore path, dispatch.
//!
//! Each of the 16 vector slots saves `x0`/`x1`, loads its slot number into `x1`, and branches
//! to one common path that saves the rest of the registers in a [`TrapFrame`] on the current
//! (`SP_EL1`) stack and calls [`trap_dispatch`]. Synchronous exceptions and SErrors taken in
//! the kernel are kernel bugs and end in a crash report ([`crate::crash::kernel_trap`]); IRQs
//! go to the GIC. An SError taken while a process runs is reported and the process
//! continues (it is asynchronous: nothing says the process caused it); an interrupt id
//! nothing handles is disabled, reported once and otherwise ignored.

use core::arch::global_asm;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aarch64_cpu::registers::{Readable, Writeable, ESR_EL1, FAR_EL1, VBAR_EL1};

use super::{intc, syscall, timer};
use crate::crash::{kernel_trap, TrapDetail, TrapReport};

/// Registers saved on every trap (lowest address first).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TrapFrame {
    pub x: [u64; 31],
    pub sp_el0: u64,
    pub elr: u64,
    pub spsr: u64,
}

/// Size of [`TrapFrame`]; the assembly below depends on the layout.
const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(FRAME_SIZE == 34 * 8 && FRAME_SIZE.is_multiple_of(16));

// Vector slots, in table order.
const CURRENT_SYNC: u64 = 4;
const CURRENT_IRQ: u64 = 5;
const LOWER_SYNC: u64 = 8;
const LOWER_IRQ: u64 = 9;
const LOWER_SERROR: u64 = 11;

global_asm!(
    r#"
    .macro vector slot
    .balign 0x80
    sub     sp, sp, #{frame}
    stp     x0, x1, [sp, #0]
    mov     x1, #\slot
    b       trap_common
    .endm

    .section .text.vectors, "ax"
    .balign 2048
    .global exception_vectors
exception_vectors:
    vector 0
    vector 1
    vector 2
    vector 3
    // A synchronous exception in the kernel is always fatal, and may be a kernel stack
    // that ran into its guard page, where nothing more can be pushed: the crash report
    // runs on a stack of its own.
    .balign 0x80
    msr     tpidr_el1, x0
    adrp    x0, {crash_stack}
    add     x0, x0, #:lo12:{crash_stack}
    add     x0, x0, #{crash_stack_size}
    mov     sp, x0
    mrs     x0, tpidr_el1
    sub     sp, sp, #{frame}
    stp     x0, x1, [sp, #0]
    mov     x1, #4
    b       trap_common
    vector 5
    vector 6
    vector 7
    vector 8
    vector 9
    vector 10
    vector 11
    vector 12
    vector 13
    vector 14
    vector 15

    .text
    .balign 16
trap_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x2, sp_el0
    stp     x30, x2, [sp, #240]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #256]
    mov     x0, sp
    bl      {dispatch}
    .global trap_return
trap_return:
    ldp     x2, x3, [sp, #256]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x30, x2, [sp, #240]
    msr     sp_el0, x2
    ldp     x28, x29, [sp, #224]
    ldp     x26, x27, [sp, #208]
    ldp     x24, x25, [sp, #192]
    ldp     x22, x23, [sp, #176]
    ldp     x20, x21, [sp, #160]
    ldp     x18, x19, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{frame}
    eret
"#,
    frame = const FRAME_SIZE,
    dispatch = sym trap_dispatch,
    crash_stack = sym CRASH_STACK,
    crash_stack_size = const CRASH_STACK_SIZE,
);

const CRASH_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct CrashStack([u8; CRASH_STACK_SIZE]);

/// The stack of the crash report for a synchronous exception taken in the kernel.
static mut CRASH_STACK: CrashStack = CrashStack([0; CRASH_STACK_SIZE]);

unsafe extern "C" {
    static exception_vectors: u8;
}

/// Installs the vector table.
pub fn init() {
    VBAR_EL1.set(&raw const exception_vectors as u64);
    // SAFETY: barrier only, so the new vector base is used from the next exception on.
    unsafe { core::arch::asm!("isb") };
}

extern "C" fn trap_dispatch(frame: &mut TrapFrame, slot: u64) {
    match slot {
        CURRENT_IRQ => irq(),
        CURRENT_SYNC => exception(frame),
        LOWER_IRQ => irq(),
        LOWER_SYNC => match (ESR_EL1.get() >> 26) & 0x3f {
            syscall::EC_SVC64 => syscall::syscall_dispatch(frame),
            _ => user_exception(frame),
        },
        LOWER_SERROR => serror(),
        _ => unexpected(frame, slot),
    }
    if slot == LOWER_IRQ || slot == LOWER_SYNC {
        crate::sched::preempt_if_needed();
        crate::trap_redirect::deliver_notification(frame);
    }
}

/// The trap-frame `kind` and `info` of a user exception the process's trap entry may handle
/// (`ostrog_abi::trap::FAULT_*`), or `None` for the ones that always end the process.
fn fault_kind(esr: u64) -> Option<(u64, u64)> {
    use ostrog_abi::trap as t;
    Some(match (esr >> 26) & 0x3f {
        0x00 | 0x0e => (t::FAULT_ILLEGAL, 0),
        0x22 | 0x26 => (t::FAULT_ALIGNMENT, FAR_EL1.get()),
        0x3c => (t::FAULT_BREAKPOINT, 0),
        0x2c => (t::FAULT_ARITHMETIC, 0),
        class @ (0x20 | 0x24) => {
            let iss = esr & 0x1ff_ffff;
            let mut kind = t::FAULT_PAGE;
            if class == 0x20 {
                kind |= t::ACCESS_EXEC;
            } else if iss & (1 << 6) != 0 {
                kind |= t::ACCESS_WRITE;
            }
            // Data/instruction fault status code 0b0011xx: permission fault.
            if (iss & 0x3f) >> 2 == 0b0011 {
                kind |= t::ACCESS_PROTECTION;
            }
            (kind, FAR_EL1.get())
        }
        _ => return None,
    })
}

/// An exception raised by a user program: the program is at fault, not the kernel. It goes
/// to the process's trap entry if it can ([`crate::trap_redirect::deliver_fault`]), else
/// the process ends with a report.
fn user_exception(frame: &mut TrapFrame) {
    let esr = ESR_EL1.get();
    if let Some((kind, info)) = fault_kind(esr) {
        if crate::trap_redirect::deliver_fault(frame, kind, info) {
            return;
        }
    }
    let (detail, addr) = fault_detail(esr);
    crate::task::user_fault(&crate::task::Fault {
        what: class_name((esr >> 26) & 0x3f),
        detail: detail.text(),
        addr,
        pc: frame.elr,
    });
}

fn irq() {
    intc::dispatch(|number| {
        if number == timer::intid() {
            inject_next();
            crate::time::on_interrupt();
        } else if intc::is_spi(number) {
            // A device line: masked and handed to its driver; ended at the GIC afterwards.
            crate::irq::on_device_irq(number);
        } else {
            // An SGI or PPI nothing uses: disabled, so that it cannot come back.
            intc::disable(number);
            crate::irq::stray("id", number);
        }
    });
}

/// SErrors taken since boot.
static SERRORS: AtomicU64 = AtomicU64::new(0);

/// An SError (an asynchronous external abort: a bus error of some earlier access, a device
/// signalling a fault) taken while a process ran. The kernel masks SErrors while it runs,
/// so every one it takes arrives at a process's instruction, which says nothing about whose
/// access caused it: it is reported and counted, and the process continues.
fn serror() {
    let count = SERRORS.fetch_add(1, Ordering::Relaxed) + 1;
    println!(
        "SError ignored (syndrome {:#x}, {count} so far); the process it interrupted continues",
        ESR_EL1.get()
    );
}

/// Next SGI [`inject_strays`] sends, plus one (0: not injecting).
static INJECT: AtomicU32 = AtomicU32::new(0);

/// Stands in for a misprogrammed interrupt source (self test `stray-interrupts`): from the
/// next timer tick on, each tick sends this CPU one software-generated interrupt (SGI 0-15),
/// which nothing handles, so some arrive while a process runs and some while the kernel
/// does.
pub fn inject_strays() {
    INJECT.store(1, Ordering::Relaxed);
}

fn inject_next() {
    match INJECT.load(Ordering::Relaxed) {
        0 => {}
        n @ 1..=16 => {
            INJECT.store(n + 1, Ordering::Relaxed);
            intc::send_sgi_to_self(n - 1);
        }
        _ => {
            INJECT.store(0, Ordering::Relaxed);
            println!("selftest: stray interrupts sent");
        }
    }
}

/// Names of the exception classes the crash report decodes.
fn class_name(class: u64) -> &'static str {
    match class {
        0x00 => "illegal instruction",
        0x01 => "trapped WFI/WFE",
        0x07 => "trapped FP/SIMD access",
        0x0e => "illegal execution state",
        0x15 => "supervisor call",
        0x18 => "trapped system register access",
        0x20 | 0x21 => "instruction abort (page fault)",
        0x22 => "PC alignment fault",
        0x24 | 0x25 => "data abort (page fault)",
        0x26 => "SP alignment fault",
        0x2f => "SError",
        0x3c => "breakpoint",
        _ => "unknown exception",
    }
}

/// Decodes the syndrome of a fault: what kind of fault, and the faulting address where the
/// exception class has one.
fn fault_detail(esr: u64) -> (TrapDetail, Option<u64>) {
    let mut detail = TrapDetail::default();
    let addr = match (esr >> 26) & 0x3f {
        0x20 | 0x21 | 0x24 | 0x25 => {
            abort_detail(esr, &mut detail);
            Some(FAR_EL1.get())
        }
        0x22 | 0x26 => Some(FAR_EL1.get()),
        _ => None,
    };
    (detail, addr)
}

fn abort_detail(esr: u64, out: &mut TrapDetail) {
    let iss = esr & 0x1ff_ffff;
    let status = iss & 0x3f;
    let kind = match status >> 2 {
        0b0000 => "address size fault",
        0b0001 => "translation fault (not mapped)",
        0b0010 => "access flag fault",
        0b0011 => "permission fault",
        _ => "other fault",
    };
    let _ = write!(out, "{kind}, level {}", status & 3);
    if (esr >> 26) & 0x3f >= 0x24 {
        let _ = write!(
            out,
            ", {}",
            if iss & (1 << 6) != 0 { "write" } else { "read" }
        );
    }
    let from_user = matches!((esr >> 26) & 0x3f, 0x20 | 0x24);
    let _ = write!(out, ", {} mode", if from_user { "user" } else { "kernel" });
}

fn exception(frame: &TrapFrame) -> ! {
    let esr = ESR_EL1.get();
    let class = (esr >> 26) & 0x3f;
    let (detail, fault_addr) = fault_detail(esr);
    report(
        frame,
        class_name(class),
        class,
        Some(esr),
        &detail,
        fault_addr,
    )
}

fn unexpected(frame: &TrapFrame, slot: u64) -> ! {
    let what = match slot {
        s if s < CURRENT_SYNC => "exception on the EL0 stack in the kernel",
        6 | 10 => "FIQ",
        7 | 11 => "SError",
        _ => "exception from 32-bit user mode",
    };
    report(
        frame,
        what,
        slot,
        Some(ESR_EL1.get()),
        &TrapDetail::default(),
        None,
    )
}

fn report(
    frame: &TrapFrame,
    what: &str,
    vector: u64,
    error_code: Option<u64>,
    detail: &TrapDetail,
    fault_addr: Option<u64>,
) -> ! {
    const NAMES: [&str; 31] = [
        "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
        "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
        "x27", "x28", "x29", "x30",
    ];
    let mut regs = [("", 0u64); 34];
    for (slot, (name, value)) in regs.iter_mut().zip(NAMES.iter().zip(frame.x.iter())) {
        *slot = (name, *value);
    }
    regs[31] = ("sp_el0", frame.sp_el0);
    regs[32] = ("spsr", frame.spsr);
    // The kernel stack pointer before the trap: just above the saved frame.
    regs[33] = ("sp", frame as *const TrapFrame as u64 + FRAME_SIZE as u64);
    kernel_trap(&TrapReport {
        what,
        vector,
        error_code,
        detail: detail.text(),
        fault_addr,
        pc: frame.elr,
        regs: &regs,
    })
}
