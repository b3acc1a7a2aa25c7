//! The kl.drivers.Pci server: claims, and configuration access to claimed functions.
//!
//! The caller is the SID the kernel stamps on its request, which no process can forge: a
//! function belongs to the process that claimed it until it releases it or ends. The bus
//! manager learns of an end when a claim meets the function (or the claimant's limit): it
//! asks the kernel whether each holder is still alive (`task.Alive`; SIDs are never reused)
//! and takes back what an ended process held, turning the function's bus mastering and
//! decoding off first, since the device may still have been programmed to reach memory the
//! kernel has since freed. Every request on a
//! function the caller has not claimed is `NotClaimed` (EBADF), whoever holds it. A process
//! holds at most [`MAX_CLAIMS`] functions (`NoMemory` beyond), so the claims are bounded by
//! the functions found and by that number per process. Which vendor and device a class may
//! claim is the policy's business: the request carries both ids.
//!
//! Writes: the command register (only the bits in [`COMMAND_WRITABLE`] may change; the
//! status half is passed as written, whose one bits clear error flags), the cache line size
//! and latency timer (the BIST byte is written as 0: no self test starts), the interrupt line
//! byte, and dwords 0x40-0xFC (capabilities: MSI, power management, vendor registers). All
//! else is `NotPermitted` (EPERM): the ids, class and header (read-only), the BARs and the
//! expansion ROM address (which would move the device over any memory; the kernel refuses
//! them too), the CardBus and subsystem dwords and the capabilities pointer.

use alloc::vec::Vec;

use ostrog_abi::Status;
use ostrog_rt::println;

use crate::bus::{self, BarKind, Function};
use crate::config;

// Generated from sysroot/kl/drivers: this program uses only part of it.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_drivers_pci::*;

/// Functions one process may hold at a time.
pub const MAX_CLAIMS: usize = 4;
/// Command register bits a driver may change: I/O space, memory space, bus master, parity
/// error response, SERR# enable, interrupt disable.
pub const COMMAND_WRITABLE: u32 = 0x0001 | 0x0002 | 0x0004 | 0x0040 | 0x0100 | 0x0400;

struct Server {
    /// Every function found (sorted by address); `None` without PCI (AArch64).
    functions: Option<Vec<Function>>,
    /// The SID of the sender of the request being served.
    sid: u64,
}

/// A kernel failure of configuration access, as the errno a driver sees.
fn errno(status: Status) -> i32 {
    match status {
        Status::NotSupported => NO_DEVICE,
        Status::AccessDenied => NOT_PERMITTED,
        _ => INVALID,
    }
}

/// Whether process `sid` has not ended (when the kernel cannot tell: yes, so a claim is
/// never taken from a live holder).
fn alive(sid: u64) -> bool {
    ostrog_rt::sys::tasks()
        .alive(sid)
        .map_or(true, |r| r.live != 0)
}

impl Server {
    /// Takes back every function whose holder has ended: bus mastering and decoding off.
    fn reclaim(&mut self) {
        let Some(functions) = self.functions.as_mut() else {
            return;
        };
        for f in functions.iter_mut().filter(|f| f.owner != 0) {
            if alive(f.owner) {
                continue;
            }
            let command = f.address | 0x04;
            if let Ok(value) = config::read(command) {
                // The status half written as 0 clears nothing.
                let _ = config::write(command, value & 0xffff & !0b111);
            }
            println!(
                "PciBus: {:02x}:{:02x}.{} taken back from ended sid {}",
                f.address >> 16,
                (f.address >> 11) & 0x1f,
                (f.address >> 8) & 0x7,
                f.owner
            );
            f.owner = 0;
        }
    }

    /// The functions found, or `NoDevice` where there is no PCI.
    fn functions(&mut self) -> Result<&mut Vec<Function>, i32> {
        self.functions.as_mut().ok_or(NO_DEVICE)
    }

    /// The caller's claimed function at `address`.
    fn claimed(&mut self, address: u32) -> Result<&Function, i32> {
        let sid = self.sid;
        self.functions()?
            .iter()
            .find(|f| f.address == address && f.owner == sid && sid != 0)
            .ok_or(NOT_CLAIMED)
    }

    /// Checks `offset` and the claim: the dword's configuration address.
    fn dword(&mut self, function: u32, offset: u32) -> Result<u32, i32> {
        if !offset.is_multiple_of(4) || offset >= 256 {
            return Err(INVALID);
        }
        Ok(self.claimed(function)?.address | offset)
    }
}

/// What the dword at `offset` of a claimed function may become when a driver writes
/// `value`, given its `current` value; `None`: refused.
fn filtered_write(offset: u32, current: u32, value: u32) -> Option<u32> {
    match offset {
        0x04 => {
            let command = value & 0xffff;
            let kept = current & 0xffff & !COMMAND_WRITABLE;
            // Bits a driver may not change must be written as they are.
            (command & !COMMAND_WRITABLE == kept).then_some(value)
        }
        // Cache line size and latency timer; header type is read-only, BIST left alone.
        0x0c => Some(value & 0xffff),
        // Interrupt line; pin, MIN_GNT and MAX_LAT are read-only.
        0x3c => Some((current & !0xff) | (value & 0xff)),
        0x40..=0xfc => Some(value),
        _ => None,
    }
}

fn kind(k: BarKind) -> u8 {
    match k {
        BarKind::Unused => BAR_UNUSED,
        BarKind::Mem32 => BAR_MEM32,
        BarKind::Mem64 => BAR_MEM64,
        BarKind::Io => BAR_IO,
    }
}

impl PciServer for Server {
    fn claim(&mut self, r: ClaimRequest) -> Result<ClaimResponse, ClaimError> {
        let fail = |status| ClaimError { status };
        let sid = self.sid;
        self.reclaim();
        let functions = self.functions().map_err(fail)?;
        let held = functions.iter().filter(|f| f.owner == sid).count();
        let index = usize::try_from(r.index).map_err(|_| fail(NO_DEVICE))?;
        let f = functions
            .iter_mut()
            .filter(|f| f.header_type == 0 && f.vendor == r.vendor && f.device == r.device)
            .nth(index)
            .ok_or(fail(NO_DEVICE))?;
        if f.owner != sid {
            if f.owner != 0 {
                return Err(fail(BUSY));
            }
            if held >= MAX_CLAIMS {
                return Err(fail(NO_MEMORY));
            }
            f.owner = sid;
        }
        let bars = core::array::from_fn(|i| {
            let bar = f.bars.get(i).copied().unwrap_or_default();
            Bar {
                address: bar.address,
                size: bar.size,
                kind: kind(bar.kind),
                prefetchable: u8::from(bar.prefetchable),
            }
        });
        Ok(ClaimResponse {
            function: f.address,
            class: f.class,
            bars,
            pin: f.pin,
            line: f.line,
        })
    }

    fn read(&mut self, r: ReadRequest) -> Result<ReadResponse, ReadError> {
        let address = self
            .dword(r.function, r.offset)
            .map_err(|status| ReadError { status })?;
        config::read(address)
            .map(|value| ReadResponse { value })
            .map_err(|s| ReadError { status: errno(s) })
    }

    fn write(&mut self, r: WriteRequest) -> Result<WriteResponse, WriteError> {
        let fail = |status| WriteError { status };
        let address = self.dword(r.function, r.offset).map_err(fail)?;
        let current = config::read(address).map_err(|s| fail(errno(s)))?;
        let value = filtered_write(r.offset, current, r.value).ok_or(fail(NOT_PERMITTED))?;
        config::write(address, value).map_err(|s| fail(errno(s)))?;
        Ok(WriteResponse {})
    }

    fn release(&mut self, r: ReleaseRequest) -> Result<ReleaseResponse, ReleaseError> {
        let sid = self.sid;
        self.claimed(r.function)
            .map_err(|status| ReleaseError { status })?;
        if let Some(f) = self
            .functions
            .iter_mut()
            .flatten()
            .find(|f| f.address == r.function && f.owner == sid)
        {
            f.owner = 0;
        }
        Ok(ReleaseResponse {})
    }
}

impl idl::kl_drivers_pci_bus::PciBusEndpoints for Server {
    fn pci(&mut self) -> &mut dyn PciServer {
        self
    }
}

pub fn main() -> i32 {
    let functions = match bus::walk() {
        Ok(functions) => {
            let bridges = functions.iter().filter(|f| f.header_type == 1).count();
            println!("PciBus: {} functions, {bridges} bridges", functions.len());
            for f in &functions {
                println!(
                    "PciBus: {:02x}:{:02x}.{} {:04x}:{:04x} class {:06x}{}",
                    f.address >> 16,
                    (f.address >> 11) & 0x1f,
                    (f.address >> 8) & 0x7,
                    f.vendor,
                    f.device,
                    f.class,
                    if f.header_type == 0 { "" } else { " (bridge)" }
                );
            }
            Some(functions)
        }
        Err(Status::NotSupported) => {
            println!("PciBus: no PCI configuration space on this machine: every claim is ENODEV");
            None
        }
        Err(e) => {
            println!("PciBus: cannot walk the buses: {}", e.name());
            return 1;
        }
    };
    let mut server = Server { functions, sid: 0 };
    ostrog_rt::server::serve("PciBus", |header, request| {
        server.sid = header.src_sid;
        idl::kl_drivers_pci_bus::dispatch(&mut server, request)
    })
}
