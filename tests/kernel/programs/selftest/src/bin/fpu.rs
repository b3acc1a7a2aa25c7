//! Two threads fill the FP/SIMD registers (and the other user registers the kernel must keep
//! per thread) with values of their own, spin until the other thread has run, and check that
//! their values are intact: the kernel saved and restored them across the switch.
//!
//! x86_64: the x87 stack and control word or (every other round) the MMX registers, xmm0-15
//! and MXCSR, the upper halves of ymm0-15 where the kernel enabled AVX, and the `fs` and `gs`
//! selectors. AArch64: q0-q31, FPCR, FPSR and TPIDR_EL0.
//!
//! Load, spin and store happen in one `asm!` block, so no compiler-generated code runs while
//! the values are live; the spin ends when the other thread's counter moves (it counts only
//! while that thread spins), which on one CPU means this thread was switched out and back in.
//! The switches are the timer's preemption, with the values sitting in the registers.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ostrog_rt::{println, thread};

ostrog_rt::main!(main);

/// Rounds each thread runs.
const ROUNDS: u64 = 16;
/// Upper bound of one spin (the other thread may have ended).
const SPIN_LIMIT: u64 = 1 << 32;

static COUNTERS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static DONE: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// What one thread's rounds saw: rounds during which the other thread ran, and mismatches.
struct Tally {
    switches: u64,
    mismatches: u64,
}

fn main() -> i32 {
    println!("fpu: checking {}", arch::CLASSES());
    let other = match thread::spawn(16, || {
        let t = run(1);
        (t.switches | (t.mismatches << 32)) as isize
    }) {
        Ok(h) => h,
        Err(e) => {
            println!("fpu: spawn failed: {}", e.name());
            return 1;
        }
    };
    let mine = run(0);
    let theirs = match other.join() {
        Ok(v) => v as u64,
        Err(e) => {
            println!("fpu: join failed: {}", e.name());
            return 1;
        }
    };
    let switches = mine.switches + (theirs & 0xffff_ffff);
    let mismatches = mine.mismatches + (theirs >> 32);
    if mismatches != 0 {
        println!("fpu: MISMATCH in {mismatches} rounds");
        return 1;
    }
    if switches < ROUNDS {
        println!("fpu: only {switches} switches with live state (want {ROUNDS})");
        return 1;
    }
    println!("fpu: state kept across {switches} switches");
    0
}

/// Runs this thread's rounds; `me` is 0 or 1.
fn run(me: usize) -> Tally {
    let mut tally = Tally {
        switches: 0,
        mismatches: 0,
    };
    let (Some(mine), Some(other), Some(done)) =
        (COUNTERS.get(me), COUNTERS.get(1 - me), DONE.get(1 - me))
    else {
        return tally;
    };
    for round in 0..ROUNDS {
        let seed = (me as u64 + 1) * 0x0101_0101_0101_0101 + round;
        let (ok, switched) = arch::round(seed, round, mine, other, done);
        if !ok {
            println!("fpu: MISMATCH in thread {me}, round {round}");
            tally.mismatches += 1;
        }
        tally.switches += u64::from(switched);
    }
    if let Some(flag) = DONE.get(me) {
        flag.store(true, Ordering::SeqCst);
    }
    tally
}

#[cfg(target_arch = "x86_64")]
#[allow(non_snake_case)]
mod arch {
    use core::arch::asm;
    use core::mem::offset_of;
    use core::sync::atomic::{AtomicBool, AtomicU64};

    /// Register values, in and out.
    #[repr(C, align(32))]
    #[derive(PartialEq, Eq, Clone, Copy)]
    struct Regs {
        vec: [[u64; 4]; 16],
        x87: [i64; 3],
        mmx: [u64; 8],
        mxcsr: u32,
        fcw: u16,
        fs: u16,
        gs: u16,
    }

    /// Whether the kernel turned AVX on (CPUID: OSXSAVE and AVX; XCR0: SSE and AVX state).
    fn avx() -> bool {
        let ecx = core::arch::x86_64::__cpuid(1).ecx;
        if ecx & (1 << 27) == 0 || ecx & (1 << 28) == 0 {
            return false;
        }
        let xcr0: u32;
        // SAFETY: XGETBV is available at CPL 3 when CPUID reports OSXSAVE.
        unsafe {
            asm!("xgetbv", in("ecx") 0, out("eax") xcr0, out("edx") _, options(nomem, nostack))
        };
        xcr0 & 6 == 6
    }

    pub fn CLASSES() -> &'static str {
        if avx() {
            "x87 MMX SSE AVX segment registers"
        } else {
            "x87 MMX SSE segment registers"
        }
    }

    /// One round: load, spin until switched, store, compare. Returns (values intact,
    /// switched while they were live). Even rounds check the x87 stack, odd rounds MMX.
    pub fn round(
        seed: u64,
        round: u64,
        mine: &AtomicU64,
        other: &AtomicU64,
        done: &AtomicBool,
    ) -> (bool, bool) {
        let avx = avx();
        let mut input = Regs {
            vec: [[0; 4]; 16],
            x87: [0; 3],
            mmx: [0; 8],
            // Distinct rounding modes per thread.
            mxcsr: 0x1f80 | ((seed as u32 & 3) << 13),
            fcw: 0x037f | ((seed as u16 & 3) << 10),
            fs: 0,
            gs: 0,
        };
        for (i, v) in input.vec.iter_mut().enumerate() {
            for (j, w) in v.iter_mut().enumerate() {
                *w = seed.rotate_left((i * 4 + j) as u32) ^ (i * 4 + j) as u64;
            }
        }
        for (i, v) in input.x87.iter_mut().enumerate() {
            // Integers below 2^63 survive FILD/FISTP exactly in any rounding mode.
            *v = (seed.rotate_left(i as u32 * 7) >> 2) as i64;
        }
        for (i, v) in input.mmx.iter_mut().enumerate() {
            *v = seed.rotate_right(i as u32 * 5) ^ 0x5a5a;
        }
        let user_data: u16;
        // SAFETY: reads the stack segment selector (a user data selector).
        unsafe { asm!("mov {0:x}, ss", out(reg) user_data, options(nomem, nostack)) };
        // One thread loads it into fs, the other into gs.
        if seed & 0x0200_0000_0000_0000 == 0 {
            input.fs = user_data;
        } else {
            input.gs = user_data;
        }
        let mut output = Regs {
            vec: [[0; 4]; 16],
            x87: [0; 3],
            mmx: [0; 8],
            mxcsr: 0,
            fcw: 0,
            fs: 0,
            gs: 0,
        };
        let (snap, last): (u64, u64);
        // SAFETY: the registers touched are the x87/MMX/SSE/AVX registers, which this
        // soft-float program's compiled code never uses, and fs/gs, which it never uses
        // either; the x87 stack is left empty (after EMMS), FCW and MXCSR at their defaults,
        // fs and gs null. Memory accesses stay inside `input`, `output` and the atomics.
        unsafe {
            asm!(
                // Load.
                "test {flags}, 1",
                "jz 20f",
                "vmovdqu ymm0, [{i} + 0]", "vmovdqu ymm1, [{i} + 32]",
                "vmovdqu ymm2, [{i} + 64]", "vmovdqu ymm3, [{i} + 96]",
                "vmovdqu ymm4, [{i} + 128]", "vmovdqu ymm5, [{i} + 160]",
                "vmovdqu ymm6, [{i} + 192]", "vmovdqu ymm7, [{i} + 224]",
                "vmovdqu ymm8, [{i} + 256]", "vmovdqu ymm9, [{i} + 288]",
                "vmovdqu ymm10, [{i} + 320]", "vmovdqu ymm11, [{i} + 352]",
                "vmovdqu ymm12, [{i} + 384]", "vmovdqu ymm13, [{i} + 416]",
                "vmovdqu ymm14, [{i} + 448]", "vmovdqu ymm15, [{i} + 480]",
                "jmp 21f",
                "20:",
                "movdqu xmm0, [{i} + 0]", "movdqu xmm1, [{i} + 32]",
                "movdqu xmm2, [{i} + 64]", "movdqu xmm3, [{i} + 96]",
                "movdqu xmm4, [{i} + 128]", "movdqu xmm5, [{i} + 160]",
                "movdqu xmm6, [{i} + 192]", "movdqu xmm7, [{i} + 224]",
                "movdqu xmm8, [{i} + 256]", "movdqu xmm9, [{i} + 288]",
                "movdqu xmm10, [{i} + 320]", "movdqu xmm11, [{i} + 352]",
                "movdqu xmm12, [{i} + 384]", "movdqu xmm13, [{i} + 416]",
                "movdqu xmm14, [{i} + 448]", "movdqu xmm15, [{i} + 480]",
                "21:",
                "ldmxcsr [{i} + {mxcsr}]",
                "fninit",
                "fldcw [{i} + {fcw}]",
                "test {flags}, 2",
                "jnz 22f",
                "fild qword ptr [{i} + {x87}]",
                "fild qword ptr [{i} + {x87} + 8]",
                "fild qword ptr [{i} + {x87} + 16]",
                "jmp 23f",
                "22:",
                "movq mm0, [{i} + {mm}]", "movq mm1, [{i} + {mm} + 8]",
                "movq mm2, [{i} + {mm} + 16]", "movq mm3, [{i} + {mm} + 24]",
                "movq mm4, [{i} + {mm} + 32]", "movq mm5, [{i} + {mm} + 40]",
                "movq mm6, [{i} + {mm} + 48]", "movq mm7, [{i} + {mm} + 56]",
                "23:",
                "mov {t:x}, word ptr [{i} + {fs}]",
                "mov fs, {t:x}",
                "mov {t:x}, word ptr [{i} + {gs}]",
                "mov gs, {t:x}",
                // Spin until the other thread has run.
                "mov {snap}, [{other}]",
                "mov {n}, {limit}",
                "2:",
                "lock inc qword ptr [{mine}]",
                "cmp byte ptr [{done}], 0",
                "jne 3f",
                "mov {last}, [{other}]",
                "cmp {last}, {snap}",
                "jne 3f",
                "dec {n}",
                "jnz 2b",
                "3:",
                "mov {last}, [{other}]",
                // Store.
                "test {flags}, 1",
                "jz 24f",
                "vmovdqu [{o} + 0], ymm0", "vmovdqu [{o} + 32], ymm1",
                "vmovdqu [{o} + 64], ymm2", "vmovdqu [{o} + 96], ymm3",
                "vmovdqu [{o} + 128], ymm4", "vmovdqu [{o} + 160], ymm5",
                "vmovdqu [{o} + 192], ymm6", "vmovdqu [{o} + 224], ymm7",
                "vmovdqu [{o} + 256], ymm8", "vmovdqu [{o} + 288], ymm9",
                "vmovdqu [{o} + 320], ymm10", "vmovdqu [{o} + 352], ymm11",
                "vmovdqu [{o} + 384], ymm12", "vmovdqu [{o} + 416], ymm13",
                "vmovdqu [{o} + 448], ymm14", "vmovdqu [{o} + 480], ymm15",
                "vzeroupper",
                "jmp 25f",
                "24:",
                "movdqu [{o} + 0], xmm0", "movdqu [{o} + 32], xmm1",
                "movdqu [{o} + 64], xmm2", "movdqu [{o} + 96], xmm3",
                "movdqu [{o} + 128], xmm4", "movdqu [{o} + 160], xmm5",
                "movdqu [{o} + 192], xmm6", "movdqu [{o} + 224], xmm7",
                "movdqu [{o} + 256], xmm8", "movdqu [{o} + 288], xmm9",
                "movdqu [{o} + 320], xmm10", "movdqu [{o} + 352], xmm11",
                "movdqu [{o} + 384], xmm12", "movdqu [{o} + 416], xmm13",
                "movdqu [{o} + 448], xmm14", "movdqu [{o} + 480], xmm15",
                "25:",
                "stmxcsr [{o} + {mxcsr}]",
                "fnstcw [{o} + {fcw}]",
                "test {flags}, 2",
                "jnz 26f",
                "fistp qword ptr [{o} + {x87} + 16]",
                "fistp qword ptr [{o} + {x87} + 8]",
                "fistp qword ptr [{o} + {x87}]",
                "jmp 27f",
                "26:",
                "movq [{o} + {mm}], mm0", "movq [{o} + {mm} + 8], mm1",
                "movq [{o} + {mm} + 16], mm2", "movq [{o} + {mm} + 24], mm3",
                "movq [{o} + {mm} + 32], mm4", "movq [{o} + {mm} + 40], mm5",
                "movq [{o} + {mm} + 48], mm6", "movq [{o} + {mm} + 56], mm7",
                "emms",
                "27:",
                "mov {t:x}, fs",
                "mov word ptr [{o} + {fs}], {t:x}",
                "mov {t:x}, gs",
                "mov word ptr [{o} + {gs}], {t:x}",
                // Back to the defaults.
                "xor {t:e}, {t:e}",
                "mov fs, {t:x}",
                "mov gs, {t:x}",
                "fninit",
                "push 0x1f80",
                "ldmxcsr [rsp]",
                "add rsp, 8",
                i = in(reg) &input,
                o = in(reg) &mut output,
                // Bit 0: AVX, bit 1: an MMX round.
                flags = in(reg) u64::from(avx) | ((round & 1) << 1),
                mine = in(reg) mine.as_ptr(),
                other = in(reg) other.as_ptr(),
                done = in(reg) done.as_ptr(),
                limit = const super::SPIN_LIMIT,
                snap = out(reg) snap,
                last = out(reg) last,
                n = out(reg) _,
                t = out(reg) _,
                mxcsr = const offset_of!(Regs, mxcsr),
                fcw = const offset_of!(Regs, fcw),
                x87 = const offset_of!(Regs, x87),
                mm = const offset_of!(Regs, mmx),
                fs = const offset_of!(Regs, fs),
                gs = const offset_of!(Regs, gs),
            )
        };
        // Compare what this round loaded.
        if !avx {
            for (a, b) in input.vec.iter_mut().zip(output.vec.iter_mut()) {
                a[2..].fill(0);
                b[2..].fill(0);
            }
        }
        if round & 1 == 0 {
            input.mmx = [0; 8];
        } else {
            input.x87 = [0; 3];
        }
        (input == output, snap != last)
    }
}

#[cfg(target_arch = "aarch64")]
#[allow(non_snake_case)]
mod arch {
    use core::arch::asm;
    use core::mem::offset_of;
    use core::sync::atomic::{AtomicBool, AtomicU64};

    /// Register values, in and out.
    #[repr(C, align(16))]
    #[derive(PartialEq, Eq, Clone, Copy)]
    struct Regs {
        q: [[u64; 2]; 32],
        fpcr: u64,
        fpsr: u64,
        tpidr: u64,
    }

    pub fn CLASSES() -> &'static str {
        "q0-q31 FPCR FPSR TPIDR_EL0"
    }

    /// One round: load, spin until switched, store, compare. Returns (values intact,
    /// switched while they were live).
    pub fn round(
        seed: u64,
        _round: u64,
        mine: &AtomicU64,
        other: &AtomicU64,
        done: &AtomicBool,
    ) -> (bool, bool) {
        let first = seed & 0x0200_0000_0000_0000 == 0;
        let mut input = Regs {
            q: [[0; 2]; 32],
            // FZ and round towards +inf, or DN and round towards -inf.
            fpcr: if first {
                (1 << 24) | (1 << 22)
            } else {
                (1 << 25) | (2 << 22)
            },
            // Cumulative flags: IOC and QC, or DZC and IXC.
            fpsr: if first { 1 | (1 << 27) } else { 2 | (1 << 4) },
            tpidr: seed ^ 0x7470_6964,
        };
        for (i, v) in input.q.iter_mut().enumerate() {
            v[0] = seed.rotate_left(i as u32 * 2) ^ i as u64;
            v[1] = !seed.rotate_right(i as u32 * 3);
        }
        let mut output = Regs {
            q: [[0; 2]; 32],
            fpcr: 0,
            fpsr: 0,
            tpidr: 0,
        };
        let (snap, last): (u64, u64);
        // SAFETY: every vector register is declared clobbered; FPCR, FPSR and TPIDR_EL0 are
        // put back as they were. Memory accesses stay inside `input`, `output` and the
        // atomics.
        unsafe {
            asm!(
                "mrs {fpcr0}, fpcr",
                "mrs {fpsr0}, fpsr",
                "mrs {tpidr0}, tpidr_el0",
                "ldp q0, q1, [{i}, #0]", "ldp q2, q3, [{i}, #32]",
                "ldp q4, q5, [{i}, #64]", "ldp q6, q7, [{i}, #96]",
                "ldp q8, q9, [{i}, #128]", "ldp q10, q11, [{i}, #160]",
                "ldp q12, q13, [{i}, #192]", "ldp q14, q15, [{i}, #224]",
                "ldp q16, q17, [{i}, #256]", "ldp q18, q19, [{i}, #288]",
                "ldp q20, q21, [{i}, #320]", "ldp q22, q23, [{i}, #352]",
                "ldp q24, q25, [{i}, #384]", "ldp q26, q27, [{i}, #416]",
                "ldp q28, q29, [{i}, #448]", "ldp q30, q31, [{i}, #480]",
                "ldr {t}, [{i}, #{fpcr}]",
                "msr fpcr, {t}",
                "ldr {t}, [{i}, #{fpsr}]",
                "msr fpsr, {t}",
                "ldr {t}, [{i}, #{tpidr}]",
                "msr tpidr_el0, {t}",
                // Spin until the other thread has run.
                "ldr {snap}, [{other}]",
                "mov {n}, {limit}",
                "2:",
                "ldr {t}, [{mine}]",
                "add {t}, {t}, #1",
                "str {t}, [{mine}]",
                "ldrb {t:w}, [{done}]",
                "cbnz {t:w}, 3f",
                "ldr {last}, [{other}]",
                "cmp {last}, {snap}",
                "b.ne 3f",
                "subs {n}, {n}, #1",
                "b.ne 2b",
                "3:",
                "ldr {last}, [{other}]",
                // Store.
                "stp q0, q1, [{o}, #0]", "stp q2, q3, [{o}, #32]",
                "stp q4, q5, [{o}, #64]", "stp q6, q7, [{o}, #96]",
                "stp q8, q9, [{o}, #128]", "stp q10, q11, [{o}, #160]",
                "stp q12, q13, [{o}, #192]", "stp q14, q15, [{o}, #224]",
                "stp q16, q17, [{o}, #256]", "stp q18, q19, [{o}, #288]",
                "stp q20, q21, [{o}, #320]", "stp q22, q23, [{o}, #352]",
                "stp q24, q25, [{o}, #384]", "stp q26, q27, [{o}, #416]",
                "stp q28, q29, [{o}, #448]", "stp q30, q31, [{o}, #480]",
                "mrs {t}, fpcr",
                "str {t}, [{o}, #{fpcr}]",
                "mrs {t}, fpsr",
                "str {t}, [{o}, #{fpsr}]",
                "mrs {t}, tpidr_el0",
                "str {t}, [{o}, #{tpidr}]",
                "msr fpcr, {fpcr0}",
                "msr fpsr, {fpsr0}",
                "msr tpidr_el0, {tpidr0}",
                i = in(reg) &input,
                o = in(reg) &mut output,
                mine = in(reg) mine.as_ptr(),
                other = in(reg) other.as_ptr(),
                done = in(reg) done.as_ptr(),
                limit = in(reg) super::SPIN_LIMIT,
                snap = out(reg) snap,
                last = out(reg) last,
                n = out(reg) _,
                t = out(reg) _,
                fpcr0 = out(reg) _,
                fpsr0 = out(reg) _,
                tpidr0 = out(reg) _,
                fpcr = const offset_of!(Regs, fpcr),
                fpsr = const offset_of!(Regs, fpsr),
                tpidr = const offset_of!(Regs, tpidr),
                out("v0") _, out("v1") _, out("v2") _, out("v3") _,
                out("v4") _, out("v5") _, out("v6") _, out("v7") _,
                out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                out("v12") _, out("v13") _, out("v14") _, out("v15") _,
                out("v16") _, out("v17") _, out("v18") _, out("v19") _,
                out("v20") _, out("v21") _, out("v22") _, out("v23") _,
                out("v24") _, out("v25") _, out("v26") _, out("v27") _,
                out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            )
        };
        (input == output, snap != last)
    }
}
