//! The pci example's rival driver: serves pci.Turn; on each turn it claims the virtio block
//! device, reads dword 0 of the function the driver names and releases it, and answers the
//! errno of each step. Asked to `Hold`, it claims the device and ends at once, holding it,
//! without answering; otherwise it ends when the driver does (its only client).
#![no_std]
#![no_main]

extern crate alloc;

use ostrog_rt::client::channel;
use ostrog_rt::idl::spec_rt::CallError;
use ostrog_rt::sys::Channel;

#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

use idl::kl_drivers_pci::PciProxy;
use idl::pci_turn::{
    HoldError, HoldRequest, HoldResponse, TakeError, TakeRequest, TakeResponse, TurnServer,
};

ostrog_rt::main!(main);

const VIRTIO: u16 = 0x1af4;
const BLOCK: [u16; 2] = [0x1001, 0x1042];

/// 0 done, the bus manager's errno, or the kernel's status (negative) if it refused.
fn errno<T, E>(r: Result<T, CallError<E>>, status: impl Fn(&E) -> i32) -> i32 {
    match &r {
        Ok(_) => 0,
        Err(CallError::Remote(e)) => status(e),
        Err(e) => ostrog_rt::call_refusal(e).map_or(-1000, |s| s as i32),
    }
}

struct Rival {
    pci: PciProxy<Channel>,
}

impl Rival {
    /// Claims the virtio block device: 0 or the errno.
    fn claim(&mut self) -> i32 {
        let mut claim = 0;
        for device in BLOCK {
            claim = errno(self.pci.claim(VIRTIO, device, 0), |e| e.status);
            if claim != idl::kl_drivers_pci::NO_DEVICE {
                break;
            }
        }
        claim
    }
}

impl TurnServer for Rival {
    fn hold(&mut self, _r: HoldRequest) -> Result<HoldResponse, HoldError> {
        let claim = self.claim();
        ostrog_rt::println!("rival: claimed the device (errno {claim}) and ends holding it");
        ostrog_rt::sys::exit(0)
    }

    fn take(&mut self, r: TakeRequest) -> Result<TakeResponse, TakeError> {
        Ok(TakeResponse {
            claim: self.claim(),
            read: errno(self.pci.read(r.function, 0), |e| e.status),
            release: errno(self.pci.release(r.function), |e| e.status),
        })
    }
}

impl idl::pci_rival::RivalEndpoints for Rival {
    fn turn(&mut self) -> &mut dyn TurnServer {
        self
    }
}

fn main() -> i32 {
    let Some(pci) = channel("rival", "pci") else {
        return 1;
    };
    let mut rival = Rival {
        pci: PciProxy {
            transport: pci,
            riid: 0,
        },
    };
    ostrog_rt::server::serve("rival", |_header, request| {
        idl::pci_rival::dispatch(&mut rival, request)
    })
}
