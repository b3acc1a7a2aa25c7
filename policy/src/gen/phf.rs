//! A perfect hash for the dispatch table, built at compile time ("hash and displace").
//!
//! Keys are `u64` (an event kind and three optional numbers packed together, see
//! [`super::plan`]). The table has `slots >= keys` entries; keys are grouped into buckets by
//! a first hash, and each bucket gets a *displacement* `d` such that the second hash
//! `h(key, d + 1)` sends every key of the bucket to a distinct free slot. A lookup is two
//! hashes, two array reads and one comparison, whatever the number of keys: this is what
//! makes the cost of a decision independent of the number of classes. Both tables have a
//! power-of-two length, so that the hashes are reduced to an index with a mask.
//!
//! The hash is `ostrog_ksm::engine::mix`, the one the engine probes with at run time, so
//! the build-time placement and the run-time lookup agree by construction.

pub use ostrog_ksm::engine::{mix, reduce};

/// A built table: `slots[i]` is the index of the key placed there (or `None`), and
/// `displacements[b]` the displacement of bucket `b`.
#[derive(Clone, Debug)]
pub struct Table {
    pub slots: Vec<Option<usize>>,
    pub displacements: Vec<u32>,
}

impl Table {
    /// The bucket of `key`.
    pub fn bucket(key: u64, buckets: usize) -> usize {
        reduce(mix(key, 0), buckets.max(1) as u64) as usize
    }

    /// The slot of `key` under displacement `d`.
    pub fn slot(key: u64, d: u32, slots: usize) -> usize {
        reduce(mix(key, u64::from(d) + 1), slots.max(1) as u64) as usize
    }

    /// Finds `key`: the index of the key in the build input, if present.
    pub fn lookup(&self, keys: &[u64], key: u64) -> Option<usize> {
        let b = Self::bucket(key, self.displacements.len());
        let d = *self.displacements.get(b)?;
        let s = Self::slot(key, d, self.slots.len());
        let i = (*self.slots.get(s)?)?;
        (keys.get(i) == Some(&key)).then_some(i)
    }
}

/// Builds a table for distinct `keys`.
pub fn build(keys: &[u64]) -> Table {
    let n = keys.len();
    // Powers of two, so that a lookup masks instead of dividing ([`reduce`]).
    let slots_len = (n + n / 4 + 1).max(1).next_power_of_two();
    let buckets_len = (n / 3 + 1).max(1).next_power_of_two();
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); buckets_len];
    for (i, k) in keys.iter().enumerate() {
        buckets[Table::bucket(*k, buckets_len)].push(i);
    }
    let mut order: Vec<usize> = (0..buckets_len).collect();
    order.sort_by_key(|b| std::cmp::Reverse(buckets[*b].len()));
    let mut slots: Vec<Option<usize>> = vec![None; slots_len];
    let mut displacements = vec![0u32; buckets_len];
    for b in order {
        let members = &buckets[b];
        if members.is_empty() {
            continue;
        }
        let mut d = 0u32;
        loop {
            let mut taken: Vec<usize> = Vec::with_capacity(members.len());
            let ok = members.iter().all(|&i| {
                let s = Table::slot(keys[i], d, slots_len);
                if slots[s].is_some() || taken.contains(&s) {
                    return false;
                }
                taken.push(s);
                true
            });
            if ok {
                for (&i, s) in members.iter().zip(taken) {
                    slots[s] = Some(i);
                }
                displacements[b] = d;
                break;
            }
            // With at least 1.25 slots per key a displacement is found quickly; the bound is
            // only a guard against an impossible endless loop.
            d = d
                .checked_add(1)
                .expect("perfect hash: no displacement found");
        }
    }
    Table {
        slots,
        displacements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_found_and_others_are_not() {
        let keys: Vec<u64> = (0..5000u64).map(|i| i * 7919 + (i << 40)).collect();
        let t = build(&keys);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.lookup(&keys, *k), Some(i));
        }
        assert_eq!(t.lookup(&keys, 3), None);
        let empty = build(&[]);
        assert_eq!(empty.lookup(&[], 1), None);
    }
}
