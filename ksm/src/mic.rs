//! The Mic model: mandatory integrity control.
//!
//! Every subject (process, the kernel) and resource that Mic knows has an *integrity level*,
//! bound to its SID. Data must not flow from a lower-integrity party to a higher-integrity
//! one (Biba's rules), except that a subject may be given a *levelR*: the lowest integrity
//! of the sources it may still read from.
//!
//! ## Levels
//!
//! A policy object is configured either with a linear list of levels
//! (`config = ["LOW", "MEDIUM", "HIGH"]`) or with degrees and categories
//! (`config = { degrees : ["low", "high"], categories : ["net", "log"] }`). Both are
//! represented by [`Level`]: a degree (index into the degrees, or into the linear list) and a
//! set of categories as a bitmask (so at most 64 categories; a linear config has none).
//! Levels are partially ordered: `a <= b` iff `a.degree <= b.degree` and `a`'s categories are
//! a subset of `b`'s. Two levels may be incomparable; every check below requires a `<=` that
//! holds, so incomparable levels deny. A level naming a degree or category the object does
//! not have is invalid and denies.
//!
//! ## Rules, and our readings where the documentation is silent
//!
//! Each SID has a [`Label`]: its level and its levelR (for resources levelR equals level and
//! is not used). Any party named by a rule that has no label denies the rule.
//!
//! * `execute {image, target, level, levelR}` labels a starting subject `target`. The level
//!   defaults to the image's level and must not exceed it; without an image (the kernel, or a
//!   process from an unlabelled source) the level must be given. levelR defaults to the level
//!   and must be `<=` the level. A target that already has a label is denied (a label is
//!   never silently replaced).
//! * `create {source, target, container, driver, level}` labels a new resource. The level
//!   must be `<=` the levels of source, driver and container (if any). If omitted it is the
//!   greatest level allowed, the *meet* of those levels (lowest degree, common categories):
//!   the documentation says only that it has a default, and the meet is the highest level
//!   that passes the check. An already labelled target is denied.
//! * `upgrade {...level}` raises a labelled resource: the new level must be `>=` its current
//!   level and `<=` source, driver and container.
//! * `downgrade {...level}` (only named in the docs) lowers a labelled resource: the new level
//!   must be `<=` the current level, the source must dominate the current level (only a
//!   subject that could write the resource may relabel it), and the new level must be `<=`
//!   driver and container.
//! * `call {source, target}` and `read {source, target}`: data flows from `target` to
//!   `source`; granted iff `levelR(source) <= level(target)`.
//! * `invoke {source, target}` and `write {source, target}`: data flows from `source` to
//!   `target`; granted iff `level(target) <= level(source)`.
//! * `query_level {source}` is an expression yielding the level; it fails without a label.
//! * `fini {sid}` (our extension) removes a label, so that the pool (whose size the policy
//!   fixes) can be reused when a resource or process is gone. Denied if there is no label.
//!
//! All label changes are transactional (see [`crate::txn`]).

use crate::base::verdict_of;
use crate::event::{Sid, Verdict};
use crate::expr::{Expr, ExprError};
use crate::txn::{SidPool, Transactional};

/// An integrity level: a degree and a set of categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Level {
    /// Index into the object's degrees (or linear levels).
    pub degree: u16,
    /// Bit `i` set: category `i` of the object.
    pub categories: u64,
}

impl Level {
    /// A level with categories.
    pub const fn new(degree: u16, categories: u64) -> Self {
        Level { degree, categories }
    }

    /// A level of a linear configuration.
    pub const fn linear(degree: u16) -> Self {
        Level {
            degree,
            categories: 0,
        }
    }

    /// `self <= other` in the lattice.
    pub const fn dominated_by(self, other: Level) -> bool {
        self.degree <= other.degree && self.categories & !other.categories == 0
    }

    /// The greatest level `<=` both.
    pub const fn meet(self, other: Level) -> Level {
        Level {
            degree: if self.degree < other.degree {
                self.degree
            } else {
                other.degree
            },
            categories: self.categories & other.categories,
        }
    }
}

/// The levels of a Mic object.
#[derive(Debug)]
pub struct MicConfig {
    /// Degrees (or the linear levels), lowest first.
    pub degrees: &'static [&'static str],
    /// Categories (empty for a linear configuration); at most 64.
    pub categories: &'static [&'static str],
}

impl MicConfig {
    /// True if the config can be represented.
    pub const fn is_valid(&self) -> bool {
        !self.degrees.is_empty()
            && self.degrees.len() <= u16::MAX as usize
            && self.categories.len() <= 64
    }

    /// True if `level` names only degrees and categories of this object.
    pub fn contains(&self, level: Level) -> bool {
        let known = match self.categories.len() {
            64 => u64::MAX,
            n => (1u64 << n).wrapping_sub(1),
        };
        usize::from(level.degree) < self.degrees.len() && level.categories & !known == 0
    }

    /// The level of a degree name and category names.
    pub fn level(&self, degree: &str, categories: &[&str]) -> Option<Level> {
        let degree = u16::try_from(self.degrees.iter().position(|d| *d == degree)?).ok()?;
        let mut mask = 0u64;
        for name in categories {
            let bit = self.categories.iter().position(|c| c == name)?;
            mask |= 1u64.checked_shl(u32::try_from(bit).ok()?)?;
        }
        Some(Level::new(degree, mask))
    }

    /// The name of a level's degree.
    pub fn degree_name(&self, level: Level) -> Option<&'static str> {
        self.degrees.get(usize::from(level.degree)).copied()
    }
}

/// The integrity label of one SID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label {
    /// Its level.
    pub level: Level,
    /// The lowest level it may read from (subjects; equal to `level` for resources).
    pub level_r: Level,
}

/// Arguments of `execute`.
#[derive(Clone, Copy, Debug)]
pub struct ExecuteArgs {
    pub image: Option<Sid>,
    pub target: Sid,
    pub level: Option<Level>,
    pub level_r: Option<Level>,
}

/// Arguments of `create`.
#[derive(Clone, Copy, Debug)]
pub struct CreateArgs {
    pub source: Sid,
    pub target: Sid,
    pub container: Option<Sid>,
    pub driver: Sid,
    pub level: Option<Level>,
}

/// Arguments of `upgrade` and `downgrade`.
#[derive(Clone, Copy, Debug)]
pub struct RelabelArgs {
    pub source: Sid,
    pub target: Sid,
    pub container: Option<Sid>,
    pub driver: Sid,
    pub level: Level,
}

/// A Mic policy object with room for `P` labels.
#[derive(Debug)]
pub struct Mic<const P: usize> {
    config: &'static MicConfig,
    labels: SidPool<Label, P>,
}

impl<const P: usize> Mic<P> {
    /// An object with no label yet.
    pub const fn new(config: &'static MicConfig) -> Self {
        Mic {
            config,
            labels: SidPool::new(),
        }
    }

    /// The object's levels.
    pub fn config(&self) -> &'static MicConfig {
        self.config
    }

    fn valid(&self, level: Level) -> bool {
        self.config.is_valid() && self.config.contains(level)
    }

    fn level_of(&self, sid: Sid) -> Option<Level> {
        self.labels.get(sid).map(|l| l.level)
    }

    /// The label of `sid`.
    pub fn label(&self, sid: Sid) -> Option<Label> {
        self.labels.get(sid).copied()
    }

    /// Meet of the levels of driver and container (if any); `None` if one has no label.
    fn provider_bound(&self, driver: Sid, container: Option<Sid>) -> Option<Level> {
        let driver = self.level_of(driver)?;
        match container {
            Some(c) => Some(driver.meet(self.level_of(c)?)),
            None => Some(driver),
        }
    }

    /// `execute {image, target, level, levelR}`.
    pub fn execute(&mut self, args: ExecuteArgs) -> Verdict {
        let image = match args.image {
            Some(sid) => match self.level_of(sid) {
                Some(level) => Some(level),
                None => return Verdict::Denied,
            },
            None => None,
        };
        let level = match (args.level, image) {
            (Some(level), Some(image)) if level.dominated_by(image) => level,
            (Some(_), Some(_)) => return Verdict::Denied,
            (Some(level), None) => level,
            (None, Some(image)) => image,
            (None, None) => return Verdict::Denied,
        };
        let level_r = args.level_r.unwrap_or(level);
        if !self.valid(level) || !self.valid(level_r) || !level_r.dominated_by(level) {
            return Verdict::Denied;
        }
        verdict_of(
            self.labels
                .bind(args.target, Label { level, level_r })
                .is_ok(),
        )
    }

    /// `create {source, target, container, driver, level}`.
    pub fn create(&mut self, args: CreateArgs) -> Verdict {
        let (Some(source), Some(provider)) = (
            self.level_of(args.source),
            self.provider_bound(args.driver, args.container),
        ) else {
            return Verdict::Denied;
        };
        let bound = source.meet(provider);
        let level = args.level.unwrap_or(bound);
        if !self.valid(level) || !level.dominated_by(bound) {
            return Verdict::Denied;
        }
        let label = Label {
            level,
            level_r: level,
        };
        verdict_of(self.labels.bind(args.target, label).is_ok())
    }

    /// `upgrade {source, target, container, driver, level}`.
    pub fn upgrade(&mut self, args: RelabelArgs) -> Verdict {
        let (Some(source), Some(provider), Some(current)) = (
            self.level_of(args.source),
            self.provider_bound(args.driver, args.container),
            self.level_of(args.target),
        ) else {
            return Verdict::Denied;
        };
        let allowed = self.valid(args.level)
            && current.dominated_by(args.level)
            && args.level.dominated_by(source.meet(provider));
        self.relabel(args.target, args.level, allowed)
    }

    /// `downgrade {source, target, container, driver, level}`.
    pub fn downgrade(&mut self, args: RelabelArgs) -> Verdict {
        let (Some(source), Some(provider), Some(current)) = (
            self.level_of(args.source),
            self.provider_bound(args.driver, args.container),
            self.level_of(args.target),
        ) else {
            return Verdict::Denied;
        };
        let allowed = self.valid(args.level)
            && args.level.dominated_by(current)
            && current.dominated_by(source)
            && args.level.dominated_by(provider);
        self.relabel(args.target, args.level, allowed)
    }

    fn relabel(&mut self, target: Sid, level: Level, allowed: bool) -> Verdict {
        if !allowed {
            return Verdict::Denied;
        }
        match self.labels.get_mut(target) {
            Some(label) => {
                label.level = level;
                label.level_r = level;
                Verdict::Granted
            }
            None => Verdict::Denied,
        }
    }

    /// Data flows from `target` into `source`.
    fn may_flow_in(&self, source: Sid, target: Sid) -> bool {
        match (self.labels.get(source), self.level_of(target)) {
            (Some(s), Some(t)) => s.level_r.dominated_by(t),
            _ => false,
        }
    }

    /// Data flows from `source` into `target`.
    fn may_flow_out(&self, source: Sid, target: Sid) -> bool {
        match (self.level_of(source), self.level_of(target)) {
            (Some(s), Some(t)) => t.dominated_by(s),
            _ => false,
        }
    }

    /// `call {source, target}`.
    pub fn call(&self, source: Sid, target: Sid) -> Verdict {
        verdict_of(self.may_flow_in(source, target))
    }

    /// `read {source, target}`.
    pub fn read(&self, source: Sid, target: Sid) -> Verdict {
        verdict_of(self.may_flow_in(source, target))
    }

    /// `invoke {source, target}`.
    pub fn invoke(&self, source: Sid, target: Sid) -> Verdict {
        verdict_of(self.may_flow_out(source, target))
    }

    /// `write {source, target}`.
    pub fn write(&self, source: Sid, target: Sid) -> Verdict {
        verdict_of(self.may_flow_out(source, target))
    }

    /// `query_level {source}`.
    pub fn query_level(&self, source: Sid) -> Expr<Level> {
        self.level_of(source).ok_or(ExprError::NotBound)
    }

    /// `fini {sid}` (our extension): forget the label of `sid`.
    pub fn fini(&mut self, sid: Sid) -> Verdict {
        verdict_of(self.labels.release(sid))
    }
}

impl<const P: usize> Transactional for Mic<P> {
    fn commit(&mut self) {
        self.labels.commit();
    }

    fn rollback(&mut self) {
        self.labels.rollback();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::conclude;

    static LINEAR: MicConfig = MicConfig {
        degrees: &["LOW", "MEDIUM", "HIGH"],
        categories: &[],
    };
    static LATTICE: MicConfig = MicConfig {
        degrees: &["low", "high"],
        categories: &["net", "log"],
    };
    const LOW: Level = Level::linear(0);
    const MEDIUM: Level = Level::linear(1);
    const HIGH: Level = Level::linear(2);

    fn start(mic: &mut Mic<16>, target: Sid, level: Level, level_r: Option<Level>) -> Verdict {
        mic.execute(ExecuteArgs {
            image: None,
            target,
            level: Some(level),
            level_r,
        })
    }

    #[test]
    fn levels_form_a_lattice() {
        let net = LATTICE.level("high", &["net"]);
        let log = LATTICE.level("high", &["log"]);
        let both = LATTICE.level("high", &["net", "log"]);
        let low_net = LATTICE.level("low", &["net"]);
        let (Some(net), Some(log), Some(both), Some(low_net)) = (net, log, both, low_net) else {
            panic!("levels of the config");
        };
        assert!(net.dominated_by(both));
        assert!(
            !net.dominated_by(log) && !log.dominated_by(net),
            "incomparable"
        );
        assert!(low_net.dominated_by(net));
        assert!(!net.dominated_by(low_net));
        assert_eq!(net.meet(log), Level::new(1, 0));
        assert_eq!(LATTICE.level("mid", &[]), None);
        assert_eq!(LATTICE.level("low", &["disk"]), None);
        assert!(LATTICE.contains(both));
        assert!(!LATTICE.contains(Level::new(1, 0b100)));
        assert!(!LATTICE.contains(Level::new(2, 0)));
        assert_eq!(LINEAR.degree_name(HIGH), Some("HIGH"));
    }

    #[test]
    fn execute_assigns_levels_bounded_by_the_image() {
        let mut mic: Mic<16> = Mic::new(&LINEAR);
        assert_eq!(start(&mut mic, 1, HIGH, None), Verdict::Granted);
        assert_eq!(
            start(&mut mic, 1, LOW, None),
            Verdict::Denied,
            "already labelled"
        );
        // An image file labelled MEDIUM.
        assert_eq!(start(&mut mic, 100, MEDIUM, None), Verdict::Granted);
        let from_image = |target, level, level_r| ExecuteArgs {
            image: Some(100),
            target,
            level,
            level_r,
        };
        assert_eq!(mic.execute(from_image(2, None, None)), Verdict::Granted);
        assert_eq!(mic.query_level(2), Ok(MEDIUM));
        assert_eq!(
            mic.execute(from_image(3, Some(HIGH), None)),
            Verdict::Denied
        );
        assert_eq!(
            mic.execute(from_image(3, Some(LOW), None)),
            Verdict::Granted
        );
        assert_eq!(
            mic.execute(from_image(4, None, Some(HIGH))),
            Verdict::Denied,
            "levelR above level"
        );
        assert_eq!(
            mic.execute(from_image(4, None, Some(LOW))),
            Verdict::Granted
        );
        assert_eq!(
            mic.label(4),
            Some(Label {
                level: MEDIUM,
                level_r: LOW
            })
        );
        let no_image = ExecuteArgs {
            image: None,
            target: 5,
            level: None,
            level_r: None,
        };
        assert_eq!(mic.execute(no_image), Verdict::Denied);
        let unknown_image = ExecuteArgs {
            image: Some(999),
            ..no_image
        };
        assert_eq!(mic.execute(unknown_image), Verdict::Denied);
        assert_eq!(
            start(&mut mic, 6, Level::linear(3), None),
            Verdict::Denied,
            "no such level"
        );
    }

    #[test]
    fn data_flows_follow_biba_with_level_r() {
        let mut mic: Mic<16> = Mic::new(&LINEAR);
        start(&mut mic, 1, HIGH, None);
        start(&mut mic, 2, LOW, None);
        start(&mut mic, 3, HIGH, Some(LOW));
        // invoke / write: source -> target, target must not be above source.
        assert_eq!(mic.invoke(1, 2), Verdict::Granted);
        assert_eq!(mic.invoke(2, 1), Verdict::Denied);
        assert_eq!(mic.write(2, 1), Verdict::Denied);
        assert_eq!(mic.write(1, 2), Verdict::Granted);
        // call / read: target -> source, needs levelR(source) <= level(target).
        assert_eq!(mic.call(1, 2), Verdict::Denied, "HIGH may not read LOW");
        assert_eq!(
            mic.call(3, 2),
            Verdict::Granted,
            "unless its levelR allows it"
        );
        assert_eq!(mic.read(2, 1), Verdict::Granted);
        assert_eq!(mic.read(1, 2), Verdict::Denied);
        assert_eq!(mic.call(1, 99), Verdict::Denied, "unlabelled party");
        assert_eq!(mic.invoke(99, 1), Verdict::Denied);
        assert_eq!(mic.query_level(99), Err(ExprError::NotBound));
    }

    #[test]
    fn create_upgrade_downgrade() {
        let mut mic: Mic<16> = Mic::new(&LINEAR);
        start(&mut mic, 1, HIGH, None); // creator
        start(&mut mic, 2, MEDIUM, None); // driver
        start(&mut mic, 3, HIGH, None); // container
        let create = |target, level| CreateArgs {
            source: 1,
            target,
            container: Some(3),
            driver: 2,
            level,
        };
        assert_eq!(
            mic.create(create(10, Some(HIGH))),
            Verdict::Denied,
            "above driver"
        );
        assert_eq!(mic.create(create(10, None)), Verdict::Granted);
        assert_eq!(mic.query_level(10), Ok(MEDIUM), "default is the meet");
        assert_eq!(
            mic.create(create(10, None)),
            Verdict::Denied,
            "already labelled"
        );
        assert_eq!(mic.create(create(11, Some(LOW))), Verdict::Granted);
        let relabel = |source, level| RelabelArgs {
            source,
            target: 11,
            container: None,
            driver: 2,
            level,
        };
        assert_eq!(
            mic.upgrade(relabel(1, HIGH)),
            Verdict::Denied,
            "above driver"
        );
        assert_eq!(mic.upgrade(relabel(1, MEDIUM)), Verdict::Granted);
        assert_eq!(
            mic.upgrade(relabel(1, LOW)),
            Verdict::Denied,
            "not an upgrade"
        );
        assert_eq!(
            mic.downgrade(relabel(1, HIGH)),
            Verdict::Denied,
            "not a downgrade"
        );
        start(&mut mic, 4, LOW, None);
        assert_eq!(
            mic.downgrade(relabel(4, LOW)),
            Verdict::Denied,
            "source below the resource"
        );
        assert_eq!(mic.downgrade(relabel(1, LOW)), Verdict::Granted);
        assert_eq!(mic.query_level(11), Ok(LOW));
        let orphan = CreateArgs {
            source: 1,
            target: 12,
            container: Some(77),
            driver: 2,
            level: None,
        };
        assert_eq!(mic.create(orphan), Verdict::Denied, "unlabelled container");
        assert_eq!(mic.fini(11), Verdict::Granted);
        assert_eq!(mic.fini(11), Verdict::Denied);
    }

    #[test]
    fn lattice_create_with_incomparable_levels_denies() {
        let mut mic: Mic<8> = Mic::new(&LATTICE);
        let net = Level::new(1, 0b01);
        let log = Level::new(1, 0b10);
        start_lattice(&mut mic, 1, net);
        start_lattice(&mut mic, 2, log);
        let args = CreateArgs {
            source: 1,
            target: 3,
            container: None,
            driver: 2,
            level: Some(net),
        };
        assert_eq!(mic.create(args), Verdict::Denied);
        assert_eq!(
            mic.create(CreateArgs {
                level: None,
                ..args
            }),
            Verdict::Granted
        );
        assert_eq!(mic.query_level(3), Ok(Level::new(1, 0)));
        assert_eq!(mic.invoke(1, 2), Verdict::Denied, "incomparable");
        assert_eq!(mic.invoke(2, 1), Verdict::Denied, "incomparable");
    }

    fn start_lattice(mic: &mut Mic<8>, target: Sid, level: Level) {
        let args = ExecuteArgs {
            image: None,
            target,
            level: Some(level),
            level_r: None,
        };
        assert_eq!(mic.execute(args), Verdict::Granted);
    }

    #[test]
    fn labels_of_denied_events_are_undone() {
        let mut mic: Mic<16> = Mic::new(&LINEAR);
        start(&mut mic, 1, HIGH, None);
        conclude(Verdict::Granted, &mut [&mut mic]);
        start(&mut mic, 2, LOW, None);
        conclude(Verdict::Denied, &mut [&mut mic]);
        assert_eq!(mic.query_level(2), Err(ExprError::NotBound));
        assert_eq!(mic.query_level(1), Ok(HIGH));
    }
}
