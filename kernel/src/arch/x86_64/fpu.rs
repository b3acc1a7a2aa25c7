//! The user-visible registers a thread owns beyond its [`super::trap::TrapFrame`]: the x87,
//! MMX, SSE and AVX state, and the data segment selectors.
//!
//! [`init`] turns the units on for user mode: CR0.MP and NE set, EM and TS clear (x87 and MMX
//! run without traps, x87 errors are #MF exceptions, not the legacy FERR# line), CR4.OSFXSR
//! and OSXMMEXCPT (SSE, #XM for unmasked SIMD errors) and, where CPUID has XSAVE, CR4.OSXSAVE
//! with XCR0 = x87 | SSE | AVX (AVX only where the CPU has it). Larger components (AVX-512,
//! AMX, MPX, PKRU) stay off in XCR0, so their instructions raise #UD and the process is
//! killed; turning one on means growing [`AREA_BYTES`] to what CPUID leaf 0xD reports.
//!
//! Every thread has an [`ExtendedState`]: a 64-byte aligned XSAVE (or FXSAVE) area, the
//! `ds`, `es`, `fs`, `gs` selectors, which a program may load with any user-accessible
//! selector and read back, and the FS base (`IA32_FS_BASE`, the thread pointer of the Linux
//! ABI), which only a resumed trap frame sets ([`crate::trap_redirect`]; the MSR holds the
//! running thread's). The scheduler saves the outgoing thread's and restores the incoming
//! thread's on every switch (eagerly: one XSAVE and one XRSTOR of at most 832 bytes per
//! switch cost less than the #NM trap and the bookkeeping of lazy switching, and lazy
//! switching leaks state through speculation, as in CVE-2018-3665). The kernel itself never
//! touches these registers between a trap and the switch: it is built for the soft-float
//! `x86_64-unknown-none` target (no x87, MMX or SSE code; checked below at compile time) and
//! never loads a data segment register after boot.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::FsBase;
use x86_64::registers::xcontrol::{XCr0, XCr0Flags};

use crate::cmdline::CommandLine;

#[cfg(target_feature = "sse")]
compile_error!("the kernel must not use SSE registers: they hold the interrupted thread's state");

/// Bytes of a save area: the legacy x87/SSE region (512), the XSAVE header (64) and the
/// upper halves of the 16 AVX registers (256) at their fixed offset 576.
const AREA_BYTES: usize = 832;
/// Offsets in the legacy region: the x87 control word and MXCSR.
const FCW_AT: usize = 0;
const MXCSR_AT: usize = 24;
/// The x87 control word after FNINIT: every exception masked, 64-bit precision, round to
/// nearest.
const FCW_DEFAULT: u16 = 0x037f;
/// MXCSR at reset: every SIMD exception masked, round to nearest, no flush to zero.
const MXCSR_DEFAULT: u32 = 0x1f80;

/// Whether the areas are in XSAVE format (else FXSAVE).
static XSAVE: AtomicBool = AtomicBool::new(false);

/// A thread's x87/MMX/SSE/AVX state and data segment selectors, while it does not run.
#[repr(C, align(64))]
pub struct ExtendedState {
    area: [u8; AREA_BYTES],
    /// `ds`, `es`, `fs`, `gs`.
    selectors: [u16; 4],
    /// The FS base.
    fs_base: u64,
}

impl Default for ExtendedState {
    /// The state of a new thread: FNINIT's x87 state, MXCSR 0x1F80, every vector register
    /// zero, null data selectors. Nothing of another thread's is visible.
    fn default() -> Self {
        let mut area = [0u8; AREA_BYTES];
        area[FCW_AT..FCW_AT + 2].copy_from_slice(&FCW_DEFAULT.to_le_bytes());
        area[MXCSR_AT..MXCSR_AT + 4].copy_from_slice(&MXCSR_DEFAULT.to_le_bytes());
        // The rest stays zero: an abridged tag word of 0 (all x87 registers empty) for
        // FXRSTOR, and XSTATE_BV = XCOMP_BV = 0 for XRSTOR, which loads the initial state of
        // every component (and MXCSR from the area).
        ExtendedState {
            area,
            selectors: [0; 4],
            fs_base: 0,
        }
    }
}

impl ExtendedState {
    /// Saves the running thread's registers here.
    pub fn save(&mut self) {
        let area = self.area.as_mut_ptr();
        if XSAVE.load(Ordering::Relaxed) {
            // SAFETY: CR4.OSXSAVE is set (XSAVE is only true then); the area is 64-byte
            // aligned and at least as large as CPUID leaf 0xD says XCR0's components need
            // (checked by `init`). EDX:EAX = all ones: every component XCR0 enables.
            unsafe {
                asm!("xsave64 [{}]", in(reg) area, in("eax") u32::MAX, in("edx") u32::MAX,
                     options(nostack, preserves_flags))
            };
        } else {
            // SAFETY: CR4.OSFXSR is set; the area is 16-byte aligned and holds 512 bytes.
            unsafe { asm!("fxsave64 [{}]", in(reg) area, options(nostack, preserves_flags)) };
        }
        let [ds, es, fs, gs] = &mut self.selectors;
        // SAFETY: reading segment registers has no side effect.
        unsafe {
            asm!(
                "mov {0:x}, ds",
                "mov {1:x}, es",
                "mov {2:x}, fs",
                "mov {3:x}, gs",
                out(reg) * ds,
                out(reg) * es,
                out(reg) * fs,
                out(reg) * gs,
                options(nomem, nostack, preserves_flags)
            )
        };
        self.fs_base = FsBase::read().as_u64();
    }

    /// Loads the registers of the thread about to run.
    pub fn restore(&self) {
        let area = self.area.as_ptr();
        if XSAVE.load(Ordering::Relaxed) {
            // SAFETY: as in `save`. The area was written by `default` (a valid header, MXCSR with
            // no reserved bit) or by XSAVE; only the kernel writes it, so XRSTOR cannot fault.
            unsafe {
                asm!("xrstor64 [{}]", in(reg) area, in("eax") u32::MAX, in("edx") u32::MAX,
                     options(nostack, preserves_flags, readonly))
            };
        } else {
            // SAFETY: as in `save`; MXCSR comes from `default` or from the CPU, so it is valid.
            unsafe {
                asm!("fxrstor64 [{}]", in(reg) area, options(nostack, preserves_flags, readonly))
            };
        }
        let [ds, es, fs, gs] = self.selectors;
        // SAFETY: the selectors are null or were read from these registers while the thread
        // ran, so they name user-accessible descriptors of the GDT, which never changes.
        // 64-bit mode ignores the bases of ds and es; fs and gs get base 0 (CR4.FSGSBASE is
        // off and every descriptor's base is 0), and fs gets the thread's own base below. The
        // kernel uses GS only through `swapgs` inside the system call stub.
        unsafe {
            asm!("mov ds, {0:x}", "mov es, {1:x}", "mov fs, {2:x}", "mov gs, {3:x}",
                 in(reg) ds, in(reg) es, in(reg) fs, in(reg) gs,
                 options(nomem, nostack, preserves_flags))
        };
        // After the selector load, which sets the base from the descriptor. The value was
        // read from the MSR or checked canonical when a frame was resumed.
        FsBase::write(x86_64::VirtAddr::new_truncate(self.fs_base));
    }
}

/// Turns on x87, SSE and (where the CPU has them) XSAVE and AVX for user mode, and prints
/// what threads get. `ostrog.fpu=fxsave` on the command line keeps XSAVE and AVX off (tests
/// use it to run the FXSAVE path on a CPU that has XSAVE).
pub fn init(cmdline: &CommandLine) {
    // SAFETY: only the FPU's trapping and error reporting change; no code uses it yet.
    unsafe {
        Cr0::update(|f| {
            f.insert(Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR);
            f.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
        })
    };
    // SAFETY: enables FXSAVE/FXRSTOR and SSE, with SIMD errors as #XM exceptions.
    unsafe { Cr4::update(|f| f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE)) };

    let features = core::arch::x86_64::__cpuid(1).ecx;
    let has_xsave = features & (1 << 26) != 0;
    let has_avx = features & (1 << 28) != 0;
    if has_xsave && cmdline.get("ostrog.fpu") != Some("fxsave") {
        // SAFETY: CPUID says XSAVE exists; XCR0 is set right after.
        unsafe { Cr4::update(|f| f.insert(Cr4Flags::OSXSAVE)) };
        let mut xcr0 = XCr0Flags::X87 | XCr0Flags::SSE;
        if has_avx {
            xcr0 |= XCr0Flags::AVX;
        }
        // SAFETY: every bit is a component CPUID reports (x87 and SSE always exist with
        // XSAVE), in a valid combination. `write_raw`, not `write`: XCR0 has no reserved bit
        // worth keeping, and `write` reads it first (XGETBV), which some hypervisors (PVM)
        // cannot emulate for a guest kernel.
        unsafe { XCr0::write_raw(xcr0.bits()) };
        // EBX of leaf 0xD: bytes XSAVE needs for what XCR0 enables now.
        let needed = core::arch::x86_64::__cpuid_count(0xd, 0).ebx as usize;
        if needed > AREA_BYTES {
            // Cannot happen for x87|SSE|AVX (their layout is fixed), but never overrun.
            xcr0.remove(XCr0Flags::AVX);
            // SAFETY: x87|SSE alone needs 576 bytes.
            unsafe { XCr0::write_raw(xcr0.bits()) };
        }
        XSAVE.store(true, Ordering::Relaxed);
        println!(
            "fpu: XSAVE, x87 SSE{} saved per thread",
            if xcr0.contains(XCr0Flags::AVX) {
                " AVX"
            } else {
                ""
            }
        );
    } else {
        println!("fpu: FXSAVE, x87 SSE saved per thread");
    }
}
