//! The memory and ROMFS core services a Linux personality needs: `vmm.AllocateAt` at fixed
//! addresses, overlaps refused, `Free` and `Protect` of any page range (splitting
//! allocations), no-access pages, the bound on tracked ranges, and `romfs.Read`.
//! Every check prints `memory: FAILED ...` when it does not hold; the last line counts them.
#![no_std]
#![no_main]

use ostrog_abi::layout::{STACK_GUARD, STACK_SIZE, STACK_TOP, USER_END};
use ostrog_abi::Status;
use ostrog_rt::println;
use ostrog_rt::sys::{self, VMM_EXECUTE, VMM_NONE, VMM_WRITE};

ostrog_rt::main!(main);

const PAGE: usize = 4096;
/// Free in every test image: far above the program (linked near 2 MiB), below the window.
const LOW: usize = 0x0800_0000;
/// High in `Allocate`'s window, which fills from its bottom.
const HIGH: usize = 0x6ff0_0000;

static mut FAILED: u32 = 0;

fn fail(what: &str, got: &str) {
    println!("memory: FAILED {what} ({got})");
    // SAFETY: the program has one thread.
    unsafe { FAILED += 1 };
}

fn check(ok: bool, what: &str) {
    if !ok {
        fail(what, "not so");
    }
}

fn expect<T>(result: Result<T, Status>, want: Status, what: &str) {
    match result {
        Err(e) if e == want => {}
        Err(e) => fail(what, e.name()),
        Ok(_) => fail(what, "succeeded"),
    }
}

fn read(addr: usize) -> u8 {
    // SAFETY: the caller names a page it mapped readable.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}

fn write(addr: usize, value: u8) {
    // SAFETY: the caller names a page it mapped writable.
    unsafe { core::ptr::write_volatile(addr as *mut u8, value) }
}

fn fixed_addresses() {
    let code = main as *const () as usize & !(PAGE - 1);
    expect(
        sys::allocate_at(code, PAGE, VMM_WRITE),
        Status::Busy,
        "AllocateAt over the program's code",
    );
    match sys::allocate_at(LOW, 2 * PAGE, VMM_WRITE) {
        Ok(a) => {
            check(a == LOW, "AllocateAt returns its address");
            check(
                read(LOW) == 0 && read(LOW + PAGE + 17) == 0,
                "fresh pages are zero",
            );
            write(LOW + 5, 42);
            check(read(LOW + 5) == 42, "AllocateAt memory is writable");
        }
        Err(e) => fail("AllocateAt low", e.name()),
    }
    expect(
        sys::allocate_at(LOW + PAGE, PAGE, VMM_WRITE),
        Status::Busy,
        "AllocateAt inside an allocation",
    );
    expect(
        sys::allocate_at(LOW - PAGE, 2 * PAGE, VMM_WRITE),
        Status::Busy,
        "AllocateAt overlapping the start of an allocation",
    );
    match sys::allocate_at(HIGH, 3 * PAGE, VMM_WRITE) {
        Ok(a) => check(a == HIGH, "AllocateAt high in the window"),
        Err(e) => fail("AllocateAt high", e.name()),
    }
    expect(
        sys::allocate_at(STACK_TOP - PAGE, PAGE, VMM_WRITE),
        Status::Busy,
        "AllocateAt over the main stack",
    );
    expect(
        sys::allocate_at(STACK_TOP - STACK_SIZE - STACK_GUARD, PAGE, VMM_WRITE),
        Status::Busy,
        "AllocateAt in the stack's guard gap",
    );
    expect(
        sys::allocate_at(LOW + 2 * PAGE + 1, PAGE, VMM_WRITE),
        Status::InvalidArgument,
        "AllocateAt at an unaligned address",
    );
    expect(
        sys::allocate_at(0, PAGE, VMM_WRITE),
        Status::InvalidArgument,
        "AllocateAt at address 0",
    );
    expect(
        sys::allocate_at(USER_END - PAGE, 2 * PAGE, VMM_WRITE),
        Status::InvalidArgument,
        "AllocateAt past the user range",
    );
    expect(
        sys::allocate_at(0xffff_8000_0000_0000, PAGE, VMM_WRITE),
        Status::InvalidArgument,
        "AllocateAt at a kernel address",
    );
    expect(
        sys::allocate_at(LOW + 0x10_0000, usize::MAX, VMM_WRITE),
        Status::InvalidArgument,
        "AllocateAt of a huge size",
    );
    expect(
        sys::allocate_at(LOW + 0x10_0000, PAGE, VMM_WRITE | VMM_EXECUTE),
        Status::InvalidArgument,
        "AllocateAt writable and executable",
    );
    expect(
        sys::allocate_at(LOW + 0x10_0000, PAGE, VMM_NONE | VMM_WRITE),
        Status::InvalidArgument,
        "AllocateAt no-access and writable",
    );
    expect(
        sys::free(LOW, usize::MAX),
        Status::InvalidArgument,
        "Free of a huge size",
    );
    expect(
        sys::protect(LOW, 1 << 40, 0),
        Status::InvalidArgument,
        "Protect of a huge size",
    );
    expect(
        sys::free(LOW + 1, PAGE),
        Status::InvalidArgument,
        "Free at an unaligned address",
    );
    check(
        sys::free(LOW, 2 * PAGE).is_ok(),
        "Free of the low allocation",
    );
    check(
        sys::free(HIGH, 3 * PAGE).is_ok(),
        "Free of the high allocation",
    );
    expect(sys::free(LOW, PAGE), Status::InvalidArgument, "Free twice");
    println!("memory: AllocateAt places memory at fixed addresses, refuses overlaps");
}

fn partial_free() {
    let a = LOW + 0x10_0000;
    if sys::allocate_at(a, 4 * PAGE, VMM_WRITE).is_err() {
        check(false, "AllocateAt of 4 pages");
        return;
    }
    for i in 0..4 {
        write(a + i * PAGE, 10 + i as u8);
    }
    check(sys::free(a + PAGE, PAGE).is_ok(), "Free of the second page");
    match sys::allocate_at(a + PAGE, PAGE, VMM_WRITE) {
        Ok(_) => check(read(a + PAGE) == 0, "a page allocated in the hole is zero"),
        Err(e) => fail("AllocateAt in the hole", e.name()),
    }
    check(
        read(a) == 10 && read(a + 2 * PAGE) == 12 && read(a + 3 * PAGE) == 13,
        "the pages around the hole keep their contents",
    );
    // A range that runs past the allocated pages: refused, nothing freed.
    expect(
        sys::free(a + 3 * PAGE, 2 * PAGE),
        Status::InvalidArgument,
        "Free reaching unallocated pages",
    );
    check(read(a + 3 * PAGE) == 13, "a refused Free frees nothing");
    // Pages from three allocations at once, then the tail of the last one.
    check(
        sys::free(a, 3 * PAGE).is_ok(),
        "Free across three allocations",
    );
    check(
        sys::free(a + 3 * PAGE, PAGE).is_ok(),
        "Free of the last page",
    );
    check(
        sys::allocate_at(a, 4 * PAGE, VMM_WRITE).is_ok(),
        "AllocateAt where everything was freed",
    );
    check(sys::free(a, 4 * PAGE).is_ok(), "Free of it");
    // Part of a window allocation.
    match sys::vmm().allocate(3 * PAGE as u64, VMM_WRITE) {
        Ok(r) => {
            let w = r.addr as usize;
            check(
                sys::free(w + 2 * PAGE, PAGE).is_ok(),
                "Free of an Allocate's tail",
            );
            check(sys::free(w, 2 * PAGE).is_ok(), "Free of the rest");
        }
        Err(e) => fail("Allocate", sys::call_status(e).name()),
    }
    println!("memory: Free of any page range splits allocations; holes can be refilled");
}

fn partial_protect() {
    let a = LOW + 0x20_0000;
    if sys::allocate_at(a, 3 * PAGE, VMM_WRITE).is_err() {
        check(false, "AllocateAt of 3 pages");
        return;
    }
    write(a + PAGE, 77);
    check(sys::protect(a + PAGE, PAGE, 0).is_ok(), "Protect read-only");
    check(read(a + PAGE) == 77, "a read-only page reads");
    expect(
        sys::protect(a + PAGE, PAGE, VMM_WRITE | VMM_EXECUTE),
        Status::InvalidArgument,
        "Protect writable and executable",
    );
    check(
        sys::protect(a + PAGE, PAGE, VMM_NONE).is_ok(),
        "Protect no-access",
    );
    // The kernel cannot reach it either: a futex on it is a bad address.
    expect(
        sys::futex_wait_raw(a + PAGE, 0, 1),
        Status::BadAddress,
        "futex.Wait on a no-access page",
    );
    check(
        read(a) == 0 && read(a + 2 * PAGE) == 0,
        "pages beside a guard page read",
    );
    // The window's first fit must not reuse an inaccessible page.
    match sys::vmm().allocate(PAGE as u64, VMM_NONE) {
        Ok(r) => {
            let guard = r.addr as usize;
            match sys::vmm().allocate(PAGE as u64, VMM_WRITE) {
                Ok(r) => {
                    check(r.addr as usize != guard, "Allocate skips a no-access page");
                    let _ = sys::free(r.addr as usize, PAGE);
                }
                Err(_) => check(false, "Allocate after a no-access Allocate"),
            }
            let _ = sys::free(guard, PAGE);
        }
        Err(_) => check(false, "Allocate of a no-access page"),
    }
    check(
        sys::protect(a + PAGE, PAGE, VMM_WRITE).is_ok(),
        "Protect writable again",
    );
    check(
        read(a + PAGE) == 77,
        "a page keeps its contents while inaccessible",
    );
    check(
        sys::protect(a, 3 * PAGE, 0).is_ok(),
        "Protect all three pages",
    );
    expect(
        sys::protect(a + 2 * PAGE, 2 * PAGE, VMM_WRITE),
        Status::InvalidArgument,
        "Protect reaching unallocated pages",
    );
    let code = main as *const () as usize & !(PAGE - 1);
    expect(
        sys::protect(code, PAGE, VMM_WRITE),
        Status::InvalidArgument,
        "Protect of the program's code",
    );
    check(
        sys::free(a, 3 * PAGE).is_ok(),
        "Free of the protected pages",
    );
    println!("memory: Protect of any page range, no-access pages keep their contents, W^X holds");
}

fn exhaustion() {
    // One allocation split page by page until the bound on tracked ranges refuses.
    const PAGES: usize = 2200;
    let a = LOW + 0x100_0000;
    if sys::allocate_at(a, PAGES * PAGE, VMM_WRITE).is_err() {
        check(false, "AllocateAt of 2200 pages");
        return;
    }
    let mut freed = 0;
    let mut refused = None;
    for i in (1..PAGES).step_by(2) {
        match sys::free(a + i * PAGE, PAGE) {
            Ok(()) => freed += 1,
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
    }
    match refused {
        Some((i, Status::NoMemory)) => {
            check(read(a + i * PAGE) == 0, "a refused split frees nothing");
        }
        Some((_, e)) => fail("split refused with", e.name()),
        None => check(false, "splitting never ran out of tracked ranges"),
    }
    // Each remaining piece (and the tail) freed in one request.
    check(
        sys::free(a, 2 * PAGE).is_ok() || sys::free(a, PAGE).is_ok(),
        "Free of the first piece",
    );
    let mut ok = true;
    let mut va = a + 2 * PAGE;
    while va < a + PAGES * PAGE {
        // Freed pages are refused, allocated ones freed.
        let _ = sys::free(va, PAGE);
        va += PAGE;
    }
    match sys::allocate_at(a, PAGES * PAGE, VMM_WRITE) {
        Ok(_) => ok &= sys::free(a, PAGES * PAGE).is_ok(),
        Err(_) => ok = false,
    }
    check(ok, "everything split was freed again");
    println!("memory: splitting is bounded: {freed} splits, then refused (out of memory)");
}

fn romfs() {
    let (region, size) = match sys::romfs_read("memory") {
        Ok(r) => r,
        Err(e) => {
            fail("romfs.Read of this program", e.name());
            return;
        }
    };
    expect(
        sys::vmm().map(region, VMM_WRITE).map_err(sys::call_status),
        Status::AccessDenied,
        "a writable Map of a ROMFS region",
    );
    match sys::vmm().map(region, 0) {
        Ok(m) => {
            let at = m.addr as usize;
            // SAFETY: the region is mapped readable for `m.size` bytes.
            let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, m.size as usize) };
            let machine: u16 = if cfg!(target_arch = "x86_64") {
                62
            } else {
                183
            };
            check(
                bytes.get(..4) == Some(b"\x7fELF"),
                "the file starts with the ELF magic",
            );
            check(
                bytes.get(18..20) == Some(&machine.to_le_bytes()),
                "the file is an executable for this machine",
            );
            check(
                m.size as usize == size.div_ceil(PAGE) * PAGE && size > 1000,
                "the region holds the whole file",
            );
            check(
                bytes
                    .get(size..)
                    .is_some_and(|rest| rest.iter().all(|&b| b == 0)),
                "the rest of the last page is zero",
            );
            expect(
                sys::protect(at, PAGE, VMM_WRITE),
                Status::InvalidArgument,
                "Protect of a ROMFS mapping",
            );
            expect(
                sys::free(at, PAGE),
                Status::InvalidArgument,
                "Free of part of a ROMFS mapping",
            );
            check(
                sys::free(at, m.size as usize).is_ok(),
                "Free of the mapping",
            );
            println!("memory: romfs.Read gives the file's {size} bytes, read-only");
        }
        Err(e) => fail("Map of a ROMFS region", sys::call_status(e).name()),
    }
    check(sys::handles().close(region).is_ok(), "Close of the region");
    expect(
        sys::romfs_read("no-such-file"),
        Status::NotFound,
        "romfs.Read of a missing file",
    );
    // Many reads without mapping: each is a handle, bounded by the handle table.
    let mut held = 0;
    let mut last = Ok(());
    for _ in 0..5000 {
        match sys::romfs_read("hello") {
            Ok(_) => held += 1,
            Err(e) => {
                last = Err(e);
                break;
            }
        }
    }
    check(last.is_err(), "romfs.Read is bounded");
    println!(
        "memory: romfs.Read of a missing file is refused (not found); {held} regions held, then {}",
        last.err().map_or("none", Status::name)
    );
}

fn main() -> i32 {
    fixed_addresses();
    partial_free();
    partial_protect();
    exhaustion();
    romfs();
    // SAFETY: the program has one thread.
    let failed = unsafe { FAILED };
    println!("memory: done, {failed} failed");
    if failed == 0 {
        0
    } else {
        1
    }
}
