//! Client B of the dcm example (class dcm.ClientB): the policy lets it do nothing with
//! kl.core.DCM, so connecting, publishing and subscribing are refused (audited) before the
//! manager sees them. It may make every core call, yet the kernel refuses it `channel.Link`, which only
//! the manager's class may make, and notices with a forged handle or a bit out of range.
#![no_std]
#![no_main]

use ostrog_abi::Status;
use ostrog_rt::sys::{self, call_status};
use ostrog_rt::{dcm, println};

ostrog_rt::main!(main);

fn main() -> i32 {
    let mut failed = 0;
    let mut expect = |what: &str, got: Result<(), Status>| match got {
        Err(Status::AccessDenied) => println!("clientB: {what}: access denied"),
        other => {
            println!("clientB: FAILED: {what} gave {other:?}, expected access denied");
            failed += 1;
        }
    };
    expect(
        "connecting to echo",
        dcm::connect("echo", "echo").map(|_| ()),
    );
    expect("publishing echo", dcm::publish("echo", "echo", 0));
    expect("subscribing to echo2", dcm::subscribe("echo2", 1));
    let me = sys::task_info().map(|(sid, _)| sid).unwrap_or(0);
    expect(
        "channel.Link from another class",
        sys::channels()
            .link(me, me + 1, "sneak".into(), 0)
            .map(|_| ())
            .map_err(call_status),
    );
    // Notices: the policy lets this class post, the kernel checks what it posts with.
    let mut refused = |what: &str, got: Result<u32, Status>, want: Status| match got {
        Err(s) if s == want => println!("clientB: {what}: {}", s.name()),
        other => {
            println!(
                "clientB: FAILED: {what} gave {other:?}, expected {}",
                want.name()
            );
            failed += 1;
        }
    };
    refused(
        "notice on a forged handle",
        dcm::notify(0x7fff_0123, 1),
        Status::BadHandle,
    );
    let manager = sys::Channel::lookup(dcm::CHANNEL).map_or(0, |c| c.handle);
    refused(
        "notice bit 0",
        dcm::notify(manager, 0),
        Status::InvalidArgument,
    );
    refused(
        "notice bit 65",
        dcm::notify(manager, 65),
        Status::InvalidArgument,
    );
    refused(
        "notice on the core handle",
        dcm::notify(0, 1),
        Status::BadHandle,
    );
    // A notice to one client goes from a server's endpoint only, never over a channel.
    refused(
        "notice to one client over a channel",
        dcm::notify_client(manager, me, 1).map(|()| 0),
        Status::AccessDenied,
    );
    println!("clientB: done, {failed} failed");
    0
}
