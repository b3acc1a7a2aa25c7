//! `channel`: creating IPC channels (Einit does this from `init.yaml`), and the two calls of
//! run-time channels.
//!
//! `Link` is what the dynamic connection manager (`kl.core.DCM`, `system/dcm`) needs to
//! create a channel after the solution started: it names both processes by SID, because the
//! manager holds no task handles to the programs it connects. That is an authority over
//! every process, so the kernel admits it from one class only, whatever a policy grants
//! (a solution granting all of `kl.core.Core` to a class must not make it a connection
//! manager); the policy then judges the manager's request like every core call, and the
//! requests the manager itself served (who may publish, who may connect) before it. A
//! linked channel is an ordinary channel: the same objects [`crate::ipc::connect`] makes,
//! so every message on it is stamped and judged exactly as on a static one. What a client
//! and a server can be made to hold is bounded here ([`LINK_MAX`], [`ENDPOINT_MAX`]) on
//! top of the handle table's own bound, and the kernel memory a link takes is charged to
//! the process it was made for (the channel to the client, a new endpoint to the server;
//! [`crate::quota::ObjectCharge`]): `NoMemory` at its memory limit. The charge goes with
//! the object: a linked channel when the last handle naming it is closed
//! ([`crate::ipc::free_unnamed_channel`]), an endpoint when its server ends.
//!
//! `NotifyClient` is the same notice from a server to one client of its endpoint.
//!
//! `Notify` is a notice over channels that already exist: a server signals an event to all
//! its clients (or a client to its server) without a blocking call, as a notification bit
//! ([`crate::notify`]) the receiver waits for together with its IPC (`Recv`, too, ends with
//! `Interrupted` for a bit the thread accepts).

use alloc::string::String;
use alloc::vec::Vec;

use ostrog_abi::handle::{RIGHT_CALL, RIGHT_CONTROL, RIGHT_RECV};
use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_channel::{
    ChannelServer, ConnectError, ConnectRequest, ConnectResponse, LinkError, LinkRequest,
    LinkResponse, NotifyClientError, NotifyClientRequest, NotifyClientResponse, NotifyError,
    NotifyRequest, NotifyResponse, ENDPOINT_MAX, LINK_MAX,
};
use crate::object::Object;
use crate::sid::ProcessId;
use crate::task::{Tasks, TASKS};

/// The one class whose processes may `Link`.
pub const MANAGER_CLASS: &str = "kl.core.DCM";

/// How many channels `process` is the client of, and how many endpoints it listens at:
/// the objects, not the handles to them, so that a program cannot pass the bound by giving
/// its handles away (a linked channel goes when its last handle is closed).
fn held(tasks: &Tasks, process: ProcessId) -> (usize, usize) {
    let channels = tasks.channels.values().filter(|c| c.owner == process);
    let endpoints = tasks.endpoints.values().filter(|e| e.owner == process);
    (channels.count(), endpoints.count())
}

/// Whether `process` exists and has not ended.
fn live(tasks: &Tasks, process: ProcessId) -> bool {
    tasks.processes.get(&process).is_some_and(|p| !p.ended)
}

/// `channel.Link`: see the module essay and `sysroot/kl/core/Channel.idl`.
fn link(caller: ProcessId, r: &LinkRequest) -> Result<u32, Status> {
    let mut tasks = TASKS.lock();
    let (class, manager) = tasks
        .processes
        .get(&caller)
        .map_or((String::new(), false), |p| {
            (p.class.clone(), p.class == MANAGER_CLASS)
        });
    if !manager {
        drop(tasks);
        crate::security::audit_kernel_rule(
            &class,
            caller.sid().0,
            "channel.Link: only class kl.core.DCM may link (the kernel's rule)",
        );
        return Err(Status::AccessDenied);
    }
    let (client, server) = (ProcessId::named(r.client), ProcessId::named(r.server));
    if client == server || r.name.is_empty() {
        return Err(Status::InvalidArgument);
    }
    if !live(&tasks, client) || !live(&tasks, server) {
        return Err(Status::NotFound);
    }
    let (channels, _) = held(&tasks, client);
    let (_, endpoints) = held(&tasks, server);
    let new_endpoint = !tasks
        .endpoints
        .values()
        .any(|e| e.owner == server && e.name == r.name);
    if channels >= LINK_MAX as usize || (new_endpoint && endpoints >= ENDPOINT_MAX as usize) {
        return Err(Status::NoMemory);
    }
    if r.notice != 0 && crate::notify::mask_of(r.notice).is_none() {
        return Err(Status::InvalidArgument);
    }
    crate::ipc::connect(&mut tasks, client, server, &r.name, true)?;
    let channel = tasks
        .processes
        .get(&client)
        .and_then(|p| p.handles.lookup(&r.name))
        .ok_or(Status::NotFound)?;
    if r.notice != 0 {
        crate::notify::post(&mut tasks, server, r.notice, client);
    }
    Ok(channel)
}

/// `channel.Notify`: the processes to post to, from the caller's handle `number`.
fn notice_targets(caller: ProcessId, number: u32) -> Result<Vec<ProcessId>, Status> {
    let tasks = TASKS.lock();
    let entry = tasks
        .processes
        .get(&caller)
        .ok_or(Status::NoSuchThread)?
        .handles
        .get(number)?;
    let mut targets = Vec::new();
    match entry.object {
        Object::Endpoint(endpoint) if entry.rights & RIGHT_RECV != 0 => {
            for c in tasks.channels.values().filter(|c| c.endpoint == endpoint) {
                if c.owner != caller && live(&tasks, c.owner) && !targets.contains(&c.owner) {
                    targets.try_reserve(1).map_err(|_| Status::NoMemory)?;
                    targets.push(c.owner);
                }
            }
        }
        Object::Channel(channel) if entry.rights & RIGHT_CALL != 0 => {
            let server = tasks
                .channels
                .get(&channel)
                .and_then(|c| tasks.endpoints.get(&c.endpoint))
                .map(|e| e.owner)
                .filter(|s| live(&tasks, *s))
                .ok_or(Status::Disconnected)?;
            targets.try_reserve(1).map_err(|_| Status::NoMemory)?;
            targets.push(server);
        }
        Object::Endpoint(_) | Object::Channel(_) => return Err(Status::AccessDenied),
        _ => return Err(Status::BadHandle),
    }
    Ok(targets)
}

/// `channel.NotifyClient`: posts `bit` to `client` if it is a live client of the caller's
/// listening endpoint `number`.
fn notify_client(caller: ProcessId, number: u32, client: u64, bit: u32) -> Result<(), Status> {
    crate::notify::mask_of(bit).ok_or(Status::InvalidArgument)?;
    let mut tasks = TASKS.lock();
    let entry = tasks
        .processes
        .get(&caller)
        .ok_or(Status::NoSuchThread)?
        .handles
        .get(number)?;
    let endpoint = match entry.object {
        Object::Endpoint(endpoint) if entry.rights & RIGHT_RECV != 0 => endpoint,
        Object::Endpoint(_) | Object::Channel(_) => return Err(Status::AccessDenied),
        _ => return Err(Status::BadHandle),
    };
    let client = ProcessId::named(client);
    let reaches = tasks
        .channels
        .values()
        .any(|c| c.endpoint == endpoint && c.owner == client);
    if client == caller || !reaches || !live(&tasks, client) {
        return Err(Status::NotFound);
    }
    crate::notify::post(&mut tasks, client, bit, caller);
    Ok(())
}

impl ChannelServer for Caller {
    fn connect(&mut self, request: ConnectRequest) -> Result<ConnectResponse, ConnectError> {
        let mut tasks = TASKS.lock();
        let result = (|| {
            let table = &tasks
                .processes
                .get(&self.process)
                .ok_or(Status::NoSuchThread)?
                .handles;
            let task = |number: u32| match table.get_with(number, RIGHT_CONTROL)?.object {
                Object::Task(sid) => Ok(sid),
                _ => Err(Status::BadHandle),
            };
            let (client, server) = (task(request.client.handle)?, task(request.server.handle)?);
            if request.name.is_empty() {
                return Err(Status::InvalidArgument);
            }
            crate::ipc::connect(&mut tasks, client, server, &request.name, false)
        })();
        result
            .map(|()| ConnectResponse {})
            .map_err(|s| ConnectError { status: code(s) })
    }

    fn link(&mut self, request: LinkRequest) -> Result<LinkResponse, LinkError> {
        link(self.process, &request)
            .map(|channel| LinkResponse { channel })
            .map_err(|s| LinkError { status: code(s) })
    }

    fn notify(&mut self, request: NotifyRequest) -> Result<NotifyResponse, NotifyError> {
        let result = (|| {
            crate::notify::mask_of(request.bit).ok_or(Status::InvalidArgument)?;
            let targets = notice_targets(self.process, request.h.handle)?;
            let mut tasks = TASKS.lock();
            let posted = targets
                .into_iter()
                .filter(|t| crate::notify::post(&mut tasks, *t, request.bit, self.process))
                .count();
            Ok(u32::try_from(posted).unwrap_or(u32::MAX))
        })();
        result
            .map(|count| NotifyResponse { count })
            .map_err(|s| NotifyError { status: code(s) })
    }

    fn notify_client(
        &mut self,
        request: NotifyClientRequest,
    ) -> Result<NotifyClientResponse, NotifyClientError> {
        notify_client(self.process, request.h.handle, request.client, request.bit)
            .map(|()| NotifyClientResponse {})
            .map_err(|s| NotifyClientError { status: code(s) })
    }
}
