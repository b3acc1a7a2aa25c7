//! The ARM PL031 real-time clock of QEMU's `virt` machine at 0x0901_0000, mapped with
//! `io.MapMmio`: a 32-bit count of seconds (read from RTCDR, set through RTCLR), which QEMU
//! starts at the host's Unix time. Unsigned 32 bits reach 2106.

use ostrog_abi::Status;
use ostrog_rt::sys::call_status;

const BASE: u64 = 0x0901_0000;
const SIZE: u64 = 4096;
/// Data register: the current count.
const RTCDR: usize = 0x000;
/// Load register: a write sets the count.
const RTCLR: usize = 0x008;
/// Peripheral ID 0 (0x31 for a PL031).
const PERIPH_ID0: usize = 0xfe0;

/// The PL031, its registers mapped at `base`.
pub struct Rtc {
    base: usize,
}

impl Rtc {
    pub fn open() -> Result<Rtc, Status> {
        let base = super::io().map_mmio(BASE, SIZE).map_err(call_status)?.addr as usize;
        let rtc = Rtc { base };
        if rtc.load(PERIPH_ID0) & 0xff != 0x31 {
            return Err(Status::NotFound);
        }
        Ok(rtc)
    }

    fn load(&self, offset: usize) -> u32 {
        // SAFETY: `base` maps the PL031's 4 KiB register page (io.MapMmio, uncached) for the
        // life of the process, and `offset` is one of its aligned 32-bit registers.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn store(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `load`; RTCLR is writable and setting it only changes the count.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    /// Unix seconds.
    pub fn read(&mut self) -> Option<i64> {
        Some(i64::from(self.load(RTCDR)))
    }

    /// Sets the count to `seconds` (`false` beyond 32 bits).
    pub fn write(&mut self, seconds: i64) -> bool {
        match u32::try_from(seconds) {
            Ok(s) => {
                self.store(RTCLR, s);
                true
            }
            Err(_) => false,
        }
    }
}
