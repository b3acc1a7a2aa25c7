//! The pci example's driver: claims the virtio block device from the PCI bus manager
//! (channel `pci`), checks what the claim says against the function's configuration space,
//! makes every request the bus manager must refuse (bad offsets: EINVAL; another's or no
//! function: EBADF; BARs, ROM, ids, forbidden command bits: EPERM; no such device: ENODEV),
//! and gives pci.Rival a turn while it holds the device (refused: EBUSY) and one after it
//! released it (granted); then the rival claims it and ends holding it, and the driver's next
//! claim gets it (the bus manager takes back what an ended process held). On AArch64 every
//! claim is ENODEV. Prints `driver: FAILED ...`
//! for each check that does not hold.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_rt::client::{channel, refuser};
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;

#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_drivers_pci::{
    ClaimResponse, PciProxy, BAR_IO, BAR_MEM32, BAR_MEM64, BUSY, INVALID, NOT_CLAIMED,
    NOT_PERMITTED, NO_DEVICE,
};
use idl::pci_turn::TurnProxy;

ostrog_rt::main!(main);

const VIRTIO: u16 = 0x1af4;
/// virtio-blk: transitional (QEMU's default virtio-blk-pci), modern.
const BLOCK: [u16; 2] = [0x1001, 0x1042];
/// The riid of `pci` in kl.drivers.PciBus and of `turn` in pci.Rival (their only endpoints).
const PCI_RIID: u32 = 0;
const TURN_RIID: u32 = 0;

/// The errno a bus manager request ended with: 0 done, its errno, or the kernel's status
/// (negative) when the request never reached it.
fn errno<T, E>(r: Result<T, CallError<E>>, status: impl Fn(&E) -> i32) -> i32 {
    match &r {
        Ok(_) => 0,
        Err(CallError::Remote(e)) => status(e),
        Err(e) => ostrog_rt::call_refusal(e).map_or(-1000, |s| s as i32),
    }
}

fn bdf(function: u32) -> (u32, u32, u32) {
    (function >> 16, (function >> 11) & 0x1f, (function >> 8) & 7)
}

fn main() -> i32 {
    let (Some(pci), Some(turn)) = (channel("driver", "pci"), channel("driver", "turn")) else {
        return 1;
    };
    let mut pci = PciProxy {
        transport: pci,
        riid: PCI_RIID,
    };
    let mut turn = TurnProxy {
        transport: turn,
        riid: TURN_RIID,
    };
    let mut failed = 0;
    let mut check = |ok: bool, what: &str| {
        if !ok {
            println!("driver: FAILED {what}");
            failed += 1;
        }
    };
    let mut claimed: Option<(u16, ClaimResponse)> = None;
    let mut last = 0;
    for device in BLOCK {
        match pci.claim(VIRTIO, device, 0) {
            Ok(c) => {
                claimed = Some((device, c));
                break;
            }
            Err(CallError::Remote(e)) => last = e.status,
            Err(e) => {
                println!("driver: FAILED the claim was refused: {}", refuser(&e));
                return 1;
            }
        }
    }
    let Some((device, c)) = claimed else {
        // No PCI for drivers (AArch64): every request is ENODEV.
        check(last == NO_DEVICE, "a claim without PCI is not ENODEV");
        println!("driver: no virtio block device to claim: errno {last}");
        let read = errno(pci.read(0, 0), |e| e.status);
        check(read == NO_DEVICE, "a read without PCI is not ENODEV");
        match turn.take(0) {
            Ok(t) => {
                check(t.claim == NO_DEVICE, "the rival's claim without PCI");
                println!("driver: the rival's claim: errno {}", t.claim);
            }
            Err(e) => check(false, refuser(&e)),
        }
        println!("driver: done, {failed} failed");
        return i32::from(failed != 0);
    };
    let f = c.function;
    let (b, d, fun) = bdf(f);
    println!(
        "driver: claimed {VIRTIO:04x}:{device:04x} at {b:02x}:{d:02x}.{fun}, class {:06x}, pin {} line {}",
        c.class, c.pin, c.line
    );
    for (i, bar) in c.bars.iter().enumerate() {
        let kind = match bar.kind {
            BAR_MEM32 => "mem32",
            BAR_MEM64 => "mem64",
            BAR_IO => "io",
            _ => continue,
        };
        println!(
            "driver: BAR{i} {kind} at {:#x}, {} bytes{}",
            bar.address,
            bar.size,
            if bar.prefetchable != 0 {
                ", prefetchable"
            } else {
                ""
            }
        );
        check(
            bar.size.is_power_of_two() && bar.address.is_multiple_of(bar.size),
            "a BAR's size is no power of two or its address not aligned to it",
        );
        let offset = 0x10 + 4 * i as u32;
        let low = pci.read(f, offset).map_or(0, |r| r.value);
        let mask = if bar.kind == BAR_IO { !0b11 } else { !0b1111 };
        check(
            u64::from(low & mask) == bar.address & 0xffff_ffff,
            "a BAR's address is not the one in configuration space",
        );
    }
    check(
        c.bars
            .iter()
            .any(|b| b.kind == BAR_MEM64 || b.kind == BAR_MEM32),
        "no memory BAR",
    );
    let id = pci.read(f, 0).map_or(0, |r| r.value);
    check(
        id == u32::from(VIRTIO) | (u32::from(device) << 16),
        "dword 0 of the claimed function is not its ids",
    );
    check(
        pci.claim(VIRTIO, device, 0)
            .is_ok_and(|again| again.function == f),
        "claiming a held function again",
    );
    // Bad offsets and functions not claimed.
    for offset in [2, 255, 256, 0x1000, u32::MAX] {
        check(
            errno(pci.read(f, offset), |e| e.status) == INVALID,
            "a read at a bad offset is not EINVAL",
        );
        check(
            errno(pci.write(f, offset, 0), |e| e.status) == INVALID,
            "a write at a bad offset is not EINVAL",
        );
    }
    for other in [0, f ^ 0x100, u32::MAX, f | 4] {
        check(
            errno(pci.read(other, 0), |e| e.status) == NOT_CLAIMED,
            "a read of a function not claimed is not EBADF",
        );
        check(
            errno(pci.write(other, 4, 0), |e| e.status) == NOT_CLAIMED,
            "a write of a function not claimed is not EBADF",
        );
        check(
            errno(pci.release(other), |e| e.status) == NOT_CLAIMED,
            "a release of a function not claimed is not EBADF",
        );
    }
    println!("driver: bad offsets refused with errno {INVALID}, functions not claimed with errno {NOT_CLAIMED}");
    // Writes the bus manager refuses; the BARs stay where they were.
    let bar0 = pci.read(f, 0x10).map_or(0, |r| r.value);
    let command = pci.read(f, 4).map_or(0, |r| r.value);
    for (offset, value) in [
        (0x00, 0),
        (0x08, 0),
        (0x10, u32::MAX),
        (0x14, 0x1000),
        (0x24, 0),
        (0x2c, 0),
        (0x30, 0xfffff801),
        (0x34, 0),
        // Special cycles (bit 3): not a bit a driver may change.
        (0x04, (command & 0xffff) ^ 0x8),
    ] {
        check(
            errno(pci.write(f, offset, value), |e| e.status) == NOT_PERMITTED,
            "a refused write is not EPERM",
        );
    }
    check(
        pci.read(f, 0x10).map_or(0, |r| r.value) == bar0,
        "BAR0 changed",
    );
    check(
        pci.read(f, 4).map_or(0, |r| r.value) & 0xffff == command & 0xffff,
        "the command register changed",
    );
    println!(
        "driver: BARs, ROM, ids and forbidden command bits refused with errno {NOT_PERMITTED}"
    );
    // Memory space and bus master on: what a driver does.
    let on = (command & 0xffff) | 0x6;
    check(
        errno(pci.write(f, 4, on), |e| e.status) == 0,
        "the command register write",
    );
    check(
        pci.read(f, 4).is_ok_and(|r| r.value & 0x6 == 0x6),
        "memory space and bus master are not on",
    );
    println!("driver: memory space and bus mastering enabled");
    for (vendor, device, index) in [(VIRTIO, device, 1), (VIRTIO, device, u32::MAX)] {
        check(
            errno(pci.claim(vendor, device, index), |e| e.status) == NO_DEVICE,
            "a claim of a function that does not exist is not ENODEV",
        );
    }
    println!("driver: claims of functions that do not exist refused with errno {NO_DEVICE}");
    // The rival's turn while the device is held, then after it is released.
    match turn.take(f) {
        Ok(t) => {
            check(
                t.claim == BUSY && t.read == NOT_CLAIMED && t.release == NOT_CLAIMED,
                "the rival reached a held device",
            );
            println!(
                "driver: the rival's claim while held: errno {}; its read and release: errno {} and {}",
                t.claim, t.read, t.release
            );
        }
        Err(e) => check(false, refuser(&e)),
    }
    check(errno(pci.release(f), |e| e.status) == 0, "the release");
    check(
        errno(pci.read(f, 0), |e| e.status) == NOT_CLAIMED,
        "a read after the release is not EBADF",
    );
    match turn.take(f) {
        Ok(t) => {
            check(
                t.claim == 0 && t.read == 0 && t.release == 0,
                "the rival did not get the released device",
            );
            println!(
                "driver: the rival's claim after the release: errno {}; read {}, release {}",
                t.claim, t.read, t.release
            );
        }
        Err(e) => check(false, refuser(&e)),
    }
    // The rival ends holding the device: the call gets no answer, and the device comes back.
    check(turn.hold().is_err(), "the rival answered Hold");
    match pci.claim(VIRTIO, device, 0) {
        Ok(again) => {
            check(again.function == f, "another function claimed");
            println!("driver: the device claimed again after the rival ended holding it");
        }
        Err(e) => {
            check(
                false,
                "the device held by an ended process was not taken back",
            );
            println!("driver: the claim after the rival ended: {e:?}");
        }
    }
    println!("driver: done, {failed} failed");
    i32::from(failed != 0)
}
