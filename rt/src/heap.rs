//! The program heap: a fixed arena in the program's own `.bss`, managed by
//! `linked_list_allocator`.
//!
//! Programs cannot ask the kernel for more memory yet (that arrives with the memory core
//! endpoint), so the arena is sized for what the system programs and tests need.

use linked_list_allocator::LockedHeap;

/// Size of the heap arena.
pub const HEAP_SIZE: usize = 512 * 1024;

#[repr(align(4096))]
struct Arena([u8; HEAP_SIZE]);

static mut ARENA: Arena = Arena([0; HEAP_SIZE]);

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

pub(crate) fn init() {
    // SAFETY: called once, before `main`, before anything allocates; the arena is used by
    // the allocator alone from here on.
    unsafe {
        HEAP.lock()
            .init(core::ptr::addr_of_mut!(ARENA.0).cast::<u8>(), HEAP_SIZE);
    }
}

/// Bytes of the heap arena in use now (allocated and not yet freed), for a program that
/// reports its own memory (a server checking it returns to its baseline).
pub fn used() -> usize {
    HEAP.lock().used()
}

/// Runs `f` with the heap locked: no other thread of the process is inside the allocator
/// meanwhile (`f` must not allocate). For `task.Fork`, so that the copy's heap is whole.
pub(crate) fn locked<R>(f: impl FnOnce() -> R) -> R {
    let _guard = HEAP.lock();
    f()
}

/// In a process made by `task.Fork` ([`crate::sys::fork`]): the heap lock, held by the
/// forking thread when memory was copied, is free again.
///
/// # Safety
///
/// Only on the first thread of a forked process, before anything allocates.
pub(crate) unsafe fn unlock_after_fork() {
    // SAFETY: the caller's contract: the lock was held by the forking thread, which does not
    // exist in this process, and no other thread runs here yet.
    unsafe { HEAP.force_unlock() };
}
