//! `audit`: the security module's audit log (read by Klog).

use super::{Caller, Handover};
use crate::idl::kl_core_audit::{
    AuditServer, NoteError, NoteRequest, NoteResponse, ReadError, ReadRequest, ReadResponse,
    READ_MAX,
};
use crate::task::TASKS;

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

    /// A record stamped with the caller's class and SID: the text is the caller's, the
    /// identity the kernel's.
    fn note(&mut self, request: NoteRequest) -> Result<NoteResponse, NoteError> {
        let class = TASKS
            .lock()
            .processes
            .get(&self.process)
            .map(|p| p.class.clone())
            .unwrap_or_default();
        crate::security::audit_note(&class, self.process.sid().0, request.text.as_bytes());
        Ok(NoteResponse {})
    }
}
