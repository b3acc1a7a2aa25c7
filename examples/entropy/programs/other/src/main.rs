//! A client the policy allows neither service (class entropy.Other): GetRandom, GetTime and
//! SetTime must each be refused by the kernel (access denied, audited), never answered.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_abi::Status;
use ostrog_rt::client::{channel, refuser};
use ostrog_rt::println;

// Generated from the SDK tree's kl/: this program uses kl.Entropy and kl.WallClock.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_entropy::EntropyProxy;
use idl::kl_wall_clock::WallClockProxy;

ostrog_rt::main!(main);

fn main() -> i32 {
    let (Some(entropy), Some(clock)) = (channel("other", "entropy"), channel("other", "clock"))
    else {
        return 1;
    };
    let mut rng = EntropyProxy {
        transport: entropy,
        riid: idl::kl_entropy_entity::riid::ENTROPY,
    };
    let mut clock = WallClockProxy {
        transport: clock,
        riid: idl::kl_rtc_clock::riid::CLOCK,
    };
    let denied = Status::AccessDenied.name();
    let mut failed = 0;
    let mut check = |what: &str, refused: Option<&'static str>| match refused {
        Some(r) if r == denied => println!("other: {what} refused: {r}"),
        other => {
            println!("other: FAILED: {what} gave {other:?}, expected {denied}");
            failed += 1;
        }
    };
    check("GetRandom", rng.get_random(16).err().map(|e| refuser(&e)));
    check("GetTime", clock.get_time().err().map(|e| refuser(&e)));
    check(
        "SetTime",
        clock.set_time(1_000_000_000, 0).err().map(|e| refuser(&e)),
    );
    println!("other: done, {failed} failed");
    0
}
