//! `channel`: creating IPC channels (Einit does this from `init.yaml`).

use ostrog_abi::handle::RIGHT_CONTROL;
use ostrog_abi::Status;

use super::{code, Caller};
use crate::idl::kl_core_channel::{ChannelServer, ConnectError, ConnectRequest, ConnectResponse};
use crate::object::Object;
use crate::task::TASKS;

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
            crate::ipc::connect(&mut tasks, client, server, &request.name)
        })();
        result
            .map(|()| ConnectResponse {})
            .map_err(|s| ConnectError { status: code(s) })
    }
}
