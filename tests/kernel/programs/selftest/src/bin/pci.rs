//! A driver's view of `io.PciRead`/`io.PciWrite`. On x86_64 (`q35`): the host bridge reads
//! as Intel's, an absent function as all ones; nonsense addresses are refused; writes to
//! BARs and the expansion ROM address are refused and leave them as they were; the command
//! register takes a write; a write the policy denies (`ScenarioPolicy`: device 31, q35's
//! ICH9) is refused. `io.PciBarSize` sizes the VGA function's framebuffer BAR (a power of two)
//! and leaves the BAR as it was; dwords that are no BAR, absent functions and bad addresses
//! are refused. On AArch64 the requests answer `NotSupported`. Prints
//! `pci: FAILED ...` when a check does not hold.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::println;
use ostrog_rt::sys::{call_status, CoreTransport};

ostrog_rt::main!(main);

fn io() -> IoProxy<CoreTransport> {
    IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    }
}

fn read(address: u32) -> Result<u32, Status> {
    io().pci_read(address).map(|r| r.value).map_err(call_status)
}

fn bar_size(address: u32) -> Result<u64, Status> {
    io().pci_bar_size(address)
        .map(|r| r.size)
        .map_err(call_status)
}

fn write(address: u32, value: u32) -> Result<(), Status> {
    io().pci_write(address, value)
        .map(|_| ())
        .map_err(call_status)
}

/// The configuration address of dword `offset` of bus 0, `device`, function 0.
const fn at(device: u32, offset: u32) -> u32 {
    (device << 11) | offset
}

fn main() -> i32 {
    let mut failed = 0;
    let mut check = |ok: bool, what: &str| {
        if !ok {
            println!("pci: FAILED {what}");
            failed += 1;
        }
    };
    if cfg!(target_arch = "aarch64") {
        check(read(0) == Err(Status::NotSupported), "PciRead on AArch64");
        check(
            write(4, 0) == Err(Status::NotSupported),
            "PciWrite on AArch64",
        );
        check(
            bar_size(0x10) == Err(Status::NotSupported),
            "PciBarSize on AArch64",
        );
        println!("pci: no PCI configuration requests on this architecture");
    } else {
        check(
            read(0).is_ok_and(|v| v & 0xffff == 0x8086),
            "the host bridge does not read as Intel's",
        );
        check(read(at(9, 0)) == Ok(u32::MAX), "an absent function");
        for bad in [2, 1 << 24, u32::MAX, at(1, 0x13)] {
            check(
                read(bad) == Err(Status::InvalidArgument),
                "a bad address read",
            );
            check(
                write(bad, 0) == Err(Status::InvalidArgument),
                "a bad address written",
            );
        }
        println!("pci: the host bridge is Intel's; absent functions read all ones");
        // The VGA function (00:01.0): its BARs and ROM address stay as the firmware set them.
        let bar = read(at(1, 0x10));
        for offset in [0x10, 0x14, 0x18, 0x24, 0x30] {
            check(
                write(at(1, offset), 0x1000) == Err(Status::AccessDenied),
                "a BAR or the ROM address written",
            );
        }
        check(read(at(1, 0x10)) == bar, "a BAR changed");
        let command = read(at(1, 4)).unwrap_or(0);
        check(
            write(at(1, 4), command & 0xffff).is_ok(),
            "the command register",
        );
        check(
            read(at(1, 4)).is_ok_and(|v| v & 0x7 == command & 0x7),
            "the command register changed",
        );
        println!("pci: BARs and ROM addresses refused; the command register written");
        let command_before = read(at(1, 4));
        let size = bar_size(at(1, 0x10));
        check(
            size.is_ok_and(|s| s >= 16 && s.is_power_of_two()),
            "the VGA framebuffer BAR's size",
        );
        check(read(at(1, 0x10)) == bar, "a BAR changed by sizing");
        check(
            read(at(1, 4)) == command_before,
            "the command register changed by sizing",
        );
        for bad in [at(1, 0x0c), at(1, 0x28), at(1, 0x30), at(1, 0x11), 1 << 24] {
            check(
                bar_size(bad) == Err(Status::InvalidArgument),
                "PciBarSize of a dword that is no BAR",
            );
        }
        check(
            bar_size(at(9, 0x10)) == Err(Status::NotFound),
            "PciBarSize of an absent function",
        );
        println!(
            "pci: the VGA framebuffer BAR decodes {} bytes; sizing left it as it was",
            size.unwrap_or(0)
        );
        check(
            write(at(31, 4), command & 0xffff) == Err(Status::AccessDenied),
            "a write the policy denies",
        );
        check(read(at(31, 0)).is_ok(), "a read of device 31");
        println!("pci: the policy's denial of device 31 holds");
    }
    println!("pci: done, {failed} failed");
    i32::from(failed != 0)
}
