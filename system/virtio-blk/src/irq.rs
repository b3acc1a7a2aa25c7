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
//! Which line: `virtio_support::line` (QEMU's board wiring).
//!
//! The line is checked once at start: a read of sector 0, then `WaitIrq` without looking
//! at the used ring; the line must fire within [`CHECK_MS`]. When the policy refuses
//! `ClaimIrq` (the kernel audits the denial), the line is taken, no line is known, or the
//! line does not fire for the read, the driver polls the used ring instead and says so once
//! on the console. Flushes always poll: `virtio-drivers` has no non-blocking
//! flush.

use ostrog_abi::Status;
use ostrog_rt::idl::spec_rt::Handle;
use ostrog_rt::println;
use ostrog_rt::sys::call_status;
use virtio_support::hal::io;

use virtio_drivers::device::blk::{BlkReq, BlkResp, SECTOR_SIZE};

use virtio_support::line;

use crate::device::{Blk, Place};

/// The longest wait for the line before the used ring is looked at again (ms).
const WAIT_MS: u32 = 100;
/// The longest wait for the line when checking it with a read (ms).
const CHECK_MS: u32 = 1000;

/// How the driver learns that the device finished a request, and how often it waited.
pub struct Completion {
    /// The claimed line and its handle; `None`: polling.
    irq: Option<(u32, Handle)>,
    /// Requests waited for.
    requests: u64,
    /// Requests found done without a wait.
    done_at_once: u64,
    /// `WaitIrq` calls that returned because the line fired, and that timed out.
    fired: u64,
    timed_out: u64,
}

impl Completion {
    /// Claims the interrupt line of the device at `place` and checks it with one read of
    /// sector 0; polling if there is no line, the claim is refused or the line does not fire
    /// (said once on the console).
    pub fn new(place: Place, blk: &mut Blk) -> Self {
        let mut c = Completion {
            irq: None,
            requests: 0,
            done_at_once: 0,
            fired: 0,
            timed_out: 0,
        };
        let Some(line) = line(place) else {
            println!("VirtioBlk: no interrupt line known for the device; polling");
            return c;
        };
        match io().claim_irq(line) {
            Ok(r) => c.irq = Some((line, r.irq)),
            Err(e) => {
                let status = call_status(e);
                println!(
                    "VirtioBlk: interrupt line {line} refused ({}); polling",
                    status.name()
                );
                return c;
            }
        }
        match c.check_line(blk) {
            Ok(true) => println!("VirtioBlk: interrupt line {line} fires for the device"),
            Ok(false) => c.give_up("did not fire for a read"),
            Err(_) => c.give_up("could not be checked (the test read failed)"),
        }
        c
    }

    /// Reads sector 0 and waits for the line (not for the used ring): whether the line
    /// fired for the read.
    fn check_line(&mut self, blk: &mut Blk) -> Result<bool, virtio_drivers::Error> {
        let Some((_, handle)) = self.irq else {
            return Ok(false);
        };
        // Forget what fired before: the device's status, then the kernel's count.
        blk.ack_interrupt();
        let _ = io().wait_irq(handle, 0);
        let (mut req, mut resp, mut sector) =
            (BlkReq::default(), BlkResp::default(), [0u8; SECTOR_SIZE]);
        // SAFETY: `req`, `sector` and `resp` are not touched until `complete_read_blocks`
        // below, after the device has returned the request (the polling loop in between).
        let token = unsafe { blk.read_blocks_nb(0, &mut req, &mut sector, &mut resp) }?;
        let fired = io().wait_irq(handle, CHECK_MS).is_ok();
        while blk.peek_used().is_none() {
            core::hint::spin_loop();
        }
        blk.ack_interrupt();
        // SAFETY: the same buffers as given to `read_blocks_nb` for `token`.
        unsafe { blk.complete_read_blocks(token, &req, &mut sector, &mut resp) }?;
        Ok(fired)
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
        self.requests += 1;
        let mut waited = false;
        loop {
            // Acknowledge before looking: a completion after the look raises the line
            // again, and the wait below sees it.
            blk.ack_interrupt();
            if blk.peek_used().is_some() {
                if !waited {
                    self.done_at_once += 1;
                }
                return;
            }
            waited = true;
            let Some((line, handle)) = self.irq else {
                core::hint::spin_loop();
                continue;
            };
            match io().wait_irq(handle, WAIT_MS) {
                Ok(_) => self.fired += 1,
                Err(e) => match call_status(e) {
                    Status::TimedOut => self.timed_out += 1,
                    other => {
                        println!("VirtioBlk: waiting for line {line}: {}", other.name());
                        self.give_up("cannot be waited for");
                    }
                },
            }
        }
    }

    /// What the waits came to, for the console when the driver ends.
    pub fn report(&self) {
        let how = match self.irq {
            Some((line, _)) => alloc::format!(
                "interrupt line {line}: {} wake-ups, {} waits timed out",
                self.fired,
                self.timed_out
            ),
            None => alloc::string::String::from("polling"),
        };
        println!(
            "VirtioBlk: {} requests, {} done at once; {how}",
            self.requests, self.done_at_once
        );
    }
}
