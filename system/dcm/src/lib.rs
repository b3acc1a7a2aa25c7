//! The table of kl.core.DCM (docs/services.md, "Dynamic channels"): which live process
//! publishes which service name at which endpoint, apart from the IPC around it so that it
//! is tested on the host.
//!
//! The table is bounded twice: [`SERVICES_MAX`] services in all and [`PER_SERVER_MAX`] per
//! server, so that no program can fill it for the others alone. Publishers are known by the
//! SID the kernel stamped on their request, never by what they claim. An entry whose
//! publisher ended is dead weight the manager cannot be told about (it holds no task
//! handles); it asks the kernel (`task.Alive`, the `alive` argument here) when a name or a
//! slot is wanted, and withdraws what ended processes published.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

/// Most services published at once (`ServicesMax` of kl.core.ServiceDirectory).
pub const SERVICES_MAX: usize = 16;
/// Most services one server publishes (`PerServerMax`).
pub const PER_SERVER_MAX: usize = 8;

/// A published service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub endpoint: String,
    /// The publisher's SID.
    pub server: u64,
    /// The notification bit posted to the publisher when a client is connected (0: none).
    pub notice: u32,
}

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// An empty name or endpoint, or a notice that is no notification bit.
    Invalid,
    /// A live process already publishes the name.
    Taken,
    /// The table, or the caller's share of it, is full.
    Full,
    /// No live process publishes the name (at that endpoint).
    NotFound,
}

/// The published services.
#[derive(Default)]
pub struct Directory {
    services: Vec<Service>,
}

impl Directory {
    /// An empty table.
    pub fn new() -> Self {
        Directory::default()
    }

    /// The services published now.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Removes the services of ended publishers (`alive(sid)` false); what was removed.
    pub fn reclaim(&mut self, alive: &mut dyn FnMut(u64) -> bool) -> Vec<Service> {
        let mut gone = Vec::new();
        let mut i = 0;
        while let Some(s) = self.services.get(i) {
            if alive(s.server) {
                i += 1;
            } else {
                gone.push(self.services.swap_remove(i));
            }
        }
        gone
    }

    /// `server` publishes `name` at its endpoint `endpoint`. Returns the services of ended
    /// publishers withdrawn on the way.
    pub fn publish(
        &mut self,
        server: u64,
        name: &str,
        endpoint: &str,
        notice: u32,
        alive: &mut dyn FnMut(u64) -> bool,
    ) -> Result<Vec<Service>, Refusal> {
        if name.is_empty() || endpoint.is_empty() || notice > 64 {
            return Err(Refusal::Invalid);
        }
        let mut gone = Vec::new();
        if let Some(i) = self.services.iter().position(|s| s.name == name) {
            let holder = self.services.get(i).map_or(0, |s| s.server);
            if alive(holder) {
                return Err(Refusal::Taken);
            }
            gone.push(self.services.swap_remove(i));
        }
        if self.services.len() >= SERVICES_MAX {
            gone.extend(self.reclaim(alive));
        }
        let own = self.services.iter().filter(|s| s.server == server).count();
        if self.services.len() >= SERVICES_MAX || own >= PER_SERVER_MAX {
            return Err(Refusal::Full);
        }
        self.services.try_reserve(1).map_err(|_| Refusal::Full)?;
        self.services.push(Service {
            name: String::from(name),
            endpoint: String::from(endpoint),
            server,
            notice,
        });
        Ok(gone)
    }

    /// `server` withdraws its service `name`.
    pub fn withdraw(&mut self, server: u64, name: &str) -> Result<Service, Refusal> {
        let i = self
            .services
            .iter()
            .position(|s| s.name == name && s.server == server)
            .ok_or(Refusal::NotFound)?;
        Ok(self.services.swap_remove(i))
    }

    /// The live service `name` published at `endpoint`. A service whose
    /// publisher ended is withdrawn (returned as the second value).
    pub fn find(
        &mut self,
        name: &str,
        endpoint: &str,
        alive: &mut dyn FnMut(u64) -> bool,
    ) -> (Result<Service, Refusal>, Option<Service>) {
        let Some(i) = self.services.iter().position(|s| s.name == name) else {
            return (Err(Refusal::NotFound), None);
        };
        let Some(s) = self.services.get(i) else {
            return (Err(Refusal::NotFound), None);
        };
        if !alive(s.server) {
            return (Err(Refusal::NotFound), Some(self.services.swap_remove(i)));
        }
        match s.endpoint == endpoint {
            true => (Ok(s.clone()), None),
            false => (Err(Refusal::NotFound), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_alive(_: u64) -> bool {
        true
    }

    #[test]
    fn publish_then_find() {
        let mut d = Directory::new();
        assert_eq!(
            d.publish(7, "echo", "echo", 0, &mut all_alive),
            Ok(Vec::new())
        );
        assert_eq!(
            d.find("echo", "echo", &mut all_alive).0.map(|s| s.server),
            Ok(7)
        );
        assert_eq!(
            d.find("echo", "other", &mut all_alive).0,
            Err(Refusal::NotFound)
        );
        assert_eq!(
            d.find("nothing", "echo", &mut all_alive).0,
            Err(Refusal::NotFound)
        );
    }

    #[test]
    fn a_live_name_is_not_taken_twice() {
        let mut d = Directory::new();
        d.publish(7, "echo", "echo", 0, &mut all_alive).unwrap();
        assert_eq!(
            d.publish(7, "echo", "echo", 0, &mut all_alive),
            Err(Refusal::Taken)
        );
        assert_eq!(
            d.publish(8, "echo", "e", 0, &mut all_alive),
            Err(Refusal::Taken)
        );
    }

    #[test]
    fn empty_names_are_refused() {
        let mut d = Directory::new();
        assert_eq!(
            d.publish(7, "", "e", 0, &mut all_alive),
            Err(Refusal::Invalid)
        );
        assert_eq!(
            d.publish(7, "n", "", 0, &mut all_alive),
            Err(Refusal::Invalid)
        );
        assert_eq!(
            d.publish(7, "n", "e", 65, &mut all_alive),
            Err(Refusal::Invalid)
        );
    }

    #[test]
    fn bounds_per_server_and_in_all() {
        let mut d = Directory::new();
        for i in 0..PER_SERVER_MAX {
            d.publish(1, &format!("a{i}"), "e", 0, &mut all_alive)
                .unwrap();
        }
        assert_eq!(
            d.publish(1, "one more", "e", 0, &mut all_alive),
            Err(Refusal::Full)
        );
        for i in 0..SERVICES_MAX - PER_SERVER_MAX {
            d.publish(2 + i as u64, &format!("b{i}"), "e", 0, &mut all_alive)
                .unwrap();
        }
        assert_eq!(
            d.publish(99, "late", "e", 0, &mut all_alive),
            Err(Refusal::Full)
        );
        assert_eq!(d.services().len(), SERVICES_MAX);
    }

    #[test]
    fn ended_publishers_are_reclaimed() {
        let mut d = Directory::new();
        for i in 0..PER_SERVER_MAX {
            d.publish(1, &format!("a{i}"), "e", 0, &mut all_alive)
                .unwrap();
        }
        for i in 0..SERVICES_MAX - PER_SERVER_MAX {
            d.publish(2, &format!("b{i}"), "e", 0, &mut all_alive)
                .unwrap_or_default();
        }
        // Server 1 ended: its name is free again, and its slots.
        let mut alive = |sid: u64| sid != 1;
        let (found, gone) = d.find("a0", "e", &mut alive);
        assert_eq!(found.err(), Some(Refusal::NotFound));
        assert_eq!(gone.map(|s| s.server), Some(1));
        let gone = d.publish(3, "a1", "e", 0, &mut alive).unwrap();
        assert_eq!(gone.len(), 1);
        // The table is full now; the next publication withdraws the rest of server 1's.
        assert_eq!(d.publish(3, "new", "e", 0, &mut alive), Ok(Vec::new()));
        assert_eq!(d.services().len(), SERVICES_MAX);
        let gone = d.publish(3, "newer", "e", 0, &mut alive).unwrap();
        assert_eq!(gone.len(), PER_SERVER_MAX - 2);
        assert!(gone.iter().all(|s| s.server == 1));
        assert!(d.services().iter().all(|s| s.server != 1));
    }

    #[test]
    fn only_the_publisher_withdraws() {
        let mut d = Directory::new();
        d.publish(7, "echo", "echo", 0, &mut all_alive).unwrap();
        assert_eq!(d.withdraw(8, "echo"), Err(Refusal::NotFound));
        assert_eq!(d.withdraw(7, "echo").map(|s| s.server), Ok(7));
        assert_eq!(
            d.find("echo", "echo", &mut all_alive).0,
            Err(Refusal::NotFound)
        );
    }
}
