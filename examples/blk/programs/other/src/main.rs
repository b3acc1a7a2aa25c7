//! A second client of the disk driver: it waits until the first client has surely been
//! served (5 s), then makes every request; the driver serves one client only, so each must
//! fail with `EBUSY` (16), and the disk stays the first client's.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;

use ostrog_rt::client::channel;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;
use ostrog_rt::sys;

// Generated from the SDK tree's kl/drivers/: this program uses only kl.drivers.Block.
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_drivers_block::BlockProxy;
use idl::kl_drivers_virtio_blk::riid;

ostrog_rt::main!(main);

/// The driver's answer for another client than its one (Linux `EBUSY`).
const BUSY: i32 = 16;

/// Whether a request failed with the driver's `EBUSY`.
macro_rules! busy {
    ($r:expr) => {
        matches!($r, Err(CallError::Remote(e)) if e.status == BUSY)
    };
}

fn main() -> i32 {
    let Some(transport) = channel("other", "blk") else {
        return 1;
    };
    let mut blk = BlockProxy {
        transport,
        riid: riid::BLK,
    };
    let _ = sys::sleep_ms(5000);
    let refused = [
        busy!(blk.info()),
        busy!(blk.read(0, 1)),
        busy!(blk.write(1, vec![0; 512])),
        busy!(blk.flush()),
    ];
    if refused.iter().all(|&r| r) {
        println!("other: every request refused with errno {BUSY}: the driver has one client");
        0
    } else {
        println!("other: FAILED a second client was served: {refused:?}");
        1
    }
}
