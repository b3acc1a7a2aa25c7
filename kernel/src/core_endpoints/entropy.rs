//! `entropy`: random bytes for the calling process ([`crate::entropy`]).

use alloc::vec::Vec;

use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_entropy::{EntropyServer, ReadError, ReadRequest, ReadResponse};

/// Most bytes one `Read` gives (`ReadMax` in `Entropy.idl`).
const READ_MAX: usize = 256;

impl EntropyServer for Caller {
    fn read(&mut self, request: ReadRequest) -> Result<ReadResponse, ReadError> {
        let refuse = |s: Status| ReadError { status: code(s) };
        let size = usize::try_from(request.size).map_err(|_| refuse(Status::InvalidArgument))?;
        if size > READ_MAX {
            return Err(refuse(Status::InvalidArgument));
        }
        let mut data = Vec::new();
        data.try_reserve_exact(size)
            .map_err(|_| refuse(Status::NoMemory))?;
        data.resize(size, 0);
        crate::entropy::fill(&mut data);
        Ok(ReadResponse { data })
    }
}
