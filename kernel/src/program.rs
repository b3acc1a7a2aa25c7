//! Starting programs: from an ELF file in the ROMFS to a process with a running thread.
//!
//! The ELF file is validated completely by `ostrog-loader` (header, every segment: bounds,
//! overlap, alignment, W^X) before anything is allocated; a refused file is reported with the
//! loader's reason and nothing is left behind. Then each segment's pages are allocated,
//! filled from the file (the rest zeroed), and mapped with the segment's rights; the main
//! thread's stack is mapped below [`layout::STACK_TOP`] with an unmapped guard gap below it.

use alloc::string::String;
use alloc::vec::Vec;

use ostrog_abi::layout;
use ostrog_loader::{Executable, Machine};

use crate::arch::{self, AddressSpace};
use crate::boot::PhysAddr;
use crate::cmdline::CommandLine;
use crate::mm::{frame, Access, MapError, PAGE_SIZE};
use crate::object::HandleTable;
use crate::quota::Quota;
use crate::romfs;
use crate::sid::ProcessId;
use crate::task::{Process, TASKS};

/// Why a program could not be started.
#[derive(Debug)]
pub enum StartError {
    NotFound,
    Invalid(ostrog_loader::Error),
    /// A segment overlaps the stack or its guard gap.
    OverlapsStack,
    OutOfMemory,
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::NotFound => write!(f, "no such file in the ROMFS"),
            StartError::Invalid(e) => write!(f, "invalid executable: {e}"),
            StartError::OverlapsStack => write!(f, "a segment overlaps the stack area"),
            StartError::OutOfMemory => write!(f, "out of memory"),
        }
    }
}

impl From<MapError> for StartError {
    fn from(e: MapError) -> Self {
        match e {
            MapError::OutOfMemory => StartError::OutOfMemory,
            // The loader guarantees page-disjoint segments inside the user range.
            _ => StartError::OverlapsStack,
        }
    }
}

/// Allocates, fills and maps one page; `fill` writes its contents through the direct map.
fn map_page(
    space: &mut AddressSpace,
    va: usize,
    access: Access,
    fill: impl FnOnce(&mut [u8]),
) -> Result<(), StartError> {
    let frame_addr = frame::alloc().ok_or(StartError::OutOfMemory)?;
    // SAFETY: the frame was just allocated (zeroed) and is ours alone until mapped.
    let page =
        unsafe { core::slice::from_raw_parts_mut(arch::phys_to_virt(frame_addr), PAGE_SIZE) };
    fill(page);
    if let Err(e) = space.map(va, frame_addr, access) {
        frame::free(PhysAddr(frame_addr.0));
        return Err(e.into());
    }
    Ok(())
}

fn build_space(elf: &[u8], exe: &Executable) -> Result<AddressSpace, StartError> {
    let mut space = AddressSpace::new().ok_or(StartError::OutOfMemory)?;
    let stack_low = layout::STACK_TOP - layout::STACK_SIZE - layout::STACK_GUARD;
    for seg in exe.segments() {
        let start = seg.vaddr - seg.vaddr % PAGE_SIZE;
        let end = (seg.vaddr + seg.memsz).next_multiple_of(PAGE_SIZE);
        if start < layout::STACK_TOP && end > stack_low {
            return Err(StartError::OverlapsStack);
        }
        let access = Access {
            write: seg.writable,
            execute: seg.executable,
            device: false,
            none: false,
        };
        let file = elf.get(seg.offset..seg.offset + seg.filesz).unwrap_or(&[]);
        for va in (start..end).step_by(PAGE_SIZE) {
            map_page(&mut space, va, access, |page| {
                // Copy the part of the segment's file bytes that falls in this page.
                for (i, byte) in page.iter_mut().enumerate() {
                    let at = va + i;
                    if at >= seg.vaddr {
                        if let Some(b) = file.get(at - seg.vaddr) {
                            *byte = *b;
                        }
                    }
                }
            })?;
        }
    }
    let stack = Access {
        write: true,
        execute: false,
        device: false,
        none: false,
    };
    for va in (layout::STACK_TOP - layout::STACK_SIZE..layout::STACK_TOP).step_by(PAGE_SIZE) {
        map_page(&mut space, va, stack, |_| {})?;
    }
    Ok(space)
}

fn machine() -> Machine {
    #[cfg(target_arch = "x86_64")]
    return Machine::X86_64;
    #[cfg(target_arch = "aarch64")]
    return Machine::Aarch64;
}

/// Creates a process named `name` of class `class` (the security module's number
/// `class_id`) from the ROMFS file `file`. Its main thread waits until the process is started
/// (the `execute` event, see [`crate::core_endpoints`]). `priority` is its ceiling and the main
/// thread's priority.
pub fn create(
    name: &str,
    class: &str,
    file: &str,
    class_id: u32,
    priority: u8,
) -> Result<ProcessId, StartError> {
    let elf = romfs::find(file).ok_or(StartError::NotFound)?;
    create_from(name, class, elf, class_id, priority)
}

/// Like [`create`], from the ELF image `elf` (a kernel copy of a file the caller read from
/// wherever it keeps programs: `task.CreateFrom`).
pub fn create_from(
    name: &str,
    class: &str,
    elf: &[u8],
    class_id: u32,
    priority: u8,
) -> Result<ProcessId, StartError> {
    let exe = Executable::parse(elf, machine()).map_err(StartError::Invalid)?;
    // Everything the new process is made of is charged to its own account, nested in the
    // creator's (the account charged now).
    let account =
        frame::OwnedAccount::open(frame::default_limit()).ok_or(StartError::OutOfMemory)?;
    let _charging = frame::charge_to(account.id());
    let space = build_space(elf, &exe)?;
    let sid = ProcessId::new();
    let mut tasks = TASKS.lock();
    tasks.processes.insert(
        sid,
        Process {
            sid,
            name: String::from(name),
            class: String::from(class),
            class_id,
            space,
            handles: HandleTable::default(),
            args: Vec::new(),
            env: Vec::new(),
            given: Vec::new(),
            started: false,
            ceiling: priority,
            allocations: Vec::new(),
            threads: Vec::new(),
            ended: false,
            quota: Quota::new(
                crate::quota::MESSAGES_PER_PROCESS.saturating_mul(crate::ipc::max_message()),
            ),
            trap_entry: 0,
            notify: Default::default(),
            frames: account,
        },
    );
    match tasks.create_waiting_thread(sid, exe.entry(), layout::STACK_TOP, 0, priority) {
        Ok(_) => Ok(sid),
        Err(_) => {
            tasks.processes.remove(&sid);
            Err(StartError::OutOfMemory)
        }
    }
}

/// The programs the kernel starts itself: those named by `ostrog.start=a,b,...`, or `Einit`
/// if the ROMFS has it.
pub fn initial<'a>(cmdline: &CommandLine<'a>) -> Vec<&'a str> {
    match cmdline.get("ostrog.start") {
        Some(list) => list.split(',').filter(|n| !n.is_empty()).collect(),
        None if romfs::find("Einit").is_some() => alloc::vec!["Einit"],
        None => Vec::new(),
    }
}
