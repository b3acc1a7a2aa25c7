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

use x86_64::registers::control::Cr2;

use super::{apic, gdt, ioapic};
use crate::crash::{kernel_trap, TrapReport};

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

global_asm!(
    r#"
    .text
    .balign 16
trap_common:
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
    mov rdi, rsp
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
    add rsp, 16
    iretq

trap_stub_0:
    push 0
    push 0
    jmp trap_common
trap_stub_1:
    push 0
    push 1
    jmp trap_common
trap_stub_2:
    push 0
    push 2
    jmp trap_common
trap_stub_3:
    push 0
    push 3
    jmp trap_common
trap_stub_4:
    push 0
    push 4
    jmp trap_common
trap_stub_5:
    push 0
    push 5
    jmp trap_common
trap_stub_6:
    push 0
    push 6
    jmp trap_common
trap_stub_7:
    push 0
    push 7
    jmp trap_common
trap_stub_8:
    push 8
    jmp trap_common
trap_stub_9:
    push 0
    push 9
    jmp trap_common
trap_stub_10:
    push 10
    jmp trap_common
trap_stub_11:
    push 11
    jmp trap_common
trap_stub_12:
    push 12
    jmp trap_common
trap_stub_13:
    push 13
    jmp trap_common
trap_stub_14:
    push 14
    jmp trap_common
trap_stub_15:
    push 0
    push 15
    jmp trap_common
trap_stub_16:
    push 0
    push 16
    jmp trap_common
trap_stub_17:
    push 17
    jmp trap_common
trap_stub_18:
    push 0
    push 18
    jmp trap_common
trap_stub_19:
    push 0
    push 19
    jmp trap_common
trap_stub_20:
    push 0
    push 20
    jmp trap_common
trap_stub_21:
    push 21
    jmp trap_common
trap_stub_22:
    push 0
    push 22
    jmp trap_common
trap_stub_23:
    push 0
    push 23
    jmp trap_common
trap_stub_24:
    push 0
    push 24
    jmp trap_common
trap_stub_25:
    push 0
    push 25
    jmp trap_common
trap_stub_26:
    push 0
    push 26
    jmp trap_common
trap_stub_27:
    push 0
    push 27
    jmp trap_common
trap_stub_28:
    push 0
    push 28
    jmp trap_common
trap_stub_29:
    push 29
    jmp trap_common
trap_stub_30:
    push 30
    jmp trap_common
trap_stub_31:
    push 0
    push 31
    jmp trap_common
trap_stub_32:
    push 0
    push 32
    jmp trap_common
trap_stub_33:
    push 0
    push 33
    jmp trap_common
trap_stub_34:
    push 0
    push 34
    jmp trap_common
trap_stub_35:
    push 0
    push 35
    jmp trap_common
trap_stub_36:
    push 0
    push 36
    jmp trap_common
trap_stub_37:
    push 0
    push 37
    jmp trap_common
trap_stub_38:
    push 0
    push 38
    jmp trap_common
trap_stub_39:
    push 0
    push 39
    jmp trap_common
trap_stub_40:
    push 0
    push 40
    jmp trap_common
trap_stub_41:
    push 0
    push 41
    jmp trap_common
trap_stub_42:
    push 0
    push 42
    jmp trap_common
trap_stub_43:
    push 0
    push 43
    jmp trap_common
trap_stub_44:
    push 0
    push 44
    jmp trap_common
trap_stub_45:
    push 0
    push 45
    jmp trap_common
trap_stub_46:
    push 0
    push 46
    jmp trap_common
trap_stub_47:
    push 0
    push 47
    jmp trap_common
trap_stub_48:
    push 0
    push 48
    jmp trap_common
trap_stub_255:
    push 0
    push 255
    jmp trap_common

    .irp vec, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87
irq_stub_\vec:
    push 0
    push \vec
    jmp trap_common
    .endr

    .section .rodata
    .balign 8
.global irq_stub_table
irq_stub_table:
    .irp vec, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87
    .quad irq_stub_\vec
    .endr

    .balign 8
.global trap_stub_table
trap_stub_table:
    .quad trap_stub_0
    .quad trap_stub_1
    .quad trap_stub_2
    .quad trap_stub_3
    .quad trap_stub_4
    .quad trap_stub_5
    .quad trap_stub_6
    .quad trap_stub_7
    .quad trap_stub_8
    .quad trap_stub_9
    .quad trap_stub_10
    .quad trap_stub_11
    .quad trap_stub_12
    .quad trap_stub_13
    .quad trap_stub_14
    .quad trap_stub_15
    .quad trap_stub_16
    .quad trap_stub_17
    .quad trap_stub_18
    .quad trap_stub_19
    .quad trap_stub_20
    .quad trap_stub_21
    .quad trap_stub_22
    .quad trap_stub_23
    .quad trap_stub_24
    .quad trap_stub_25
    .quad trap_stub_26
    .quad trap_stub_27
    .quad trap_stub_28
    .quad trap_stub_29
    .quad trap_stub_30
    .quad trap_stub_31
    .quad trap_stub_32
    .quad trap_stub_33
    .quad trap_stub_34
    .quad trap_stub_35
    .quad trap_stub_36
    .quad trap_stub_37
    .quad trap_stub_38
    .quad trap_stub_39
    .quad trap_stub_40
    .quad trap_stub_41
    .quad trap_stub_42
    .quad trap_stub_43
    .quad trap_stub_44
    .quad trap_stub_45
    .quad trap_stub_46
    .quad trap_stub_47
    .quad trap_stub_48
"#,
    dispatch = sym trap_dispatch,
);

unsafe extern "C" {
    static trap_stub_table: [u64; 49];
    static irq_stub_table: [u64; ioapic::MAX_INPUTS as usize];
    fn trap_stub_255();
}

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

pub fn init() {
    let selector = gdt::selectors().kernel_code.0;
    // SAFETY: the stub table is defined in the assembly above with 49 entries.
    let stubs = unsafe { &*core::ptr::addr_of!(trap_stub_table) };
    // SAFETY: boot is single-threaded and the IDT is not loaded yet, so nothing reads it
    // while it is written.
    let idt = unsafe { &mut *core::ptr::addr_of_mut!(IDT) };
    for (vector, (gate, &stub)) in idt.0.iter_mut().zip(stubs.iter()).enumerate() {
        let ist = if vector == 8 {
            gdt::DOUBLE_FAULT_IST as u8 + 1
        } else {
            0
        };
        *gate = Gate::interrupt(stub, selector, ist);
    }
    // SAFETY: the I/O APIC stub table is defined in the assembly above, one per input.
    let irq_stubs = unsafe { &*core::ptr::addr_of!(irq_stub_table) };
    for (i, &stub) in irq_stubs.iter().enumerate() {
        if let Some(gate) = idt.0.get_mut(ioapic::VECTOR_BASE as usize + i) {
            *gate = Gate::interrupt(stub, selector, 0);
        }
    }
    if let Some(gate) = idt.0.get_mut(SPURIOUS_VECTOR as usize) {
        *gate = Gate::interrupt(trap_stub_255 as *const () as u64, selector, 0);
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

/// A small fixed buffer for formatting without the heap (the heap may be what failed).
struct Text {
    buf: [u8; 96],
    len: usize,
}

impl Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

impl Text {
    fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

fn page_fault_detail(code: u64, out: &mut Text) {
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
        TIMER_VECTOR => {
            apic::end_of_interrupt();
            crate::time::on_tick();
        }
        SPURIOUS_VECTOR => {}
        v if (PIC_BASE..PIC_BASE + 16).contains(&v) => {
            // Masked legacy PIC lines can still deliver spurious IRQ 7/15; nothing to do.
        }
        v if (ioapic::VECTOR_BASE..ioapic::VECTOR_BASE + u64::from(ioapic::MAX_INPUTS))
            .contains(&v) =>
        {
            // A device line: masked and handed to its driver before the end of interrupt,
            // so a level-triggered line cannot fire again until the driver waits again.
            crate::irq::on_device_irq((v - ioapic::VECTOR_BASE) as u32);
            apic::end_of_interrupt();
        }
        v if frame.is_from_user() => user_exception(frame, v),
        v => exception(frame, v),
    }
    if frame.is_from_user() {
        crate::sched::preempt_if_needed();
    }
}

/// An exception raised by a user program: the program is at fault, not the kernel.
fn user_exception(frame: &TrapFrame, vector: u64) {
    let what = EXCEPTION_NAMES
        .get(vector as usize)
        .copied()
        .unwrap_or("unexpected interrupt");
    let mut detail = Text {
        buf: [0; 96],
        len: 0,
    };
    let addr = if vector == 14 {
        page_fault_detail(frame.error_code, &mut detail);
        Some(Cr2::read_raw())
    } else {
        None
    };
    crate::task::user_fault(&crate::task::Fault {
        what,
        detail: (detail.len > 0).then(|| detail.as_str()),
        addr,
        pc: frame.rip,
    });
}

fn exception(frame: &TrapFrame, vector: u64) -> ! {
    let what = EXCEPTION_NAMES
        .get(vector as usize)
        .copied()
        .unwrap_or("unexpected interrupt");
    let has_code = matches!(vector, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30);
    let mut detail = Text {
        buf: [0; 96],
        len: 0,
    };
    let fault_addr = if vector == 14 {
        page_fault_detail(frame.error_code, &mut detail);
        Some(Cr2::read_raw())
    } else {
        None
    };
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
        detail: (detail.len > 0).then(|| detail.as_str()),
        fault_addr,
        pc: f.rip,
        regs: &regs,
    })
}
