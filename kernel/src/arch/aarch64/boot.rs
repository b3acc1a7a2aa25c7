//! Entry on AArch64: from the loader's state (MMU off, EL2 or EL1) to Rust in the upper half.
//!
//! QEMU `virt` (and firmware that loads an ELF image) jumps to `_start` at its physical
//! address with the MMU off. The entry code:
//!
//! 1. parks every CPU but the first (secondary CPUs come later);
//! 2. drops from EL2 to EL1 when entered at EL2 (giving EL1 the generic timer);
//! 3. clears `.bss` (the FP/SIMD unit stays off until [`super::fpu::init`]: the kernel is
//!    soft-float and never uses it);
//! 4. builds boot page tables: one level-1 table of 1 GiB blocks mapping physical
//!    `0..5 GiB`, used three times: identity (TTBR0, so the next instruction still runs),
//!    the direct map at [`super::paging::PHYS_OFFSET`] and the kernel image at
//!    [`super::paging::KERNEL_BASE`] (both TTBR1). The first gigabyte (devices on `virt`)
//!    is device memory, the rest normal memory;
//! 5. turns the MMU on and jumps to [`aarch64_start`] at its upper-half address.
//!
//! [`aarch64_start`] then reads the device tree (memory, console, interrupt controller,
//! timer, PSCI, command line) into a [`BootInfo`] and calls [`crate::kernel_main`]; the
//! boot tables are replaced by [`super::paging::init_paging`].

use core::arch::global_asm;

use fdt::Fdt;

use super::{console, intc, paging, power, reserved, timer, trap};
use crate::boot::{BootInfo, PhysAddr, RegionKind};

/// Where QEMU puts the device tree of a bare-metal image: the start of RAM.
const DTB_DEFAULT: u64 = 0x4000_0000;
/// The device-tree magic number (big-endian in memory).
const FDT_MAGIC: u32 = 0xd00d_feed;

global_asm!(
    r#"
    .section .boot.text, "ax"
    .global _start
_start:
    mov     x19, x0                 // device tree, if the loader passed one

    mrs     x0, mpidr_el1
    and     x0, x0, #0xff
    cbnz    x0, 9f                  // secondary CPU: park

    mrs     x0, CurrentEL
    ubfx    x0, x0, #2, #2
    cmp     x0, #1
    b.eq    1f
    cmp     x0, #2
    b.ne    9f                      // EL3 entry is not supported

    // EL2 -> EL1: EL1 is AArch64, may use the physical and virtual timers and FP/SIMD.
    mov     x0, #(1 << 31)
    msr     hcr_el2, x0
    mrs     x0, cnthctl_el2
    orr     x0, x0, #3
    msr     cnthctl_el2, x0
    msr     cntvoff_el2, xzr
    mov     x0, #0x33ff             // CPTR_EL2: RES1 bits, TFP clear (FP/SIMD not trapped)
    msr     cptr_el2, x0
    mov     x0, #0x3c5              // EL1h, all exceptions masked
    msr     spsr_el2, x0
    adr     x0, 1f
    msr     elr_el2, x0
    eret

1:  // EL1, MMU off.
    // Clear .bss (linked in the upper half; written here at its physical address).
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
    ldr     x2, ={kernel_base}
    sub     x0, x0, x2
    sub     x1, x1, x2
2:  cmp     x0, x1
    b.hs    3f
    str     xzr, [x0], #8
    b       2b
3:
    // Boot page tables: L0[0] and L0[511] -> L1; L1[0] device, L1[1..4] normal memory.
    adr     x0, boot_l0
    adr     x1, boot_l1
    orr     x2, x1, #3              // table descriptor
    str     x2, [x0]
    str     x2, [x0, #(511 * 8)]
    ldr     x2, ={device_block}
    str     x2, [x1]
    ldr     x2, ={normal_block}
    mov     x3, #1
4:  lsl     x4, x3, #30
    orr     x4, x4, x2
    str     x4, [x1, x3, lsl #3]
    add     x3, x3, #1
    cmp     x3, #5
    b.lo    4b
    dsb     sy

    ldr     x0, ={mair}
    msr     mair_el1, x0
    ldr     x0, ={tcr}
    mrs     x1, id_aa64mmfr0_el1
    and     x1, x1, #7              // PARange -> TCR_EL1.IPS
    bfi     x0, x1, #32, #3
    msr     tcr_el1, x0
    adr     x0, boot_l0
    msr     ttbr0_el1, x0
    msr     ttbr1_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    ldr     x0, ={sctlr}
    msr     sctlr_el1, x0
    isb

    // Now in the upper half: stack, then Rust.
    ldr     x0, =__boot_stack_top
    mov     sp, x0
    mov     x0, x19
    ldr     x1, ={start}
    br      x1

9:  wfe
    b       9b
    .ltorg

    .section .boot.data, "aw"
    .balign 4096
boot_l0:
    .space 4096
boot_l1:
    .space 4096

    .section .bss.boot_stack, "aw", @nobits
    .balign 16
__boot_stack_bottom:
    .space 65536
__boot_stack_top:
"#,
    kernel_base = const paging::KERNEL_BASE,
    device_block = const paging::BOOT_DEVICE_BLOCK,
    normal_block = const paging::BOOT_NORMAL_BLOCK,
    mair = const paging::MAIR,
    tcr = const paging::TCR,
    sctlr = const paging::SCTLR,
    start = sym aarch64_start,
);

unsafe extern "C" {
    static __kernel_image_start: u8;
    static __kernel_image_end: u8;
}

static mut BOOT_INFO: BootInfo = BootInfo::new("device tree (QEMU virt / ELF)");

/// First Rust code, running in the upper half on the boot stack, interrupts masked.
extern "C" fn aarch64_start(dtb_from_loader: u64) -> ! {
    trap::init();
    let dtb = if read_magic(dtb_from_loader) {
        dtb_from_loader
    } else {
        DTB_DEFAULT
    };
    // SAFETY: runs once, on the boot CPU, before anything else reads BOOT_INFO.
    let info = unsafe { &mut *core::ptr::addr_of_mut!(BOOT_INFO) };
    if read_magic(dtb) {
        // SAFETY: the magic was checked; the boot tables map all of the first 5 GiB, and the
        // device tree is never written.
        match unsafe { Fdt::from_ptr(paging::phys_to_virt(PhysAddr(dtb))) } {
            Ok(fdt) => read_device_tree(&fdt, dtb, info),
            Err(_) => power::halt_silently(),
        }
    } else {
        // Without a device tree there is no console to complain on.
        power::halt_silently();
    }
    let kernel_start = &raw const __kernel_image_start as u64 - paging::KERNEL_BASE;
    let kernel_end = &raw const __kernel_image_end as u64 - paging::KERNEL_BASE;
    info.reserve(kernel_start, kernel_end);
    crate::kernel_main(info)
}

fn read_magic(pa: u64) -> bool {
    // Only RAM in the boot map (1..5 GiB) may be probed.
    if !(0x4000_0000..0x1_4000_0000).contains(&pa) || !pa.is_multiple_of(8) {
        return false;
    }
    // SAFETY: the address is 8-byte aligned normal memory mapped by the boot tables.
    let word =
        unsafe { core::ptr::read_volatile(paging::phys_to_virt(PhysAddr(pa)) as *const u32) };
    u32::from_be(word) == FDT_MAGIC
}

/// The first `reg` entry of the first node compatible with one of `compatible`.
fn first_reg(fdt: &Fdt, compatible: &[&str]) -> Option<(u64, u64)> {
    let node = fdt.find_compatible(compatible)?;
    let region = node.reg()?.next()?;
    Some((
        region.starting_address as u64,
        region.size.unwrap_or(0) as u64,
    ))
}

fn read_device_tree(fdt: &Fdt, dtb: u64, info: &mut BootInfo) {
    if let Some((base, _)) = first_reg(fdt, &["arm,pl011"]) {
        console::init(base);
    }
    reserved::read_device_tree(fdt);
    for region in fdt.memory().regions() {
        info.add_region(
            region.starting_address as u64,
            region.size.unwrap_or(0) as u64,
            RegionKind::Usable,
        );
    }
    for reserved in fdt.memory_reservations() {
        let start = reserved.address() as u64;
        info.reserve(start, start.saturating_add(reserved.size() as u64));
    }
    info.reserve(dtb, dtb.saturating_add(fdt.total_size() as u64));
    if let Some(args) = fdt.chosen().bootargs() {
        info.set_cmdline(args.as_bytes());
        power::set_semihosting(
            crate::cmdline::CommandLine::parse(args).get("ostrog.exit") == Some("semihosting"),
        );
    }
    if let Some(psci) = fdt.find_compatible(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]) {
        let method = psci.property("method").and_then(|p| p.as_str());
        power::set_psci_method(method);
    }
    let gicd = first_reg(
        fdt,
        &["arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic"],
    );
    let gicc = fdt
        .find_compatible(&["arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic"])
        .and_then(|n| n.reg())
        .and_then(|mut r| r.nth(1))
        .map(|r| r.starting_address as u64);
    if let (Some((gicd, _)), Some(gicc)) = (gicd, gicc) {
        intc::set_addresses(gicd, gicc);
    }
    if let Some(node) = fdt.find_compatible(&["arm,armv8-timer", "arm,armv7-timer"]) {
        // `interrupts`: four (type, number, flags) triples; the third is the virtual timer.
        let ppi = node
            .property("interrupts")
            .and_then(|p| p.value.get(2 * 12 + 4..2 * 12 + 8))
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes);
        if let Some(ppi) = ppi {
            timer::set_ppi(ppi);
        }
    }
}
