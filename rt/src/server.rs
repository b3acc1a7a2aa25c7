//! The server loop: receive a request on any endpoint, let the generated dispatcher answer
//! it, reply; until no client can reach the server any more.

use alloc::vec::Vec;

use ostrog_abi::message::{Header, FLAG_ERROR, HEADER_SIZE};
use ostrog_abi::{handle, Status, TIMEOUT_FOREVER};

use crate::idl::spec_rt::DispatchError;
use crate::{println, sys};

/// Largest request this loop receives.
pub const MAX_REQUEST: usize = ostrog_abi::message::DEFAULT_MAX_MESSAGE;

/// Serves requests with `dispatch` (e.g. a generated class dispatcher), which gets the
/// request's header (with the sender's SID and class, stamped by the kernel) and bytes.
/// A request the dispatcher rejects still gets an answer, an empty error response, so that
/// no client waits forever. Returns `Ok` when the last client has gone.
pub fn run(
    mut dispatch: impl FnMut(&Header, &[u8]) -> Result<Vec<u8>, DispatchError>,
) -> Result<(), Status> {
    let mut buffer = alloc::vec![0u8; MAX_REQUEST];
    loop {
        let len = match sys::recv(handle::ANY, &mut buffer, TIMEOUT_FOREVER) {
            Ok((len, _)) => len,
            Err(Status::Disconnected) => return Ok(()),
            Err(e) => return Err(e),
        };
        let request = buffer.get(..len).unwrap_or(&[]);
        let header = Header::read(request).unwrap_or_default();
        let answer = match dispatch(&header, request) {
            Ok(answer) => answer,
            Err(e) => {
                println!(
                    "server: malformed request from sid {}: {e:?}",
                    header.src_sid
                );
                let mut empty = alloc::vec![0u8; HEADER_SIZE];
                Header {
                    riid: header.riid,
                    mid: header.mid,
                    flags: FLAG_ERROR,
                    ..Header::default()
                }
                .write(&mut empty);
                empty
            }
        };
        if let Err(e) = sys::reply(handle::ANY, &answer) {
            println!("server: reply failed: {}", e.name());
        }
    }
}

/// [`run`] as a program's main function ends with it: exit status 0 when the last client
/// has gone, or 1 after printing "`me`: " and the status that stopped the loop.
pub fn serve(
    me: &str,
    dispatch: impl FnMut(&Header, &[u8]) -> Result<Vec<u8>, DispatchError>,
) -> i32 {
    match run(dispatch) {
        Ok(()) => 0,
        Err(e) => {
            println!("{me}: {}", e.name());
            1
        }
    }
}
