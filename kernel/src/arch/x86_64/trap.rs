//! Traps: the interrupt descriptor table, the assembly entry stubs, and dispatch.
//!
//! Every vector enters through a small stub that pushes the vector number (and a zero where
//! the CPU pushes no error code), so that one common path saves the registers in a
//! [`TrapFrame`] of a single layout and calls [`trap_dispatch`]. The gate table is written by
//! hand rather than with the `x86_64` crate's typed IDT because that type is built around the
//! `x86-interrupt` calling convention, which stable Rust does not have; our stubs are plain
//! assembly and need only raw gate addresses.
//!
//! Exceptions taken in kernel mode are kernel bugs: they end in a crash report
//! ([`crate::crash::kernel_trap`]). Device interrupts are acknowledged and handed on.

use core::arch::global_asm;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use x86_64::registers::control::Cr2;

use super::{cpu, intc};
use crate::crash::{kernel_trap, TrapDetail, TrapReport};

/// Vector of the local APIC timer.
pub const TIMER_VECTOR: u64 = 48;
/// Vector the local APIC uses for spurious interrupts.
pub const SPURIOUS_VECTOR: u64 = 255;
/// Legacy PIC interrupts are remapped here (and masked) so they cannot alias exceptions.
pub const PIC_BASE: u64 = 32;

/// Registers saved on every trap, in the order the entry code pushes them (lowest address
/// first).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Assembly that pushes the general registers, completing a [`TrapFrame`] whose vector and
/// error code are already on the stack; the trap entry and the system call entry share it,
/// so the frame has one layout whichever way the kernel was entered.
macro_rules! save_registers {
    () => {
        "
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
"
    };
}

/// Assembly that pops what [`save_registers`] pushed, leaving the vector on top.
macro_rules! restore_registers {
    () => {
        "
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
"
    };
}
pub(super) use {restore_registers, save_registers};

global_asm!(
    r#"
    .text
    .balign 16
trap_common:"#,
    save_registers!(),
    r#"    mov rdi, rsp
    cld
    /* A trap does not clear RFLAGS.AC: a user thread that set it would turn SMAP off for
       the kernel's handler. Cleared with popfq (clac is not on CPUs without SMAP); the
       user's flags come back with iretq. */
    pushfq
    and qword ptr [rsp], ~(1 << 18)
    popfq
    call {dispatch}
.global trap_return
trap_return:
"#,
    restore_registers!(),
    r#"
    add rsp, 16
    iretq

    /* One stub per vector, each in its own 32-byte slot (checked in `init`). Whether the
       CPU pushed an error code is read from the stack rather than assumed from the vector:
       in 64-bit mode the CPU aligns RSP to 16 bytes before pushing SS, RSP, RFLAGS, CS and
       RIP (40 bytes), so RSP is 8 modulo 16 without an error code and 0 with one. A device
       or a forged MSI raising vector 17, 21, 29 or 30 pushes none, unlike the exception of
       that number; the frame layout stays right either way. */
    .balign 32
.global trap_stubs
trap_stubs:
    .set trap_vector, 0
    .rept 256
    .balign 32
    test spl, 8
    jz 1f
    push 0
1:
    push trap_vector
    jmp trap_common
    .set trap_vector, trap_vector + 1
    .endr
.global trap_stubs_end
trap_stubs_end:
"#,
    dispatch = sym trap_dispatch,
);

unsafe extern "C" {
    static trap_stubs: u8;
    static trap_stubs_end: u8;
}

/// Bytes between two stubs in `trap_stubs`.
const STUB_SLOT: u64 = 32;

/// One 16-byte interrupt gate.
#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    const MISSING: Gate = Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        attributes: 0,
        offset_mid: 0,
        offset_high: 0,
        reserved: 0,
    };

    /// A present, ring-0 interrupt gate (interrupts disabled on entry).
    fn interrupt(handler: u64, selector: u16, ist: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector,
            ist,
            attributes: 0x8e,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static mut IDT: Idt = Idt([Gate::MISSING; 256]);

#[allow(
    clippy::panic,
    reason = "boot: misplaced interrupt stubs would misroute every interrupt"
)]
pub fn init() {
    let selector = cpu::selectors().kernel_code.0;
    let base = &raw const trap_stubs as u64;
    let end = &raw const trap_stubs_end as u64;
    // Every stub must fit its slot, or the gates below would point into the wrong stubs.
    if !(255 * STUB_SLOT..=256 * STUB_SLOT).contains(&(end - base)) {
        panic!("interrupt entry stubs do not fit their {STUB_SLOT}-byte slots");
    }
    // SAFETY: boot is single-threaded and the IDT is not loaded yet, so nothing reads it
    // while it is written.
    let idt = unsafe { &mut *core::ptr::addr_of_mut!(IDT) };
    // Every vector has a gate: one without a handler of its own (a device, a forged MSI)
    // must not find a missing gate, which would be a #NP blamed on whatever was running.
    for (vector, gate) in idt.0.iter_mut().enumerate() {
        let ist = match vector as u64 {
            DOUBLE_FAULT => cpu::DOUBLE_FAULT_IST as u8 + 1,
            NMI => cpu::NMI_IST as u8 + 1,
            _ => 0,
        };
        *gate = Gate::interrupt(base + vector as u64 * STUB_SLOT, selector, ist);
    }
    let pointer = x86_64::structures::DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: x86_64::VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the table is static, fully initialised, and its gates point at our stubs.
    unsafe { x86_64::instructions::tables::lidt(&pointer) };
}

const EXCEPTION_NAMES: [&str; 32] = [
    "divide error",
    "debug",
    "non-maskable interrupt",
    "breakpoint",
    "overflow",
    "bound range exceeded",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor segment overrun",
    "invalid TSS",
    "segment not present",
    "stack-segment fault",
    "general protection fault",
    "page fault",
    "reserved",
    "x87 floating-point error",
    "alignment check",
    "machine check",
    "SIMD floating-point error",
    "virtualization exception",
    "control protection exception",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection exception",
    "VMM communication exception",
    "security exception",
    "reserved",
];

fn page_fault_detail(code: u64, out: &mut TrapDetail) {
    let _ = write!(
        out,
        "{}, {}, {} mode",
        if code & 0x10 != 0 {
            "instruction fetch"
        } else if code & 0x2 != 0 {
            "write"
        } else {
            "read"
        },
        if code & 0x1 != 0 {
            "protection violation"
        } else {
            "page not present"
        },
        if code & 0x4 != 0 { "user" } else { "kernel" }
    );
    if code & 0x8 != 0 {
        let _ = write!(out, ", reserved bit set");
    }
}

impl TrapFrame {
    /// Whether the trap interrupted user mode (ring 3).
    pub fn is_from_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    match frame.vector {
        // On its own stack, possibly in the middle of the system call entry or of another
        // handler: count it and return at once (no locks, no preemption).
        NMI => {
            nmi();
            return;
        }
        TIMER_VECTOR => {
            intc::end_of_interrupt();
            report_nmis();
            inject_next();
            crate::time::on_interrupt();
        }
        SPURIOUS_VECTOR => {}
        v if (PIC_BASE..PIC_BASE + 16).contains(&v) => {
            // Masked legacy PIC lines can still deliver spurious IRQ 7/15; nothing to do.
        }
        v if (intc::VECTOR_BASE..intc::VECTOR_BASE + u64::from(intc::MAX_INPUTS)).contains(&v) => {
            // A device line: masked and handed to its driver before the end of interrupt,
            // so a level-triggered line cannot fire again until the driver waits again.
            crate::irq::on_device_irq((v - intc::VECTOR_BASE) as u32);
            intc::end_of_interrupt();
        }
        // An interrupt the local APIC delivered at a vector nothing uses (an exception's
        // number 16-31 or a vector without a handler): a misprogrammed device or a forged
        // MSI, never the fault of the code it interrupted.
        v if intc::in_service(v) => {
            intc::end_of_interrupt();
            crate::irq::stray("vector", v as u32);
        }
        v if v < 32 && frame.is_from_user() => user_exception(frame, v),
        v if v < 32 => exception(frame, v),
        // No exception has this number and the APIC did not deliver it (a legacy PIC line
        // or an interrupt that was already ended): nobody is at fault.
        v => crate::irq::stray("vector", v as u32),
    }
    if frame.is_from_user() {
        crate::sched::preempt_if_needed();
        crate::trap_redirect::deliver_notification(frame);
    }
}

/// Vector of the non-maskable interrupt.
const NMI: u64 = 2;
/// Vector of the double fault.
const DOUBLE_FAULT: u64 = 8;

/// NMIs taken since boot, and whether the last ones are still to be reported.
static NMIS: AtomicU64 = AtomicU64::new(0);
static NMI_UNREPORTED: AtomicBool = AtomicBool::new(false);
/// A non-maskable interrupt (a hardware error line, a watchdog, a forged MSI with NMI
/// delivery): nothing in the kernel raises one, so it is counted and reported later (from
/// the timer: printing here could wait for a console lock held by the interrupted code).
/// Neither the kernel nor the interrupted process is at fault.
fn nmi() {
    NMIS.fetch_add(1, Ordering::Relaxed);
    NMI_UNREPORTED.store(true, Ordering::Relaxed);
}

/// Reports NMIs taken since the last report (from the timer interrupt).
fn report_nmis() {
    if NMI_UNREPORTED.swap(false, Ordering::Relaxed) {
        println!(
            "interrupt: non-maskable interrupt ignored ({} so far)",
            NMIS.load(Ordering::Relaxed)
        );
    }
}

/// Stands in for a device or a forged MSI (self test `stray-interrupts`): from the next
/// timer tick on, each tick sends this CPU one interrupt that nothing handles: every vector
/// 16-31 (exception numbers), an unused vector, and an NMI, so some arrive while a process
/// runs and some while the kernel does.
pub fn inject_strays() {
    INJECT.store(1, Ordering::Relaxed);
}

/// Next entry of [`INJECTED`] to send, plus one (0: not injecting).
static INJECT: AtomicU64 = AtomicU64::new(0);
/// What `inject_strays` sends, in order: a vector, or `None` for an NMI.
const INJECTED: [Option<u8>; 20] = [
    Some(16),
    Some(17),
    Some(18),
    Some(19),
    Some(20),
    Some(21),
    Some(22),
    Some(23),
    Some(24),
    Some(25),
    Some(26),
    Some(27),
    Some(28),
    Some(29),
    Some(30),
    Some(31),
    Some(100),
    Some(200),
    None,
    Some(17),
];

/// Sends the next injected interrupt, if the self test asked for them.
fn inject_next() {
    let next = INJECT.load(Ordering::Relaxed);
    if next == 0 {
        return;
    }
    match INJECTED.get(next as usize - 1) {
        Some(&vector) => {
            INJECT.store(next + 1, Ordering::Relaxed);
            intc::send_to_self(vector.unwrap_or(0), vector.is_none());
        }
        None => {
            INJECT.store(0, Ordering::Relaxed);
            println!("selftest: stray interrupts sent");
        }
    }
}

/// The trap-frame `kind` and `info` of a user exception the process's trap entry may handle
/// (`ostrog_abi::trap::FAULT_*`), or `None` for the ones that always end the process.
fn fault_kind(frame: &TrapFrame, vector: u64) -> Option<(u64, u64)> {
    use ostrog_abi::trap as t;
    Some(match vector {
        0 | 16 | 19 => (t::FAULT_ARITHMETIC, 0),
        1 | 3 => (t::FAULT_BREAKPOINT, 0),
        4 | 5 | 12 | 13 => (t::FAULT_PROTECTION, 0),
        6 => (t::FAULT_ILLEGAL, 0),
        17 => (t::FAULT_ALIGNMENT, 0),
        14 => {
            let code = frame.error_code;
            let mut kind = t::FAULT_PAGE;
            if code & 0x10 != 0 {
                kind |= t::ACCESS_EXEC;
            } else if code & 0x2 != 0 {
                kind |= t::ACCESS_WRITE;
            }
            if code & 0x1 != 0 {
                kind |= t::ACCESS_PROTECTION;
            }
            (kind, Cr2::read_raw())
        }
        _ => return None,
    })
}

/// An exception raised by a user program: the program is at fault, not the kernel. It goes
/// to the process's trap entry if it can ([`crate::trap_redirect::deliver_fault`]), else
/// the process ends with a report.
fn user_exception(frame: &mut TrapFrame, vector: u64) {
    if let Some((kind, info)) = fault_kind(frame, vector) {
        if crate::trap_redirect::deliver_fault(frame, kind, info) {
            return;
        }
    }
    let (detail, addr) = fault_detail(frame, vector);
    crate::task::user_fault(&crate::task::Fault {
        what: exception_name(vector),
        detail: detail.text(),
        addr,
        pc: frame.rip,
    });
}

/// The name of exception `vector`.
fn exception_name(vector: u64) -> &'static str {
    EXCEPTION_NAMES
        .get(vector as usize)
        .copied()
        .unwrap_or("unexpected interrupt")
}

/// Decodes a page fault's error code and reads its address (CR2); nothing for the other
/// exceptions.
fn fault_detail(frame: &TrapFrame, vector: u64) -> (TrapDetail, Option<u64>) {
    let mut detail = TrapDetail::default();
    if vector != 14 {
        return (detail, None);
    }
    page_fault_detail(frame.error_code, &mut detail);
    (detail, Some(Cr2::read_raw()))
}

fn exception(frame: &TrapFrame, vector: u64) -> ! {
    let what = exception_name(vector);
    let has_code = matches!(vector, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30);
    let (detail, mut fault_addr) = fault_detail(frame, vector);
    if vector == DOUBLE_FAULT {
        // Most often a page fault that could not be delivered (a kernel stack that ran into
        // its guard page): CR2 still holds that fault's address.
        fault_addr = Some(Cr2::read_raw());
    }
    let f = frame;
    let regs = [
        ("rax", f.rax),
        ("rbx", f.rbx),
        ("rcx", f.rcx),
        ("rdx", f.rdx),
        ("rsi", f.rsi),
        ("rdi", f.rdi),
        ("rbp", f.rbp),
        ("rsp", f.rsp),
        ("r8", f.r8),
        ("r9", f.r9),
        ("r10", f.r10),
        ("r11", f.r11),
        ("r12", f.r12),
        ("r13", f.r13),
        ("r14", f.r14),
        ("r15", f.r15),
        ("rip", f.rip),
        ("rflags", f.rflags),
        ("cs", f.cs),
        ("ss", f.ss),
    ];
    kernel_trap(&TrapReport {
        what,
        vector,
        error_code: has_code.then_some(f.error_code),
        detail: detail.text(),
        fault_addr,
        pc: f.rip,
        regs: &regs,
    })
}
