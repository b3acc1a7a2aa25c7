//! Waiting for the device: its interrupt line, or polling when there is none.
//!
//! The driver submits one request at a time (`*_blocks_nb`) and then waits here until the
//! device has put it in the used ring. With an interrupt line claimed (`io.ClaimIrq`), the
//! wait is `io.WaitIrq`: the driver's thread sleeps and the CPU is free until the device
//! raises its line. Each round first acknowledges the device's interrupt status (which on
//! virtio-pci also lowers its level-triggered INTx line) and only then looks at the used
//! ring: a completion that comes after the look raises the line again, so the next
//! `WaitIrq` returns at once and no interrupt is lost. A wait is bounded ([`WAIT_MS`]), so
//! even a lost interrupt costs one timeout, not a hang.
//!
//! Which line: on AArch64 `virt` virtio-mmio slot `i` is wired to SPI 16 + `i`, GIC INTID
//! 48 + `i`. On x86_64 `q35` a device on the root bus raises its legacy INTx pin (config
//! byte 0x3d, 1 = INTA) through the ICH9's interrupt router to one of PIRQ A-H, which reach
//! the I/O APIC as GSI 16-23: slots 0-24 go to PIRQ E-H rotated by slot (GSI 20 + ((slot +
//! pin - 1) mod 4)); slots 25-31 (the chipset's own functions) follow their DxxIR registers,
//! whose reset value sends INTA-INTD to PIRQ A-D (GSI 16 + (pin - 1)), except slot 30 (the
//! DMI-to-PCI bridge), wired to PIRQ E-H. These are QEMU's board wiring, fixed like the
//! virtio-mmio addresses in `device.rs`; other boards would give the driver its line.
//!
//! When the policy refuses `ClaimIrq` (the kernel audits the denial), the line is taken,
//! no line is known, or the line never fires, the driver polls the used ring instead and
//! says so once on the console. Flushes always poll: `virtio-drivers` has no non-blocking
//! flush.

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::idl::spec_rt::Handle;
use ostrog_rt::println;
use ostrog_rt::sys::{call_status, CoreTransport};

use crate::device::{Blk, Place};

/// The longest wait for the line before the used ring is looked at again (ms).
const WAIT_MS: u32 = 100;
/// Requests that may complete without the line ever having fired (found done after a wait
/// timed out) before the driver decides the line is not the device's and polls.
const SILENT_WAITS: u32 = 3;

fn io() -> IoProxy<CoreTransport> {
    IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    }
}

/// The interrupt line of the device in virtio-mmio slot `slot` of AArch64 `virt`.
#[cfg(target_arch = "aarch64")]
pub fn line(slot: Place) -> Option<u32> {
    // 32 slots, SPIs 16..48: INTIDs 48..80.
    u32::try_from(slot).ok().filter(|&s| s < 32).map(|s| 48 + s)
}

/// The I/O APIC input (GSI) of the device in `slot` of `q35`'s root bus raising INTx `pin`.
#[cfg(target_arch = "x86_64")]
pub fn line(place: Place) -> Option<u32> {
    let Place { slot, pin } = place;
    // Pin 0: the device uses no INTx; above 4: not a pin.
    if !(1..=4).contains(&pin) || slot > 31 {
        return None;
    }
    let (slot, pin) = (u32::from(slot), u32::from(pin) - 1);
    Some(match slot {
        0..=24 => 20 + ((slot + pin) & 3),
        30 => 20 + pin,
        _ => 16 + pin,
    })
}

/// How the driver learns that the device finished a request.
pub struct Completion {
    /// The claimed line and its handle; `None`: polling.
    irq: Option<(u32, Handle)>,
    /// Whether the line has fired at least once.
    fired: bool,
    /// Waits that timed out before the line ever fired.
    silent: u32,
}

impl Completion {
    /// Claims the interrupt line of the device at `place`; polling if there is none or the
    /// claim is refused (said once on the console).
    pub fn new(place: Place) -> Self {
        let irq = match line(place) {
            None => {
                println!("VirtioBlk: no interrupt line known for the device; polling");
                None
            }
            Some(l) => match io().claim_irq(l) {
                Ok(r) => Some((l, r.irq)),
                Err(e) => {
                    println!(
                        "VirtioBlk: interrupt line {l} refused ({}); polling",
                        call_status(e).name()
                    );
                    None
                }
            },
        };
        Completion {
            irq,
            fired: false,
            silent: 0,
        }
    }

    /// Gives the line up and polls from now on, saying why.
    fn give_up(&mut self, why: &str) {
        if let Some((line, handle)) = self.irq.take() {
            println!("VirtioBlk: interrupt line {line} {why}; polling");
            let _ = io().release_irq(handle);
        }
    }

    /// Waits until the device has put a request in the used ring (one request is in
    /// flight: the one just submitted).
    pub fn wait(&mut self, blk: &mut Blk) {
        // Whether a wait timed out for this request.
        let mut timed_out = false;
        loop {
            // Acknowledge before looking: a completion after the look raises the line
            // again, and the wait below sees it.
            blk.ack_interrupt();
            if blk.peek_used().is_some() {
                // Done although the line stayed quiet: after a few such requests, the
                // line is taken not to be the device's.
                if timed_out && !self.fired {
                    self.silent += 1;
                    if self.silent >= SILENT_WAITS {
                        self.give_up("never fired");
                    }
                }
                return;
            }
            let Some((line, handle)) = self.irq else {
                core::hint::spin_loop();
                continue;
            };
            match io().wait_irq(handle, WAIT_MS) {
                Ok(_) => {
                    if !self.fired {
                        self.fired = true;
                        println!("VirtioBlk: interrupt line {line} fired: requests complete by interrupt");
                    }
                }
                Err(e) => match call_status(e) {
                    Status::TimedOut => timed_out = true,
                    other => {
                        println!("VirtioBlk: waiting for line {line}: {}", other.name());
                        self.give_up("cannot be waited for");
                    }
                },
            }
        }
    }
}
