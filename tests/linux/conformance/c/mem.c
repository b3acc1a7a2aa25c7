/* c-mem: memory calls (brk, mmap, munmap, mprotect, madvise, mremap). A fault would end
 * the program, so a page's state is checked without touching it where it may be gone:
 * by mapping at its address again with MAP_FIXED_NOREPLACE (which succeeds only where
 * nothing is mapped). */
#include "conf.h"
#include <stdint.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static long page;

static void *anon(void *hint, size_t len, int prot, int flags) {
    return mmap(hint, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

/* 1 when nothing is mapped at the page `p`. */
static int unmapped(void *p) {
    void *q = anon(p, page, PROT_READ, MAP_FIXED_NOREPLACE);
    if (q == MAP_FAILED) {
        return 0;
    }
    munmap(q, page);
    return q == p;
}

static long brk_now(void) { return syscall(SYS_brk, 0); }

int main(void) {
    conf_start("c-mem");
    page = sysconf(_SC_PAGESIZE);
    CHECK("pagesize_4096", page, 4096);

    long b0 = brk_now();
    CHECK("brk_query_nonzero", b0 != 0, 1);
    CHECK("brk_grow", syscall(SYS_brk, b0 + 3 * page), b0 + 3 * page);
    volatile char *heap = (volatile char *)b0;
    heap[0] = 1;
    heap[3 * page - 1] = 2;
    CHECK("brk_grown_memory_writable", heap[0] + heap[3 * page - 1], 3);
    CHECK("brk_shrink", syscall(SYS_brk, b0 + page), b0 + page);
    CHECK("brk_query_after_shrink", brk_now(), b0 + page);
    CHECK("brk_regrow_is_zeroed", syscall(SYS_brk, b0 + 3 * page) == b0 + 3 * page &&
                                      heap[3 * page - 1] == 0, 1);
    CHECK("brk_below_start_unchanged", syscall(SYS_brk, b0 - 64 * page), b0 + 3 * page);
    syscall(SYS_brk, b0);

    unsigned char *a = anon(NULL, 4 * page, PROT_READ | PROT_WRITE, 0);
    CHECK("mmap_anon_succeeds", a != MAP_FAILED, 1);
    CHECK("mmap_anon_page_aligned", (uintptr_t)a % page, 0);
    long sum = 0;
    for (long i = 0; i < 4 * page; i++) {
        sum += a[i];
    }
    CHECK("mmap_anon_zeroed", sum, 0);
    memset(a, 0x5a, 4 * page);
    CHECK("mmap_anon_writable", a[4 * page - 1], 0x5a);
    CHECK_ERR("mmap_zero_length_einval", anon(NULL, 0, PROT_READ, 0), EINVAL);
    CHECK_ERR("mmap_no_private_or_shared_einval",
              mmap(NULL, page, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK_ERR("mmap_fixed_misaligned_einval", anon(a + 1, page, PROT_READ, MAP_FIXED), EINVAL);
    CHECK_ERR("mmap_file_bad_fd_ebadf", mmap(NULL, page, PROT_READ, MAP_PRIVATE, 77, 0), EBADF);

    unsigned char *f = anon(a + page, page, PROT_READ | PROT_WRITE, MAP_FIXED);
    CHECK("mmap_fixed_returns_address", f == a + page, 1);
    CHECK("mmap_fixed_replaces_with_zeroes", a[page] + a[2 * page - 1], 0);
    CHECK("mmap_fixed_keeps_neighbours", a[0] + a[2 * page], 0xb4);
    CHECK_ERR("mmap_fixed_noreplace_eexist", anon(a, page, PROT_READ, MAP_FIXED_NOREPLACE),
              EEXIST);

    CHECK_RES("munmap_middle_page", munmap(a + 2 * page, page), 0);
    CHECK("munmap_page_is_gone", unmapped(a + 2 * page), 1);
    CHECK("munmap_neighbour_stays", a[3 * page] + unmapped(a + 3 * page), 0x5a);
    CHECK_ERR("munmap_misaligned_einval", munmap(a + 1, page), EINVAL);
    CHECK_ERR("munmap_zero_length_einval", munmap(a, 0), EINVAL);
    CHECK_RES("munmap_unmapped_range_succeeds", munmap(a + 2 * page, page), 0);

    CHECK_RES("mprotect_read_only", mprotect(a, page, PROT_READ), 0);
    CHECK("mprotect_read_only_still_readable", a[0], 0x5a);
    CHECK_RES("mprotect_back_to_writable", mprotect(a, page, PROT_READ | PROT_WRITE), 0);
    a[0] = 7;
    CHECK("mprotect_writable_again", a[0], 7);
    CHECK_RES("mprotect_none_then_back", mprotect(a, page, PROT_NONE) == 0 &&
                                             mprotect(a, page, PROT_READ) == 0 && a[0] == 7, 1);
    CHECK_ERR("mprotect_misaligned_einval", syscall(SYS_mprotect, a + 1, page, PROT_READ), EINVAL);
    CHECK_ERR("mprotect_unmapped_enomem", mprotect(a + 2 * page, page, PROT_READ), ENOMEM);
    CHECK_ERR("mprotect_unknown_bits_einval", mprotect(a, page, 0x100), EINVAL);

    unsigned char *d = anon(NULL, 2 * page, PROT_READ | PROT_WRITE, 0);
    memset(d, 9, 2 * page);
    CHECK_RES("madvise_dontneed", madvise(d, page, MADV_DONTNEED), 0);
    CHECK("madvise_dontneed_zeroes", d[0] + d[page - 1], 0);
    CHECK("madvise_dontneed_keeps_rest", d[page], 9);
    CHECK_RES("madvise_willneed_hint", madvise(d, 2 * page, MADV_WILLNEED), 0);
    CHECK_ERR("madvise_misaligned_einval", madvise(d + 1, page, MADV_NORMAL), EINVAL);
    CHECK_ERR("madvise_unknown_advice_einval", madvise(d, page, 12345), EINVAL);
    CHECK_ERR("madvise_unmapped_enomem", madvise(a + 2 * page, page, MADV_NORMAL), ENOMEM);

    unsigned char *r = mremap(d, 2 * page, 4 * page, MREMAP_MAYMOVE);
    CHECK("mremap_grow_maymove", r != MAP_FAILED && r[page] == 9, 1);
    unsigned char *g = anon(NULL, 3 * page, PROT_READ | PROT_WRITE, 0);
    munmap(g + page, 2 * page);
    g[0] = 4;
    CHECK("mremap_grow_in_place", mremap(g, page, 2 * page, 0) == g && g[0] == 4 &&
                                       g[2 * page - 1] == 0, 1);
    unsigned char *wall = anon(g + 2 * page, page, PROT_READ, MAP_FIXED);
    CHECK_ERR("mremap_blocked_without_maymove_enomem", mremap(g, 2 * page, 3 * page, 0), ENOMEM);
    CHECK("mremap_shrink_same_address", mremap(g, 2 * page, page, 0) == g, 1);
    CHECK("mremap_shrink_frees_tail", unmapped(g + page), 1);
    CHECK_ERR("mremap_unknown_flag_einval", mremap(g, page, 2 * page, 0x80), EINVAL);
    CHECK_ERR("mremap_misaligned_einval", mremap(g + 1, page, 2 * page, MREMAP_MAYMOVE), EINVAL);
    munmap(wall, page);
    return conf_end();
}
