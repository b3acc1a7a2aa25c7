//! The web front end (LOW). It may read the sensor (LOW to LOW) and the store
//! (reading from a higher level is no threat to the reader's integrity), but whatever it
//! tries to write into the store (HIGH) is denied: low-integrity data must not flow up.
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

const ME: &str = "web";

fn main() -> i32 {
    let Some(mut plant) = plant::Plant::connect(ME) else {
        return 1;
    };
    plant.read_sensor();
    let r = plant.store.get("mode".into());
    match &r {
        Ok(v) => println!("{ME}: the store's mode is {:?}", v.value),
        Err(e) => println!("{ME}: reading the store refused: {}", refusal(e)),
    }
    plant.expect.check("reading the store", r.is_ok(), true);
    for (key, value) in [("mode", "manual"), ("setpoint", "99")] {
        let r = plant.store.put(key.into(), value.into());
        match &r {
            Ok(_) => println!("{ME}: BREACH: wrote {key}={value} into the store"),
            Err(e) => println!("{ME}: writing {key}={value} refused: {}", refusal(e)),
        }
        plant
            .expect
            .check("writing into the store", r.is_ok(), false);
    }
    plant.done()
}
