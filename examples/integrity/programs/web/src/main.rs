//! The web front end (LOW). It may read the sensor (LOW to LOW) and the store
//! (reading from a higher level is no threat to the reader's integrity), but whatever it
//! tries to write into the store (HIGH) is denied: low-integrity data must not flow up.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use ostrog_rt::sys::Channel;
use ostrog_rt::{call_refusal, println};

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::integrity_config::ConfigProxy;
use idl::integrity_sensor::riid as sensor_riid;
use idl::integrity_store::riid as store_riid;
use idl::integrity_thermometer::ThermometerProxy;
use idl::spec_rt::CallError;

ostrog_rt::main!(main);

const ME: &str = "web";

/// What refused a call: "access denied" when the policy did.
fn why<E: core::fmt::Debug>(e: &CallError<E>) -> String {
    call_refusal(e).map_or_else(|| format!("{e:?}"), |s| String::from(s.name()))
}

fn main() -> i32 {
    let (Ok(sensor), Ok(store)) = (Channel::lookup("sensor"), Channel::lookup("store")) else {
        println!("{ME}: a channel is missing");
        return 1;
    };
    let mut sensor = ThermometerProxy {
        transport: sensor,
        riid: sensor_riid::THERMOMETER,
    };
    let mut store = ConfigProxy {
        transport: store,
        riid: store_riid::CONFIG,
    };
    let mut surprises = 0;
    let mut expect = |what: &str, granted: bool, allowed: bool| {
        if granted != allowed {
            surprises += 1;
            println!(
                "{ME}: UNEXPECTED: {what} should have been {}",
                if allowed { "granted" } else { "denied" }
            );
        }
    };
    let r = sensor.read();
    match &r {
        Ok(t) => println!("{ME}: the sensor reads {} C", t.celsius),
        Err(e) => println!("{ME}: reading the sensor refused: {}", why(e)),
    }
    expect("reading the sensor", r.is_ok(), true);
    let r = store.get("mode".into());
    match &r {
        Ok(v) => println!("{ME}: the store's mode is {:?}", v.value),
        Err(e) => println!("{ME}: reading the store refused: {}", why(e)),
    }
    expect("reading the store", r.is_ok(), true);
    for (key, value) in [("mode", "manual"), ("setpoint", "99")] {
        let r = store.put(key.into(), value.into());
        match &r {
            Ok(_) => println!("{ME}: BREACH: wrote {key}={value} into the store"),
            Err(e) => println!("{ME}: writing {key}={value} refused: {}", why(e)),
        }
        expect("writing into the store", r.is_ok(), false);
    }
    println!("{ME}: done");
    surprises
}
