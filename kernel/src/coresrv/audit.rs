//! `audit`: the security module's audit log (read by Klog).

use super::Caller;
use crate::idl::kl_core_audit::{AuditServer, ReadError, ReadRequest, ReadResponse, READ_MAX};

impl AuditServer for Caller {
    fn read(&mut self, _request: ReadRequest) -> Result<ReadResponse, ReadError> {
        let (records, dropped) = crate::security::take_audit(READ_MAX as usize);
        Ok(ReadResponse {
            records: records.into_bytes(),
            dropped,
        })
    }
}
