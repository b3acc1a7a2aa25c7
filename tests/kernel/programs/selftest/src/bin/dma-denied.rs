//! A class the policy denies `io.AllocDma` (`ScenarioPolicy`): refused with `AccessDenied`
//! and audited; `FreeDma` of nothing is still judged and answered.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_core::riid;
use ostrog_rt::idl::kl_core_io::IoProxy;
use ostrog_rt::println;
use ostrog_rt::sys::{call_status, CoreTransport};

ostrog_rt::main!(main);

fn main() -> i32 {
    let mut io = IoProxy {
        transport: CoreTransport,
        riid: riid::IO,
    };
    match io.alloc_dma(4096).map_err(call_status) {
        Err(Status::AccessDenied) => {
            println!("dma-denied: AllocDma refused");
            0
        }
        other => {
            println!(
                "dma-denied: FAILED AllocDma gave {:?}",
                other.map(|r| r.phys)
            );
            1
        }
    }
}
