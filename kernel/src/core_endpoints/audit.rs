//! `audit`: the security module's audit log (read by Klog).

use super::{Caller, Handover};
use crate::idl::kl_core_audit::{AuditServer, ReadError, ReadRequest, ReadResponse, READ_MAX};

impl AuditServer for Caller {
    fn read(&mut self, _request: ReadRequest) -> Result<ReadResponse, ReadError> {
        let mut read = crate::security::read_audit(READ_MAX as usize);
        let response = ReadResponse {
            records: core::mem::take(&mut read.text).into_bytes(),
            dropped: read.reported,
        };
        self.handover = Handover::Audit(read);
        Ok(response)
    }
}
