//! Foreign system calls and resumed frames: the kernel's whole part in running programs of
//! another system call ABI (docs/linux.md, "The kernel contract"; [`ostrog_abi::trap`]).
//!
//! A system call with a number that is not native goes to the process's trap entry
//! (`task.TrapEntry`) if it has one: [`deliver`] writes the thread's registers as a
//! [`TrapFrame`] to its user stack and points the thread at the entry. `Reply` on
//! [`ostrog_abi::handle::RESUME`] ([`resume`]) loads a frame the thread wrote back into its
//! registers. A fault of a thread that runs a resumed frame goes to the trap entry the same
//! way ([`deliver_fault`]), with the fault's type in the frame's `kind` and its address in
//! `info`. The kernel learns nothing of the foreign ABI: what a number means is the
//! business of the code at the trap entry, which makes native, judged requests.
//!
//! The decisions are here; the architecture only copies registers between its saved user
//! state ([`UserRegisters`]) and a frame ([`arch::read_user_frame`],
//! [`arch::write_user_frame`]), and all user memory is touched through [`crate::usercopy`].

use ostrog_abi::trap::{
    frame_address, frame_from_bytes, frame_to_bytes, TrapFrame, FRAME_SIZE, NOTIFY, RETURN_SLOT,
    SET_FAULT_STACK, SYSCALL,
};

/// Whether `addr` may be a fault stack's top.
fn user_address(addr: u64) -> bool {
    (ostrog_abi::layout::USER_MIN as u64..=ostrog_abi::layout::USER_END as u64).contains(&addr)
}
use ostrog_abi::Status;

use crate::arch::{self, UserRegisters};
use crate::sid::ThreadId;
use crate::task::{self, TASKS};
use crate::usercopy::{self, UserSlice};

/// Delivers the current thread's foreign system call (the number still in its registers)
/// to its process's trap entry. `NoSuchSyscall` if the process has none. If the frame cannot
/// be written (the stack pointer points at no writable memory), the process ends as on a
/// fault and this does not return.
pub fn deliver(me: ThreadId, regs: &mut UserRegisters) -> Result<(), Status> {
    let mut frame = arch::read_user_frame(regs);
    frame.kind = SYSCALL;
    frame.info = 0;
    let written = {
        let mut tasks = TASKS.lock();
        let process = tasks.process_of(me)?;
        if process.trap_entry == 0 {
            return Err(Status::NoSuchSyscall);
        }
        let entry = process.trap_entry as u64;
        let written = write_frame(&process.space, &frame, frame.sp(), entry);
        if let Some(t) = tasks.threads.get_mut(&me) {
            t.resumed = false;
        }
        written
    };
    match written {
        Ok(entered) => {
            arch::write_user_frame(regs, &entered);
            Ok(())
        }
        Err(_) => {
            task::user_fault(&task::Fault {
                what: "foreign system call with no stack for its trap frame",
                detail: None,
                addr: Some(frame.sp()),
                pc: frame.pc(),
            });
            // `user_fault` does not come back to a thread of a killed process; should it
            // ever, the caller gets an error rather than a half-made delivery.
            Err(Status::BadAddress)
        }
    }
}

/// Delivers a fault of the current thread (`kind`: a `trap::FAULT_*` value with its
/// `ACCESS_*` bits, `info`: the address) to its process's trap entry, as a frame like a
/// foreign system call's with the program counter of the faulting instruction. Only a
/// thread running a frame it resumed gets its faults delivered ([`task::Thread::resumed`]):
/// `false` (no trap entry, a fault of the trap entry's code or before the first resume, or
/// no room for the frame), and the caller ends the process as for any fault.
pub fn deliver_fault(regs: &mut UserRegisters, kind: u64, info: u64) -> bool {
    let Some(me) = crate::sched::current() else {
        return false;
    };
    let mut frame = arch::read_user_frame(regs);
    frame.kind = kind;
    frame.info = info;
    let written = {
        let mut tasks = TASKS.lock();
        let Ok(process) = tasks.process_of(me) else {
            return false;
        };
        let entry = process.trap_entry as u64;
        let Some(thread) = tasks.threads.get(&me) else {
            return false;
        };
        if entry == 0 || !thread.resumed {
            return false;
        }
        let fault_stack = thread.fault_stack;
        let entered = write_frame(&process.space, &frame, frame.sp(), entry).or_else(|e| {
            if fault_stack == 0 {
                return Err(e);
            }
            write_frame(&process.space, &frame, fault_stack, entry)
        });
        let Ok(entered) = entered else {
            return false;
        };
        if let Some(t) = tasks.threads.get_mut(&me) {
            t.resumed = false;
        }
        entered
    };
    arch::write_user_frame(regs, &written);
    true
}

/// On the current thread's way back to user mode (after a system call, an interrupt or an
/// exception, once the scheduler has let it run): if it runs a resumed frame and a
/// notification it accepts is pending for its process ([`crate::notify`]), the bits are
/// taken and the thread enters the trap entry with a frame of kind [`NOTIFY`] (`info` the
/// bits) holding its registers as they were. Nothing happens if the frame cannot be written
/// (the bits stay pending; a fault of the program's will follow soon enough).
pub fn deliver_notification(regs: &mut UserRegisters) {
    if !crate::notify::work() {
        return;
    }
    let Some(me) = crate::sched::current() else {
        return;
    };
    let entered = {
        let mut tasks = TASKS.lock();
        let Some(thread) = tasks.threads.get(&me) else {
            return;
        };
        let (mask, resumed, fault_stack, pid) = (
            thread.notify_mask,
            thread.resumed,
            thread.fault_stack,
            thread.process,
        );
        let Some(process) = tasks.processes.get_mut(&pid) else {
            return;
        };
        let bits = process.notify.pending & mask;
        if bits == 0 || !resumed || process.trap_entry == 0 || process.ended {
            crate::notify::recheck_work(&tasks);
            return;
        }
        let mut frame = arch::read_user_frame(regs);
        frame.kind = NOTIFY;
        frame.info = bits;
        let entry = process.trap_entry as u64;
        let entered = write_frame(&process.space, &frame, frame.sp(), entry).or_else(|e| {
            if fault_stack == 0 {
                return Err(e);
            }
            write_frame(&process.space, &frame, fault_stack, entry)
        });
        let Ok(entered) = entered else {
            return;
        };
        process.notify.pending &= !bits;
        if let Some(t) = tasks.threads.get_mut(&me) {
            t.resumed = false;
        }
        crate::notify::recheck_work(&tasks);
        entered
    };
    arch::write_user_frame(regs, &entered);
}

/// Writes `frame` (with a zero return slot below it) under the stack pointer `sp` in `space`;
/// the registers that enter `entry` with it, checked like a resumed frame so that only user
/// flags reach the entry.
fn write_frame(
    space: &arch::AddressSpace,
    frame: &TrapFrame,
    sp: u64,
    entry: u64,
) -> Result<TrapFrame, Status> {
    frame_address(sp, FRAME_SIZE)
        .and_then(|at| at.checked_sub(RETURN_SLOT as u64).map(|below| (at, below)))
        .ok_or(Status::BadAddress)
        .and_then(|(at, below)| {
            // The return slot (zero) and the frame, in one write.
            let mut bytes = [0u8; RETURN_SLOT + FRAME_SIZE];
            bytes[RETURN_SLOT..].copy_from_slice(&frame_to_bytes(frame));
            let target = UserSlice::new(below as usize, bytes.len());
            usercopy::copy_to_user(space, target, &bytes)?;
            frame.entered(entry, at).sanitized()
        })
}

/// `Reply(RESUME, frame, len)`: the current thread continues with every register of the
/// frame at `frame` once it is read and checked ([`TrapFrame::sanitized`]). A wrong length
/// or a bad frame is an error and changes nothing.
pub fn resume(me: ThreadId, frame: UserSlice, regs: &mut UserRegisters) -> Result<(), Status> {
    if frame.len() != FRAME_SIZE {
        return Err(Status::InvalidArgument);
    }
    let mut bytes = [0u8; FRAME_SIZE];
    {
        let tasks = TASKS.lock();
        let process = tasks.process_of(me)?;
        usercopy::copy_from_user(&process.space, &mut bytes, frame)?;
    }
    let checked: TrapFrame = frame_from_bytes(&bytes).sanitized()?;
    let fault_stack = match checked.kind {
        SET_FAULT_STACK if checked.info == 0 || user_address(checked.info) => Some(checked.info),
        SET_FAULT_STACK => return Err(Status::InvalidArgument),
        _ => None,
    };
    arch::write_user_frame(regs, &checked);
    if let Some(t) = TASKS.lock().threads.get_mut(&me) {
        t.resumed = true;
        if let Some(top) = fault_stack {
            t.fault_stack = top;
        }
    }
    Ok(())
}
