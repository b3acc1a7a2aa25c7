//! Kernel memory charged to the process that made the kernel allocate it.
//!
//! A program must not be able to exhaust the kernel heap for everyone. What a program can
//! make the kernel allocate in proportion to what it sends, the kernel's copies of its
//! messages (held during its system call, or queued on a server's endpoint until a server
//! thread receives them), is charged to that program's [`Quota`]: a copy that would exceed
//! it is refused with `NoMemory` before anything is allocated, and the heap itself is asked
//! fallibly, so running out is an error to the caller, never a kernel panic. A charge is
//! returned when its [`MessageBuf`] is dropped, on every path (delivered, refused,
//! cancelled, or the thread ended while it waited).
//!
//! The physical frames a program makes the kernel allocate are charged to its frame account
//! ([`crate::mm::frame`]), bounded by its memory limit. So are the kernel objects a program
//! has another make for it at run time, a channel or an endpoint `channel.Link` creates
//! ([`ObjectCharge`]): their bytes count against the limit in whole frames, until the object
//! goes.
//!
//! Everything else a program can create is bounded by count instead, each bound in the
//! module that owns the object: threads per process ([`crate::task`]), handles per table
//! ([`crate::object`]), mapped ranges per process ([`crate::core_endpoints::vmm`]), one pending
//! call per thread ([`crate::ipc`]), and the audit log's fixed ring ([`crate::security`]).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicUsize, Ordering};

use ostrog_abi::Status;

use crate::mm::frame::{self, AccountId};

/// Kernel memory a process may hold in message copies, in largest messages: enough for
/// several threads in `Call` at once, small enough that dozens of processes cannot exhaust
/// the kernel heap.
pub const MESSAGES_PER_PROCESS: usize = 4;

/// One process's allowance of kernel memory.
pub struct Quota {
    used: AtomicUsize,
    limit: usize,
}

impl Quota {
    /// A new allowance of `limit` bytes, shared by the process's threads.
    pub fn new(limit: usize) -> Arc<Quota> {
        Arc::new(Quota {
            used: AtomicUsize::new(0),
            limit,
        })
    }

    fn charge(&self, bytes: usize) -> Result<(), Status> {
        let used = self.used.load(Ordering::Relaxed);
        match used.checked_add(bytes) {
            Some(total) if total <= self.limit => {
                self.used.store(total, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(Status::NoMemory),
        }
    }

    fn release(&self, bytes: usize) {
        let used = self.used.load(Ordering::Relaxed);
        self.used
            .store(used.saturating_sub(bytes), Ordering::Relaxed);
    }
}

/// A kernel copy of a message, charged to a process until it is dropped.
pub struct MessageBuf {
    bytes: Vec<u8>,
    charged: usize,
    quota: Arc<Quota>,
}

impl MessageBuf {
    /// `len` zeroed bytes charged to `quota`, reusing `spare` if it is large enough.
    pub fn zeroed(
        quota: &Arc<Quota>,
        len: usize,
        spare: Option<Vec<u8>>,
    ) -> Result<MessageBuf, Status> {
        quota.charge(len)?;
        let mut bytes = match spare {
            Some(mut buf) if buf.capacity() >= len => {
                buf.clear();
                buf
            }
            _ => {
                let mut buf = Vec::new();
                if buf.try_reserve_exact(len).is_err() {
                    quota.release(len);
                    return Err(Status::NoMemory);
                }
                buf
            }
        };
        bytes.resize(len, 0);
        Ok(MessageBuf {
            bytes,
            charged: len,
            quota: quota.clone(),
        })
    }

    /// `bytes` the kernel made for a process (a core endpoint's answer), charged to it.
    pub fn adopt(quota: &Arc<Quota>, bytes: Vec<u8>) -> Result<MessageBuf, Status> {
        quota.charge(bytes.capacity())?;
        Ok(MessageBuf {
            charged: bytes.capacity(),
            bytes,
            quota: quota.clone(),
        })
    }

    /// The buffer, no longer charged (to keep as a thread's spare).
    pub fn into_vec(mut self) -> Vec<u8> {
        core::mem::take(&mut self.bytes)
    }
}

impl Drop for MessageBuf {
    fn drop(&mut self) {
        self.quota.release(self.charged);
    }
}

impl Deref for MessageBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl DerefMut for MessageBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

/// Kernel heap bytes of an object made for a process at run time (a channel or endpoint
/// `channel.Link` creates), charged to that process's frame account until dropped with the
/// object ([`frame::charge_bytes`]).
pub struct ObjectCharge {
    account: AccountId,
    bytes: u64,
}

impl ObjectCharge {
    /// Charges `bytes` to `account`; `NoMemory` past its limit.
    pub fn new(account: AccountId, bytes: usize) -> Result<ObjectCharge, Status> {
        let bytes = bytes as u64;
        if !frame::charge_bytes(account, bytes) {
            return Err(Status::NoMemory);
        }
        Ok(ObjectCharge { account, bytes })
    }
}

impl Drop for ObjectCharge {
    fn drop(&mut self) {
        frame::release_bytes(self.account, self.bytes);
    }
}
