//! The StaticMap model: a fixed set of keys with values, per SID, with a two-phase update.
//!
//! `policy object m : StaticMap { type Value = UInt16  config = { keys : { "k1" : 0, "k2" : 1 },
//! pool_size : 2 } }` becomes `StaticMap<u16, 2, 2>` with a static [`StaticMapConfig`] naming
//! the keys and their default values. Each SID's table has two instances of the values:
//!
//! * the *working* instance, written by `set` and read by `get_uncommited`;
//! * the *base* instance, read by `get`, updated only by the map's own `commit {sid}`
//!   (working -> base); `rollback {sid}` copies base -> working.
//!
//! This two-phase update is the *model's* semantics and independent of event transactions
//! ([`crate::txn`]): a `set` and a `commit {sid}` in an event that ends denied are both
//! undone, base and working alike. To keep the two apart in Rust, the PSL rules `commit` and
//! `rollback` are the methods [`StaticMap::commit_sid`] and [`StaticMap::rollback_sid`];
//! `commit()`/`rollback()` without a SID are the event transaction.
//!
//! Keys are `Text` or `List<UInt8>`, compared as bytes. The policy compiler resolves literal
//! keys to indices at build time ([`StaticMapConfig::key_index`] does it at run time for keys
//! taken from a message). An unknown key denies a rule and fails an expression, as does a SID
//! without a table. `init` resets both instances to the defaults; `fini` frees the table.

use crate::base::verdict_of;
use crate::event::{Sid, Verdict};
use crate::expr::{Expr, ExprError};
use crate::txn::{SidPool, Transactional};

/// The keys and default values of a StaticMap object.
#[derive(Debug)]
pub struct StaticMapConfig<V: Copy, const K: usize> {
    /// Keys, as bytes (UTF-8 of a `Text` key, or the `List<UInt8>`).
    pub keys: [&'static [u8]; K],
    /// The value every key has after `init`.
    pub defaults: [V; K],
}

impl<V: Copy, const K: usize> StaticMapConfig<V, K> {
    /// The index of a key.
    pub fn key_index(&self, key: &[u8]) -> Expr<usize> {
        self.keys
            .iter()
            .position(|k| *k == key)
            .ok_or(ExprError::UnknownKey)
    }
}

#[derive(Clone, Copy, Debug)]
struct MapTable<V: Copy, const K: usize> {
    base: [V; K],
    working: [V; K],
}

/// A StaticMap policy object: `P` tables of `K` values of type `V`.
#[derive(Debug)]
pub struct StaticMap<V: Copy + 'static, const K: usize, const P: usize> {
    config: &'static StaticMapConfig<V, K>,
    tables: SidPool<MapTable<V, K>, P>,
}

impl<V: Copy + 'static, const K: usize, const P: usize> StaticMap<V, K, P> {
    /// An object with every table free.
    pub const fn new(config: &'static StaticMapConfig<V, K>) -> Self {
        StaticMap {
            config,
            tables: SidPool::new(),
        }
    }

    /// The object's keys and defaults.
    pub fn config(&self) -> &'static StaticMapConfig<V, K> {
        self.config
    }

    /// `init {sid}`.
    pub fn init(&mut self, sid: Sid) -> Verdict {
        let defaults = self.config.defaults;
        let table = MapTable {
            base: defaults,
            working: defaults,
        };
        verdict_of(self.tables.bind(sid, table).is_ok())
    }

    /// `fini {sid}`.
    pub fn fini(&mut self, sid: Sid) -> Verdict {
        verdict_of(self.tables.release(sid))
    }

    /// `set {sid, key, value}` (into the working instance).
    pub fn set(&mut self, sid: Sid, key: usize, value: V) -> Verdict {
        if key >= K {
            return Verdict::Denied;
        }
        let slot = self
            .tables
            .get_mut(sid)
            .and_then(|t| t.working.get_mut(key));
        match slot {
            Some(slot) => {
                *slot = value;
                Verdict::Granted
            }
            None => Verdict::Denied,
        }
    }

    /// PSL `commit {sid}`: working -> base.
    pub fn commit_sid(&mut self, sid: Sid) -> Verdict {
        match self.tables.get_mut(sid) {
            Some(table) => {
                table.base = table.working;
                Verdict::Granted
            }
            None => Verdict::Denied,
        }
    }

    /// PSL `rollback {sid}`: base -> working.
    pub fn rollback_sid(&mut self, sid: Sid) -> Verdict {
        match self.tables.get_mut(sid) {
            Some(table) => {
                table.working = table.base;
                Verdict::Granted
            }
            None => Verdict::Denied,
        }
    }

    /// `get {sid, key}`: the value in the base instance.
    pub fn get(&self, sid: Sid, key: usize) -> Expr<V> {
        let table = self.tables.get(sid).ok_or(ExprError::NotBound)?;
        table.base.get(key).copied().ok_or(ExprError::UnknownKey)
    }

    /// `get_uncommited {sid, key}` (PSL spelling): the value in the working instance.
    pub fn get_uncommited(&self, sid: Sid, key: usize) -> Expr<V> {
        let table = self.tables.get(sid).ok_or(ExprError::NotBound)?;
        table.working.get(key).copied().ok_or(ExprError::UnknownKey)
    }
}

impl<V: Copy + 'static, const K: usize, const P: usize> Transactional for StaticMap<V, K, P> {
    fn commit(&mut self) {
        self.tables.commit();
    }

    fn rollback(&mut self) {
        self.tables.rollback();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::conclude;

    static CONFIG: StaticMapConfig<u16, 2> = StaticMapConfig {
        keys: [b"k1", b"k2"],
        defaults: [0, 1],
    };

    #[test]
    fn two_phase_values() {
        let mut map: StaticMap<u16, 2, 2> = StaticMap::new(&CONFIG);
        let k1 = CONFIG.key_index(b"k1").unwrap_or(usize::MAX);
        let k2 = CONFIG.key_index(b"k2").unwrap_or(usize::MAX);
        assert_eq!(CONFIG.key_index(b"k3"), Err(ExprError::UnknownKey));
        assert_eq!(map.get(1, k1), Err(ExprError::NotBound));
        assert_eq!(map.init(1), Verdict::Granted);
        assert_eq!(map.init(1), Verdict::Denied);
        assert_eq!((map.get(1, k1), map.get(1, k2)), (Ok(0), Ok(1)));
        assert_eq!(map.set(1, k1, 42), Verdict::Granted);
        assert_eq!(map.get(1, k1), Ok(0));
        assert_eq!(map.get_uncommited(1, k1), Ok(42));
        assert_eq!(map.commit_sid(1), Verdict::Granted);
        assert_eq!(map.get(1, k1), Ok(42));
        assert_eq!(map.set(1, k2, 9), Verdict::Granted);
        assert_eq!(map.rollback_sid(1), Verdict::Granted);
        assert_eq!(map.get_uncommited(1, k2), Ok(1));
        assert_eq!(map.set(1, 5, 9), Verdict::Denied, "unknown key");
        assert_eq!(map.get(1, 5), Err(ExprError::UnknownKey));
        assert_eq!(map.set(2, k1, 1), Verdict::Denied, "no table");
        assert_eq!(map.commit_sid(2), Verdict::Denied);
        assert_eq!(map.rollback_sid(2), Verdict::Denied);
        assert_eq!(map.fini(1), Verdict::Granted);
        assert_eq!(map.init(1), Verdict::Granted);
        assert_eq!(map.get(1, k1), Ok(0), "init resets to defaults");
    }

    #[test]
    fn event_rollback_undoes_set_and_model_commit() {
        let mut map: StaticMap<u16, 2, 1> = StaticMap::new(&CONFIG);
        map.init(1);
        conclude(Verdict::Granted, &mut [&mut map]);
        map.set(1, 0, 5);
        map.commit_sid(1);
        conclude(Verdict::Denied, &mut [&mut map]);
        assert_eq!(map.get(1, 0), Ok(0));
        assert_eq!(map.get_uncommited(1, 0), Ok(0));
    }
}
