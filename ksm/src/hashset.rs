//! The HashSet model: one bounded set of entries per SID.
//!
//! `policy object s : HashSet { type Entry = UInt32  config = { set_size : 5, pool_size : 2 } }`
//! becomes `HashSet<u32, 5, 2>`: a pool of `pool_size` tables, each holding at most
//! `set_size` distinct entries, one table per SID. Entries are any `Copy + Eq` value: the
//! policy compiler maps PSL integers and Booleans to the Rust types of the same width and
//! packs dictionaries/tuples of them into fixed-width byte keys (e.g. `{a : UInt32, b :
//! Boolean}` to `[u8; 5]`: the leaves in declaration order, little-endian).
//!
//! * `init {sid}` binds a free, empty table to `sid`; denied if `sid` already has one or no
//!   table is free.
//! * `fini {sid}` frees the table of `sid`; denied if it has none.
//! * `add {sid, entry}` is granted if the entry was added or was already there; denied if the
//!   table is full or `sid` has none.
//! * `remove {sid, entry}` is granted if the entry was removed or was not there; denied if
//!   `sid` has no table.
//! * `contains {sid, entry}` is an expression; it fails if `sid` has no table (an unbound SID
//!   is an incorrectly running expression, not "not contained").
//!
//! Despite the name nothing is hashed: a table is a small array searched linearly, so the
//! time per call is bounded by `set_size` and cannot be degraded by chosen entries. All
//! changes are transactional (see [`crate::txn`]).

use crate::base::verdict_of;
use crate::event::{Sid, Verdict};
use crate::expr::{Expr, ExprError};
use crate::txn::{SidPool, Transactional};

/// One SID's set: up to `N` distinct entries.
#[derive(Clone, Copy, Debug)]
pub struct Table<E: Copy, const N: usize> {
    entries: [Option<E>; N],
}

impl<E: Copy + Eq, const N: usize> Table<E, N> {
    const EMPTY: Self = Table { entries: [None; N] };

    fn contains(&self, entry: &E) -> bool {
        self.entries.iter().any(|e| e.as_ref() == Some(entry))
    }

    fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.is_some()).count()
    }
}

/// A HashSet policy object: `POOL` tables of `SET` entries of type `E`.
#[derive(Debug)]
pub struct HashSet<E: Copy + Eq, const SET: usize, const POOL: usize> {
    tables: SidPool<Table<E, SET>, POOL>,
}

impl<E: Copy + Eq, const SET: usize, const POOL: usize> HashSet<E, SET, POOL> {
    /// An object with every table free.
    pub const fn new() -> Self {
        HashSet {
            tables: SidPool::new(),
        }
    }

    /// `init {sid}`.
    pub fn init(&mut self, sid: Sid) -> Verdict {
        verdict_of(self.tables.bind(sid, Table::EMPTY).is_ok())
    }

    /// `fini {sid}`.
    pub fn fini(&mut self, sid: Sid) -> Verdict {
        verdict_of(self.tables.release(sid))
    }

    /// `add {sid, entry}`.
    pub fn add(&mut self, sid: Sid, entry: E) -> Verdict {
        let Some(table) = self.tables.get_mut(sid) else {
            return Verdict::Denied;
        };
        if table.contains(&entry) {
            return Verdict::Granted;
        }
        match table.entries.iter_mut().find(|e| e.is_none()) {
            Some(free) => {
                *free = Some(entry);
                Verdict::Granted
            }
            None => Verdict::Denied,
        }
    }

    /// `remove {sid, entry}`.
    pub fn remove(&mut self, sid: Sid, entry: E) -> Verdict {
        let Some(table) = self.tables.get(sid) else {
            return Verdict::Denied;
        };
        if !table.contains(&entry) {
            // Nothing to change: do not journal the slot.
            return Verdict::Granted;
        }
        if let Some(table) = self.tables.get_mut(sid) {
            for e in table.entries.iter_mut() {
                if e.as_ref() == Some(&entry) {
                    *e = None;
                }
            }
        }
        Verdict::Granted
    }

    /// `contains {sid, entry}`.
    pub fn contains(&self, sid: Sid, entry: E) -> Expr<bool> {
        self.tables
            .get(sid)
            .map(|t| t.contains(&entry))
            .ok_or(ExprError::NotBound)
    }

    /// Number of entries in the table of `sid`.
    pub fn len(&self, sid: Sid) -> Expr<usize> {
        self.tables
            .get(sid)
            .map(Table::len)
            .ok_or(ExprError::NotBound)
    }
}

impl<E: Copy + Eq, const SET: usize, const POOL: usize> Default for HashSet<E, SET, POOL> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy + Eq, const SET: usize, const POOL: usize> Transactional for HashSet<E, SET, POOL> {
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
    use proptest::prelude::*;

    #[test]
    fn tables_are_bounded_and_bound_to_sids() {
        let mut set: HashSet<u32, 2, 2> = HashSet::new();
        assert_eq!(set.add(1, 5), Verdict::Denied, "no table yet");
        assert_eq!(set.contains(1, 5), Err(ExprError::NotBound));
        assert_eq!(set.init(1), Verdict::Granted);
        assert_eq!(set.init(1), Verdict::Denied);
        assert_eq!(set.add(1, 5), Verdict::Granted);
        assert_eq!(set.add(1, 5), Verdict::Granted, "already present");
        assert_eq!(set.add(1, 6), Verdict::Granted);
        assert_eq!(set.add(1, 7), Verdict::Denied, "full");
        assert_eq!(set.contains(1, 6), Ok(true));
        assert_eq!(set.remove(1, 6), Verdict::Granted);
        assert_eq!(set.remove(1, 6), Verdict::Granted, "absent");
        assert_eq!(set.contains(1, 6), Ok(false));
        assert_eq!(set.add(1, 7), Verdict::Granted);
        assert_eq!(set.len(1), Ok(2));
        assert_eq!(set.init(2), Verdict::Granted);
        assert_eq!(set.init(3), Verdict::Denied, "pool full");
        assert_eq!(set.contains(2, 5), Ok(false), "tables are separate");
        assert_eq!(set.fini(1), Verdict::Granted);
        assert_eq!(set.fini(1), Verdict::Denied);
        assert_eq!(set.init(3), Verdict::Granted);
        assert_eq!(set.contains(3, 5), Ok(false), "a reused table starts empty");
        assert_eq!(set.remove(9, 1), Verdict::Denied);
    }

    #[test]
    fn tuple_entries() {
        let mut set: HashSet<(u32, bool), 4, 1> = HashSet::new();
        set.init(1);
        assert_eq!(set.add(1, (3, true)), Verdict::Granted);
        assert_eq!(set.contains(1, (3, false)), Ok(false));
        assert_eq!(set.contains(1, (3, true)), Ok(true));
    }

    #[test]
    fn byte_key_entries() {
        // `{ port : UInt16, proto : UInt8 }` as the policy compiler packs it.
        let key = |port: u16, proto: u8| {
            let [a, b] = port.to_le_bytes();
            [a, b, proto]
        };
        let mut set: HashSet<[u8; 3], 2, 1> = HashSet::new();
        set.init(1);
        assert_eq!(set.add(1, key(80, 6)), Verdict::Granted);
        assert_eq!(set.contains(1, key(80, 17)), Ok(false));
        assert_eq!(set.contains(1, key(80, 6)), Ok(true));
        assert_eq!(set.add(1, key(443, 6)), Verdict::Granted);
        assert_eq!(set.add(1, key(53, 17)), Verdict::Denied, "full");
    }

    #[test]
    fn changes_of_a_denied_event_are_undone() {
        let mut set: HashSet<u8, 4, 2> = HashSet::new();
        set.init(1);
        set.add(1, 1);
        conclude(Verdict::Granted, &mut [&mut set]);
        set.add(1, 2);
        set.remove(1, 1);
        set.init(2);
        conclude(Verdict::Denied, &mut [&mut set]);
        assert_eq!(set.contains(1, 1), Ok(true));
        assert_eq!(set.contains(1, 2), Ok(false));
        assert_eq!(set.contains(2, 1), Err(ExprError::NotBound));
    }

    proptest! {
        // A model of the set: whatever the sequence of adds and removes, the table agrees
        // with a reference set capped at the table size.
        #[test]
        fn agrees_with_a_reference_set(ops in proptest::collection::vec((any::<bool>(), 0u8..8), 0..64)) {
            let mut set: HashSet<u8, 4, 1> = HashSet::new();
            set.init(1);
            let mut reference: std::vec::Vec<u8> = std::vec::Vec::new();
            for (adding, value) in ops {
                if adding {
                    let expect = if reference.contains(&value) {
                        true
                    } else if reference.len() < 4 {
                        reference.push(value);
                        true
                    } else {
                        false
                    };
                    prop_assert_eq!(set.add(1, value).is_granted(), expect);
                } else {
                    reference.retain(|v| *v != value);
                    prop_assert!(set.remove(1, value).is_granted());
                }
                for v in 0u8..8 {
                    prop_assert_eq!(set.contains(1, v), Ok(reference.contains(&v)));
                }
            }
        }
    }
}
