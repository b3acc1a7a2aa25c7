//! Dynamic channels and notices: the client side of the dynamic connection manager
//! (`kl.core.DCM`, docs/services.md, "Dynamic channels") and the notification calls a
//! program waits on together with its IPC.
//!
//! A program whose `init.yaml` entry says `dynamic_connection_manager: true` has a channel
//! named `kl.core.DCM`. A server [`publish`]es a service name and the endpoint it serves it
//! at; a client [`connect`]s by name and gets a [`Channel`] to call with the server's proxy
//! (the endpoint index comes from the server's EDL, as for a static channel). A client that
//! must wait for a name [`subscribe`]s to it: at its publication the manager posts the
//! client's notice, and [`read_pub_queue`] says what was published. Every step is a request
//! the policy judges; a refusal is [`Status::AccessDenied`].
//!
//! Notices: a server [`notify`]s every client of its endpoint (or a client its server) with
//! a notification bit; the receiving thread says which bits it [`accept`]s, and a wait it is
//! in (`Recv`, `futex.Wait`, `time.Sleep`) ends with [`Status::Interrupted`]; [`take`] then
//! reads and clears the pending bits, [`sender`] says who posted one.

use crate::idl::kl_core_channel::{LinkError, NotifyClientError, NotifyError};
use crate::idl::kl_core_dcm::riid;
use crate::idl::kl_core_service_directory::{
    ConnectError, PublishError, ReadPubQueueError, ServiceDirectoryProxy, SetSubscriptionError,
    WithdrawError,
};
use crate::idl::spec_rt;
use crate::sys::{self, call_status, Channel, CoreError};
use crate::Status;

/// The channel name Einit gives a program marked `dynamic_connection_manager: true`.
pub const CHANNEL: &str = "kl.core.DCM";

impl CoreError for PublishError {
    fn status(&self) -> i32 {
        self.status
    }
}
impl CoreError for WithdrawError {
    fn status(&self) -> i32 {
        self.status
    }
}
impl CoreError for ConnectError {
    fn status(&self) -> i32 {
        self.status
    }
}
impl CoreError for SetSubscriptionError {
    fn status(&self) -> i32 {
        self.status
    }
}
impl CoreError for ReadPubQueueError {
    fn status(&self) -> i32 {
        self.status
    }
}
impl CoreError for LinkError {
    fn status(&self) -> i32 {
        self.status
    }
}
impl CoreError for NotifyClientError {
    fn status(&self) -> i32 {
        self.status
    }
}
impl CoreError for NotifyError {
    fn status(&self) -> i32 {
        self.status
    }
}

/// The proxy of the manager, through the program's channel `kl.core.DCM` (`NotFound` if it
/// has none: its entry does not say `dynamic_connection_manager: true`).
pub fn manager() -> Result<ServiceDirectoryProxy<Channel>, Status> {
    Ok(ServiceDirectoryProxy {
        transport: Channel::lookup(CHANNEL)?,
        riid: riid::DCM,
    })
}

/// Publishes the service `name`, served at this program's endpoint `endpoint`; `notice`
/// (1..=64, 0: none) is posted to this program each time a client is connected to it.
pub fn publish(name: &str, endpoint: &str, notice: u32) -> Result<(), Status> {
    manager()?
        .publish(name.into(), endpoint.into(), notice)
        .map(|_| ())
        .map_err(call_status)
}

/// Withdraws this program's service `name`.
pub fn withdraw(name: &str) -> Result<(), Status> {
    manager()?
        .withdraw(name.into())
        .map(|_| ())
        .map_err(call_status)
}

/// A channel to the server publishing `name` at `endpoint`, and that server's SID.
pub fn connect(name: &str, endpoint: &str) -> Result<(Channel, u64), Status> {
    manager()?
        .connect(name.into(), endpoint.into())
        .map(|r| (Channel { handle: r.channel }, r.server))
        .map_err(call_status)
}

/// Subscribes to the publication of `name`: each time a live process publishes it (and at
/// once if one does already), the manager posts notification `notice` (1..=64) to this
/// program and keeps the publication for [`read_pub_queue`]. `notice` 0 ends the
/// subscription.
pub fn subscribe(name: &str, notice: u32) -> Result<(), Status> {
    manager()?
        .set_subscription(name.into(), notice)
        .map(|_| ())
        .map_err(call_status)
}

/// A publication the manager kept for this program's subscriptions, oldest first: the
/// service's name, its endpoint and its publisher's SID (`NotFound`: none kept).
pub fn read_pub_queue() -> Result<(alloc::string::String, alloc::string::String, u64), Status> {
    manager()?
        .read_pub_queue()
        .map(|r| (r.name, r.endpoint, r.server))
        .map_err(call_status)
}

/// Posts notification `bit` (1..=64) over the handle `h`: to every client of the listening
/// endpoint `h`, or to the server at the other end of the channel `h`. How many processes.
pub fn notify(h: u32, bit: u32) -> Result<u32, Status> {
    sys::channels()
        .notify(
            spec_rt::Handle {
                handle: h,
                rights_and_mode: 0,
            },
            bit,
        )
        .map(|r| r.count)
        .map_err(call_status)
}

/// Posts notification `bit` (1..=64) to one client, the process `client` (by SID) holding
/// a channel to this program's listening endpoint `h` (`NotFound` if it holds none or has
/// ended).
pub fn notify_client(h: u32, client: u64, bit: u32) -> Result<(), Status> {
    sys::channels()
        .notify_client(
            spec_rt::Handle {
                handle: h,
                rights_and_mode: 0,
            },
            client,
            bit,
        )
        .map(|_| ())
        .map_err(call_status)
}

/// Sets the notification bits the calling thread accepts (bit n-1 for notification n).
pub fn accept(mask: u64) -> Result<(), Status> {
    sys::tasks()
        .accept_notify(mask)
        .map(|_| ())
        .map_err(call_status)
}

/// Takes the process's pending notification bits.
pub fn take() -> Result<u64, Status> {
    sys::tasks().pending().map(|r| r.bits).map_err(call_status)
}

/// The SID of the process that last posted notification `bit` to this one (0: none).
pub fn sender(bit: u32) -> Result<u64, Status> {
    sys::tasks().sender(bit).map(|r| r.sid).map_err(call_status)
}
