//! The controller (HIGH, levelR LOW). It reads the sensor, which its levelR
//! allows, and writes a set point into the store (HIGH to HIGH).
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

const ME: &str = "controller";

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
    let r = store.put("setpoint".into(), "21".into());
    match &r {
        Ok(_) => println!("{ME}: set point 21 stored"),
        Err(e) => println!("{ME}: writing the set point refused: {}", why(e)),
    }
    expect("writing into the store", r.is_ok(), true);
    let r = store.get("setpoint".into());
    match &r {
        Ok(v) => println!("{ME}: the store's set point is {:?}", v.value),
        Err(e) => println!("{ME}: reading the store refused: {}", why(e)),
    }
    expect("reading the store", r.is_ok(), true);
    println!("{ME}: done");
    surprises
}
