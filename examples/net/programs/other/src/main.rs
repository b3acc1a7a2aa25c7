//! A program the policy keeps off the network: every socket request it makes to kl.VfsNet
//! is denied by the policy (and audited), which it sees as EACCES.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_rt::client::channel;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;

#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_net::{NetProxy, TCP};
use idl::kl_vfs_net::riid;

ostrog_rt::main!(main);

/// Linux `EACCES`.
const EACCES: i32 = 13;

/// EACCES when the kernel refused the call (the policy denied it), else what it was.
fn errno<E>(e: &CallError<E>) -> i32 {
    match ostrog_rt::call_refusal(e) {
        Some(ostrog_abi::Status::AccessDenied) => EACCES,
        Some(_) => -1,
        None => -2,
    }
}

fn main() -> i32 {
    let Some(transport) = channel("other", "net") else {
        return 1;
    };
    let mut net = NetProxy {
        transport,
        riid: riid::NET,
    };
    let results = [
        ("Socket", net.socket(TCP).map_or_else(|e| errno(&e), |_| 0)),
        ("Bind", net.bind(0, 0, 80).map_or_else(|e| errno(&e), |_| 0)),
        ("Listen", net.listen(0, 1).map_or_else(|e| errno(&e), |_| 0)),
        (
            "Connect",
            net.connect(0, 0x0a00_0202, 80)
                .map_or_else(|e| errno(&e), |_| 0),
        ),
    ];
    let mut failed = 0;
    for (what, got) in results {
        if got == EACCES {
            println!("other: {what} denied: EACCES");
        } else {
            println!("other: FAILED {what}: {got}, expected EACCES");
            failed += 1;
        }
    }
    i32::from(failed > 0)
}
