//! The sensor (LOW): answers every Read with the same temperature until no client is left.
#![no_std]
#![no_main]

extern crate alloc;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::integrity_sensor::{self, SensorEndpoints};
use idl::integrity_thermometer::{ReadError, ReadRequest, ReadResponse, ThermometerServer};

ostrog_rt::main!(main);

struct Sensor;

impl ThermometerServer for Sensor {
    fn read(&mut self, _r: ReadRequest) -> Result<ReadResponse, ReadError> {
        Ok(ReadResponse { celsius: 21 })
    }
}

impl SensorEndpoints for Sensor {
    fn thermometer(&mut self) -> &mut dyn ThermometerServer {
        self
    }
}

fn main() -> i32 {
    let mut sensor = Sensor;
    ostrog_rt::server::serve("sensor", |_header, request| {
        integrity_sensor::dispatch(&mut sensor, request)
    })
}
