//! `entropy.Read`: bytes that differ from read to read, exactly the size asked for, nothing
//! above the limit, and a raw request asking for more than the limit refused.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::idl::kl_core_entropy::ReadError;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::println;
use ostrog_rt::sys::{self, RANDOM_MAX};

ostrog_rt::main!(main);

fn main() -> i32 {
    let mut failed = 0;
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    if sys::random_bytes(&mut a).is_err() || sys::random_bytes(&mut b).is_err() {
        println!("entropy: FAILED a read was refused");
        failed += 1;
    }
    // Two 64-byte reads that agree, or a read of all zeros, mean no generator at all.
    if a == b || a.iter().all(|&x| x == 0) {
        println!("entropy: FAILED two reads gave the same bytes");
        failed += 1;
    } else {
        println!("entropy: two reads of 64 bytes differ");
    }
    // Sizes up to the limit give exactly that many bytes.
    for size in [0u32, 1, 255, RANDOM_MAX as u32] {
        match sys::entropy().read(size) {
            Ok(r) if r.data.len() == size as usize => {}
            Ok(r) => {
                println!("entropy: FAILED Read({size}) gave {} bytes", r.data.len());
                failed += 1;
            }
            Err(e) => {
                println!(
                    "entropy: FAILED Read({size}) refused: {}",
                    sys::call_status(e).name()
                );
                failed += 1;
            }
        }
    }
    println!("entropy: reads of 0, 1, 255 and 256 bytes give exactly that many");
    // Above the limit: refused, whatever the size.
    for size in [RANDOM_MAX as u32 + 1, u32::MAX] {
        match sys::entropy().read(size) {
            Err(CallError::Remote(ReadError { status }))
                if status == Status::InvalidArgument as i32 => {}
            Err(e) => {
                println!(
                    "entropy: FAILED Read({size}): {}",
                    sys::call_status(e).name()
                );
                failed += 1;
            }
            Ok(_) => {
                println!("entropy: FAILED Read({size}) succeeded");
                failed += 1;
            }
        }
    }
    println!("entropy: reads above 256 bytes are refused");
    // A large buffer is filled in pieces, every piece fresh.
    let mut big = [0u8; 1000];
    if sys::random_bytes(&mut big).is_err() || big[..256] == big[256..512] {
        println!("entropy: FAILED a 1000-byte fill");
        failed += 1;
    }
    println!("entropy: done, {failed} failed");
    failed
}
