//! The log server: keeps the records it is given, in order, and hands them out by number.
//! It does not check who writes or reads, nor what a record holds: the policy does, before
//! a request is delivered.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use ostrog_rt::println;

// Generated from spec/: this program uses only part of it.
#[allow(dead_code, unused_imports)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::logger_log::{
    LogServer, ReadError, ReadRequest, ReadResponse, WriteError, WriteRequest, WriteResponse,
};
use idl::logger_server::{self, ServerEndpoints};

ostrog_rt::main!(main);

/// Most records kept; later ones are dropped.
const CAPACITY: usize = 64;

#[derive(Default)]
struct Log {
    records: Vec<String>,
}

impl LogServer for Log {
    fn write(&mut self, r: WriteRequest) -> Result<WriteResponse, WriteError> {
        if self.records.len() < CAPACITY {
            self.records.push(r.record);
        }
        Ok(WriteResponse {})
    }

    fn read(&mut self, r: ReadRequest) -> Result<ReadResponse, ReadError> {
        let record = usize::try_from(r.index)
            .ok()
            .and_then(|i| self.records.get(i))
            .cloned()
            .unwrap_or_default();
        Ok(ReadResponse {
            record,
            count: self.records.len() as u32,
        })
    }
}

impl ServerEndpoints for Log {
    fn log(&mut self) -> &mut dyn LogServer {
        self
    }
}

fn main() -> i32 {
    let mut log = Log::default();
    let status = ostrog_rt::server::serve("log", |_header, request| {
        logger_server::dispatch(&mut log, request)
    });
    if status == 0 {
        println!("log: {} records kept; no client left", log.records.len());
    }
    status
}
