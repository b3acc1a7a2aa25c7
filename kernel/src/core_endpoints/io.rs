//! `io`: device access for drivers.
//!
//! `MapMmio` maps device registers into the caller, uncached and never executable. The range
//! must lie outside everything the boot memory map describes (RAM, reserved and firmware
//! ranges) and outside the devices the kernel drives itself (console, interrupt
//! controllers), so a driver can never reach memory or the kernel's own hardware this way.
//! Which process may map which device is the policy's business (`request ... endpoint=io,
//! method=MapMmio { assert (message.phys == ...) }`). Mapped registers are never a message
//! buffer: `usercopy` refuses device pages.
//!
//! `ClaimIrq` makes an interrupt line the caller's ([`crate::irq`]): a handle to the IRQ
//! object, which names it in `WaitIrq` (block until the line fired; the line is masked from
//! a firing until the next wait) and `ReleaseIrq`. Only the claiming process may wait for
//! the line; the handle cannot be transferred or duplicated. Which process may claim which
//! line is again the policy's business (`method=ClaimIrq { assert (message.line == ...) }`).
//!
//! `ClaimPorts` gives the caller x86 I/O ports `first..first+count` (`in`/`out` in user
//! mode): the scheduler loads the running process's ranges into the TSS's I/O permission
//! bitmap ([`crate::arch::set_io_ports`]) and every other port faults (#GP, the process is
//! killed). A port belongs to one process at a time (`Busy`, also for the caller's own
//! ranges), the ports the kernel drives are refused (`AccessDenied`, see
//! [`crate::arch::ports_claimable`]), `count` 0 or a range past port 0xFFFF is
//! `InvalidArgument`, and a process holds at most [`MAX_PORT_RANGES`] ranges (`NoMemory`).
//! Ports are released when the process ends. Which process may claim which ports is the
//! policy's business (`method=ClaimPorts { assert (message.first == ...) }`). AArch64 has no
//! I/O ports: there `ClaimPorts` answers [`Status::NotSupported`].
//!
//! `AllocDma` gives the caller physically contiguous, zeroed memory a device can reach by
//! DMA (virtqueues, buffers): at most [`MAX_DMA`] bytes at a time, mapped writable and never
//! executable, charged to the caller's memory account like any allocation (`NoMemory` at its
//! limit or when no run of free frames is long enough), with its physical address. It is the
//! caller's own memory: `FreeDma` (or `vmm.Free` of the whole allocation) frees it, and so
//! does the end of the process; it cannot be shared, split, re-protected or forked. Only the
//! driver that programs a device with the address makes it DMA: the kernel hands out no one
//! else's memory. Which process may allocate DMA memory is the policy's business
//! (`method=AllocDma`).
//!
//! `PciRead` and `PciWrite` reach PCI configuration space (x86_64; the ports 0xCF8-0xCFF stay
//! the kernel's): one dword at `bus << 16 | device << 11 | function << 8 | offset`, offset a
//! multiple of 4 below 256 (`InvalidArgument` otherwise). Reads of any function are harmless
//! (an absent one reads all ones). A write is refused (`AccessDenied`) to the registers whose
//! holder would place devices anywhere in physical memory: the BARs (0x10-0x27), the
//! expansion ROM address (0x30) and every register of a bridge (header type other than 0),
//! which routes whole address windows. The BARs keep what the firmware assigned. Enabling bus
//! mastering (the command register) stays possible: that is the DMA a policy trusts a driver
//! with by granting it the device (docs/devices.md). Which process may write which function
//! is the policy's business (`method=PciWrite { assert (message.address ...) }`). Elsewhere
//! both answer `NotSupported`.
//!
//! `PciBarSize` gives what no write may reveal: the size of the region a BAR decodes. Sizing
//! writes all ones to the BAR and reads it back, which would move the device anywhere in
//! physical memory if a process could do it, so the kernel does it in one piece
//! ([`crate::arch::pci_bar_probe`]: decoding off, interrupts off, BAR and command register
//! restored) and gives only the size. Only a type-0 header's BARs (0x10-0x24) are sized; the
//! upper dword of a 64-bit BAR is `InvalidArgument` (its lower dword gives the whole size).
//! This is what a PCI bus manager (system/pcibus) needs to tell drivers their BARs.

use ostrog_abi::Status;

use super::vmm::Backing;
use super::{code, Caller, Handover};
use crate::idl::kl_core_io::{
    AllocDmaError, AllocDmaRequest, AllocDmaResponse, ClaimIrqError, ClaimIrqRequest,
    ClaimIrqResponse, ClaimPortsError, ClaimPortsRequest, ClaimPortsResponse, FreeDmaError,
    FreeDmaRequest, FreeDmaResponse, IoServer, MapMmioError, MapMmioRequest, MapMmioResponse,
    PciBarSizeError, PciBarSizeRequest, PciBarSizeResponse, PciReadError, PciReadRequest,
    PciReadResponse, PciWriteError, PciWriteRequest, PciWriteResponse, ReleaseIrqError,
    ReleaseIrqRequest, ReleaseIrqResponse, WaitIrqError, WaitIrqRequest, WaitIrqResponse,
};
use crate::idl::spec_rt::Handle;
use crate::mm::PAGE_SIZE;
use crate::object::Object;
use crate::sid::IrqId;
use crate::task::TASKS;

/// Largest register window one `MapMmio` maps.
pub const MAX_MMIO: u64 = 16 * 1024 * 1024;
/// Largest DMA allocation (one `AllocDma`).
pub const MAX_DMA: u64 = 4 * 1024 * 1024;
/// Port ranges one process may hold.
pub const MAX_PORT_RANGES: usize = 16;

impl Caller {
    /// The IRQ object a handle of the caller names.
    fn irq(&self, handle: u32) -> Result<IrqId, Status> {
        let tasks = TASKS.lock();
        let p = tasks
            .processes
            .get(&self.process)
            .ok_or(Status::NoSuchThread)?;
        match p.handles.get(handle)?.object {
            Object::Irq(sid) => Ok(sid),
            _ => Err(Status::BadHandle),
        }
    }
}

/// A PCI configuration address the requests take: 24 bits, dword-aligned.
fn pci_address(address: u32) -> Result<u32, Status> {
    if !crate::arch::PCI_CONFIG {
        return Err(Status::NotSupported);
    }
    if address >> 24 != 0 || !address.is_multiple_of(4) {
        return Err(Status::InvalidArgument);
    }
    Ok(address)
}

/// Whether configuration dword `address` may be written by a process: not a BAR, not the
/// expansion ROM address, nothing of a bridge.
fn pci_writable(address: u32) -> bool {
    let function = address & !0xff;
    let offset = address & 0xff;
    // Header type: bits 16-22 of dword 0x0C (bit 23 says multi-function).
    let header_type = (crate::arch::pci_config_read(function | 0x0c) >> 16) & 0x7f;
    header_type == 0 && !(0x10..0x28).contains(&offset) && offset != 0x30
}

/// First and last BAR dwords of a type-0 header.
const BAR_FIRST: u32 = 0x10;
const BAR_LAST: u32 = 0x24;

/// The size the probe read-back of a BAR gives: `low` the BAR's read-back, `high` the upper
/// dword's for a 64-bit memory BAR. 0 for a BAR that decodes nothing.
fn bar_size(original: u32, low: u32, high: Option<u32>) -> u64 {
    if original & 1 == 1 {
        // I/O: bits 2-31 (a device may implement only the low 16).
        let mut mask = low & !0b11;
        if mask == 0 {
            return 0;
        }
        if mask >> 16 == 0 {
            mask |= 0xffff_0000;
        }
        return u64::from((!mask).wrapping_add(1));
    }
    let low = u64::from(low & !0b1111);
    let mask = match high {
        Some(high) => (u64::from(high) << 32) | low,
        None if low == 0 => 0,
        // A 32-bit BAR's size lies in its 32 bits.
        None => 0xffff_ffff_0000_0000 | low,
    };
    if mask == 0 {
        return 0;
    }
    (!mask).wrapping_add(1)
}

/// Whether a BAR's value says it is a 64-bit memory BAR (type 0b10).
fn bar_is_wide(value: u32) -> bool {
    value & 1 == 0 && (value >> 1) & 0b11 == 0b10
}

/// The size of BAR dword `address` of a type-0 function (see the module's documentation).
fn pci_bar_size(address: u32) -> Result<u64, Status> {
    let address = pci_address(address)?;
    let function = address & !0xff;
    let offset = address & 0xff;
    if !(BAR_FIRST..=BAR_LAST).contains(&offset) {
        return Err(Status::InvalidArgument);
    }
    let id = crate::arch::pci_config_read(function);
    if id & 0xffff == 0xffff {
        // No function there.
        return Err(Status::NotFound);
    }
    let header_type = (crate::arch::pci_config_read(function | 0x0c) >> 16) & 0x7f;
    if header_type != 0 {
        return Err(Status::InvalidArgument);
    }
    // Walk the BARs from the first: a dword that is the upper half of a 64-bit BAR is not a
    // BAR of its own.
    let mut at = BAR_FIRST;
    while at < offset {
        let step = if bar_is_wide(crate::arch::pci_config_read(function | at)) {
            8
        } else {
            4
        };
        at = at.saturating_add(step);
    }
    if at != offset {
        return Err(Status::InvalidArgument);
    }
    let original = crate::arch::pci_config_read(address);
    let wide = bar_is_wide(original);
    if wide && offset == BAR_LAST {
        // A 64-bit BAR without room for its upper half: a broken device.
        return Err(Status::InvalidArgument);
    }
    let (low, high) = crate::arch::pci_bar_probe(address, wide);
    Ok(bar_size(original, low, wide.then_some(high)))
}

/// Prints the device ranges no process may map (the boot banner).
pub fn print_reserved() {
    print!("io: device ranges kept from drivers:");
    for (start, end) in crate::arch::kernel_devices() {
        print!(" {start:#x}-{:#x}", end.saturating_sub(1));
    }
    println!();
}

/// Whether `[start, end)` may be mapped as device registers by a process.
fn mappable(start: u64, end: u64) -> bool {
    !crate::mm::overlaps_memory(start, end)
        && !crate::arch::kernel_devices().any(|(s, e)| start < e && s < end)
}

impl IoServer for Caller {
    fn map_mmio(&mut self, r: MapMmioRequest) -> Result<MapMmioResponse, MapMmioError> {
        (|| {
            let page = PAGE_SIZE as u64;
            if r.size == 0 || r.size > MAX_MMIO {
                return Err(Status::InvalidArgument);
            }
            let start = r.phys & !(page - 1);
            let end = r
                .phys
                .checked_add(r.size)
                .and_then(|e| e.checked_next_multiple_of(page))
                .ok_or(Status::InvalidArgument)?;
            // Physical addresses above 2^48 exist on neither architecture's page tables.
            if end > 1 << 48 || !mappable(start, end) {
                return Err(Status::AccessDenied);
            }
            let count =
                usize::try_from((end - start) / page).map_err(|_| Status::InvalidArgument)?;
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            let addr = super::vmm::map_device(p, start, count, true)?;
            self.handover = Handover::Mapped { start: addr };
            Ok(MapMmioResponse {
                addr: addr as u64 + (r.phys - start),
            })
        })()
        .map_err(|s| MapMmioError { status: code(s) })
    }

    fn claim_irq(&mut self, r: ClaimIrqRequest) -> Result<ClaimIrqResponse, ClaimIrqError> {
        (|| {
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            let sid = crate::irq::claim(r.line, self.process)?;
            // Neither transferable nor duplicable: the line stays with its owner.
            let rights = 0;
            match p.handles.insert(Object::Irq(sid), rights, None) {
                Ok(number) => {
                    self.handover = Handover::Handle(number);
                    Ok(ClaimIrqResponse {
                        irq: Handle {
                            handle: number,
                            rights_and_mode: rights,
                        },
                    })
                }
                Err(e) => {
                    drop(tasks);
                    let _ = crate::irq::release(self.process, sid);
                    Err(e)
                }
            }
        })()
        .map_err(|s| ClaimIrqError { status: code(s) })
    }

    fn wait_irq(&mut self, r: WaitIrqRequest) -> Result<WaitIrqResponse, WaitIrqError> {
        (|| {
            let sid = self.irq(r.irq.handle)?;
            crate::irq::wait(self.thread, self.process, sid, r.timeoutms)?;
            Ok(WaitIrqResponse {})
        })()
        .map_err(|s| WaitIrqError { status: code(s) })
    }

    fn release_irq(&mut self, r: ReleaseIrqRequest) -> Result<ReleaseIrqResponse, ReleaseIrqError> {
        (|| {
            let sid = self.irq(r.irq.handle)?;
            crate::irq::release(self.process, sid)?;
            let mut tasks = TASKS.lock();
            if let Some(p) = tasks.processes.get_mut(&self.process) {
                let _ = p.handles.remove(r.irq.handle);
            }
            Ok(ReleaseIrqResponse {})
        })()
        .map_err(|s| ReleaseIrqError { status: code(s) })
    }

    fn claim_ports(&mut self, r: ClaimPortsRequest) -> Result<ClaimPortsResponse, ClaimPortsError> {
        (|| {
            // Without I/O ports at all (AArch64) the answer is NotSupported, whatever asked.
            crate::arch::ports_claimable(0, 0).or_else(|s| match s {
                Status::NotSupported => Err(s),
                _ => Ok(()),
            })?;
            if r.count == 0 {
                return Err(Status::InvalidArgument);
            }
            let last = r
                .first
                .checked_add(r.count - 1)
                .ok_or(Status::InvalidArgument)?;
            crate::arch::ports_claimable(r.first, last)?;
            let mut tasks = TASKS.lock();
            if !tasks.processes.contains_key(&self.process) {
                return Err(Status::NoSuchThread);
            }
            let overlaps = |&(s, e): &(u16, u16)| r.first <= e && s <= last;
            if tasks.io_ports.values().flatten().any(overlaps) {
                return Err(Status::Busy);
            }
            let ranges = tasks.io_ports.entry(self.process).or_default();
            if ranges.len() >= MAX_PORT_RANGES {
                return Err(Status::NoMemory);
            }
            ranges.push((r.first, last));
            // The caller is running: its ports work as soon as the call returns.
            if crate::sched::current() == Some(self.thread) {
                crate::arch::set_io_ports(ranges);
            }
            Ok(ClaimPortsResponse {})
        })()
        .map_err(|s| ClaimPortsError { status: code(s) })
    }

    fn alloc_dma(&mut self, r: AllocDmaRequest) -> Result<AllocDmaResponse, AllocDmaError> {
        (|| {
            if r.size == 0 || r.size > MAX_DMA {
                return Err(Status::InvalidArgument);
            }
            let count = usize::try_from(r.size.div_ceil(PAGE_SIZE as u64))
                .map_err(|_| Status::InvalidArgument)?;
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get_mut(&self.process)
                .ok_or(Status::NoSuchThread)?;
            let (start, phys) = super::vmm::map_dma(p, count)?;
            self.handover = Handover::Mapped { start };
            Ok(AllocDmaResponse {
                addr: start as u64,
                phys: phys.0,
            })
        })()
        .map_err(|s| AllocDmaError { status: code(s) })
    }

    fn free_dma(&mut self, r: FreeDmaRequest) -> Result<FreeDmaResponse, FreeDmaError> {
        (|| {
            let start = usize::try_from(r.addr).map_err(|_| Status::InvalidArgument)?;
            let mut tasks = TASKS.lock();
            let p = tasks
                .processes
                .get(&self.process)
                .ok_or(Status::NoSuchThread)?;
            if !p
                .allocations
                .iter()
                .any(|a| a.start == start && a.backing == Backing::Dma)
            {
                return Err(Status::InvalidArgument);
            }
            super::vmm::unmap(&mut tasks, self.process, start, None)?;
            Ok(FreeDmaResponse {})
        })()
        .map_err(|s| FreeDmaError { status: code(s) })
    }

    fn pci_read(&mut self, r: PciReadRequest) -> Result<PciReadResponse, PciReadError> {
        pci_address(r.address)
            .map(|a| PciReadResponse {
                value: crate::arch::pci_config_read(a),
            })
            .map_err(|s| PciReadError { status: code(s) })
    }

    fn pci_write(&mut self, r: PciWriteRequest) -> Result<PciWriteResponse, PciWriteError> {
        (|| {
            let address = pci_address(r.address)?;
            if !pci_writable(address) {
                return Err(Status::AccessDenied);
            }
            crate::arch::pci_config_write(address, r.value);
            Ok(PciWriteResponse {})
        })()
        .map_err(|s| PciWriteError { status: code(s) })
    }

    fn pci_bar_size(
        &mut self,
        r: PciBarSizeRequest,
    ) -> Result<PciBarSizeResponse, PciBarSizeError> {
        pci_bar_size(r.address)
            .map(|size| PciBarSizeResponse { size })
            .map_err(|s| PciBarSizeError { status: code(s) })
    }
}
