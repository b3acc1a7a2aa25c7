//! The pci example's other driver, which the policy lets claim only Intel's (0x8086) and
//! the VGA's (0x1234) functions: its claim of the virtio block device is denied by the policy
//! (audited; the program sees the kernel's AccessDenied); it claims q35's four Intel
//! functions, the most one process may hold, so a fifth claim (the VGA) is ENOMEM until it
//! releases one. On AArch64 every claim the policy grants is ENODEV. Prints
//! `other: FAILED ...` for each check that does not hold.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_abi::Status;
use ostrog_rt::client::channel;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;

#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_drivers_pci::{PciProxy, NO_DEVICE, NO_MEMORY};

ostrog_rt::main!(main);

/// q35's host bridge, ICH9 LPC, SATA and SMBus functions, then the standard VGA.
const INTEL: [(u16, u16); 4] = [
    (0x8086, 0x29c0),
    (0x8086, 0x2918),
    (0x8086, 0x2922),
    (0x8086, 0x2930),
];
const VGA: (u16, u16) = (0x1234, 0x1111);

/// 0 done, the bus manager's errno, or the kernel's status (negative) if it refused.
fn errno<T, E>(r: Result<T, CallError<E>>, status: impl Fn(&E) -> i32) -> i32 {
    match &r {
        Ok(_) => 0,
        Err(CallError::Remote(e)) => status(e),
        Err(e) => ostrog_rt::call_refusal(e).map_or(-1000, |s| s as i32),
    }
}

fn main() -> i32 {
    let Some(pci) = channel("other", "pci") else {
        return 1;
    };
    let mut pci = PciProxy {
        transport: pci,
        riid: 0,
    };
    let mut failed = 0;
    let mut check = |ok: bool, what: &str| {
        if !ok {
            println!("other: FAILED {what}");
            failed += 1;
        }
    };
    let denied = errno(pci.claim(0x1af4, 0x1001, 0), |e| e.status);
    check(
        denied == Status::AccessDenied as i32,
        "the claim of the virtio device was not denied",
    );
    println!(
        "other: the claim of the virtio block device denied: {}",
        Status::from_result(denied as isize)
            .err()
            .map_or("?", |s| s.name())
    );
    if cfg!(target_arch = "aarch64") {
        let e = errno(pci.claim(VGA.0, VGA.1, 0), |e| e.status);
        check(e == NO_DEVICE, "a granted claim without PCI is not ENODEV");
        println!("other: no PCI: a granted claim is errno {e}");
    } else {
        let mut functions = [0u32; INTEL.len()];
        for (slot, (vendor, device)) in functions.iter_mut().zip(INTEL) {
            match pci.claim(vendor, device, 0) {
                Ok(c) => *slot = c.function,
                Err(_) => check(false, "a claim of a q35 Intel function"),
            }
        }
        let full = errno(pci.claim(VGA.0, VGA.1, 0), |e| e.status);
        check(full == NO_MEMORY, "a claim past the limit is not ENOMEM");
        check(
            errno(pci.release(functions[0]), |e| e.status) == 0,
            "a release",
        );
        let after = errno(pci.claim(VGA.0, VGA.1, 0), |e| e.status);
        check(after == 0, "a claim after a release");
        println!(
            "other: {} claims held, a fifth refused with errno {full}; after a release: {after}",
            INTEL.len()
        );
        check(
            errno(pci.claim(0x8086, 0x29c0, u32::MAX), |e| e.status) == NO_DEVICE,
            "a huge index",
        );
        check(
            errno(pci.claim(0x8086, 0xffff, 0), |e| e.status) == NO_DEVICE,
            "an absent device",
        );
        // A function held already is given again without taking another place.
        check(
            errno(pci.claim(VGA.0, VGA.1, 0), |e| e.status) == 0,
            "the VGA claimed again",
        );
    }
    println!("other: done, {failed} failed");
    i32::from(failed != 0)
}
