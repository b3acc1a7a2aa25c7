//! x86_64 entry: from a 32-bit boot loader to Rust in the upper half.
//!
//! Two boot protocols lead here, both entering in 32-bit protected mode with paging off:
//! - **PVH** (the Xen/KVM direct-boot protocol): `qemu-system-x86_64 -kernel ostrog-kernel`
//!   loads this ELF and jumps to the address in its `XEN_ELFNOTE_PHYS32_ENTRY` note with
//!   `ebx` = physical address of an `hvm_start_info`. Fast, no firmware boot menu; used for
//!   development and tests.
//! - **Multiboot2** (GRUB, on a real PC, from a CD/USB image): GRUB loads the same ELF by its
//!   physical load addresses and jumps to the ELF entry with `eax` = 0x36d76289 and `ebx` =
//!   the Multiboot2 information structure.
//!
//! The 32-bit trampoline (in `.boot`, linked at its physical address) builds temporary page
//! tables that map the first 4 GiB three times: identity (to keep running after paging is
//! on), at the direct map base, and at the kernel base (top 2 GiB). It enables long mode
//! and jumps to the upper half, where `x86_64_entry` copies what the loader told it into a
//! [`BootInfo`] and starts the core. [`super::paging`] later replaces these tables.

use core::arch::global_asm;

use super::{console, cpu, reserved, syscall, trap};
use crate::boot::{BootInfo, RegionKind};

const MULTIBOOT2_BOOTLOADER_MAGIC: u32 = 0x36d7_6289;
const PVH_START_INFO_MAGIC: u32 = 0x336e_c578;

global_asm!(
    r#"
    .section .multiboot2, "a"
    .balign 8
mb2_header_start:
    .long 0xe85250d6
    .long 0
    .long mb2_header_end - mb2_header_start
    .long 0x100000000 - (0xe85250d6 + (mb2_header_end - mb2_header_start))
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

    .section .note.Xen, "a"
    .balign 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .balign 4
    .long _start_pvh
    .balign 4

    .section .boot.data, "aw"
    .balign 4096
boot_pml4:
    .fill 512, 8, 0
boot_pdpt_low:
    .fill 512, 8, 0
boot_pdpt_high:
    .fill 512, 8, 0
boot_pd:
    .fill 2048, 8, 0
    .fill 64, 8, 0
boot_stack32_top:
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
boot_gdt_ptr:
    .short 23
    .long boot_gdt
    .balign 8
.global boot_magic
boot_magic:
    .long 0
.global boot_info_ptr
boot_info_ptr:
    .long 0

    .section .boot.text, "ax"
    .code32
.global _start_pvh
_start_pvh:
    mov eax, {pvh_magic}
.global _start32
_start32:
    cli
    cld
    /* Neither protocol promises a usable stack; the far return below needs one. */
    mov esp, offset boot_stack32_top
    mov dword ptr [boot_magic], eax
    mov dword ptr [boot_info_ptr], ebx

    /* 2048 2 MiB pages: physical 0..4 GiB. */
    mov edi, offset boot_pd
    xor ecx, ecx
2:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov dword ptr [edi + ecx * 8], eax
    mov eax, ecx
    shr eax, 11
    mov dword ptr [edi + ecx * 8 + 4], eax
    inc ecx
    cmp ecx, 2048
    jne 2b

    /* PDPT (low): four page directories cover 4 GiB. */
    mov eax, offset boot_pd
    or eax, 3
    mov dword ptr [boot_pdpt_low], eax
    add eax, 4096
    mov dword ptr [boot_pdpt_low + 8], eax
    add eax, 4096
    mov dword ptr [boot_pdpt_low + 16], eax
    add eax, 4096
    mov dword ptr [boot_pdpt_low + 24], eax

    /* PDPT (high): entries 510 and 511 map the first 2 GiB at 0xffffffff80000000. */
    mov eax, offset boot_pd
    or eax, 3
    mov dword ptr [boot_pdpt_high + 510 * 8], eax
    add eax, 4096
    mov dword ptr [boot_pdpt_high + 511 * 8], eax

    /* PML4: identity (0), direct map (256), kernel (511). */
    mov eax, offset boot_pdpt_low
    or eax, 3
    mov dword ptr [boot_pml4], eax
    mov dword ptr [boot_pml4 + 256 * 8], eax
    mov eax, offset boot_pdpt_high
    or eax, 3
    mov dword ptr [boot_pml4 + 511 * 8], eax

    mov eax, offset boot_pml4
    mov cr3, eax

    /* CR4: PAE | PGE. */
    mov eax, cr4
    or eax, 0xa0
    mov cr4, eax

    /* EFER: LME | NXE. */
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x900
    wrmsr

    /* CR0: PG | WP | PE. */
    mov eax, cr0
    or eax, 0x80010001
    mov cr0, eax

    lgdt [boot_gdt_ptr]
    mov eax, offset start64_low
    push 0x08
    push eax
    retf

    .code64
start64_low:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    movabs rax, offset start64_high
    jmp rax

    .text
start64_high:
    lea rsp, [rip + {stack} + {stack_size}]
    xor ebp, ebp
    mov edi, dword ptr [boot_magic]
    mov esi, dword ptr [boot_info_ptr]
    call {entry}
3:
    cli
    hlt
    jmp 3b
"#,
    pvh_magic = const PVH_START_INFO_MAGIC,
    stack = sym BOOT_STACK,
    stack_size = const BOOT_STACK_SIZE,
    entry = sym x86_64_entry,
);

const BOOT_STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct Stack([u8; BOOT_STACK_SIZE]);

/// The boot CPU's kernel stack.
static mut BOOT_STACK: Stack = Stack([0; BOOT_STACK_SIZE]);

static mut BOOT_INFO: BootInfo = BootInfo::new("unknown");

unsafe extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
}

/// The first Rust code: 64-bit mode, upper half, boot page tables, interrupts off.
#[allow(
    clippy::panic,
    reason = "boot: the machine cannot go on without its memory map"
)]
extern "C" fn x86_64_entry(magic: u32, info_phys: u32) -> ! {
    console::init();
    cpu::init();
    trap::init();
    syscall::init();

    // SAFETY: single-threaded boot; BOOT_INFO is written only here, before anything reads it.
    let info = unsafe { &mut *core::ptr::addr_of_mut!(BOOT_INFO) };
    match magic {
        PVH_START_INFO_MAGIC => parse_pvh(info, info_phys.into()),
        MULTIBOOT2_BOOTLOADER_MAGIC => parse_multiboot2(info, info_phys.into()),
        other => panic!("unknown boot protocol (magic {other:#x}); boot with PVH or Multiboot2"),
    }
    let kernel_start = core::ptr::addr_of!(__kernel_phys_start) as u64;
    let kernel_end = core::ptr::addr_of!(__kernel_phys_end) as u64;
    info.reserve(kernel_start, kernel_end);
    // The first MiB holds real-mode structures (IVT, BDA, EBDA, option ROMs) and is where
    // application processors will start; never allocate it.
    info.reserve(0, 0x10_0000);
    crate::kernel_main(info)
}

/// Reads a value the boot loader left in physical memory.
///
/// # Safety
/// `phys` must be the address of a readable `T` in the first 4 GiB (mapped by the boot page
/// tables) that the boot protocol guarantees to be there.
pub(super) unsafe fn read_phys<T: Copy>(phys: u64) -> T {
    let ptr = super::paging::phys_to_virt(crate::boot::PhysAddr(phys)) as *const T;
    // SAFETY: guaranteed by the caller; read_unaligned because loaders only promise byte
    // alignment for some fields.
    unsafe { ptr.read_unaligned() }
}

/// Copies a NUL-terminated string from physical memory (at most `MAX_CMDLINE` bytes).
///
/// # Safety
/// As for [`read_phys`], for every byte up to the terminator or the limit.
unsafe fn read_cstr(info: &mut BootInfo, phys: u64) {
    let mut buf = [0u8; crate::boot::MAX_CMDLINE];
    for (i, slot) in buf.iter_mut().enumerate() {
        // SAFETY: guaranteed by the caller.
        let b: u8 = unsafe { read_phys(phys + i as u64) };
        if b == 0 {
            break;
        }
        *slot = b;
    }
    info.set_cmdline(&buf);
}

fn e820_kind(kind: u32) -> RegionKind {
    match kind {
        1 => RegionKind::Usable,
        3 => RegionKind::AcpiReclaimable,
        4 => RegionKind::AcpiNvs,
        5 => RegionKind::Unusable,
        _ => RegionKind::Reserved,
    }
}

/// `struct hvm_start_info` (version 1) from the Xen public headers.
#[repr(C)]
#[derive(Clone, Copy)]
struct HvmStartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct E820Entry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

#[allow(
    clippy::panic,
    reason = "boot: the machine cannot go on without its memory map"
)]
fn parse_pvh(info: &mut BootInfo, phys: u64) {
    info.protocol = "PVH";
    // SAFETY: the PVH protocol passes a valid hvm_start_info in ebx, below 4 GiB.
    let start: HvmStartInfo = unsafe { read_phys(phys) };
    if start.magic != PVH_START_INFO_MAGIC {
        panic!("PVH start info has a bad magic number {:#x}", start.magic);
    }
    if start.cmdline_paddr != 0 {
        // SAFETY: the protocol promises a NUL-terminated string at cmdline_paddr.
        unsafe { read_cstr(info, start.cmdline_paddr) };
    }
    if start.version < 1 || start.memmap_paddr == 0 {
        panic!(
            "PVH loader gave no memory map (start info version {})",
            start.version
        );
    }
    for i in 0..u64::from(start.memmap_entries) {
        // SAFETY: version >= 1 promises memmap_entries entries at memmap_paddr.
        let e: E820Entry = unsafe { read_phys(start.memmap_paddr + i * 24) };
        info.add_region(e.addr, e.size, e820_kind(e.kind));
    }
    if start.rsdp_paddr != 0 {
        reserved::read_acpi(start.rsdp_paddr);
    }
}

fn parse_multiboot2(info: &mut BootInfo, phys: u64) {
    info.protocol = "Multiboot2";
    // SAFETY: the Multiboot2 protocol passes the information structure in ebx; it starts with
    // its total size.
    let total: u32 = unsafe { read_phys(phys) };
    let end = phys + u64::from(total);
    let mut tag = phys + 8;
    while tag + 8 <= end {
        // SAFETY: every tag lies inside the structure, starting with type and size.
        let (kind, size): (u32, u32) = unsafe { (read_phys(tag), read_phys(tag + 4)) };
        match kind {
            0 => break,
            // SAFETY: a type-1 tag holds a NUL-terminated command line after its header.
            1 => unsafe { read_cstr(info, tag + 8) },
            6 => {
                // SAFETY: a type-6 tag holds entry_size and entry_version, then entries.
                let entry_size: u32 = unsafe { read_phys(tag + 8) };
                let mut e = tag + 16;
                while entry_size >= 24 && e + u64::from(entry_size) <= tag + u64::from(size) {
                    // SAFETY: bounded by the tag size checked above.
                    let entry: E820Entry = unsafe { read_phys(e) };
                    info.add_region(entry.addr, entry.size, e820_kind(entry.kind));
                    e += u64::from(entry_size);
                }
            }
            // A copy of the ACPI RSDP (version 1 or 2) follows the tag header.
            14 | 15 => reserved::read_acpi(tag + 8),
            _ => {}
        }
        tag += u64::from(size.max(8)).next_multiple_of(8);
    }
}
