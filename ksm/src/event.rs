//! What the kernel asks: one security event.

/// A security identifier: the kernel gives every object that can be named (process, thread,
/// channel, memory region, interrupt, ...) one SID, never reused.
pub type Sid = u64;

/// A process class as the security module numbers it (see
/// [`SecurityModule::class_id`](crate::SecurityModule::class_id)).
pub type ClassId = u32;

/// The five kinds of security event, as PSL names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A process is started (`src` = initiator, `dst` = the new process). The kernel's own
    /// start is `kl.core.Core` -> `kl.core.Core`.
    Execute,
    /// A client sends a request to a server or to the kernel (`src` = client).
    Request,
    /// A server or the kernel answers normally (`src` = server, `dst` = client).
    Response,
    /// A server or the kernel answers with the error flag set (`src` = server).
    Error,
    /// A process queries the security module through its security interface (`src` = the
    /// process; `dst` = the kernel).
    Security,
}

impl EventKind {
    /// The PSL keyword of the event kind.
    pub fn keyword(self) -> &'static str {
        match self {
            EventKind::Execute => "execute",
            EventKind::Request => "request",
            EventKind::Response => "response",
            EventKind::Error => "error",
            EventKind::Security => "security",
        }
    }
}

/// The answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Granted,
    Denied,
}

impl Verdict {
    pub fn is_granted(self) -> bool {
        self == Verdict::Granted
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Granted => "granted",
            Verdict::Denied => "denied",
        }
    }
}

/// One event, as the kernel stopped it.
///
/// For `request`, `response` and `error`, `dst_class`/`riid`/`mid` always name the *server's*
/// method: a response travels from the server (`src`) back to the client (`dst`), and its
/// `riid`/`mid` are those of the request it answers, so that the module knows which IDL type
/// (out or error parameters) the message must have. For `security`, `riid` numbers the
/// security interfaces of the source class (declaration order, through nested components)
/// and `mid` the method. For `execute`, `riid`, `mid` and `message` are empty.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    pub kind: EventKind,
    pub src_sid: Sid,
    pub src_class: ClassId,
    pub dst_sid: Sid,
    pub dst_class: ClassId,
    pub riid: u32,
    pub mid: u32,
    /// The kernel's own copy of the whole message (header, handle slots, fixed part, arena;
    /// see `ostrog_abi::message`). The sender can no longer change it.
    pub message: &'a [u8],
    /// For each handle slot of the message, the SID of the object it names and the rights
    /// the receiver will get (the policy sees these, never the sender's handle numbers).
    pub handles: &'a [HandleInfo],
}

/// What the policy may know about a handle carried by a message (PSL `HandleDesc`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandleInfo {
    /// SID of the object.
    pub sid: Sid,
    /// Rights mask the receiver gets.
    pub rights: u32,
}

impl<'a> Event<'a> {
    /// An `execute` event: `src` starts `dst`.
    pub fn execute(src: (Sid, ClassId), dst: (Sid, ClassId)) -> Event<'static> {
        Event {
            kind: EventKind::Execute,
            src_sid: src.0,
            src_class: src.1,
            dst_sid: dst.0,
            dst_class: dst.1,
            riid: 0,
            mid: 0,
            message: &[],
            handles: &[],
        }
    }
}
