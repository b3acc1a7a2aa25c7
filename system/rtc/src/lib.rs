//! The wall clock of kl.RtcClock (docs/services.md), apart from the hardware, so that it is
//! tested on the host: calendar dates to and from Unix seconds (the RTCs of x86_64 keep a
//! date, the PL031 keeps seconds), and the clock itself, an RTC reading taken once plus the
//! kernel's monotonic clock since (the RTC counts whole seconds; the monotonic clock is
//! finer and never jumps).
#![cfg_attr(not(test), no_std)]

/// Latest time SetTime accepts (2^38 s, about year 10680): far beyond any RTC, small enough
/// that nanosecond arithmetic stays in range.
pub const SECONDS_MAX: i64 = 1 << 38;

const NS: i128 = 1_000_000_000;

/// A UTC calendar date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Days from 1970-01-01 to `year-month-day` (proleptic Gregorian), by counting whole
/// 400-year eras (146097 days each) from 0000-03-01, so that February ends each year.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of day `days` after 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Civil {
    /// Whether every field is in range (a day past its month's end is not).
    pub fn is_valid(&self) -> bool {
        let next_month = if self.month == 12 {
            days_from_civil(self.year + 1, 1, 1)
        } else {
            days_from_civil(self.year, self.month + 1, 1)
        };
        (1..=12).contains(&self.month)
            && self.day >= 1
            && days_from_civil(self.year, self.month, self.day) < next_month
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub fn to_unix(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour * 3600 + self.minute * 60 + self.second)
    }

    /// The date and time `seconds` after 1970-01-01 00:00:00 UTC.
    pub fn from_unix(seconds: i64) -> Civil {
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        let rest = seconds.rem_euclid(86_400) as u32;
        Civil {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
        }
    }
}

/// The wall clock: Unix time `base_ns` at monotonic time `at_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    base_ns: i128,
    at_ns: u64,
}

impl Clock {
    /// A clock that reads `seconds` (from the RTC) at monotonic time `now`.
    pub fn new(seconds: i64, now: u64) -> Clock {
        Clock {
            base_ns: i128::from(seconds) * NS,
            at_ns: now,
        }
    }

    /// (seconds, nanoseconds) since 1970 at monotonic time `now`.
    pub fn read(&self, now: u64) -> (i64, u32) {
        let t = self.base_ns + i128::from(now.saturating_sub(self.at_ns));
        (t.div_euclid(NS) as i64, t.rem_euclid(NS) as u32)
    }

    /// Sets the clock to `seconds` + `ns` at monotonic time `now`; `false` (unchanged) if
    /// out of range.
    pub fn set(&mut self, seconds: i64, ns: u32, now: u64) -> bool {
        if !(0..SECONDS_MAX).contains(&seconds) || i128::from(ns) >= NS {
            return false;
        }
        self.base_ns = i128::from(seconds) * NS + i128::from(ns);
        self.at_ns = now;
        true
    }
}

/// A binary-coded decimal byte's value (0x59 is 59).
pub fn from_bcd(b: u8) -> u32 {
    u32::from(b >> 4) * 10 + u32::from(b & 0x0f)
}

/// `v` (below 100) in binary-coded decimal.
pub fn to_bcd(v: u32) -> u8 {
    (((v / 10) % 10) << 4 | (v % 10)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_convert_both_ways() {
        let at = |year, month, day, hour, minute, second| Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        };
        for (civil, unix) in [
            (at(1970, 1, 1, 0, 0, 0), 0),
            (at(2000, 2, 29, 12, 0, 0), 951_825_600),
            (at(2026, 12, 6, 3, 5, 9), 1_796_526_309),
            (at(2038, 1, 19, 3, 14, 8), 1 << 31),
            (at(1969, 12, 31, 23, 59, 59), -1),
        ] {
            assert_eq!(civil.to_unix(), unix, "{civil:?}");
            assert_eq!(Civil::from_unix(unix), civil);
            assert!(civil.is_valid());
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let mut previous = Civil::from_unix(-86_400);
        for day in 0..146_097 {
            let c = Civil::from_unix(day * 86_400 + 3723);
            assert!(c.is_valid(), "{c:?}");
            assert_eq!(c.to_unix(), day * 86_400 + 3723);
            assert!(c.day == previous.day + 1 || c.day == 1);
            previous = c;
        }
    }

    #[test]
    fn impossible_dates_are_invalid() {
        let c = Civil::from_unix(0);
        assert!(!Civil { month: 13, ..c }.is_valid());
        assert!(!Civil { day: 0, ..c }.is_valid());
        assert!(!Civil {
            month: 2,
            day: 29,
            year: 2100,
            ..c
        }
        .is_valid());
        assert!(Civil {
            month: 2,
            day: 29,
            year: 2400,
            ..c
        }
        .is_valid());
        assert!(!Civil { hour: 24, ..c }.is_valid());
        assert!(!Civil { second: 60, ..c }.is_valid());
    }

    #[test]
    fn the_clock_advances_with_the_monotonic_clock_and_refuses_bad_settings() {
        let mut clock = Clock::new(1_000, 5_000_000_000);
        assert_eq!(clock.read(5_000_000_000), (1_000, 0));
        assert_eq!(clock.read(6_500_000_001), (1_001, 500_000_001));
        // A monotonic reading from before the base cannot move the clock back.
        assert_eq!(clock.read(0), (1_000, 0));
        assert!(!clock.set(-1, 0, 0));
        assert!(!clock.set(SECONDS_MAX, 0, 0));
        assert!(!clock.set(5, 1_000_000_000, 0));
        assert_eq!(clock.read(5_000_000_000), (1_000, 0));
        assert!(clock.set(SECONDS_MAX - 1, 999_999_999, 10));
        assert_eq!(clock.read(11), (SECONDS_MAX, 0));
    }

    #[test]
    fn bcd_round_trips() {
        for v in 0..100 {
            assert_eq!(from_bcd(to_bcd(v)), v);
        }
        assert_eq!(to_bcd(59), 0x59);
    }
}
