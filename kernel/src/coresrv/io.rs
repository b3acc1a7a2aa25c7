//! `io`: device access for drivers.
//!
//! Not available yet: mapping device registers into a process needs uncached user mappings
//! (a memory-type attribute in `AddressSpace::map`), and interrupt delivery to processes
//! needs the IRQ objects of the driver work. Until then every method answers
//! [`Status::NotSupported`], after the policy has judged the request like any other.

use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_io::{
    ClaimIrqError, ClaimIrqRequest, ClaimIrqResponse, ClaimPortsError, ClaimPortsRequest,
    ClaimPortsResponse, IoServer, MapMmioError, MapMmioRequest, MapMmioResponse,
};

impl IoServer for Caller {
    fn map_mmio(&mut self, _r: MapMmioRequest) -> Result<MapMmioResponse, MapMmioError> {
        Err(MapMmioError {
            status: code(Status::NotSupported),
        })
    }

    fn claim_irq(&mut self, _r: ClaimIrqRequest) -> Result<ClaimIrqResponse, ClaimIrqError> {
        Err(ClaimIrqError {
            status: code(Status::NotSupported),
        })
    }

    fn claim_ports(
        &mut self,
        _r: ClaimPortsRequest,
    ) -> Result<ClaimPortsResponse, ClaimPortsError> {
        Err(ClaimPortsError {
            status: code(Status::NotSupported),
        })
    }
}
