//! The server side of `ipc-bench`: answers every request with an empty response of the same
//! method, until no client is left.
#![no_std]
#![no_main]

use ostrog_abi::message::{Header, HEADER_SIZE};
use ostrog_abi::{handle, TIMEOUT_FOREVER};
use ostrog_rt::sys;

ostrog_rt::main!(main);

fn main() -> i32 {
    let mut buffer = [0u8; 256];
    let mut answer = [0u8; HEADER_SIZE];
    while let Ok((len, _)) = sys::recv(handle::ANY, &mut buffer, TIMEOUT_FOREVER) {
        let request = Header::read(buffer.get(..len).unwrap_or(&[])).unwrap_or_default();
        Header {
            riid: request.riid,
            mid: request.mid,
            ..Header::default()
        }
        .write(&mut answer);
        let _ = sys::reply(handle::ANY, &answer);
    }
    0
}
