//! EntropyEntity: serves kl.Entropy on its endpoint `entropy` with the generator of the
//! `entropy` library, seeded and reseeded from the kernel's generator (`entropy.Read`),
//! until no client can reach it. See docs/services.md.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

// Generated from sysroot/kl: this program uses only part of it.
#[cfg(target_os = "none")]
#[allow(dead_code, unused_imports, clippy::all)]
mod idl {
    include!(concat!(env!("OUT_DIR"), "/include.rs"));
}

#[cfg(target_os = "none")]
mod server {
    use alloc::vec::Vec;

    use entropy::{Generator, Refusal, GET_RANDOM_MAX};
    use ostrog_rt::idl::kl_core_core::riid;
    use ostrog_rt::idl::kl_core_time::TimeProxy;
    use ostrog_rt::println;
    use ostrog_rt::sys::{self as rt, CoreTransport};

    use crate::idl::kl_entropy::{
        EntropyServer, GetRandomError, GetRandomRequest, GetRandomResponse, INVALID_ARGUMENT,
        NO_MEMORY,
    };
    use crate::idl::kl_entropy_entity::{dispatch, EntropyEntityEndpoints};

    ostrog_rt::main!(main);

    struct Server {
        generator: Generator,
    }

    /// Monotonic nanoseconds since boot (0 if the kernel refuses, which only delays the
    /// time-based reseed; the byte budget still applies).
    fn now() -> u64 {
        TimeProxy {
            transport: CoreTransport,
            riid: riid::TIME,
        }
        .now()
        .map(|r| r.ns)
        .unwrap_or(0)
    }

    /// 32 bytes from the kernel's generator.
    fn seed() -> Option<[u8; 32]> {
        let mut seed = [0u8; 32];
        rt::random_bytes(&mut seed).ok().map(|()| seed)
    }

    impl EntropyServer for Server {
        fn get_random(&mut self, r: GetRandomRequest) -> Result<GetRandomResponse, GetRandomError> {
            let size = r.size as usize;
            if size > GET_RANDOM_MAX {
                return Err(GetRandomError {
                    status: INVALID_ARGUMENT,
                });
            }
            let mut data = Vec::new();
            data.try_reserve_exact(size)
                .map_err(|_| GetRandomError { status: NO_MEMORY })?;
            data.resize(size, 0);
            match self.generator.fill(&mut data, now(), seed) {
                Ok(()) => Ok(GetRandomResponse { data }),
                Err(Refusal::TooMany) => Err(GetRandomError {
                    status: INVALID_ARGUMENT,
                }),
                // The kernel's generator never fails once keyed; if it did, give nothing
                // rather than bytes past their reseed.
                Err(Refusal::NoSeed) => Err(GetRandomError { status: NO_MEMORY }),
            }
        }
    }

    impl EntropyEntityEndpoints for Server {
        fn entropy(&mut self) -> &mut dyn EntropyServer {
            self
        }
    }

    fn main() -> i32 {
        let Some(first) = seed() else {
            println!("EntropyEntity: the kernel's generator gave no seed");
            return 1;
        };
        let mut server = Server {
            generator: Generator::new(first, now()),
        };
        ostrog_rt::server::serve("EntropyEntity", |_, request| dispatch(&mut server, request))
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("EntropyEntity runs on Ostrog only (build it for a bare-metal target)");
    std::process::exit(1);
}
