//! The module of a kernel that runs no program (`cargo ostrog iso`, the boot benchmark): it
//! knows only the kernel and Einit, lets the kernel start, and denies every other event.

const CLASSES: [&str; 2] = ["kl.core.Core", "Einit"];

/// Lets the kernel start; denies every other event, audited.
pub struct BootOnly;

impl ostrog_ksm::SecurityModule for BootOnly {
    fn class_id(&self, name: &str) -> Option<ostrog_ksm::ClassId> {
        let index = CLASSES.iter().position(|c| *c == name)?;
        ostrog_ksm::ClassId::try_from(index).ok()
    }

    fn class_name(&self, class: ostrog_ksm::ClassId) -> &str {
        CLASSES.get(class as usize).copied().unwrap_or("?")
    }

    fn method_name(
        &self,
        _class: ostrog_ksm::ClassId,
        _riid: u32,
        _mid: u32,
    ) -> Option<(&str, &str)> {
        None
    }

    fn decide(
        &mut self,
        event: &ostrog_ksm::Event<'_>,
        audit: &mut dyn ostrog_ksm::AuditSink,
    ) -> ostrog_ksm::Verdict {
        let kernel_start = event.kind == ostrog_ksm::EventKind::Execute
            && event.src_class == 0
            && event.dst_class == 0;
        if kernel_start {
            return ostrog_ksm::Verdict::Granted;
        }
        audit.record(&ostrog_ksm::AuditRecord {
            kind: event.kind,
            src_sid: event.src_sid,
            src_class: self.class_name(event.src_class),
            dst_sid: event.dst_sid,
            dst_class: self.class_name(event.dst_class),
            endpoint: "",
            method: "",
            rules: &[],
            verdict: ostrog_ksm::Verdict::Denied,
            reason: Some(ostrog_ksm::DenyReason::NoBinding),
            src_class_id: event.src_class,
            dst_class_id: event.dst_class,
        });
        ostrog_ksm::Verdict::Denied
    }
}

impl ostrog_kernel::Module for BootOnly {
    const SOLUTION: &'static str = "(boot only)";

    fn module() -> alloc::boxed::Box<dyn ostrog_ksm::SecurityModule> {
        alloc::boxed::Box::new(BootOnly)
    }
}
