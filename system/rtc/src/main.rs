//! RtcClock: serves kl.WallClock on its endpoint `clock`: Unix time from the real-time clock
//! (src/arch), read once at start and advanced by the kernel's monotonic clock, settable by
//! the classes the solution's policy allows. See docs/services.md.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

// Generated from sysroot/kl: this program uses only part of it.
#[cfg(target_os = "none")]
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

#[cfg(target_os = "none")]
mod arch;

#[cfg(target_os = "none")]
mod server {
    use ostrog_rt::idl::kl_core_core::riid;
    use ostrog_rt::idl::kl_core_time::TimeProxy;
    use ostrog_rt::println;
    use ostrog_rt::sys::CoreTransport;
    use rtc::{Civil, Clock};

    use crate::arch::Rtc;
    use crate::idl::kl_rtc_clock::{dispatch, RtcClockEndpoints};
    use crate::idl::kl_wall_clock::{
        GetTimeError, GetTimeRequest, GetTimeResponse, SetTimeError, SetTimeRequest,
        SetTimeResponse, WallClockServer, INVALID_ARGUMENT, IO_ERROR,
    };

    ostrog_rt::main!(main);

    struct Server {
        rtc: Rtc,
        clock: Clock,
    }

    /// Monotonic nanoseconds since boot.
    fn now() -> Option<u64> {
        TimeProxy {
            transport: CoreTransport,
            riid: riid::TIME,
        }
        .now()
        .ok()
        .map(|r| r.ns)
    }

    impl WallClockServer for Server {
        fn get_time(&mut self, _: GetTimeRequest) -> Result<GetTimeResponse, GetTimeError> {
            let now = now().ok_or(GetTimeError { status: IO_ERROR })?;
            let (seconds, nanoseconds) = self.clock.read(now);
            Ok(GetTimeResponse {
                seconds,
                nanoseconds,
            })
        }

        fn set_time(&mut self, r: SetTimeRequest) -> Result<SetTimeResponse, SetTimeError> {
            let now = now().ok_or(SetTimeError { status: IO_ERROR })?;
            if !self.clock.set(r.seconds, r.nanoseconds, now) {
                return Err(SetTimeError {
                    status: INVALID_ARGUMENT,
                });
            }
            // The RTC keeps whole seconds, and only the years it can hold: the clock of this
            // boot is set either way; a later boot starts from the RTC.
            if !self.rtc.write(r.seconds) {
                println!(
                    "RtcClock: the RTC cannot hold {:?}; set for this boot only",
                    Civil::from_unix(r.seconds)
                );
            }
            Ok(SetTimeResponse {})
        }
    }

    impl RtcClockEndpoints for Server {
        fn clock(&mut self) -> &mut dyn WallClockServer {
            self
        }
    }

    fn main() -> i32 {
        let mut rtc = match Rtc::open() {
            Ok(rtc) => rtc,
            Err(e) => {
                println!("RtcClock: cannot reach the real-time clock: {}", e.name());
                return 1;
            }
        };
        let (Some(seconds), Some(at)) = (rtc.read(), now()) else {
            println!("RtcClock: the real-time clock holds no valid time");
            return 1;
        };
        let c = Civil::from_unix(seconds);
        println!(
            "RtcClock: the RTC reads {:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        );
        let mut server = Server {
            rtc,
            clock: Clock::new(seconds, at),
        };
        ostrog_rt::server::serve("RtcClock", |_, request| dispatch(&mut server, request))
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("RtcClock runs on Ostrog only (build it for a bare-metal target)");
    std::process::exit(1);
}
