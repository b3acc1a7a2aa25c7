//! The PC's CMOS real-time clock (MC146818 and its successors; QEMU's `mc146818rtc`) through
//! its index and data ports 0x70-0x71, claimed with `io.ClaimPorts`. It keeps a date and
//! time in BCD or binary, 24- or 12-hour (status register B says which), two-digit years
//! taken as 2000-2099. A reading is taken when no update is in progress and repeated until
//! two agree, so that it never mixes fields from before and after a tick.

use ostrog_abi::Status;
use ostrog_rt::idl::spec_rt::CallError;
use rtc::{from_bcd, to_bcd, Civil};

const INDEX: u16 = 0x70;
const DATA: u16 = 0x71;

const SECONDS: u8 = 0x00;
const MINUTES: u8 = 0x02;
const HOURS: u8 = 0x04;
const DAY: u8 = 0x07;
const MONTH: u8 = 0x08;
const YEAR: u8 = 0x09;
const STATUS_A: u8 = 0x0a;
const STATUS_B: u8 = 0x0b;
/// Status A: an update of the time registers is in progress.
const UPDATING: u8 = 0x80;
/// Status B: updates stopped while the time is set.
const SET: u8 = 0x80;
/// Status B: fields in binary, not BCD.
const BINARY: u8 = 0x04;
/// Status B: 24-hour hours.
const HOURS_24: u8 = 0x02;
/// The hour register's PM bit in 12-hour mode.
const PM: u8 = 0x80;

fn outb(port: u16, value: u8) {
    // SAFETY: an `out` to the CMOS ports this process claimed (0x70-0x71); it touches no
    // memory.
    unsafe { core::arch::asm!("out dx, al", in("dx") port, in("al") value, options(nostack)) };
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: an `in` from the claimed CMOS data port; it touches no memory.
    unsafe { core::arch::asm!("in al, dx", in("dx") port, out("al") value, options(nostack)) };
    value
}

fn read_reg(reg: u8) -> u8 {
    // Bit 7 of the index (NMI disable) stays clear.
    outb(INDEX, reg & 0x7f);
    inb(DATA)
}

fn write_reg(reg: u8, value: u8) {
    outb(INDEX, reg & 0x7f);
    outb(DATA, value);
}

/// The CMOS clock, its ports claimed.
pub struct Rtc;

impl Rtc {
    pub fn open() -> Result<Rtc, Status> {
        let status = |code: i32| Status::from_result(code as isize).err();
        super::io()
            .claim_ports(INDEX, 2)
            .map_err(|e| match e {
                CallError::Remote(e) => status(e.status),
                CallError::Transport(t) => status(t.0),
                _ => None,
            })
            .map_err(|s| s.unwrap_or(Status::InvalidArgument))?;
        Ok(Rtc)
    }

    fn raw(&self) -> [u8; 6] {
        // An update takes under 2 ms after UIP rises; bounded so a broken clock cannot
        // hang the server.
        for _ in 0..1_000_000 {
            if read_reg(STATUS_A) & UPDATING == 0 {
                break;
            }
            core::hint::spin_loop();
        }
        [SECONDS, MINUTES, HOURS, DAY, MONTH, YEAR].map(read_reg)
    }

    /// Unix seconds, or `None` if the clock holds no valid date.
    pub fn read(&mut self) -> Option<i64> {
        let mut fields = self.raw();
        for _ in 0..8 {
            let again = self.raw();
            if again == fields {
                break;
            }
            fields = again;
        }
        let [s, m, h, d, mo, y] = fields;
        let b = read_reg(STATUS_B);
        let value = |v: u8| {
            if b & BINARY != 0 {
                u32::from(v)
            } else {
                from_bcd(v)
            }
        };
        let mut hour = value(h & !PM);
        if b & HOURS_24 == 0 {
            // 12-hour: 12 AM is midnight, 12 PM noon.
            hour = hour % 12 + if h & PM != 0 { 12 } else { 0 };
        }
        let civil = Civil {
            year: 2000 + i64::from(value(y)),
            month: value(mo),
            day: value(d),
            hour,
            minute: value(m),
            second: value(s),
        };
        civil.is_valid().then(|| civil.to_unix())
    }

    /// Sets the clock to Unix second `seconds` (years 2000-2099 only: `false` otherwise).
    pub fn write(&mut self, seconds: i64) -> bool {
        let c = Civil::from_unix(seconds);
        if !(2000..2100).contains(&c.year) {
            return false;
        }
        let b = read_reg(STATUS_B);
        let value = |v: u32| {
            if b & BINARY != 0 {
                v as u8
            } else {
                to_bcd(v)
            }
        };
        let hour = if b & HOURS_24 != 0 {
            value(c.hour)
        } else {
            let twelve = if c.hour.is_multiple_of(12) {
                12
            } else {
                c.hour % 12
            };
            value(twelve) | if c.hour >= 12 { PM } else { 0 }
        };
        write_reg(STATUS_B, b | SET);
        write_reg(SECONDS, value(c.second));
        write_reg(MINUTES, value(c.minute));
        write_reg(HOURS, hour);
        write_reg(DAY, value(c.day));
        write_reg(MONTH, value(c.month));
        write_reg(YEAR, value((c.year - 2000) as u32));
        write_reg(STATUS_B, b & !SET);
        true
    }
}
