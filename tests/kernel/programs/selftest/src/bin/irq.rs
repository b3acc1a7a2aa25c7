//! A driver's view of interrupts: it claims its device's line, programs the device to
//! interrupt, and waits for it with `io.WaitIrq`; the kernel's timer line, a line claimed
//! twice, a forged handle and a wait with nothing to wait for are refused or time out.
//!
//! The device: on AArch64 QEMU `virt` the PL031 real-time clock (SPI 2, INTID 34), whose
//! match register raises its interrupt within a second; on x86_64 QEMU `q35` the HPET,
//! timer 0 routed as a level-triggered interrupt to an I/O APIC input it allows, one-shot
//! 50 ms ahead.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::idl::spec_rt::Handle;
use ostrog_rt::println;
use ostrog_rt::sys::{call_status, CoreTransport};

ostrog_rt::main!(main);

/// A line the kernel's timer uses: the generic timer's PPI (virtual timer, INTID 27) on
/// AArch64, the PIT's GSI 2 on x86_64.
#[cfg(target_arch = "aarch64")]
const TIMER_LINE: u32 = 27;
#[cfg(target_arch = "x86_64")]
const TIMER_LINE: u32 = 2;

type Io = IoProxy<CoreTransport>;

/// Registers mapped by `io.MapMmio`.
struct Regs(usize);

impl Regs {
    fn read(&self, offset: usize) -> u32 {
        // SAFETY: the kernel mapped a page of the device's registers at `self.0`; every
        // offset used below is a 4-byte-aligned register inside that page.
        unsafe { core::ptr::read_volatile((self.0 + offset) as *const u32) }
    }
    fn write(&self, offset: usize, value: u32) {
        // SAFETY: as for `read`.
        unsafe { core::ptr::write_volatile((self.0 + offset) as *mut u32, value) }
    }
}

/// The PL031: maps it, claims its line, and makes it interrupt at the next second.
#[cfg(target_arch = "aarch64")]
mod device {
    use super::*;

    pub const NAME: &str = "PL031 RTC";
    const PHYS: u64 = 0x0901_0000;
    const LINE: u32 = 34;
    const RTCDR: usize = 0x00;
    const RTCMR: usize = 0x04;
    const RTCIMSC: usize = 0x10;
    const RTCICR: usize = 0x1c;

    pub struct Device(Regs);

    pub fn setup(io: &mut Io) -> Result<(Device, u32), Status> {
        let regs = Regs(io.map_mmio(PHYS, 4096).map_err(call_status)?.addr as usize);
        regs.write(RTCIMSC, 0);
        regs.write(RTCICR, 1);
        Ok((Device(regs), LINE))
    }

    impl Device {
        /// Makes the device interrupt soon.
        pub fn arm(&self) {
            let now = self.0.read(RTCDR);
            self.0.write(RTCMR, now.wrapping_add(1));
            self.0.write(RTCIMSC, 1);
        }
        /// Acknowledges and silences the device.
        pub fn quiet(&self) {
            self.0.write(RTCIMSC, 0);
            self.0.write(RTCICR, 1);
        }
    }
}

/// The HPET: maps it, picks an I/O APIC input for timer 0, and makes it fire once.
#[cfg(target_arch = "x86_64")]
mod device {
    use super::*;

    pub const NAME: &str = "HPET timer 0";
    const PHYS: u64 = 0xfed0_0000;
    const CAPS_HIGH: usize = 0x04;
    const CONFIG: usize = 0x10;
    const STATUS: usize = 0x20;
    const COUNTER: usize = 0xf0;
    const T0_CONFIG: usize = 0x100;
    const T0_ROUTE_CAP: usize = 0x104;
    const T0_COMPARATOR: usize = 0x108;
    const ENABLE: u32 = 1;
    const LEVEL: u32 = 1 << 1;
    const INT_ENABLE: u32 = 1 << 2;
    const ROUTE_SHIFT: u32 = 9;
    /// How far ahead timer 0 fires.
    const DELAY_MS: u64 = 50;

    pub struct Device {
        regs: Regs,
        ticks: u64,
        line: u32,
    }

    pub fn setup(io: &mut Io) -> Result<(Device, u32), Status> {
        let regs = Regs(io.map_mmio(PHYS, 4096).map_err(call_status)?.addr as usize);
        let period_fs = u64::from(regs.read(CAPS_HIGH));
        if period_fs == 0 {
            return Err(Status::NotSupported);
        }
        // A PCI-style input (16..23) if offered, else the first allowed but 0 and 2.
        let cap = regs.read(T0_ROUTE_CAP);
        let allowed = |l: u32| cap & (1 << l) != 0;
        let line = (16..24)
            .chain(1..16)
            .find(|&l| allowed(l) && l != 2)
            .ok_or(Status::NotSupported)?;
        let ticks = DELAY_MS * 1_000_000_000_000 / period_fs;
        regs.write(STATUS, 1);
        regs.write(T0_CONFIG, 0);
        regs.write(CONFIG, 0);
        Ok((Device { regs, ticks, line }, line))
    }

    impl Device {
        /// Makes timer 0 fire once, `DELAY_MS` from now (level-triggered).
        pub fn arm(&self) {
            let r = &self.regs;
            r.write(CONFIG, 0);
            let now = u64::from(r.read(COUNTER)) | (u64::from(r.read(COUNTER + 4)) << 32);
            let at = now.wrapping_add(self.ticks);
            r.write(T0_CONFIG, LEVEL | INT_ENABLE | (self.line << ROUTE_SHIFT));
            r.write(T0_COMPARATOR, at as u32);
            r.write(T0_COMPARATOR + 4, (at >> 32) as u32);
            r.write(CONFIG, ENABLE);
        }
        /// Acknowledges the level interrupt and stops the timer.
        pub fn quiet(&self) {
            // Acknowledge first: the HPET lowers the line its timer is routed to now.
            let r = &self.regs;
            r.write(STATUS, 1);
            r.write(T0_CONFIG, 0);
            r.write(CONFIG, 0);
        }
    }
}

fn main() -> i32 {
    let mut io = IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    };
    let mut failures = 0;
    let (device, line) = match device::setup(&mut io) {
        Ok(d) => d,
        Err(e) => {
            println!("irq: setting up the {} failed: {}", device::NAME, e.name());
            return 1;
        }
    };
    let irq = match io.claim_irq(line) {
        Ok(r) => r.irq,
        Err(e) => {
            println!(
                "irq: claiming line {line} failed: {}",
                call_status(e).name()
            );
            return 1;
        }
    };
    println!("irq: claimed line {line} of the {}", device::NAME);

    // Nothing armed yet: a short wait times out.
    match io.wait_irq(irq, 30) {
        Err(e) if call_status(e.clone()) == Status::TimedOut => {
            println!("irq: a wait with no interrupt timed out")
        }
        other => {
            println!("irq: a wait with no interrupt gave {other:?}");
            failures += 1;
        }
    }

    for round in 1..=2 {
        let start = selftest::now_ms();
        device.arm();
        match io.wait_irq(irq, 5000) {
            Ok(_) => println!(
                "irq: interrupt {round} of the {} after {} ms",
                device::NAME,
                selftest::now_ms().saturating_sub(start)
            ),
            Err(e) => {
                println!(
                    "irq: waiting for interrupt {round} failed: {}",
                    call_status(e).name()
                );
                failures += 1;
            }
        }
        // Serve the device; the line is unmasked by the next wait.
        device.quiet();
    }
    // Served and quiet: the next wait unmasks the line and finds nothing.
    match io.wait_irq(irq, 30) {
        Err(e) if call_status(e.clone()) == Status::TimedOut => {
            println!("irq: a served device stays quiet")
        }
        other => {
            println!("irq: a served device gave {other:?}");
            failures += 1;
        }
    }

    for (what, l) in [
        ("the timer's", TIMER_LINE),
        ("an already claimed", line),
        ("a nonexistent", 5000),
    ] {
        match io.claim_irq(l) {
            Err(_) => {}
            Ok(_) => {
                println!("irq: claiming {what} line {l} succeeded");
                failures += 1;
            }
        }
    }
    let forged = Handle {
        handle: irq.handle ^ 0x7_0000,
        rights_and_mode: 0,
    };
    match io.wait_irq(forged, 0) {
        Err(e) if call_status(e.clone()) == Status::BadHandle => {}
        other => {
            println!("irq: a wait on a forged handle gave {other:?}");
            failures += 1;
        }
    }
    // Released, the line can be claimed again (and is released at exit).
    match io.release_irq(irq) {
        Ok(_) => match io.claim_irq(line) {
            Ok(_) => println!("irq: released line claimed again"),
            Err(e) => {
                println!(
                    "irq: claiming a released line failed: {}",
                    call_status(e).name()
                );
                failures += 1;
            }
        },
        Err(e) => {
            println!("irq: releasing the line failed: {}", call_status(e).name());
            failures += 1;
        }
    }
    if io.wait_irq(irq, 0).is_ok() {
        println!("irq: a wait on a released handle succeeded");
        failures += 1;
    }
    if failures == 0 {
        println!("irq: the timer's line, double claims and forged handles refused");
        0
    } else {
        1
    }
}
