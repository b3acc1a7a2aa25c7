//! The module of an insecure kernel.

use alloc::boxed::Box;
use alloc::string::{String, ToString};

use ostrog_ksm::{AuditSink, ClassId, Event, SecurityModule, Verdict};
use spin::Mutex;

/// The module of an insecure kernel: every event is granted, classes are numbered as they
/// are first named. Only built when the image was explicitly requested insecure.
#[derive(Default)]
pub struct GrantAll {
    classes: Mutex<alloc::vec::Vec<String>>,
}

impl SecurityModule for GrantAll {
    fn class_id(&self, name: &str) -> Option<ClassId> {
        let mut classes = self.classes.lock();
        let index = match classes.iter().position(|c| c == name) {
            Some(i) => i,
            None => {
                classes.push(name.to_string());
                classes.len() - 1
            }
        };
        ClassId::try_from(index).ok()
    }

    fn class_name(&self, _class: ClassId) -> &str {
        // Names cannot be borrowed out of the lock; an insecure kernel audits nothing anyway.
        "?"
    }

    fn method_name(&self, _class: ClassId, _riid: u32, _mid: u32) -> Option<(&str, &str)> {
        None
    }

    fn decide(&mut self, _event: &Event<'_>, _audit: &mut dyn AuditSink) -> Verdict {
        Verdict::Granted
    }
}

impl ostrog_kernel::Module for GrantAll {
    const SOLUTION: &'static str = "(none)";
    const INSECURE: bool = true;

    fn module() -> Box<dyn SecurityModule> {
        Box::new(GrantAll::default())
    }
}
