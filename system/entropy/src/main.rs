//! EntropyEntity: serves kl.Entropy on its endpoint `entropy` with the generator of the
//! `entropy` library, seeded and reseeded from the kernel's generator (`entropy.Read`) mixed
//! with a virtio-rng device's bytes when the machine has one, until no client can reach it.
//! See docs/services.md.

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

/// The virtio-rng device, found through the shared virtio library (virtio-mmio on AArch64,
/// claimed from the PCI bus manager on x86_64). Optional: without it (no device, no channel
/// `pci`, or the policy refuses the claim) the seeds come from the kernel alone.
#[cfg(target_os = "none")]
mod device {
    use ostrog_rt::println;
    use virtio_drivers::device::rng::VirtIORng;
    use virtio_drivers::transport::SomeTransport;
    use virtio_support::hal::{self, OstrogHal};
    use virtio_support::Kind;

    /// Bytes of the HAL's bounce buffer: one request of [`SEED`] bytes at a time.
    const BOUNCE: usize = 4096;
    /// Bytes asked of the device per seed.
    const SEED: usize = 32;
    /// Requests for one seed before the device counts as failed (a request may give fewer
    /// bytes than asked).
    const TRIES: usize = 8;

    pub struct Rng {
        rng: VirtIORng<OstrogHal, SomeTransport<'static>>,
        /// Bytes the device gave, and seeds it failed to give.
        pub bytes: u64,
        pub failures: u64,
    }

    /// The device, or `None` (said on the console).
    pub fn open() -> Option<Rng> {
        hal::init("EntropyEntity");
        let (transport, place) = match virtio_support::find(Kind::Entropy) {
            Ok(found) => found,
            Err(why) => {
                println!("EntropyEntity: {why}; seeds from the kernel's generator only");
                return None;
            }
        };
        if let Err(e) = hal::init_bounce(BOUNCE) {
            println!(
                "EntropyEntity: no DMA memory for the virtio-rng device: {}",
                e.name()
            );
            return None;
        }
        match VirtIORng::new(transport) {
            Ok(rng) => {
                println!(
                    "EntropyEntity: virtio-rng device at {place:?}: its bytes are mixed into \
                     every seed"
                );
                Some(Rng {
                    rng,
                    bytes: 0,
                    failures: 0,
                })
            }
            Err(e) => {
                println!("EntropyEntity: the virtio-rng device did not initialise: {e:?}");
                None
            }
        }
    }

    impl Rng {
        /// 32 bytes from the device, or `None` if it gives too few.
        pub fn seed(&mut self) -> Option<[u8; SEED]> {
            let mut seed = [0u8; SEED];
            let mut filled = 0;
            for _ in 0..TRIES {
                let Some(rest) = seed.get_mut(filled..) else {
                    break;
                };
                if rest.is_empty() {
                    break;
                }
                match self.rng.request_entropy(rest) {
                    Ok(n) => filled += n.min(rest.len()),
                    Err(_) => break,
                }
            }
            self.bytes += filled as u64;
            if filled == SEED {
                Some(seed)
            } else {
                self.failures += 1;
                None
            }
        }
    }
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

    use crate::device::{self, Rng};

    struct Server {
        generator: Generator,
        device: Option<Rng>,
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

    /// 32 bytes from the kernel's generator, mixed with 32 of the device's when there is
    /// one (a device that fails gives nothing to mix; the kernel's seed still serves).
    fn seed(device: &mut Option<Rng>) -> Option<[u8; 32]> {
        let mut seed = [0u8; 32];
        rt::random_bytes(&mut seed).ok()?;
        Some(entropy::mix(seed, device.as_mut().and_then(Rng::seed)))
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
            let device = &mut self.device;
            match self.generator.fill(&mut data, now(), || seed(device)) {
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
        let mut device = device::open();
        let Some(first) = seed(&mut device) else {
            println!("EntropyEntity: the kernel's generator gave no seed");
            return 1;
        };
        if let Some(rng) = &device {
            println!(
                "EntropyEntity: first seed: the kernel's 32 bytes mixed with {} of the \
                 virtio-rng device",
                rng.bytes
            );
        }
        let mut server = Server {
            generator: Generator::new(first, now()),
            device,
        };
        let status =
            ostrog_rt::server::serve("EntropyEntity", |_, request| dispatch(&mut server, request));
        if let Some(rng) = &server.device {
            println!(
                "EntropyEntity: {} seeds, {} bytes from the virtio-rng device, {} seeds it \
                 failed to give",
                server.generator.reseeds, rng.bytes, rng.failures
            );
        }
        status
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("EntropyEntity runs on Ostrog only (build it for a bare-metal target)");
    std::process::exit(1);
}
