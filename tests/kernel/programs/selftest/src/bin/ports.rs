//! A driver's view of x86 I/O ports: it claims the CMOS real-time clock's index and data
//! ports (0x70-0x71, which the kernel does not use) with `io.ClaimPorts`, writes and reads
//! back a byte of CMOS RAM through them, and finds the kernel's own ports (COM1, the PIT),
//! the ports that reset, power off or reach all memory (fw_cfg, 0xcf9, 0x92, the i8042's
//! command port, ACPI PM, SMI, ISA DMA), a second claim of its own range, an empty and an overflowing range refused. It keeps the
//! ports for a while and uses them again after other processes ran (`ports-unclaimed`, which
//! must be killed for touching them), so the bitmap is the running process's.
//!
//! AArch64 has no I/O ports: there `ClaimPorts` must answer `NotSupported`.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;
use ostrog_rt::sys::{sleep_ms, CoreTransport};

ostrog_rt::main!(main);

type Io = IoProxy<CoreTransport>;

/// What a claim gave, as a status.
fn claim(io: &mut Io, first: u16, count: u16) -> Result<(), Status> {
    let status = |code: i32| {
        Status::from_result(code as isize)
            .err()
            .unwrap_or(Status::InvalidArgument)
    };
    io.claim_ports(first, count)
        .map(|_| ())
        .map_err(|e| match e {
            CallError::Remote(e) => status(e.status),
            CallError::Transport(t) => status(t.0),
            _ => Status::InvalidArgument,
        })
}

#[cfg(target_arch = "aarch64")]
fn main() -> i32 {
    let _ = sleep_ms;
    let mut io = IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    };
    match claim(&mut io, 0x70, 2) {
        Err(Status::NotSupported) => {
            println!("ports: no I/O ports on aarch64: NotSupported");
            0
        }
        other => {
            println!("ports: a claim on aarch64 gave {other:?}");
            1
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod cmos {
    const INDEX: u16 = 0x70;
    const DATA: u16 = 0x71;

    fn outb(port: u16, value: u8) {
        // SAFETY: an `out` to a port this process claimed (0x70-0x71); it touches the
        // CMOS index register only, no memory.
        unsafe { core::arch::asm!("out dx, al", in("dx") port, in("al") value) };
    }

    fn inb(port: u16) -> u8 {
        let value: u8;
        // SAFETY: an `in` from a claimed port; no memory is touched.
        unsafe { core::arch::asm!("in al, dx", in("dx") port, out("al") value) };
        value
    }

    /// Reads CMOS register `reg` (bit 7 of the index, NMI disable, stays clear).
    pub fn read(reg: u8) -> u8 {
        outb(INDEX, reg & 0x7f);
        inb(DATA)
    }

    pub fn write(reg: u8, value: u8) {
        outb(INDEX, reg & 0x7f);
        outb(DATA, value);
    }
}

/// A byte of battery-backed CMOS RAM nothing in QEMU's or Ostrog's boot path uses.
#[cfg(target_arch = "x86_64")]
const SCRATCH: u8 = 0x7e;

/// Writes `value` to the scratch byte and reads it back.
#[cfg(target_arch = "x86_64")]
fn round_trip(value: u8) -> u8 {
    cmos::write(SCRATCH, value);
    cmos::read(SCRATCH)
}

#[cfg(target_arch = "x86_64")]
fn main() -> i32 {
    let mut io = IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    };
    let mut failures = 0;
    if let Err(e) = claim(&mut io, 0x70, 2) {
        println!(
            "ports: claiming the CMOS ports 0x70-0x71 failed: {}",
            e.name()
        );
        return 1;
    }
    println!("ports: claimed the CMOS ports 0x70-0x71");
    let saved = cmos::read(SCRATCH);
    let back = round_trip(0xa5);
    let back2 = round_trip(0x5a);
    cmos::write(SCRATCH, saved);
    if back == 0xa5 && back2 == 0x5a {
        println!(
            "ports: CMOS register {SCRATCH:#x} reads back what was written (seconds {:#x})",
            cmos::read(0)
        );
    } else {
        println!("ports: CMOS register {SCRATCH:#x} read back {back:#x} and {back2:#x}");
        failures += 1;
    }

    for (what, first, count, want) in [
        ("COM1 (the console)", 0x3f8, 8, Status::AccessDenied),
        ("the PIT", 0x40, 4, Status::AccessDenied),
        ("part of the PIC", 0xa0, 1, Status::AccessDenied),
        (
            "the PCI configuration ports",
            0xcf8,
            8,
            Status::AccessDenied,
        ),
        ("the reset control port", 0xcf9, 1, Status::AccessDenied),
        ("QEMU fw_cfg", 0x510, 2, Status::AccessDenied),
        ("the fw_cfg DMA ports", 0x514, 8, Status::AccessDenied),
        ("system control port A", 0x92, 1, Status::AccessDenied),
        ("the i8042 command port", 0x64, 1, Status::AccessDenied),
        ("ACPI PM1 control (q35)", 0x604, 2, Status::AccessDenied),
        ("the SMI command port", 0xb2, 1, Status::AccessDenied),
        ("the ISA DMA controller", 0x00, 16, Status::AccessDenied),
        ("a DMA page register", 0x81, 1, Status::AccessDenied),
        ("isa-debug-exit", 0xf4, 1, Status::AccessDenied),
        ("its own range again", 0x70, 2, Status::Busy),
        ("part of its own range", 0x71, 1, Status::Busy),
        ("an empty range", 0x300, 0, Status::InvalidArgument),
        (
            "a range past port 0xffff",
            0xfff0,
            0x20,
            Status::InvalidArgument,
        ),
    ] {
        match claim(&mut io, first, count) {
            Err(e) if e == want => {}
            other => {
                println!("ports: claiming {what} gave {other:?}, not {}", want.name());
                failures += 1;
            }
        }
    }
    if failures == 0 {
        println!("ports: the kernel's ports, double claims and bad ranges refused");
    }

    // Other processes run meanwhile (one is killed touching these ports); ours still work.
    let _ = sleep_ms(300);
    if round_trip(0x3c) == 0x3c {
        println!("ports: the ports still work after other processes ran");
    } else {
        println!("ports: the ports stopped working after a switch");
        failures += 1;
    }
    cmos::write(SCRATCH, saved);
    if failures == 0 {
        0
    } else {
        1
    }
}
