//! Threads: a closure on a stack of its own, mapped by the kernel (`vmm.Allocate`) with an
//! unmapped guard page below it, so that a stack overflow faults instead of corrupting
//! memory.

use alloc::boxed::Box;

use ostrog_abi::Status;

use crate::sys;

/// Stack size of threads started with [`spawn`].
pub const STACK_SIZE: usize = 64 * 1024;

/// `vmm.Allocate` flag: writable.
const WRITABLE: u32 = 1;

/// A started thread; [`JoinHandle::join`] waits for it and frees its stack. Dropping the
/// handle without joining leaves the thread running and its stack mapped for good.
pub struct JoinHandle {
    id: usize,
    stack: usize,
}

impl JoinHandle {
    /// The kernel's identifier (SID) of the thread.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Waits for the thread to end and returns its exit status.
    pub fn join(self) -> Result<isize, Status> {
        let status = sys::thread_join(self.id)?;
        // The thread has ended: its stack can go.
        let _ = sys::vmm().free(self.stack as u64, STACK_SIZE as u64);
        Ok(status)
    }
}

type Closure = Box<dyn FnOnce() -> isize + Send>;

extern "C" fn trampoline(arg: usize) -> ! {
    // SAFETY: `arg` is the pointer `spawn` leaked from a `Box<Closure>`; it is taken back
    // exactly once, here.
    let f = unsafe { Box::from_raw(arg as *mut Closure) };
    let status = f();
    sys::thread_exit(status)
}

/// Starts `f` on a new thread of this process with the given priority (0-31).
pub fn spawn(
    priority: u8,
    f: impl FnOnce() -> isize + Send + 'static,
) -> Result<JoinHandle, Status> {
    let stack = sys::vmm()
        .allocate(STACK_SIZE as u64, WRITABLE)
        .map_err(sys::call_status)?
        .addr as usize;
    let top = stack + STACK_SIZE;
    let boxed: Box<Closure> = Box::new(Box::new(f));
    let arg = Box::into_raw(boxed) as usize;
    match sys::thread_create(trampoline, top, arg, priority) {
        Ok(id) => Ok(JoinHandle { id, stack }),
        Err(e) => {
            // SAFETY: the thread was not created, so the closure is still ours.
            drop(unsafe { Box::from_raw(arg as *mut Closure) });
            let _ = sys::vmm().free(stack as u64, STACK_SIZE as u64);
            Err(e)
        }
    }
}
