//! DCM: the dynamic connection manager, class `kl.core.DCM`. Serves kl.core.ServiceDirectory
//! on its endpoint `dcm` with the table of the `dcm` library: a server publishes a service
//! name (and the endpoint it serves it at), a client connects by name and the manager has
//! the kernel make the channel (`channel.Link`, which the kernel admits from this class
//! only). Each request is judged by the policy before it gets here (who may publish which
//! name, who may connect to which service); what ended processes published is withdrawn
//! (`task.Alive`). A client may subscribe to a name: at its publication the manager keeps
//! it for the client's `ReadPubQueue` and posts the client's notice to it over its channel
//! (`channel.NotifyClient`). Runs until no program can reach it. See docs/services.md.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

// Generated from sysroot/kl/core: this program uses only part of it.
#[cfg(target_os = "none")]
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

#[cfg(target_os = "none")]
mod server {
    use dcm::{
        Directory, Refusal, Service, Subscriptions, PER_CLIENT_SUBSCRIPTIONS_MAX, PER_SERVER_MAX,
        SERVICES_MAX, SUBSCRIPTIONS_MAX,
    };
    use ostrog_rt::println;
    use ostrog_rt::sys::{self as rt, call_status};
    use ostrog_rt::Status;

    use crate::idl::kl_core_dcm::{dispatch, DcmEndpoints};
    use crate::idl::kl_core_service_directory as sd;
    use crate::idl::kl_core_service_directory::{
        ConnectError, ConnectRequest, ConnectResponse, PublishError, PublishRequest,
        PublishResponse, ReadPubQueueError, ReadPubQueueRequest, ReadPubQueueResponse,
        ServiceDirectoryServer, SetSubscriptionError, SetSubscriptionRequest,
        SetSubscriptionResponse, WithdrawError, WithdrawRequest, WithdrawResponse,
    };

    // The library's bounds are the interface's.
    const _: () =
        assert!(SERVICES_MAX == crate::idl::kl_core_service_directory::SERVICES_MAX as usize);
    const _: () =
        assert!(PER_SERVER_MAX == crate::idl::kl_core_service_directory::PER_SERVER_MAX as usize);
    const _: () = assert!(SUBSCRIPTIONS_MAX == sd::SUBSCRIPTIONS_MAX as usize);
    const _: () =
        assert!(PER_CLIENT_SUBSCRIPTIONS_MAX == sd::PER_CLIENT_SUBSCRIPTIONS_MAX as usize);

    /// The name of the manager's endpoint: the channel name Einit gives its clients.
    const ENDPOINT: &str = "kl.core.DCM";

    ostrog_rt::main!(main);

    struct Server {
        directory: Directory,
        subscriptions: Subscriptions,
        /// The SID the kernel stamped on the request being served.
        caller: u64,
    }

    /// Whether the process `sid` still runs (a refused question counts as ended: its entry
    /// would otherwise hold a name forever).
    fn alive(sid: u64) -> bool {
        rt::tasks().alive(sid).is_ok_and(|r| r.live == 1)
    }

    fn status(refusal: Refusal) -> i32 {
        (match refusal {
            Refusal::Invalid => Status::InvalidArgument,
            Refusal::Taken => Status::Busy,
            Refusal::Full => Status::NoMemory,
            Refusal::NotFound => Status::NotFound,
        }) as i32
    }

    impl Server {
        /// Services of ended publishers were withdrawn: said on the console, and dropped
        /// from what subscribers have not read.
        fn report(&mut self, gone: &[Service]) {
            for s in gone {
                self.subscriptions.withdrawn(s);
                println!(
                    "DCM: withdrew {} (endpoint {}) of ended sid {}",
                    s.name, s.endpoint, s.server
                );
            }
        }

        /// `service` was published: its subscribers (only `client`, if given) are told.
        fn tell(&mut self, service: &Service, client: Option<u64>) {
            let told = self.subscriptions.published(service, client);
            let Ok(endpoint) = rt::Channel::lookup(ENDPOINT) else {
                return;
            };
            for (client, notice) in told {
                // A subscriber that ended, or reaches the manager by no channel, is not told
                // (it keeps the publication until its subscription is dropped).
                let posted = ostrog_rt::dcm::notify_client(endpoint.handle, client, notice);
                if let Err(e) = posted {
                    println!(
                        "DCM: sid {client} not told of {}: {}",
                        service.name,
                        e.name()
                    );
                }
            }
        }
    }

    impl ServiceDirectoryServer for Server {
        fn publish(&mut self, r: PublishRequest) -> Result<PublishResponse, PublishError> {
            let caller = self.caller;
            match self
                .directory
                .publish(caller, &r.name, &r.endpoint, r.notice, &mut alive)
            {
                Ok(gone) => {
                    self.report(&gone);
                    println!(
                        "DCM: sid {caller} publishes {} at endpoint {}",
                        r.name, r.endpoint
                    );
                    let service = Service {
                        name: r.name,
                        endpoint: r.endpoint,
                        server: caller,
                        notice: r.notice,
                    };
                    self.tell(&service, None);
                    Ok(PublishResponse {})
                }
                Err(e) => Err(PublishError { status: status(e) }),
            }
        }

        fn withdraw(&mut self, r: WithdrawRequest) -> Result<WithdrawResponse, WithdrawError> {
            let service = self
                .directory
                .withdraw(self.caller, &r.name)
                .map_err(|e| WithdrawError { status: status(e) })?;
            self.subscriptions.withdrawn(&service);
            Ok(WithdrawResponse {})
        }

        fn set_subscription(
            &mut self,
            r: SetSubscriptionRequest,
        ) -> Result<SetSubscriptionResponse, SetSubscriptionError> {
            let caller = self.caller;
            self.subscriptions
                .set(caller, &r.name, r.notice, &mut alive)
                .map_err(|e| SetSubscriptionError { status: status(e) })?;
            if r.notice != 0 {
                println!("DCM: sid {caller} subscribes to {}", r.name);
                if let Some(service) = self.directory.published(&r.name, &mut alive) {
                    self.tell(&service, Some(caller));
                }
            }
            Ok(SetSubscriptionResponse {})
        }

        fn read_pub_queue(
            &mut self,
            _: ReadPubQueueRequest,
        ) -> Result<ReadPubQueueResponse, ReadPubQueueError> {
            let service = self
                .subscriptions
                .read(self.caller)
                .ok_or(ReadPubQueueError {
                    status: Status::NotFound as i32,
                })?;
            Ok(ReadPubQueueResponse {
                name: service.name,
                endpoint: service.endpoint,
                server: service.server,
            })
        }

        fn connect(&mut self, r: ConnectRequest) -> Result<ConnectResponse, ConnectError> {
            let (found, gone) = self.directory.find(&r.name, &r.endpoint, &mut alive);
            self.report(gone.as_slice());
            let service = found.map_err(|e| ConnectError { status: status(e) })?;
            let server = service.server;
            let linked = rt::channels()
                .link(self.caller, server, r.name.clone(), service.notice)
                .map_err(call_status);
            match linked {
                Ok(l) => {
                    println!(
                        "DCM: connected sid {} to {} (sid {server})",
                        self.caller, r.name
                    );
                    Ok(ConnectResponse {
                        channel: l.channel,
                        server,
                    })
                }
                Err(e) => {
                    // The server ended between the look-up and the link.
                    if e == Status::NotFound && !alive(server) {
                        let mut none = |_| false;
                        let (_, gone) = self.directory.find(&r.name, &r.endpoint, &mut none);
                        self.report(gone.as_slice());
                    }
                    Err(ConnectError { status: e as i32 })
                }
            }
        }
    }

    impl DcmEndpoints for Server {
        fn dcm(&mut self) -> &mut dyn ServiceDirectoryServer {
            self
        }
    }

    fn main() -> i32 {
        let mut server = Server {
            directory: Directory::new(),
            subscriptions: Subscriptions::new(),
            caller: 0,
        };
        ostrog_rt::server::serve("DCM", |header, request| {
            server.caller = header.src_sid;
            dispatch(&mut server, request)
        })
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("DCM runs on Ostrog only (build it for a bare-metal target)");
    std::process::exit(1);
}
