//! rs-mem: memory calls, issued raw (brk, mmap, munmap, mprotect, madvise). A page that
//! may be gone is never touched: whether something is mapped at an address is asked with
//! `MAP_FIXED_NOREPLACE` there.

use conformance_rs::errno::*;
use conformance_rs::{nr, sys, Conf};

const PAGE: u64 = 4096;
const READ: u64 = 1;
const WRITE: u64 = 2;
const EXEC: u64 = 4;
const PRIVATE: u64 = 0x02;
const SHARED: u64 = 0x01;
const FIXED: u64 = 0x10;
const ANON: u64 = 0x20;
const NOREPLACE: u64 = 0x10_0000;

/// `mmap(addr, len, prot, flags, -1, 0)`.
unsafe fn mmap(addr: u64, len: u64, prot: u64, flags: u64) -> i64 {
    sys(nr::MMAP, &[addr, len, prot, flags, u64::MAX, 0])
}

/// Whether nothing is mapped at the page `addr`.
unsafe fn unmapped(addr: u64) -> bool {
    let r = mmap(addr, PAGE, READ, PRIVATE | ANON | NOREPLACE);
    if r >= 0 {
        sys(nr::MUNMAP, &[r as u64, PAGE]);
    }
    r == addr as i64
}

fn main() {
    let c = Conf::new("rs-mem");
    // SAFETY (every call below): the program touches only memory the calls just mapped
    // and checked, and passes bad addresses only where the kernel must refuse them.
    unsafe {
        // The break moves with nothing printed in between: the C library's allocator
        // (stdout's buffer, on the first line) may use the break too.
        let b0 = sys(nr::BRK, &[0]) as u64;
        let grown = sys(nr::BRK, &[b0 + 2 * PAGE]);
        let heap = b0 as *mut u8;
        let usable = grown == (b0 + 2 * PAGE) as i64 && {
            heap.add(2 * PAGE as usize - 1).write_volatile(3);
            heap.add(2 * PAGE as usize - 1).read_volatile() == 3
        };
        let back = sys(nr::BRK, &[b0]);
        let huge = sys(nr::BRK, &[b0 + (1 << 40)]);
        c.check_true("brk_query", b0 != 0);
        c.check("brk_grow_two_pages", grown, (b0 + 2 * PAGE) as i64);
        c.check_true("brk_memory_usable", usable);
        c.check("brk_back_to_start", back, b0 as i64);
        c.check("brk_huge_refused_unchanged", huge, b0 as i64);

        let a = mmap(0, 8 * PAGE, READ | WRITE, PRIVATE | ANON);
        c.check_true("mmap_anon", a > 0 && (a as u64).is_multiple_of(PAGE));
        let a = a as u64;
        let at = |i: u64| (a + i) as *mut u8;
        let zeroed = (0..8 * PAGE).all(|i| at(i).read_volatile() == 0);
        c.check_true("mmap_anon_zeroed", zeroed);
        for i in 0..8 * PAGE {
            at(i).write_volatile(0x11);
        }
        let s = mmap(0, PAGE, READ | WRITE, SHARED | ANON);
        c.check_true(
            "mmap_shared_anon",
            s > 0 && (s as *const u8).read_volatile() == 0,
        );
        c.check_err(
            "mmap_zero_length_einval",
            mmap(0, 0, READ, PRIVATE | ANON),
            EINVAL,
        );
        c.check_err(
            "mmap_misaligned_offset_einval",
            sys(nr::MMAP, &[0, PAGE, READ, PRIVATE | ANON, u64::MAX, 1]),
            EINVAL,
        );
        c.check_err(
            "mmap_fixed_noreplace_taken_eexist",
            mmap(a, PAGE, READ, PRIVATE | ANON | NOREPLACE),
            EEXIST,
        );
        c.check(
            "mmap_fixed_over_existing",
            mmap(a + 2 * PAGE, 2 * PAGE, READ | WRITE, PRIVATE | ANON | FIXED),
            (a + 2 * PAGE) as i64,
        );
        c.check_true(
            "mmap_fixed_fresh_zero_pages",
            at(2 * PAGE).read_volatile() == 0 && at(4 * PAGE - 1).read_volatile() == 0,
        );
        c.check_true(
            "mmap_fixed_neighbours_kept",
            at(2 * PAGE - 1).read_volatile() == 0x11 && at(4 * PAGE).read_volatile() == 0x11,
        );
        c.check_err(
            "mmap_file_unopened_fd_ebadf",
            sys(nr::MMAP, &[0, PAGE, READ, PRIVATE, 55, 0]),
            EBADF,
        );

        c.check(
            "munmap_two_pages",
            sys(nr::MUNMAP, &[a + 6 * PAGE, 2 * PAGE]),
            0,
        );
        c.check_true(
            "munmap_pages_gone",
            unmapped(a + 6 * PAGE) && unmapped(a + 7 * PAGE),
        );
        c.check_true("munmap_rest_stays", !unmapped(a + 5 * PAGE));
        c.check_err(
            "munmap_misaligned_einval",
            sys(nr::MUNMAP, &[a + 1, PAGE]),
            EINVAL,
        );
        c.check_err(
            "munmap_kernel_address_einval",
            sys(nr::MUNMAP, &[1 << 63, PAGE]),
            EINVAL,
        );

        c.check("mprotect_read_only", sys(nr::MPROTECT, &[a, PAGE, READ]), 0);
        c.check("mprotect_readable", at(0).read_volatile() as i64, 0x11);
        c.check("mprotect_none", sys(nr::MPROTECT, &[a, PAGE, 0]), 0);
        c.check(
            "mprotect_none_keeps_contents",
            match sys(nr::MPROTECT, &[a, PAGE, READ | WRITE]) {
                0 => at(0).read_volatile() as i64,
                e => e,
            },
            0x11,
        );
        c.check_err(
            "mprotect_unmapped_enomem",
            sys(nr::MPROTECT, &[a + 6 * PAGE, PAGE, READ]),
            ENOMEM,
        );
        c.check_err(
            "mprotect_misaligned_einval",
            sys(nr::MPROTECT, &[a + 8, PAGE, READ]),
            EINVAL,
        );
        c.check(
            "mprotect_exec_only",
            sys(nr::MPROTECT, &[a + 5 * PAGE, PAGE, READ | EXEC]),
            0,
        );

        c.check(
            "madvise_dontneed",
            sys(nr::MADVISE, &[a + PAGE, PAGE, 4]),
            0,
        );
        c.check_true(
            "madvise_dontneed_zero_fill",
            at(PAGE).read_volatile() == 0 && at(2 * PAGE - 1).read_volatile() == 0,
        );
        c.check(
            "madvise_dontneed_others_kept",
            at(PAGE - 1).read_volatile() as i64,
            0x11,
        );
        c.check("madvise_normal", sys(nr::MADVISE, &[a, PAGE, 0]), 0);
        c.check_err(
            "madvise_bad_advice_einval",
            sys(nr::MADVISE, &[a, PAGE, 999]),
            EINVAL,
        );
        c.check_err(
            "madvise_unmapped_enomem",
            sys(nr::MADVISE, &[a + 6 * PAGE, PAGE, 0]),
            ENOMEM,
        );
        c.check("munmap_all", sys(nr::MUNMAP, &[a, 8 * PAGE]), 0);
        c.check_true("munmap_all_gone", unmapped(a) && unmapped(a + 5 * PAGE));
    }
    c.done();
}
