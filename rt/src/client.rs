//! What a client program does around its proxy calls: find its channel, tell who refused a
//! call, and count the outcomes it did not expect.

use alloc::format;
use alloc::string::String;
use core::fmt::Debug;

use crate::idl::spec_rt::CallError;
use crate::println;
use crate::sys::Channel;

/// The channel named `name`, or `None` after printing "`me`: no channel named `name`".
pub fn channel(me: &str, name: &str) -> Option<Channel> {
    let channel = Channel::lookup(name).ok();
    if channel.is_none() {
        println!("{me}: no channel named {name}");
    }
    channel
}

/// Who refused a call, for a message: the kernel's status name (e.g. "access denied" when
/// the policy denied it), or "(not by the kernel)".
pub fn refuser<E>(error: &CallError<E>) -> &'static str {
    crate::call_refusal(error).map_or("(not by the kernel)", |s| s.name())
}

/// Why a call failed, for a message: the kernel's status name (e.g. "access denied" when
/// the policy denied it), or else the error itself.
pub fn refusal<E: Debug>(error: &CallError<E>) -> String {
    crate::call_refusal(error).map_or_else(|| format!("{error:?}"), |s| String::from(s.name()))
}

/// Counts the calls whose outcome (granted or denied) was not the expected one.
pub struct Expect<'a> {
    me: &'a str,
    surprises: i32,
}

impl<'a> Expect<'a> {
    /// No surprise yet; `me` prefixes every message.
    pub fn new(me: &'a str) -> Self {
        Expect { me, surprises: 0 }
    }

    /// Records that `what` was `granted` (or denied) where it should have been when
    /// `allowed`; prints "`me`: UNEXPECTED: …" if it was not.
    pub fn check(&mut self, what: &str, granted: bool, allowed: bool) {
        if granted != allowed {
            self.surprises += 1;
            println!(
                "{}: UNEXPECTED: {what} should have been {}",
                self.me,
                if allowed { "granted" } else { "denied" }
            );
        }
    }

    /// How many outcomes were unexpected: a program's exit status.
    pub fn surprises(&self) -> i32 {
        self.surprises
    }
}
