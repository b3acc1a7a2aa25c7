//! The kos client (class kos.Client): calls the server over the channel whose id init.yaml
//! reads from a C header, asks the SDK's entropy service for bytes over the channel the
//! template's placeholder added, lends the server a handle with and without the right to
//! pass it on, and tries the method the policy denies.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_abi::handle::{RIGHT_CALL, RIGHT_TRANSFER};
use ostrog_abi::message::HANDLE_COPY;
use ostrog_rt::client::{channel, refuser};
use ostrog_rt::println;

// Generated from spec/ and kl.EntropyEntity: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_entropy::EntropyProxy;
use idl::kos_echo::EchoProxy;
use idl::kos_server::riid;
use idl::spec_rt::Handle;

ostrog_rt::main!(main);

fn main() -> i32 {
    let (Some(server), Some(entropy)) = (
        channel("client", "echo_connection"),
        channel("client", "entropy"),
    ) else {
        return 1;
    };
    let mut echo = EchoProxy {
        transport: server,
        riid: riid::MAIN_ECHO,
    };
    let mut failures = 0;
    match echo.reverse("KasperskyOS".into()) {
        Ok(r) => println!("client: Reverse(\"KasperskyOS\") = {:?}", r.reversed),
        Err(e) => {
            failures += 1;
            println!("client: Reverse failed: {e:?}");
        }
    }
    match echo.first("Ostrog".into()) {
        Ok(r) => println!("client: First(\"Ostrog\") = {:?}", char::from(r.first)),
        Err(e) => {
            failures += 1;
            println!("client: First failed: {e:?}");
        }
    }
    let mut rng = EntropyProxy {
        transport: entropy,
        riid: idl::kl_entropy_entity::riid::ENTROPY,
    };
    match rng.get_random(16) {
        Ok(r) if r.data.len() == 16 => println!("client: 16 random bytes from kl.EntropyEntity"),
        Ok(r) => {
            failures += 1;
            println!("client: GetRandom(16) gave {} bytes", r.data.len());
        }
        Err(e) => {
            failures += 1;
            println!("client: GetRandom failed: {e:?}");
        }
    }
    // The policy takes a lent handle only without the right to pass it on.
    for (rights, what, granted) in [
        (RIGHT_CALL, "without the transfer right", true),
        (RIGHT_CALL | RIGHT_TRANSFER, "it could pass on", false),
    ] {
        let token = Handle {
            handle: server.handle,
            rights_and_mode: HANDLE_COPY << 16 | rights,
        };
        match (echo.lend(token), granted) {
            (Ok(_), true) => println!("client: Lend of a handle {what}: granted"),
            (Err(e), false) => println!("client: Lend of a handle {what} refused: {}", refuser(&e)),
            (Ok(_), false) => {
                failures += 1;
                println!("client: BREACH: Lend of a handle {what} was granted");
            }
            (Err(e), true) => {
                failures += 1;
                println!("client: Lend of a handle {what} failed: {e:?}");
            }
        }
    }
    // The policy has no rule for Wipe: the kernel refuses it and the server never sees it.
    match echo.wipe() {
        Ok(_) => {
            failures += 1;
            println!("client: BREACH: Wipe was granted");
        }
        Err(e) => println!("client: Wipe refused: {}", refuser(&e)),
    }
    failures
}
