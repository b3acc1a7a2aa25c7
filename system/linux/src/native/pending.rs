//! The kernel contract of docs/linux.md that this tree does not have yet (other branches
//! add it): the trap frame, `handle::RESUME`, `task.TrapEntry`, `vmm.AllocateAt` and the
//! no-access flag, `romfs.Read`, `futex.Wait`/`futex.Wake`.
//!
//! MERGE: this whole module goes when those branches are merged. `TrapFrame` becomes
//! `ostrog_abi::trap::TrapFrame`, `RESUME` `ostrog_abi::handle::RESUME`, and the hand-encoded
//! requests below the generated proxies of `ostrog_rt::sys` (their endpoint and method
//! indices here are the expected ones: new methods appended to their interfaces, `romfs` and
//! `futex` appended to `kl.core.Core`).

use linux::request;
use ostrog_abi::message::HandleSlot;
use ostrog_abi::{handle, syscall, Status, TIMEOUT_FOREVER};
use ostrog_rt::sys;

/// `handle::RESUME`: `Reply` on it resumes the calling thread with a frame.
pub const RESUME: u32 = 0xfffe_0000;

/// `vmm` flag: no access (guard pages, `PROT_NONE`). MERGE: the `mem` branch's value.
pub const VMM_NONE: u32 = 4;

// MERGE: endpoint and method indices of the new core requests.
const RIID_TASK: u32 = 0;
const MID_TASK_TRAP_ENTRY: u32 = 7;
const RIID_VMM: u32 = 4;
const MID_VMM_ALLOCATE_AT: u32 = 5;
const RIID_ROMFS: u32 = 9;
const MID_ROMFS_READ: u32 = 0;
const RIID_FUTEX: u32 = 10;
const MID_FUTEX_WAIT: u32 = 0;
const MID_FUTEX_WAKE: u32 = 1;

/// The registers of a thread at a Linux system call (`ostrog_abi::trap::TrapFrame`).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct TrapFrame {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    pub fs_base: u64,
    pub kind: u64,
    pub info: u64,
}

/// The registers of a thread at a Linux system call (`ostrog_abi::trap::TrapFrame`).
#[cfg(target_arch = "aarch64")]
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct TrapFrame {
    pub x: [u64; 31],
    pub sp: u64,
    pub pc: u64,
    pub pstate: u64,
    pub tpidr_el0: u64,
    pub kind: u64,
    pub info: u64,
}

// The layouts of docs/linux.md: 21 and 37 `u64`s.
#[cfg(target_arch = "x86_64")]
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 21 * 8);
#[cfg(target_arch = "aarch64")]
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 37 * 8);

#[cfg(target_arch = "x86_64")]
impl TrapFrame {
    /// The first frame of a program: everything zero but pc and sp (rdx = 0: no function
    /// for `atexit`), interrupts enabled.
    pub fn start(pc: u64, sp: u64) -> TrapFrame {
        TrapFrame {
            rip: pc,
            rsp: sp,
            rflags: 0x202,
            ..TrapFrame::default()
        }
    }
    pub fn number(&self) -> u64 {
        self.rax
    }
    pub fn args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }
    pub fn set_result(&mut self, v: i64) {
        self.rax = v as u64;
    }
    pub fn sp(&self) -> u64 {
        self.rsp
    }
    pub fn set_sp(&mut self, sp: u64) {
        self.rsp = sp;
    }
    pub fn tls(&self) -> u64 {
        self.fs_base
    }
    pub fn set_tls(&mut self, tls: u64) {
        self.fs_base = tls;
    }
}

#[cfg(target_arch = "aarch64")]
impl TrapFrame {
    /// The first frame of a program: everything zero but pc and sp, EL0t.
    pub fn start(pc: u64, sp: u64) -> TrapFrame {
        TrapFrame {
            pc,
            sp,
            ..TrapFrame::default()
        }
    }
    pub fn number(&self) -> u64 {
        self.x[8]
    }
    pub fn args(&self) -> [u64; 6] {
        [
            self.x[0], self.x[1], self.x[2], self.x[3], self.x[4], self.x[5],
        ]
    }
    pub fn set_result(&mut self, v: i64) {
        self.x[0] = v as u64;
    }
    pub fn sp(&self) -> u64 {
        self.sp
    }
    pub fn set_sp(&mut self, sp: u64) {
        self.sp = sp;
    }
    pub fn tls(&self) -> u64 {
        self.tpidr_el0
    }
    pub fn set_tls(&mut self, tls: u64) {
        self.tpidr_el0 = tls;
    }
}

/// Continues the calling thread with every register from `frame`. Returns only if the
/// kernel refused the frame.
pub fn resume(frame: &TrapFrame) -> Status {
    let (result, _) = sys::raw(
        syscall::REPLY,
        [
            RESUME as usize,
            frame as *const TrapFrame as usize,
            core::mem::size_of::<TrapFrame>(),
            0,
            0,
            0,
        ],
    );
    Status::from_result(result)
        .err()
        .unwrap_or(Status::InvalidArgument)
}

/// A core request of `fixed` parameters and an optional string; the response's fixed part
/// (into `out_fixed`) and first handle slot.
fn core_call(
    riid: u32,
    mid: u32,
    fixed: &[u8],
    string: Option<&[u8]>,
    out_fixed: &mut [u8],
) -> Result<Option<HandleSlot>, Status> {
    let mut request = [0u8; 256];
    let len =
        request::encode(riid, mid, fixed, string, &mut request).ok_or(Status::InvalidArgument)?;
    let mut response = [0u8; 128];
    let n = sys::call(
        handle::CORE,
        &request[..len],
        &mut response,
        TIMEOUT_FOREVER,
    )?;
    request::decode(riid, mid, &response[..n], out_fixed).map_err(|s| {
        Status::from_result(s as isize)
            .err()
            .unwrap_or(Status::InvalidArgument)
    })
}

/// `task.TrapEntry(entry)`.
pub fn set_trap_entry(entry: usize) -> Result<(), Status> {
    core_call(
        RIID_TASK,
        MID_TASK_TRAP_ENTRY,
        &(entry as u64).to_le_bytes(),
        None,
        &mut [],
    )
    .map(|_| ())
}

/// `vmm.AllocateAt(addr, size, flags)`.
pub fn allocate_at(addr: u64, size: u64, flags: u32) -> Result<(), Status> {
    let mut fixed = [0u8; 20];
    fixed[..8].copy_from_slice(&addr.to_le_bytes());
    fixed[8..16].copy_from_slice(&size.to_le_bytes());
    fixed[16..].copy_from_slice(&flags.to_le_bytes());
    core_call(RIID_VMM, MID_VMM_ALLOCATE_AT, &fixed, None, &mut []).map(|_| ())
}

/// `romfs.Read(path)`: a handle to a read-only region holding the file.
pub fn romfs_read(path: &[u8]) -> Result<HandleSlot, Status> {
    let mut out = [0u8; 8];
    core_call(RIID_ROMFS, MID_ROMFS_READ, &[], Some(path), &mut out)?.ok_or(Status::InvalidArgument)
}

/// `futex.Wait(addr, expected, timeout_ns)` (`u64::MAX`: no time-out).
pub fn futex_wait(addr: u64, expected: u32, timeout_ns: u64) -> Result<(), Status> {
    let mut fixed = [0u8; 24];
    fixed[..8].copy_from_slice(&addr.to_le_bytes());
    fixed[8..12].copy_from_slice(&expected.to_le_bytes());
    fixed[16..].copy_from_slice(&timeout_ns.to_le_bytes());
    core_call(RIID_FUTEX, MID_FUTEX_WAIT, &fixed, None, &mut []).map(|_| ())
}

/// `futex.Wake(addr, count)`: how many threads woke.
pub fn futex_wake(addr: u64, count: u32) -> Result<u32, Status> {
    let mut fixed = [0u8; 12];
    fixed[..8].copy_from_slice(&addr.to_le_bytes());
    fixed[8..].copy_from_slice(&count.to_le_bytes());
    let mut out = [0u8; 4];
    core_call(RIID_FUTEX, MID_FUTEX_WAKE, &fixed, None, &mut out)?;
    Ok(u32::from_le_bytes(out))
}
