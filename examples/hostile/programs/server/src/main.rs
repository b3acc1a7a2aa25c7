//! The store server (also run as the vault): keeps up to 16 key-value pairs and answers
//! hostile.Store until no client can reach it. It checks nothing about its callers: the
//! policy decides who gets through, and the kernel and the policy's validator make sure that
//! only well-formed requests of granted methods are delivered.
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

use idl::hostile_server::{self, ServerEndpoints};
use idl::hostile_store::{
    EraseError, EraseRequest, EraseResponse, GetError, GetRequest, GetResponse, PutError,
    PutRequest, PutResponse, ShareError, ShareRequest, ShareResponse, StoreServer,
};

ostrog_rt::main!(main);

/// Most pairs kept.
const CAPACITY: usize = 16;

#[derive(Default)]
struct Store {
    pairs: BTreeMap<String, String>,
}

impl StoreServer for Store {
    fn put(&mut self, r: PutRequest) -> Result<PutResponse, PutError> {
        if self.pairs.len() < CAPACITY || self.pairs.contains_key(&r.key) {
            self.pairs.insert(r.key, r.value);
        }
        Ok(PutResponse {})
    }

    fn get(&mut self, r: GetRequest) -> Result<GetResponse, GetError> {
        Ok(GetResponse {
            value: self.pairs.get(&r.key).cloned().unwrap_or_default(),
        })
    }

    fn share(&mut self, _r: ShareRequest) -> Result<ShareResponse, ShareError> {
        println!("server: BREACH: Share was delivered");
        Ok(ShareResponse {})
    }

    fn erase(&mut self, _r: EraseRequest) -> Result<EraseResponse, EraseError> {
        println!("server: BREACH: Erase was delivered");
        self.pairs.clear();
        Ok(EraseResponse {})
    }
}

impl ServerEndpoints for Store {
    fn store(&mut self) -> &mut dyn StoreServer {
        self
    }
}

fn main() -> i32 {
    let mut store = Store::default();
    // The vault runs this program too: its class has the same endpoints, so the same
    // dispatcher routes its requests.
    ostrog_rt::server::serve("server", |_header, request| {
        hostile_server::dispatch(&mut store, request)
    })
}
