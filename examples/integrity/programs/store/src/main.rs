//! The configuration store (HIGH): a few key-value entries, `mode` preset to "auto". It
//! accepts every Put it receives: keeping low-integrity data out is the policy's job.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;

use ostrog_rt::println;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::integrity_config::{
    ConfigServer, GetError, GetRequest, GetResponse, PutError, PutRequest, PutResponse,
};
use idl::integrity_store::{self, StoreEndpoints};

ostrog_rt::main!(main);

/// Most entries kept.
const CAPACITY: usize = 16;

struct Store {
    entries: BTreeMap<String, String>,
}

impl ConfigServer for Store {
    fn put(&mut self, r: PutRequest) -> Result<PutResponse, PutError> {
        println!("store: {} = {:?}", r.key, r.value);
        if self.entries.len() < CAPACITY || self.entries.contains_key(&r.key) {
            self.entries.insert(r.key, r.value);
        }
        Ok(PutResponse {})
    }

    fn get(&mut self, r: GetRequest) -> Result<GetResponse, GetError> {
        Ok(GetResponse {
            value: self.entries.get(&r.key).cloned().unwrap_or_default(),
        })
    }
}

impl StoreEndpoints for Store {
    fn config(&mut self) -> &mut dyn ConfigServer {
        self
    }
}

fn main() -> i32 {
    let mut store = Store {
        entries: BTreeMap::new(),
    };
    store.entries.insert("mode".into(), "auto".into());
    ostrog_rt::server::serve("store", |_header, request| {
        integrity_store::dispatch(&mut store, request)
    })
}
