//! The tables of kl.core.DCM (docs/services.md, "Dynamic channels"): which live process
//! publishes which service name at which endpoint, and which client waits for which name
//! ([`Subscriptions`]), apart from the IPC around them so that they are tested on the host.
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
/// Most subscriptions at once (`SubscriptionsMax`), and of one client
/// (`PerClientSubscriptionsMax`).
pub const SUBSCRIPTIONS_MAX: usize = 32;
pub const PER_CLIENT_SUBSCRIPTIONS_MAX: usize = 4;

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

    /// The service `name` if a live process publishes it.
    pub fn published(&self, name: &str, alive: &mut dyn FnMut(u64) -> bool) -> Option<Service> {
        self.services
            .iter()
            .find(|s| s.name == name && alive(s.server))
            .cloned()
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

/// A client waiting for the publication of a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The subscriber's SID.
    pub client: u64,
    pub name: String,
    /// The notification bit posted to the client at each publication (1..=64).
    pub notice: u32,
    /// The last publication not read yet, and when it came (for the oldest first).
    pub pending: Option<(u64, Service)>,
}

/// The subscriptions, bounded by [`SUBSCRIPTIONS_MAX`] in all and
/// [`PER_CLIENT_SUBSCRIPTIONS_MAX`] per client; each keeps at most one publication, so a
/// client can make the manager hold no more than that.
#[derive(Default)]
pub struct Subscriptions {
    list: Vec<Subscription>,
    /// Counts publications, to read them oldest first.
    clock: u64,
}

impl Subscriptions {
    /// No subscription.
    pub fn new() -> Self {
        Subscriptions::default()
    }

    /// The subscriptions now.
    pub fn list(&self) -> &[Subscription] {
        &self.list
    }

    /// `client` subscribes to `name` with `notice` (0: ends its subscription to `name`).
    /// Subscriptions of ended clients are dropped when the table is full.
    pub fn set(
        &mut self,
        client: u64,
        name: &str,
        notice: u32,
        alive: &mut dyn FnMut(u64) -> bool,
    ) -> Result<(), Refusal> {
        if name.is_empty() || notice > 64 {
            return Err(Refusal::Invalid);
        }
        let mine = self
            .list
            .iter()
            .position(|s| s.client == client && s.name == name);
        match (mine, notice) {
            (Some(i), 0) => {
                self.list.swap_remove(i);
                return Ok(());
            }
            (None, 0) => return Err(Refusal::NotFound),
            (Some(i), _) => {
                if let Some(s) = self.list.get_mut(i) {
                    s.notice = notice;
                }
                return Ok(());
            }
            (None, _) => {}
        }
        if self.list.len() >= SUBSCRIPTIONS_MAX {
            self.list.retain(|s| alive(s.client));
        }
        let own = self.list.iter().filter(|s| s.client == client).count();
        if self.list.len() >= SUBSCRIPTIONS_MAX || own >= PER_CLIENT_SUBSCRIPTIONS_MAX {
            return Err(Refusal::Full);
        }
        self.list.try_reserve(1).map_err(|_| Refusal::Full)?;
        self.list.push(Subscription {
            client,
            name: String::from(name),
            notice,
            pending: None,
        });
        Ok(())
    }

    /// `service` was published: kept for each subscriber to its name (replacing what it
    /// had not read). The subscribers to notify and their notices; only `client`'s, if
    /// given (a subscription made while the name was already published).
    pub fn published(&mut self, service: &Service, client: Option<u64>) -> Vec<(u64, u32)> {
        let mut told = Vec::new();
        for s in self
            .list
            .iter_mut()
            .filter(|s| s.name == service.name && client.is_none_or(|c| c == s.client))
        {
            self.clock += 1;
            s.pending = Some((self.clock, service.clone()));
            if told.try_reserve(1).is_ok() {
                told.push((s.client, s.notice));
            }
        }
        told
    }

    /// `service` was withdrawn: publications of it not read yet are dropped.
    pub fn withdrawn(&mut self, service: &Service) {
        for s in &mut self.list {
            if s.pending.as_ref().is_some_and(|(_, p)| p == service) {
                s.pending = None;
            }
        }
    }

    /// The oldest publication kept for `client`, taken.
    pub fn read(&mut self, client: u64) -> Option<Service> {
        self.list
            .iter_mut()
            .filter(|s| s.client == client && s.pending.is_some())
            .min_by_key(|s| s.pending.as_ref().map_or(0, |(t, _)| *t))
            .and_then(|s| s.pending.take())
            .map(|(_, service)| service)
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

    fn service(name: &str, server: u64) -> Service {
        Service {
            name: name.into(),
            endpoint: "e".into(),
            server,
            notice: 0,
        }
    }

    #[test]
    fn subscribers_get_publications_oldest_first() {
        let mut subs = Subscriptions::new();
        subs.set(5, "b", 2, &mut all_alive).unwrap();
        subs.set(5, "a", 3, &mut all_alive).unwrap();
        subs.set(6, "a", 1, &mut all_alive).unwrap();
        assert_eq!(subs.read(5), None);
        assert_eq!(subs.published(&service("a", 7), None), vec![(5, 3), (6, 1)]);
        assert_eq!(subs.published(&service("b", 8), None), vec![(5, 2)]);
        assert_eq!(subs.published(&service("c", 8), None), vec![]);
        assert_eq!(subs.read(5).map(|s| s.name), Some("a".into()));
        assert_eq!(subs.read(5).map(|s| s.name), Some("b".into()));
        assert_eq!(subs.read(5), None);
        // Only the named client, for a subscription to a name published already.
        assert_eq!(subs.published(&service("a", 7), Some(6)), vec![(6, 1)]);
        assert_eq!(subs.read(5), None);
        // A withdrawn service is not reported.
        subs.withdrawn(&service("a", 7));
        assert_eq!(subs.read(6), None);
    }

    #[test]
    fn a_later_publication_replaces_an_unread_one() {
        let mut subs = Subscriptions::new();
        subs.set(5, "a", 3, &mut all_alive).unwrap();
        subs.published(&service("a", 7), None);
        subs.published(&service("a", 9), None);
        assert_eq!(subs.read(5).map(|s| s.server), Some(9));
        assert_eq!(subs.read(5), None);
    }

    #[test]
    fn subscriptions_are_bounded_and_checked() {
        let mut subs = Subscriptions::new();
        assert_eq!(subs.set(5, "", 3, &mut all_alive), Err(Refusal::Invalid));
        assert_eq!(subs.set(5, "a", 65, &mut all_alive), Err(Refusal::Invalid));
        assert_eq!(subs.set(5, "a", 0, &mut all_alive), Err(Refusal::NotFound));
        for i in 0..PER_CLIENT_SUBSCRIPTIONS_MAX {
            subs.set(5, &format!("n{i}"), 1, &mut all_alive).unwrap();
        }
        assert_eq!(subs.set(5, "more", 1, &mut all_alive), Err(Refusal::Full));
        // Again to the same name: its notice changes, nothing is added.
        subs.set(5, "n0", 4, &mut all_alive).unwrap();
        assert_eq!(subs.list().len(), PER_CLIENT_SUBSCRIPTIONS_MAX);
        // Ending one makes room.
        subs.set(5, "n0", 0, &mut all_alive).unwrap();
        subs.set(5, "more", 1, &mut all_alive).unwrap();
        // The whole table: full, until the subscriptions of ended clients are dropped.
        let mut client = 100;
        while subs.list().len() < SUBSCRIPTIONS_MAX {
            subs.set(client, "x", 1, &mut all_alive).unwrap();
            client += 1;
        }
        assert_eq!(subs.set(99, "x", 1, &mut all_alive), Err(Refusal::Full));
        let mut alive = |sid: u64| sid != 100;
        assert_eq!(subs.set(99, "x", 1, &mut alive), Ok(()));
        assert!(subs.list().iter().all(|s| s.client != 100));
    }
}
