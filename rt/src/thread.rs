//! Threads: a closure on a stack taken from the heap.

use alloc::boxed::Box;
use alloc::vec::Vec;

use ostrog_abi::Status;

use crate::sys;

/// Stack size of threads started with [`spawn`].
pub const STACK_SIZE: usize = 64 * 1024;

/// A started thread; [`JoinHandle::join`] waits for it and frees its stack. Dropping the
/// handle without joining leaves the thread running and its stack allocated for good.
pub struct JoinHandle {
    id: usize,
    stack: Option<Vec<u128>>,
}

impl Drop for JoinHandle {
    fn drop(&mut self) {
        // The thread may still run on this stack: never free it without a join.
        core::mem::forget(self.stack.take());
    }
}

impl JoinHandle {
    /// The kernel's identifier (SID) of the thread.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Waits for the thread to end and returns its exit status.
    pub fn join(mut self) -> Result<isize, Status> {
        let status = sys::thread_join(self.id)?;
        // The thread has ended: its stack is free again.
        drop(self.stack.take());
        Ok(status)
    }
}

extern "C" fn trampoline(arg: usize) -> ! {
    // SAFETY: `arg` is the pointer `spawn` leaked from a `Box<Box<dyn FnOnce() -> isize>>`;
    // it is taken back exactly once, here.
    let f = unsafe { Box::from_raw(arg as *mut Box<dyn FnOnce() -> isize + Send>) };
    let status = f();
    sys::thread_exit(status)
}

/// Starts `f` on a new thread of this process with the given priority (0-31).
pub fn spawn(
    priority: u8,
    f: impl FnOnce() -> isize + Send + 'static,
) -> Result<JoinHandle, Status> {
    let stack: Vec<u128> = alloc::vec![0; STACK_SIZE / 16];
    let top = stack.as_ptr() as usize + STACK_SIZE;
    let boxed: Box<Box<dyn FnOnce() -> isize + Send>> = Box::new(Box::new(f));
    let arg = Box::into_raw(boxed) as usize;
    match sys::thread_create(trampoline, top, arg, priority) {
        Ok(id) => Ok(JoinHandle {
            id,
            stack: Some(stack),
        }),
        Err(e) => {
            // SAFETY: the thread was not created, so the closure is still ours.
            drop(unsafe { Box::from_raw(arg as *mut Box<dyn FnOnce() -> isize + Send>) });
            Err(e)
        }
    }
}
