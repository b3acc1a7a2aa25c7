//! `task.Fork`: a new process that is a copy of the caller.
//!
//! The copy has the caller's class, name, arguments, priority ceiling and trap entry, a copy
//! of its handle table (same numbers and rights; see [`crate::object::HandleTable::fork_copy`])
//! and a copy of its address space, and one thread, created not running, that enters user
//! mode at the `pc`, `sp` and argument the caller names, with the calling thread's extended
//! registers (FP/SIMD and the TLS register: `fs_base` / `tpidr_el0`) and fault stack. It
//! runs once the caller starts it with `task.Start`, the judged `execute` event.
//!
//! Memory is copied eagerly: every page of the caller's own (program image, stacks,
//! `vmm.Allocate`/`AllocateAt` memory, guard pages included) gets a new frame with the same
//! contents and rights. Pages of shared regions (`vmm.Share`, `vmm.Map`, ROMFS files) are
//! mapped again, not copied: both processes see the same frames, and the region counts the
//! new mapping. A process holding device registers (`io.MapMmio`) cannot be copied
//! (`NotSupported`). Every frame of the copy (pages, page tables, the thread's kernel stack)
//! is charged to the child's own account, nested in the caller's, so the caller's memory
//! limit bounds every generation of copies; running out is `NoMemory` and leaves nothing
//! behind. The kernel runs on one CPU with interrupts off and holds the task lock for the
//! whole copy, so the copy is a snapshot even while other threads of the caller run.

use alloc::vec::Vec;

use ostrog_abi::layout;
use ostrog_abi::Status;

use crate::arch::{self, AddressSpace};
use crate::boot::PhysAddr;
use crate::core_endpoints::vmm::Backing;
use crate::mm::{frame, PAGE_SIZE};
use crate::quota::Quota;
use crate::sid::{ProcessId, RegionId, ThreadId};
use crate::task::{Process, Tasks, TASKS};

/// Creates the copy of the process of `thread` (see the module); its SID. The new process is
/// not started.
pub fn fork(thread: ThreadId, pc: usize, sp: usize, arg: usize) -> Result<ProcessId, Status> {
    let user = layout::USER_MIN..layout::USER_END;
    if !user.contains(&pc) || !user.contains(&sp) {
        return Err(Status::InvalidArgument);
    }
    let mut tasks = TASKS.lock();
    let (parent, priority, fault_stack) = {
        let t = tasks.threads.get(&thread).ok_or(Status::NoSuchThread)?;
        (t.process, t.priority, t.fault_stack)
    };
    let p = tasks.processes.get(&parent).ok_or(Status::NoSuchThread)?;
    if p.ended {
        return Err(Status::NoSuchThread);
    }
    // Device registers and DMA memory cannot be copied: a device knows only the original.
    if p.allocations
        .iter()
        .any(|a| matches!(a.backing, Backing::Device | Backing::Dma))
    {
        return Err(Status::NotSupported);
    }
    // Everything the copy is made of is charged to its own account, nested in the caller's
    // (the account charged for this request).
    let account = frame::OwnedAccount::open(frame::default_limit()).ok_or(Status::NoMemory)?;
    let _charging = frame::charge_to(account.id());
    let shared: Vec<(usize, usize, RegionId)> = p
        .allocations
        .iter()
        .filter_map(|a| match a.backing {
            Backing::Region(r) => Some((a.start, a.end(), r)),
            _ => None,
        })
        .collect();
    let space = copy_space(&p.space, &shared)?;
    let child = Process {
        sid: ProcessId::new(),
        name: p.name.clone(),
        class: p.class.clone(),
        class_id: p.class_id,
        space,
        handles: p.handles.fork_copy(),
        args: p.args.clone(),
        env: p.env.clone(),
        started: false,
        ceiling: p.ceiling,
        allocations: p.allocations.clone(),
        threads: Vec::new(),
        ended: false,
        quota: Quota::new(
            crate::quota::MESSAGES_PER_PROCESS.saturating_mul(crate::ipc::max_message()),
        ),
        trap_entry: p.trap_entry,
        frames: account,
        // Handles given before a start: a copy is not given any (it has the caller's).
        given: Vec::new(),
        // No notification carries over; the caller is the copy's creator (`task.Parent`).
        notify: crate::notify::ProcessNotify {
            creator: Some(parent),
            ..Default::default()
        },
    };
    let sid = child.sid;
    for &(_, _, region) in &shared {
        if let Some(r) = tasks.regions.get_mut(&region) {
            r.mappings += 1;
        }
    }
    tasks.processes.insert(sid, child);
    match tasks.create_waiting_thread(sid, pc, sp, arg, priority) {
        Ok(t) => {
            if let Some(t) = tasks.threads.get_mut(&t) {
                // The caller's registers are live on the CPU while it is in the kernel.
                t.extended.save();
                t.fault_stack = fault_stack;
            }
            Ok(sid)
        }
        Err(e) => {
            discard(&mut tasks, sid);
            Err(e)
        }
    }
}

/// Removes a copy that never ran: its region mappings are given back and its own frames
/// freed with its address space.
pub fn discard(tasks: &mut Tasks, sid: ProcessId) {
    let threads = tasks
        .processes
        .get(&sid)
        .map(|p| p.threads.clone())
        .unwrap_or_default();
    for t in threads {
        tasks.discard_unstarted_thread(t);
    }
    if let Some(mut p) = tasks.processes.remove(&sid) {
        crate::core_endpoints::vmm::unmap_regions(&mut p, &mut tasks.regions);
        drop(p);
    }
}

/// A copy of `space`: new frames with the same contents for private pages, the same frames
/// for the pages of `shared` ranges. All or nothing: on failure every frame taken is freed
/// and no shared frame is.
fn copy_space(
    space: &AddressSpace,
    shared: &[(usize, usize, RegionId)],
) -> Result<AddressSpace, Status> {
    let mut copy = AddressSpace::new().ok_or(Status::NoMemory)?;
    let mut mapped_shared: Vec<usize> = Vec::new();
    let mut failed = None;
    space.for_each_page(|va, from, access| {
        let is_shared = shared.iter().any(|&(s, e, _)| (s..e).contains(&va));
        let result = if is_shared {
            mapped_shared.push(va);
            copy.map(va, from, access).map_err(|_| Status::NoMemory)
        } else {
            copy_page(&mut copy, va, from, access)
        };
        if let Err(e) = result {
            if is_shared {
                mapped_shared.pop();
            }
            failed = Some(e);
        }
        failed.is_none()
    });
    match failed {
        None => Ok(copy),
        Some(e) => {
            // The region's frames are not the copy's to free.
            for va in mapped_shared {
                let _ = copy.unmap(va);
            }
            drop(copy);
            Err(e)
        }
    }
}

/// Maps a new frame at `va` in `copy` holding the contents of frame `from`.
fn copy_page(
    copy: &mut AddressSpace,
    va: usize,
    from: PhysAddr,
    access: crate::mm::Access,
) -> Result<(), Status> {
    let to = frame::alloc().ok_or(Status::NoMemory)?;
    // SAFETY: both are whole RAM frames in the direct map: `from` is mapped in the caller's
    // address space (only read here), `to` was just allocated and is nobody else's.
    unsafe {
        core::ptr::copy_nonoverlapping(
            arch::phys_to_virt(from) as *const u8,
            arch::phys_to_virt(to),
            PAGE_SIZE,
        );
    }
    if copy.map(va, to, access).is_err() {
        frame::free(to);
        return Err(Status::NoMemory);
    }
    Ok(())
}
