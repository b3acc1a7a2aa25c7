//! The ping client: calls Ping and Pong in various orders and prints which calls the
//! policy let through. Calls out of turn are refused by the kernel.
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_rt::sys::{self, Channel};
use ostrog_rt::{call_refusal, println};

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::ping_ping::{PingProxy, PongRequest};
use idl::ping_server::riid;
use idl::spec_rt::{CallError, Message};

ostrog_rt::main!(main);

#[derive(Clone, Copy)]
enum Call {
    Ping(u32),
    Pong(u32),
    /// A Pong with time-out 0: given up before the server can take it.
    PongAtOnce(u32),
}

/// Why a call failed: the kernel's refusal (e.g. "access denied"), or another failure.
fn why<E>(e: CallError<E>) -> &'static str {
    call_refusal(&e).map_or("(not by the kernel)", |s| s.name())
}

/// A Pong whose caller gives up at once (time-out 0).
fn pong_at_once(channel: Channel, value: u32) -> Result<u32, &'static str> {
    let request = PongRequest { value }
        .encode(riid::PING)
        .map_err(|_| "(cannot encode)")?;
    let mut response = [0u8; 256];
    sys::call(channel.handle, &request, &mut response, 0)
        .map(|_| value.wrapping_sub(1))
        .map_err(|s| s.name())
}

fn main() -> i32 {
    let Ok(channel) = Channel::lookup("ping") else {
        println!("client: no channel named ping");
        return 1;
    };
    let mut server = PingProxy {
        transport: channel,
        riid: riid::PING,
    };
    use Call::{Ping, Pong, PongAtOnce};
    // Each round: the calls, then whether the policy must grant each.
    let rounds: [(&str, &[(Call, bool)]); 5] = [
        (
            "alternating",
            &[
                (Ping(1), true),
                (Pong(2), true),
                (Ping(3), true),
                (Pong(4), true),
            ],
        ),
        ("Pong first", &[(Pong(5), false), (Ping(6), true)]),
        (
            "twice in a row",
            &[(Ping(7), false), (Pong(8), true), (Pong(9), false)],
        ),
        // Ping(1000) passes the FSM but fails the policy's value check: the FSM must not
        // move, so a Pong is still out of turn and the next Ping is granted.
        (
            "a denied Ping changes nothing",
            &[(Ping(1000), false), (Pong(10), false), (Ping(11), true)],
        ),
        // A call is judged when the server takes it: one given up before that was never an
        // event, so the FSM still wants a Pong.
        (
            "a Pong given up at once changes nothing",
            &[(PongAtOnce(12), false), (Ping(13), false), (Pong(14), true)],
        ),
    ];
    let mut surprises = 0;
    for (name, calls) in rounds {
        println!("client: -- {name} --");
        for &(call, expected) in calls {
            let (name, value, result) = match call {
                Ping(v) => ("Ping", v, server.ping(v).map(|r| r.result).map_err(why)),
                Pong(v) => ("Pong", v, server.pong(v).map(|r| r.result).map_err(why)),
                PongAtOnce(v) => ("Pong", v, pong_at_once(channel, v)),
            };
            let granted = result.is_ok();
            match result {
                Ok(r) => println!("client: {name}({value}) -> {r}"),
                Err(why) => println!("client: {name}({value}) refused: {why}"),
            }
            if granted != expected {
                surprises += 1;
                println!("client: UNEXPECTED: the policy decided otherwise");
            }
        }
    }
    surprises
}
