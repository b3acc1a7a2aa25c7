//! What the controller and the web front end share (each includes this file as its module
//! `plant`): the proxies of the sensor and the store, and the reading of the sensor.

use ostrog_rt::client::{refusal, Expect};
use ostrog_rt::println;
use ostrog_rt::sys::Channel;

use crate::idl::integrity_config::ConfigProxy;
use crate::idl::integrity_sensor::riid as sensor_riid;
use crate::idl::integrity_store::riid as store_riid;
use crate::idl::integrity_thermometer::ThermometerProxy;

/// The sensor and the store, as `me` reaches them.
pub struct Plant<'a> {
    pub me: &'a str,
    pub sensor: ThermometerProxy<Channel>,
    pub store: ConfigProxy<Channel>,
    /// The outcomes `me` did not expect.
    pub expect: Expect<'a>,
}

impl<'a> Plant<'a> {
    /// Both channels, or `None` after saying that one is missing.
    pub fn connect(me: &'a str) -> Option<Self> {
        let (Ok(sensor), Ok(store)) = (Channel::lookup("sensor"), Channel::lookup("store")) else {
            println!("{me}: a channel is missing");
            return None;
        };
        Some(Plant {
            me,
            sensor: ThermometerProxy {
                transport: sensor,
                riid: sensor_riid::THERMOMETER,
            },
            store: ConfigProxy {
                transport: store,
                riid: store_riid::CONFIG,
            },
            expect: Expect::new(me),
        })
    }

    /// Reads the sensor, which both programs may.
    pub fn read_sensor(&mut self) {
        let me = self.me;
        let r = self.sensor.read();
        match &r {
            Ok(t) => println!("{me}: the sensor reads {} C", t.celsius),
            Err(e) => println!("{me}: reading the sensor refused: {}", refusal(e)),
        }
        self.expect.check("reading the sensor", r.is_ok(), true);
    }

    /// Says so and returns the exit status: how many outcomes were unexpected.
    pub fn done(&self) -> i32 {
        println!("{}: done", self.me);
        self.expect.surprises()
    }
}
