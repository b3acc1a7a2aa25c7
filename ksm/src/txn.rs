//! Transactions: model state changes survive only granted events.
//!
//! Deciding one event may run several rules that change model state (a Flow `enter`, a
//! HashSet `add`, a Mic `execute`, a Base `set_level`) and others that deny. KasperskyOS
//! documents the outcome for Flow and StaticMap, and we apply it to every stateful object:
//! **the changes made while deciding an event are committed if and only if the final verdict
//! is granted**; otherwise the state is exactly as before the event.
//!
//! The mechanism is uniform and allocation-free. Every stateful object keeps two copies of
//! its state, *committed* and *working*, in fixed-size storage ([`TxCell`] for one value,
//! [`TxPool`] for a pool of slots). Rules read and write the working copy, so that later
//! rules of the same event see earlier changes (`init` then `enter` in one binding works).
//! A pool remembers which slots an event touched, in a list as long as the pool (a slot is
//! listed at most once, so the list cannot overflow), and at the end of the decision:
//!
//! * [`Transactional::commit`] copies the touched working slots into the committed ones;
//! * [`Transactional::rollback`] copies the committed slots back over the touched working ones.
//!
//! Both cost time proportional to what the event touched, not to the pool. The price is
//! memory: twice the state, fixed at build time by the pool sizes of the policy's config.
//!
//! The generated `decide` function ends every decision, whatever path it took, with
//! [`conclude`], which commits or rolls back every stateful object of the policy. Between
//! decisions, working and committed copies are equal.

use crate::event::{Sid, Verdict};

/// An object whose state changes are kept or undone at the end of a decision.
pub trait Transactional {
    /// Keeps the changes made since the last `commit`/`rollback`.
    fn commit(&mut self);
    /// Undoes the changes made since the last `commit`/`rollback`.
    fn rollback(&mut self);
}

/// Ends a decision: commits every object if `verdict` is granted, rolls every one back
/// otherwise. Returns `verdict`, so the generated code can end with `conclude(v, &mut [...])`.
pub fn conclude(verdict: Verdict, objects: &mut [&mut dyn Transactional]) -> Verdict {
    for object in objects.iter_mut() {
        if verdict.is_granted() {
            object.commit();
        } else {
            object.rollback();
        }
    }
    verdict
}

/// One transactional value.
#[derive(Clone, Copy, Debug)]
pub struct TxCell<T: Copy> {
    committed: T,
    working: T,
}

impl<T: Copy> TxCell<T> {
    /// A cell holding `value`.
    pub const fn new(value: T) -> Self {
        TxCell {
            committed: value,
            working: value,
        }
    }

    /// The current (working) value.
    pub fn get(&self) -> T {
        self.working
    }

    /// Changes the working value.
    pub fn set(&mut self, value: T) {
        self.working = value;
    }

    /// The value as of the last committed decision.
    pub fn committed(&self) -> T {
        self.committed
    }
}

impl<T: Copy> Transactional for TxCell<T> {
    fn commit(&mut self) {
        self.committed = self.working;
    }

    fn rollback(&mut self) {
        self.working = self.committed;
    }
}

/// A fixed pool of `P` transactional slots.
#[derive(Clone, Debug)]
pub struct TxPool<S: Copy, const P: usize> {
    committed: [S; P],
    working: [S; P],
    touched: [bool; P],
    /// Indices of touched slots, the first `touched_len` entries.
    touched_list: [usize; P],
    touched_len: usize,
}

impl<S: Copy, const P: usize> TxPool<S, P> {
    /// A pool whose slots all hold `empty`.
    pub const fn new(empty: S) -> Self {
        TxPool {
            committed: [empty; P],
            working: [empty; P],
            touched: [false; P],
            touched_list: [0; P],
            touched_len: 0,
        }
    }

    /// Number of slots.
    pub const fn capacity(&self) -> usize {
        P
    }

    /// The working value of slot `index`.
    pub fn get(&self, index: usize) -> Option<&S> {
        self.working.get(index)
    }

    /// The working value of slot `index`, to change it (the slot is journaled).
    pub fn get_mut(&mut self, index: usize) -> Option<&mut S> {
        let slot = self.working.get_mut(index)?;
        let seen = self.touched.get_mut(index)?;
        if !*seen {
            *seen = true;
            if let Some(entry) = self.touched_list.get_mut(self.touched_len) {
                *entry = index;
                self.touched_len = self.touched_len.saturating_add(1);
            }
        }
        Some(slot)
    }

    /// The committed value of slot `index`.
    pub fn committed(&self, index: usize) -> Option<&S> {
        self.committed.get(index)
    }

    /// Index of the first slot whose working value satisfies `pred`.
    pub fn position(&self, pred: impl FnMut(&S) -> bool) -> Option<usize> {
        self.working.iter().position(pred)
    }

    /// The working values.
    pub fn iter(&self) -> impl Iterator<Item = &S> {
        self.working.iter()
    }

    /// True if no slot was changed since the last commit or rollback.
    pub fn is_clean(&self) -> bool {
        self.touched_len == 0
    }

    #[cfg(test)]
    fn touched_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.touched_list.iter().take(self.touched_len).copied()
    }
}

impl<S: Copy, const P: usize> Transactional for TxPool<S, P> {
    fn commit(&mut self) {
        for i in 0..self.touched_len {
            let Some(&index) = self.touched_list.get(i) else {
                continue;
            };
            if let (Some(dst), Some(src)) = (self.committed.get_mut(index), self.working.get(index))
            {
                *dst = *src;
            }
            if let Some(seen) = self.touched.get_mut(index) {
                *seen = false;
            }
        }
        self.touched_len = 0;
    }

    fn rollback(&mut self) {
        for i in 0..self.touched_len {
            let Some(&index) = self.touched_list.get(i) else {
                continue;
            };
            if let (Some(dst), Some(src)) = (self.working.get_mut(index), self.committed.get(index))
            {
                *dst = *src;
            }
            if let Some(seen) = self.touched.get_mut(index) {
                *seen = false;
            }
        }
        self.touched_len = 0;
    }
}

/// Why a SID could not be bound to a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindError {
    /// The SID already has a slot.
    AlreadyBound,
    /// Every slot is in use.
    PoolFull,
}

/// A pool of `P` slots, each free or bound to one SID and holding per-SID data `D`: the
/// storage of every SID-bound model (one table, FSM or level per SID per object).
///
/// Finding a SID's slot is a linear scan of the pool: pools are small and their size is
/// chosen by the policy, so the cost is bounded and predictable; nothing is hashed, so
/// nothing can be made to collide.
#[derive(Clone, Debug)]
pub struct SidPool<D: Copy, const P: usize> {
    slots: TxPool<Option<(Sid, D)>, P>,
}

impl<D: Copy, const P: usize> SidPool<D, P> {
    /// An empty pool.
    pub const fn new() -> Self {
        SidPool {
            slots: TxPool::new(None),
        }
    }

    fn index_of(&self, sid: Sid) -> Option<usize> {
        self.slots
            .position(|slot| matches!(slot, Some((bound, _)) if *bound == sid))
    }

    /// Binds a free slot to `sid` with initial data `data`.
    pub fn bind(&mut self, sid: Sid, data: D) -> Result<(), BindError> {
        if self.index_of(sid).is_some() {
            return Err(BindError::AlreadyBound);
        }
        let free = self
            .slots
            .position(Option::is_none)
            .ok_or(BindError::PoolFull)?;
        let slot = self.slots.get_mut(free).ok_or(BindError::PoolFull)?;
        *slot = Some((sid, data));
        Ok(())
    }

    /// Frees the slot of `sid`; false if `sid` had none.
    pub fn release(&mut self, sid: Sid) -> bool {
        let Some(index) = self.index_of(sid) else {
            return false;
        };
        match self.slots.get_mut(index) {
            Some(slot) => {
                *slot = None;
                true
            }
            None => false,
        }
    }

    /// The data of `sid`.
    pub fn get(&self, sid: Sid) -> Option<&D> {
        let index = self.index_of(sid)?;
        match self.slots.get(index)? {
            Some((_, data)) => Some(data),
            None => None,
        }
    }

    /// The data of `sid`, to change it.
    pub fn get_mut(&mut self, sid: Sid) -> Option<&mut D> {
        let index = self.index_of(sid)?;
        match self.slots.get_mut(index)? {
            Some((_, data)) => Some(data),
            None => None,
        }
    }

    /// True if `sid` has a slot.
    pub fn is_bound(&self, sid: Sid) -> bool {
        self.index_of(sid).is_some()
    }

    /// Number of bound slots.
    pub fn bound(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Number of slots.
    pub const fn capacity(&self) -> usize {
        P
    }
}

impl<D: Copy, const P: usize> Default for SidPool<D, P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: Copy, const P: usize> Transactional for SidPool<D, P> {
    fn commit(&mut self) {
        self.slots.commit();
    }

    fn rollback(&mut self) {
        self.slots.rollback();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_commits_and_rolls_back() {
        let mut cell = TxCell::new(1u32);
        cell.set(2);
        assert_eq!(cell.get(), 2);
        assert_eq!(cell.committed(), 1);
        cell.rollback();
        assert_eq!(cell.get(), 1);
        cell.set(3);
        cell.commit();
        assert_eq!((cell.get(), cell.committed()), (3, 3));
    }

    #[test]
    fn pool_journals_each_touched_slot_once() {
        let mut pool: TxPool<u8, 3> = TxPool::new(0);
        for _ in 0..10 {
            if let Some(v) = pool.get_mut(1) {
                *v = v.wrapping_add(1);
            }
        }
        assert_eq!(pool.get(1), Some(&10));
        assert_eq!(pool.committed(1), Some(&0));
        assert!(!pool.is_clean());
        assert_eq!(pool.touched_indices().count(), 1);
        pool.rollback();
        assert_eq!(pool.get(1), Some(&0));
        assert!(pool.is_clean());
        if let Some(v) = pool.get_mut(2) {
            *v = 7;
        }
        pool.commit();
        assert_eq!(pool.committed(2), Some(&7));
        assert_eq!(pool.get_mut(3), None);
    }

    #[test]
    fn sid_pool_binds_releases_and_is_bounded() {
        let mut pool: SidPool<u8, 2> = SidPool::new();
        assert_eq!(pool.bind(5, 1), Ok(()));
        assert_eq!(pool.bind(5, 1), Err(BindError::AlreadyBound));
        assert_eq!(pool.bind(6, 2), Ok(()));
        assert_eq!(pool.bind(7, 3), Err(BindError::PoolFull));
        assert_eq!(pool.get(6), Some(&2));
        assert!(pool.release(5));
        assert!(!pool.release(5));
        assert_eq!(pool.bind(7, 3), Ok(()));
        assert_eq!(pool.bound(), 2);
        pool.rollback();
        assert_eq!(pool.bound(), 0);
    }

    #[test]
    fn conclude_commits_only_granted_decisions() {
        let mut a = TxCell::new(0u8);
        let mut b: SidPool<u8, 1> = SidPool::new();
        a.set(1);
        let _ = b.bind(1, 1);
        conclude(Verdict::Denied, &mut [&mut a, &mut b]);
        assert_eq!(a.get(), 0);
        assert!(!b.is_bound(1));
        a.set(1);
        let _ = b.bind(1, 1);
        conclude(Verdict::Granted, &mut [&mut a, &mut b]);
        assert_eq!(a.committed(), 1);
        assert!(b.is_bound(1));
    }
}
