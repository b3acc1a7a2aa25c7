//! ExecMgrEntity (class `execution_manager.ExecMgrEntity`): starts native programs from
//! files of the VFS at run time, the role of KasperskyOS's execution manager. A start reads
//! the file through the manager's channel `vfs`, has the kernel create the process from that
//! image (`task.CreateFrom`: copied and validated by the kernel) and starts it (`task.Start`:
//! the `execute` event, judged). Bounded: [`ENTITIES_MAX`] processes at once, images of at
//! most [`IMAGE_MAX`] bytes. See docs/services.md, "Starting programs at run time".

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

// Generated from the sysroot: this program uses its own interface and kl.Vfs.
#[cfg(target_os = "none")]
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

/// Most processes started by the manager and not yet reported ended, all clients together.
#[cfg(target_os = "none")]
const ENTITIES_MAX: usize = 16;

/// Largest image (the kernel's `task.CreateFrom` limit).
#[cfg(target_os = "none")]
const IMAGE_MAX: u64 = 32 << 20;

#[cfg(target_os = "none")]
mod server {
    use alloc::string::String;
    use alloc::vec::Vec;

    use ostrog_abi::{priority, Status};
    use ostrog_rt::client::channel;
    use ostrog_rt::idl::spec_rt::{CallError, Handle};
    use ostrog_rt::println;
    use ostrog_rt::sys as rt;

    use crate::idl::execution_manager_exec_mgr_entity::{dispatch, ExecMgrEntityEndpoints};
    use crate::idl::execution_manager_i_application_controller::*;
    use crate::idl::kl_vfs::VfsProxy;
    use crate::idl::kl_vfs_ram_fs::riid;
    use crate::{ENTITIES_MAX, IMAGE_MAX};

    ostrog_rt::main!(main);

    /// A process the manager started.
    struct Entity {
        id: u32,
        /// The client that started it: only it names it.
        owner: u64,
        task: Handle,
        sid: u64,
    }

    struct Server {
        vfs: VfsProxy<rt::Channel>,
        entities: Vec<Entity>,
        next_id: u32,
        /// The client of the request being served (the kernel's stamp).
        client: u64,
    }

    impl Server {
        /// The VFS file `path`, read whole into fresh memory of the manager: (address, size).
        fn read(&mut self, path: &str) -> Result<(usize, usize), i32> {
            let opened = self
                .vfs
                .open(path.into(), 1, 0)
                .map_err(|e| status_of(e, |e| e.status))?;
            let read = self.read_open(opened.file, opened.kind);
            let _ = self.vfs.close(opened.file);
            read
        }

        fn read_open(&mut self, file: u32, kind: u32) -> Result<(usize, usize), i32> {
            if kind & 0o170000 != 0o100000 {
                return Err(ACCESS_DENIED);
            }
            let stat = self
                .vfs
                .f_stat(file)
                .map_err(|e| status_of(e, |e| e.status))?;
            if stat.size == 0 {
                return Err(NOT_EXECUTABLE);
            }
            if stat.size > IMAGE_MAX {
                return Err(NO_MEMORY);
            }
            let size = stat.size as usize;
            let addr = rt::vmm()
                .allocate(stat.size, 1)
                .map_err(|_| NO_MEMORY)?
                .addr as usize;
            let mut at = 0;
            while at < size {
                let chunk = (size - at).min(16384) as u32;
                let data = match self.vfs.p_read(file, at as u64, chunk) {
                    Ok(r) => r.data,
                    Err(e) => {
                        let _ = rt::free(addr, size);
                        return Err(status_of(e, |e| e.status));
                    }
                };
                // A file that shrank while it was read is no program to start.
                if data.is_empty() || data.len() > size - at {
                    let _ = rt::free(addr, size);
                    return Err(NOT_EXECUTABLE);
                }
                // SAFETY: [addr, addr + size) was just allocated read-write for this
                // process and nothing else uses it; `at + data.len() <= size`.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        data.as_ptr(),
                        (addr + at) as *mut u8,
                        data.len(),
                    )
                };
                at += data.len();
            }
            Ok((addr, size))
        }

        /// Forgets the processes that have ended whose client has ended too (no one can ask
        /// for their status any more).
        fn reclaim(&mut self) {
            let alive = |sid: u64| rt::tasks().alive(sid).map_or(true, |r| r.live != 0);
            self.entities.retain(|e| {
                let keep = alive(e.sid) || alive(e.owner);
                if !keep {
                    let _ = rt::handles().close(e.task);
                }
                keep
            });
        }

        fn entity(&self, id: u32) -> Result<usize, i32> {
            self.entities
                .iter()
                .position(|e| e.id == id && e.owner == self.client)
                .ok_or(BAD_ENTITY)
        }
    }

    /// The error status of a failed kl.Vfs request: the server's, or the kernel's refusal
    /// of the manager's own request (AccessDenied: the policy does not let it read there).
    fn status_of<E>(e: CallError<E>, status: impl Fn(&E) -> i32) -> i32 {
        if let Some(s) = ostrog_rt::call_refusal(&e) {
            return match s {
                Status::AccessDenied => ACCESS_DENIED,
                Status::NoMemory => NO_MEMORY,
                _ => INVALID_ARGUMENT,
            };
        }
        match e {
            CallError::Remote(e) => status(&e),
            _ => INVALID_ARGUMENT,
        }
    }

    fn kernel_status(s: Status) -> i32 {
        match s {
            Status::NotFound => NOT_FOUND,
            Status::NoMemory => NO_MEMORY,
            Status::AccessDenied => NOT_PERMITTED,
            _ => NOT_EXECUTABLE,
        }
    }

    impl IApplicationControllerServer for Server {
        fn start_entity(
            &mut self,
            r: StartEntityRequest,
        ) -> Result<StartEntityResponse, StartEntityError> {
            let fail = |status| StartEntityError { status };
            if !r.path.starts_with('/') {
                return Err(fail(INVALID_ARGUMENT));
            }
            if self.entities.len() >= ENTITIES_MAX {
                self.reclaim();
                if self.entities.len() >= ENTITIES_MAX {
                    return Err(fail(TOO_MANY));
                }
            }
            let name = match (r.name.is_empty(), r.eiid.is_empty()) {
                (false, _) => r.name.clone(),
                (true, false) => String::from(r.eiid.rsplit('.').next().unwrap_or(&r.eiid)),
                (true, true) => String::from(r.path.rsplit('/').next().unwrap_or(&r.path)),
            };
            let class = match r.eiid.is_empty() {
                true => name.clone(),
                false => r.eiid.clone(),
            };
            let (addr, size) = self.read(&r.path).map_err(fail)?;
            // The highest priority below the manager's own ceiling (found by trying from
            // the top, as the kernel says no more than AboveCeiling).
            let mut prio = priority::MAX;
            let created = loop {
                match rt::tasks()
                    .create_from(
                        name.clone(),
                        class.clone(),
                        addr as u64,
                        size as u64,
                        r.args.clone(),
                        r.envs.clone(),
                        prio,
                    )
                    .map_err(rt::call_status)
                {
                    Err(Status::AboveCeiling) if prio > 0 => prio -= 1,
                    other => break other,
                }
            };
            let _ = rt::free(addr, size);
            let task = created.map_err(|s| fail(kernel_status(s)))?.task;
            let sid = match rt::handles().sid(task) {
                Ok(s) => s.sid,
                Err(e) => {
                    let _ = rt::handles().close(task);
                    return Err(fail(kernel_status(rt::call_status(e))));
                }
            };
            // The `execute` event: a denied start ends the process (the kernel audits it).
            if let Err(e) = rt::tasks().start(task) {
                let _ = rt::handles().close(task);
                let status = rt::call_status(e);
                println!(
                    "ExecMgrEntity: start of {class} from {} refused: {}",
                    r.path,
                    status.name()
                );
                return Err(fail(match status {
                    Status::AccessDenied => NOT_PERMITTED,
                    s => kernel_status(s),
                }));
            }
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1).max(1);
            self.entities.push(Entity {
                id,
                owner: self.client,
                task,
                sid,
            });
            println!(
                "ExecMgrEntity: started {name} ({class}) from {} as sid {sid}",
                r.path
            );
            Ok(StartEntityResponse { id })
        }

        fn stop_entity(
            &mut self,
            r: StopEntityRequest,
        ) -> Result<StopEntityResponse, StopEntityError> {
            let at = self
                .entity(r.id)
                .map_err(|status| StopEntityError { status })?;
            match rt::tasks()
                .kill(self.entities[at].task, -1)
                .map_err(rt::call_status)
            {
                // Busy: it had ended already; its status stays to be read.
                Ok(_) | Err(Status::Busy) => Ok(StopEntityResponse {}),
                Err(s) => Err(StopEntityError {
                    status: kernel_status(s),
                }),
            }
        }

        fn get_entity_state(
            &mut self,
            r: GetEntityStateRequest,
        ) -> Result<GetEntityStateResponse, GetEntityStateError> {
            let at = self
                .entity(r.id)
                .map_err(|status| GetEntityStateError { status })?;
            let sid = self.entities[at].sid;
            if rt::tasks().alive(sid).map_or(true, |a| a.live != 0) {
                return Ok(GetEntityStateResponse {
                    state: RUNNING,
                    code: 0,
                });
            }
            // Ended: its status is there at once.
            let entity = self.entities.remove(at);
            let code = rt::tasks().wait(entity.task).map_or(-1, |w| w.code as i32);
            let _ = rt::handles().close(entity.task);
            Ok(GetEntityStateResponse {
                state: EXITED,
                code,
            })
        }
    }

    impl ExecMgrEntityEndpoints for Server {
        fn execmgr(&mut self) -> &mut dyn IApplicationControllerServer {
            self
        }
    }

    fn main() -> i32 {
        let Some(transport) = channel("ExecMgrEntity", "vfs") else {
            return 1;
        };
        let mut server = Server {
            vfs: VfsProxy {
                transport,
                riid: riid::VFS,
            },
            entities: Vec::new(),
            next_id: 1,
            client: 0,
        };
        ostrog_rt::server::serve("ExecMgrEntity", |header, request| {
            server.client = header.src_sid;
            dispatch(&mut server, request)
        })
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("ExecMgrEntity runs on Ostrog only (build it for a bare-metal target)");
    std::process::exit(1);
}
