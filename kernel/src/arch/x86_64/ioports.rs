//! x86 I/O ports for user processes: the TSS's I/O permission bitmap.
//!
//! User threads run with IOPL 0, so every `in`/`out` in user mode is checked against the
//! bitmap that follows the TSS ([`super::cpu`]): a set bit denies the port (#GP, which kills
//! the process). The bitmap is all ones except for the port ranges of the running process.
//! Instead of copying 8 KiB on a switch, the ranges last let through are remembered and
//! denied again, then the new process's ranges are cleared; a switch between processes
//! without ports costs nothing.

use spin::Mutex;

use super::cpu::{IO_BITMAP_BYTES, TSS};

/// Ranges remembered as loaded; a process with more (the `io` endpoint allows fewer) makes
/// the next switch reset the whole bitmap.
const TRACKED: usize = 16;

/// Inclusive port ranges currently let through by the bitmap; if not `exact`, unknown (the
/// next change resets the whole bitmap).
struct Loaded {
    ranges: [(u16, u16); TRACKED],
    len: usize,
    exact: bool,
}

static LOADED: Mutex<Loaded> = Mutex::new(Loaded {
    ranges: [(0, 0); TRACKED],
    len: 0,
    exact: true,
});

/// Sets (deny) or clears (allow) the bits of ports `first..=last`.
fn patch(first: u16, last: u16, deny: bool) {
    for port in first..=last {
        let byte = usize::from(port / 8);
        let bit = 1u8 << (port % 8);
        if byte >= IO_BITMAP_BYTES {
            break;
        }
        // SAFETY: only a raw pointer to the static is made, no reference; `byte` is inside
        // the bitmap (checked above); the CPU reads the bitmap only
        // on a user-mode port access, which cannot run while the kernel (interrupts off, one
        // CPU) updates it.
        unsafe {
            let p = core::ptr::addr_of_mut!(TSS.io_bitmap)
                .cast::<u8>()
                .add(byte);
            let value = p.read_volatile();
            p.write_volatile(if deny { value | bit } else { value & !bit });
        }
    }
}

/// Makes the bitmap let through exactly `ranges` (inclusive port ranges) of the process
/// about to run; every other port is denied. Called by the scheduler on every switch to a
/// user thread, and by `io.ClaimPorts` for the running process.
pub fn set_io_ports(ranges: &[(u16, u16)]) {
    let mut loaded = LOADED.lock();
    if loaded.exact && loaded.ranges.get(..loaded.len) == Some(ranges) {
        return;
    }
    if loaded.exact {
        for &(first, last) in loaded.ranges.iter().take(loaded.len) {
            patch(first, last, true);
        }
    } else {
        patch(0, u16::MAX, true);
    }
    for &(first, last) in ranges {
        patch(first, last, false);
    }
    loaded.len = 0;
    loaded.exact = ranges.len() <= TRACKED;
    if loaded.exact {
        for (slot, &range) in loaded.ranges.iter_mut().zip(ranges) {
            *slot = range;
        }
        loaded.len = ranges.len();
    }
}
