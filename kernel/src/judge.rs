//! The judge: the one place where the kernel turns what is about to happen into an event
//! and asks the security module about it.
//!
//! Every event the kernel judges passes through [`judge`]: a process start (`execute`), a
//! request to a server or to the kernel, a response or error response from either, and a
//! security query. It builds the [`Event`] from what the kernel itself knows (the parties'
//! SIDs and classes, the kernel's own copy of the message, the objects and rights of the
//! handles it carries), asks [`crate::security::decide`], which runs the module and keeps
//! its audit records, and returns the verdict for the caller to enforce. Nothing else in the
//! kernel calls the module, so this file and [`crate::ipc`] are all there is to read to know
//! what the policy sees.

use ostrog_abi::message::{Header, FLAG_ERROR};
use ostrog_ksm::{ClassId, Event, EventKind, Verdict};

use crate::ipc::Carried;
use crate::security;
use crate::sid::{self, ProcessId, Sid};

/// Proof that the caller is this module: [`crate::security::decide`] takes one, and only
/// this module can make one (its field is private), so the type checker shows that nothing
/// else asks the security module.
pub struct Judge(());

/// A party of an event, as the security module sees it: a SID and a class.
#[derive(Clone, Copy, Debug)]
pub struct Party {
    sid: Sid,
    class: ClassId,
}

impl Party {
    /// A process of class `class`.
    pub fn process(id: ProcessId, class: ClassId) -> Party {
        Party {
            sid: id.sid(),
            class,
        }
    }

    /// The kernel itself (class `kl.core.Core`).
    pub fn kernel() -> Party {
        Party {
            sid: sid::KERNEL,
            class: crate::core_endpoints::class(),
        }
    }
}

/// What a message is to the party that sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// A request, to a server or to the kernel.
    Request,
    /// An answer: a response, or an error response if the message has the error flag.
    Answer,
    /// A query of the security module through the sender's security interface.
    Query,
}

/// An event about to happen.
pub enum Judged<'a> {
    /// `initiator` starts `target` (the kernel's own start is the kernel starting itself).
    Execute { initiator: Party, target: Party },
    /// A message on its way from one party to another: the kernel's copy, stamped, and the
    /// handles it carries with the rights the receiver would get.
    Message {
        sent: Sent,
        from: Party,
        to: Party,
        message: &'a [u8],
        handles: &'a Carried,
    },
}

/// Builds the event, asks the security module (which audits it), and returns its verdict.
pub fn judge(what: Judged<'_>) -> Verdict {
    match what {
        Judged::Execute { initiator, target } => security::decide(
            &Judge(()),
            &Event::execute(
                (initiator.sid.0, initiator.class),
                (target.sid.0, target.class),
            ),
        ),
        Judged::Message {
            sent,
            from,
            to,
            message,
            handles,
        } => {
            let header = Header::read(message).unwrap_or_default();
            let kind = match sent {
                Sent::Request => EventKind::Request,
                Sent::Query => EventKind::Security,
                Sent::Answer if header.flags & FLAG_ERROR != 0 => EventKind::Error,
                Sent::Answer => EventKind::Response,
            };
            let (infos, count) = handles.infos();
            security::decide(
                &Judge(()),
                &Event {
                    kind,
                    src_sid: from.sid.0,
                    src_class: from.class,
                    dst_sid: to.sid.0,
                    dst_class: to.class,
                    riid: header.riid,
                    mid: header.mid,
                    message,
                    handles: infos.get(..count).unwrap_or(&[]),
                },
            )
        }
    }
}
