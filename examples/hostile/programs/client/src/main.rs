//! The well-behaved client: stores records in the store and a secret in the vault, reads
//! them back and checks them, while the attacker does its worst next to it.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;

use ostrog_rt::println;
use ostrog_rt::sys::Channel;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::hostile_server::riid;
use idl::hostile_store::StoreProxy;

ostrog_rt::main!(main);

/// How many records the client stores.
const RECORDS: u32 = 8;

fn open(name: &str) -> Option<StoreProxy<Channel>> {
    match Channel::lookup(name) {
        Ok(channel) => Some(StoreProxy {
            transport: channel,
            riid: riid::STORE,
        }),
        Err(e) => {
            println!("client: no channel {name}: {}", e.name());
            None
        }
    }
}

/// Rounds of Put and Get next to the attacker's soak (a quarter of its rounds: it makes four
/// calls a round, so both keep the store busy for about as long).
fn soak_rounds() -> u32 {
    option_env!("OSTROG_SOAK_ROUNDS")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1000)
        / 4
}

/// Honest work while the attacker soaks: every answer must be right.
fn soak(store: &mut StoreProxy<Channel>) -> bool {
    let rounds = soak_rounds();
    let mut wrong = 0u32;
    for round in 0..rounds {
        let value = format!("{round}");
        let right = store.put("soak".into(), value.clone()).is_ok()
            && store.get("soak".into()).is_ok_and(|r| r.value == value);
        if !right {
            wrong += 1;
        }
    }
    println!("client: soak: {rounds} rounds of Put and Get next to the attacker, {wrong} wrong");
    wrong == 0
}

fn main() -> i32 {
    let (Some(mut store), Some(mut vault)) = (open("store"), open("vault")) else {
        return 1;
    };
    let mut good = 0;
    for i in 0..RECORDS {
        let (key, value) = (format!("record-{i}"), format!("value {}", i * i));
        let back = match store.put(key.clone(), value.clone()) {
            Ok(_) => store.get(key),
            Err(e) => {
                println!("client: Put of record {i}: {e:?}");
                continue;
            }
        };
        match back {
            Ok(r) if r.value == value => good += 1,
            Ok(r) => println!("client: record {i} came back as {:?}", r.value),
            Err(e) => println!("client: record {i}: {e:?}"),
        }
    }
    println!("client: {good} of {RECORDS} records stored and read back");
    let kept = vault.put("pin".into(), "4711".into()).is_ok()
        && vault.get("pin".into()).is_ok_and(|r| r.value == "4711");
    if kept {
        println!("client: the vault keeps the secret");
    } else {
        println!("client: the vault lost the secret");
    }
    let soaked = soak(&mut store);
    if good == RECORDS && kept && soaked {
        println!("client: done, all well");
        0
    } else {
        1
    }
}
