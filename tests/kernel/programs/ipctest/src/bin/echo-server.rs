//! The echo server: answers `ipctest.Echo` on every endpoint it was given, and ends when no
//! client is left.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use ipctest::idl::ipctest_echo::{
    EchoError, EchoRequest, EchoResponse, EchoServer, ForbiddenError, ForbiddenRequest,
    ForbiddenResponse, HoardError, HoardRequest, HoardResponse, KeepError, KeepRequest,
    KeepResponse, ReleaseError, ReleaseRequest, ReleaseResponse, TouchError, TouchRequest,
    TouchResponse,
};
use ipctest::idl::ipctest_server::{self, ServerEndpoints};
use ipctest::idl::spec_rt::Handle;
use ostrog_rt::{println, sys};

ostrog_rt::main!(main);

#[derive(Default)]
struct Echo {
    /// The identity the kernel stamped on the request being served.
    sender: (u64, u32),
    served: u64,
    /// Handles kept by Hoard.
    hoard: Vec<Handle>,
}

impl EchoServer for Echo {
    fn echo(&mut self, r: EchoRequest) -> Result<EchoResponse, EchoError> {
        self.served += 1;
        let mut back = r.data;
        back.reverse();
        Ok(EchoResponse {
            next: r.n.wrapping_add(1),
            back,
            sender: self.sender.0,
            cls: self.sender.1,
        })
    }

    fn keep(&mut self, r: KeepRequest) -> Result<KeepResponse, KeepError> {
        let sid = sys::handles().sid(r.h).map_or(0, |s| s.sid);
        // The handle was ours only to look at: close it so the table does not fill up.
        let _ = sys::handles().close(r.h);
        Ok(KeepResponse { sid })
    }

    fn touch(&mut self, r: TouchRequest) -> Result<TouchResponse, TouchError> {
        let mapped = sys::vmm().map(r.region, 1);
        let _ = sys::handles().close(r.region);
        let Ok(m) = mapped else {
            return Ok(TouchResponse { sum: u64::MAX });
        };
        // SAFETY: the kernel just mapped `m.size` writable bytes at `m.addr` for this
        // process; nothing else in this program refers to them.
        let bytes = unsafe { core::slice::from_raw_parts_mut(m.addr as *mut u8, m.size as usize) };
        let sum = bytes.iter().map(|&b| u64::from(b)).sum();
        for b in bytes.iter_mut() {
            *b = b.wrapping_add(1);
        }
        let _ = sys::vmm().free(m.addr, m.size);
        Ok(TouchResponse { sum })
    }

    fn hoard(&mut self, r: HoardRequest) -> Result<HoardResponse, HoardError> {
        self.hoard.push(r.h);
        Ok(HoardResponse {
            held: self.hoard.len() as u32,
        })
    }

    fn release(&mut self, _r: ReleaseRequest) -> Result<ReleaseResponse, ReleaseError> {
        let released = self.hoard.len() as u32;
        for h in self.hoard.drain(..) {
            let _ = sys::handles().close(h);
        }
        Ok(ReleaseResponse { released })
    }

    fn forbidden(&mut self, _r: ForbiddenRequest) -> Result<ForbiddenResponse, ForbiddenError> {
        println!("echo-server: BREACH: a Forbidden request was delivered");
        Ok(ForbiddenResponse { secret: 0xdead })
    }
}

impl ServerEndpoints for Echo {
    fn ipc(&mut self) -> &mut dyn EchoServer {
        self
    }
}

fn main() -> i32 {
    let mut server = Echo::default();
    let served = ostrog_rt::server::run(|header, request| {
        server.sender = (header.src_sid, header.src_class);
        ipctest_server::dispatch(&mut server, request)
    });
    if let Err(e) = served {
        println!("echo-server: recv failed: {}", e.name());
        return 1;
    }
    println!(
        "echo-server: no clients left after {} echoes",
        server.served
    );
    0
}
