//! The processor itself: its privilege tables, the interrupt flag, and the instructions the
//! self tests use to fault on purpose.
//!
//! Segmentation in long mode: a GDT with kernel and user segments and the TSS.
//! Segments matter in 64-bit mode only for privilege levels and for the TSS, which holds the
//! stacks the CPU switches to: `rsp0` on entry from user mode (set per thread once processes
//! exist) and an interrupt stack for double faults, so that a kernel stack overflow still
//! produces a crash report instead of a triple fault and a silent reset.
//!
//! The TSS is followed by its I/O permission bitmap (8 KiB, one bit per port, a set bit
//! denies the port in user mode, plus the terminating 0xFF byte); the segment limit covers
//! it. It is all ones except for the ports of the running process ([`super::ioports`]).

use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// The architecture's name, for the banner.
pub const NAME: &str = "x86_64";

/// IST slot used for double faults.
pub const DOUBLE_FAULT_IST: u16 = 0;
/// IST slot used for NMIs, which can arrive anywhere, also in the two instructions of the
/// system call entry that still run on the user's stack.
pub const NMI_IST: u16 = 1;
const FAULT_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack([u8; FAULT_STACK_SIZE]);
static mut DOUBLE_FAULT_STACK: Stack = Stack([0; FAULT_STACK_SIZE]);
static mut NMI_STACK: Stack = Stack([0; FAULT_STACK_SIZE]);

pub struct Selectors {
    pub kernel_code: SegmentSelector,
    pub kernel_data: SegmentSelector,
    pub user_data: SegmentSelector,
    pub user_code: SegmentSelector,
    pub tss: SegmentSelector,
}

/// Bytes of the I/O permission bitmap: one bit for each of the 65536 ports.
pub const IO_BITMAP_BYTES: usize = 8192;

/// The TSS and its I/O permission bitmap, which must follow it within the TSS segment.
#[repr(C)]
pub struct TssArea {
    tss: TaskStateSegment,
    /// The bitmap and its terminating 0xFF byte (the CPU reads two bytes per check).
    pub io_bitmap: [u8; IO_BITMAP_BYTES + 1],
}

/// The TSS. Mutable because `rsp0` changes on every thread switch and the I/O bitmap on
/// every switch between processes with ports. `TaskStateSegment::new` sets the I/O map base
/// to the TSS's size, which is where `io_bitmap` starts (`repr(C)`, no padding: the TSS is
/// 104 bytes with 4-byte alignment).
pub static mut TSS: TssArea = TssArea {
    tss: TaskStateSegment::new(),
    io_bitmap: [0xff; IO_BITMAP_BYTES + 1],
};
static GDT: Once<(GlobalDescriptorTable, Selectors)> = Once::new();

pub fn init() {
    let top = core::ptr::addr_of!(DOUBLE_FAULT_STACK) as u64 + FAULT_STACK_SIZE as u64;
    let nmi_top = core::ptr::addr_of!(NMI_STACK) as u64 + FAULT_STACK_SIZE as u64;
    // SAFETY: boot is single-threaded and the TSS is not loaded yet; later writes to the
    // area go through raw pointers (rsp0, the I/O bitmap) with interrupts disabled.
    let (tss, iomap): (&'static TaskStateSegment, &'static [u8]) = unsafe {
        let area = &mut *core::ptr::addr_of_mut!(TSS);
        // The TSS is packed: its table is copied out, filled and written back.
        let mut ist = area.tss.interrupt_stack_table;
        for (index, stack_top) in [(DOUBLE_FAULT_IST, top), (NMI_IST, nmi_top)] {
            if let Some(entry) = ist.get_mut(usize::from(index)) {
                *entry = VirtAddr::new(stack_top);
            }
        }
        area.tss.interrupt_stack_table = ist;
        (&area.tss, &area.io_bitmap)
    };
    let (gdt, sel) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        // Order matters for `syscall`/`sysret`: kernel code, kernel data, user data, user code.
        let kernel_code = gdt.append(Descriptor::kernel_code_segment());
        let kernel_data = gdt.append(Descriptor::kernel_data_segment());
        let user_data = gdt.append(Descriptor::user_data_segment());
        let user_code = gdt.append(Descriptor::user_code_segment());
        // The layout is fixed at compile time (bitmap right after the TSS, ends in 0xFF), so
        // this cannot fail; a plain TSS without bitmap (every port denied) is the fallback.
        let descriptor = Descriptor::tss_segment_with_iomap(tss, iomap)
            .unwrap_or_else(|_| Descriptor::tss_segment(tss));
        let tss = gdt.append(descriptor);
        (
            gdt,
            Selectors {
                kernel_code,
                kernel_data,
                user_data,
                user_code,
                tss,
            },
        )
    });
    gdt.load();
    // SAFETY: the selectors come from the GDT just loaded and describe flat 64-bit kernel
    // segments and a valid TSS.
    unsafe {
        CS::set_reg(sel.kernel_code);
        DS::set_reg(sel.kernel_data);
        ES::set_reg(sel.kernel_data);
        SS::set_reg(sel.kernel_data);
        load_tss(sel.tss);
    }
}

/// The selectors of the loaded GDT.
#[allow(
    clippy::panic,
    reason = "the GDT is loaded at boot, before anything asks for it"
)]
pub fn selectors() -> &'static Selectors {
    match GDT.get() {
        Some((_, selectors)) => selectors,
        None => panic!("GDT used before cpu::init"),
    }
}

/// Sets the stack the CPU switches to on an interrupt or exception from user mode.
pub fn set_interrupt_stack(top: usize) {
    // SAFETY: the CPU reads rsp0 only on a privilege change, which cannot happen while the
    // kernel (interrupts off) updates it; one CPU. The TSS is packed, hence the unaligned
    // write through a raw pointer.
    unsafe {
        core::ptr::addr_of_mut!(TSS.tss.privilege_stack_table)
            .cast::<VirtAddr>()
            .write_unaligned(VirtAddr::new(top as u64));
    }
}

pub fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}

/// Disables interrupts; returns whether they were enabled.
pub fn disable_interrupts() -> bool {
    let were = x86_64::instructions::interrupts::are_enabled();
    x86_64::instructions::interrupts::disable();
    were
}

pub fn wait_for_interrupt() {
    x86_64::instructions::interrupts::enable_and_hlt();
}

pub fn breakpoint() {
    x86_64::instructions::interrupts::int3();
}

/// Executes an instruction that does not exist (`ud2`).
pub fn illegal_instruction() {
    // SAFETY: ud2 raises #UD and nothing else; used only by the self tests.
    unsafe { core::arch::asm!("ud2") };
}

/// Switches to the stack ending at `top` and calls `f` there (the kernel-stack guard self
/// test); never returns.
pub fn run_on_stack(top: usize, f: extern "C" fn() -> !) -> ! {
    // SAFETY: the caller gives a mapped kernel stack; `f` never returns, so nothing of the
    // abandoned stack is used again.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "call {f}",
            top = in(reg) top,
            f = in(reg) f,
            options(noreturn)
        )
    }
}

/// 64 bits from the CPU's random-number generator (`RDRAND`, CPUID.01H:ECX bit 30), if it
/// has one and it delivers within a few tries (it may fail transiently under load).
pub fn hardware_random() -> Option<u64> {
    if core::arch::x86_64::__cpuid(1).ecx & (1 << 30) == 0 {
        return None;
    }
    for _ in 0..10 {
        let value: u64;
        let ok: u8;
        // SAFETY: the CPU has RDRAND (checked above); it only writes the two registers.
        unsafe {
            core::arch::asm!(
                "rdrand {value}",
                "setc {ok}",
                value = out(reg) value,
                ok = out(reg_byte) ok,
                options(nomem, nostack),
            );
        }
        if ok == 1 {
            return Some(value);
        }
    }
    None
}
