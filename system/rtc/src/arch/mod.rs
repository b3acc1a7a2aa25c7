//! The real-time clock of each architecture behind one shape: [`Rtc::open`] takes the
//! device (the kernel call the policy allows for it), [`Rtc::read`] gives Unix seconds,
//! [`Rtc::write`] sets them.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub use aarch64::Rtc;
#[cfg(target_arch = "x86_64")]
pub use x86_64::Rtc;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("RtcClock supports x86_64 and aarch64");

use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::sys::CoreTransport;

fn io() -> IoProxy<CoreTransport> {
    IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    }
}
