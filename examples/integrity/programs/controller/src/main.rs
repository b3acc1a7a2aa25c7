//! The controller (HIGH, levelR LOW). It reads the sensor, which its levelR
//! allows, and writes a set point into the store (HIGH to HIGH).
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_rt::client::refusal;
use ostrog_rt::println;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

#[path = "../../../shared/plant.rs"]
mod plant;

ostrog_rt::main!(main);

const ME: &str = "controller";

fn main() -> i32 {
    let Some(mut plant) = plant::Plant::connect(ME) else {
        return 1;
    };
    plant.read_sensor();
    let r = plant.store.put("setpoint".into(), "21".into());
    match &r {
        Ok(_) => println!("{ME}: set point 21 stored"),
        Err(e) => println!("{ME}: writing the set point refused: {}", refusal(e)),
    }
    plant
        .expect
        .check("writing into the store", r.is_ok(), true);
    let r = plant.store.get("setpoint".into());
    match &r {
        Ok(v) => println!("{ME}: the store's set point is {:?}", v.value),
        Err(e) => println!("{ME}: reading the store refused: {}", refusal(e)),
    }
    plant.expect.check("reading the store", r.is_ok(), true);
    plant.done()
}
