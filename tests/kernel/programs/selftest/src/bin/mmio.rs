//! A driver's view of `io.MapMmio`: it maps a device's registers and reads its identity;
//! RAM, the kernel's own devices, the devices that amount to kernel privilege (interrupt
//! controllers, MSI doorbells, fw_cfg, PCIe configuration space, firmware flash) and
//! nonsense are refused; mapped registers are never
//! accepted as an IPC buffer.
#![no_std]
#![no_main]

use ostrog_abi::{handle, Status, TIMEOUT_FOREVER};
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::println;
use ostrog_rt::sys::{self, call_status, CoreTransport};

ostrog_rt::main!(main);

/// A device QEMU's machine has, the register holding its identity, and the value expected
/// under a mask: the PL031 real-time clock's PeriphID0 on `virt`, the HPET's vendor on `q35`.
#[cfg(target_arch = "aarch64")]
const DEVICE: (&str, u64, usize, u32, u32) = ("PL031 RTC", 0x0901_0000, 0xfe0, 0xff, 0x31);
#[cfg(target_arch = "x86_64")]
const DEVICE: (&str, u64, usize, u32, u32) = ("HPET", 0xfed0_0000, 0x0, 0xffff_0000, 0x8086_0000);

/// RAM, devices the kernel drives and devices that amount to kernel privilege, which must
/// be refused: on `virt` RAM, the GIC distributor, CPU interface and MSI frame, fw_cfg,
/// the firmware flash and PCIe configuration space (ECAM, high as QEMU places it with a
/// 64-bit CPU); on `q35` RAM, the local APIC and the rest of the
/// MSI window, the I/O APIC window, PCIe configuration space (MMCONFIG) and the firmware.
#[cfg(target_arch = "aarch64")]
const REFUSED: [u64; 7] = [
    0x4000_0000,
    0x0800_0000,
    0x0801_0000,
    0x0802_0000,
    0x0902_0000,
    0x0000_0000,
    0x40_1000_0000,
];
#[cfg(target_arch = "x86_64")]
const REFUSED: [u64; 7] = [
    0x0010_0000,
    0xfee0_0000,
    0xfee0_1000,
    0xfec0_1000,
    0xb000_0000,
    0xbfff_f000,
    0xffff_f000,
];

fn main() -> i32 {
    let mut io = IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    };
    let mut failures = 0;
    let (name, phys, offset, mask, expected) = DEVICE;
    match io.map_mmio(phys, 4096) {
        Ok(m) => {
            // SAFETY: the kernel mapped 4 KiB of the device's registers at `m.addr`; the
            // register is 4-byte aligned inside it, and volatile reads are how registers
            // are read.
            let value =
                unsafe { core::ptr::read_volatile((m.addr as usize + offset) as *const u32) };
            if value & mask == expected {
                println!("mmio: {name} identified through its registers");
            } else {
                println!("mmio: {name} register reads {value:#x}, expected {expected:#x}");
                failures += 1;
            }
            // Device registers are not a message buffer: the kernel refuses to copy from them.
            let mut out = [0u8; 64];
            // SAFETY: only the address is passed; the kernel checks it.
            let regs = unsafe { core::slice::from_raw_parts(m.addr as *const u8, 64) };
            match sys::call(handle::CORE, regs, &mut out, TIMEOUT_FOREVER) {
                Err(Status::BadAddress) => println!("mmio: registers refused as a message buffer"),
                other => {
                    println!("mmio: registers as a message buffer gave {other:?}");
                    failures += 1;
                }
            }
        }
        Err(e) => {
            println!("mmio: mapping the {name} failed: {}", call_status(e).name());
            failures += 1;
        }
    }
    for addr in REFUSED {
        match io.map_mmio(addr, 4096) {
            Err(e) if call_status(e.clone()) == Status::AccessDenied => {}
            other => {
                println!("mmio: mapping {addr:#x} was not refused: {other:?}");
                failures += 1;
            }
        }
    }
    for (addr, size) in [(phys, 0), (phys, 1 << 40), (u64::MAX - 10, 4096)] {
        if io.map_mmio(addr, size).is_ok() {
            println!("mmio: nonsense mapping {addr:#x}+{size:#x} accepted");
            failures += 1;
        }
    }
    if failures == 0 {
        println!("mmio: memory and the kernel's devices refused");
        0
    } else {
        1
    }
}
