//! The bookkeeping of `logrr.Server`, the log server (docs/services.md, "Logging"), kept
//! apart from IPC so that it is tested on the host:
//!
//! - [`Config`]: the server's arguments (level, files, rotation, quotas, audit storage);
//! - [`Identities`]: who a message came from. The kernel stamps every message with the
//!   sender's SID and class number; Einit tells the server, in its environment, the class
//!   name of each SID it started ([`IDENTITIES_ENV`]). A client never names itself;
//! - [`Quotas`]: a token bucket per client (a burst, then a steady rate), so that a flood
//!   from one program only drops its own records. Every drop is counted for its client, and
//!   the counts not yet reported become the lines "logrr: N records from X dropped". The
//!   table of clients is bounded: when it is full, clients that have ended are forgotten
//!   (their unreported losses reported first), and a client that still finds no room shares
//!   one overflow bucket;
//! - [`record_lines`]: a record as console lines, control characters made visible;
//! - [`RotatingFile`]: an append-only file of at most `size` bytes, rotated through
//!   `path.1` .. `path.(files-1)` (the oldest dropped), over any [`Store`].
#![cfg_attr(target_os = "none", no_std)]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The environment variable in which Einit tells the server the class of each process it
/// started: `SID:CLASS` entries separated by `,`.
pub const IDENTITIES_ENV: &str = "LOGRR_CLASSES";

/// Most bytes of text in one record (`RecordMax` of sysroot/logrr/Log.idl).
pub const RECORD_MAX: usize = 1024;

/// The levels of KasperskyOS's LogRR, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Critical = 0,
    Error = 1,
    Warning = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    /// The level numbered `n` on the wire; `None` past Trace.
    pub fn from_wire(n: u8) -> Option<Level> {
        Some(match n {
            0 => Level::Critical,
            1 => Level::Error,
            2 => Level::Warning,
            3 => Level::Info,
            4 => Level::Debug,
            5 => Level::Trace,
            _ => return None,
        })
    }

    /// A level by its name (any case), as `--level=` takes it.
    pub fn from_name(name: &str) -> Option<Level> {
        (0..=5)
            .filter_map(Level::from_wire)
            .find(|l| l.name().eq_ignore_ascii_case(name))
    }

    /// Its name as records show it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Critical => "CRITICAL",
            Level::Error => "ERROR",
            Level::Warning => "WARNING",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// The server's configuration, from its arguments (init.yaml `args:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Records less severe than this are accepted and not shown (`--level=NAME`; Info, as
    /// in KasperskyOS).
    pub level: Level,
    /// The log file, when the server has a `vfs` channel (`--file=PATH`).
    pub file: String,
    /// Most bytes of one log file before it is rotated (`--rotate-size=BYTES`).
    pub rotate_size: u64,
    /// Files kept per log, the current one included (`--rotate-files=N`, 2 to 100).
    pub rotate_files: u32,
    /// Clients with a quota of their own (`--clients=N`, at least 1).
    pub clients: usize,
    /// Records a client may send at once (`--burst=N`) and per second after that (`--rate=N`).
    pub burst: u32,
    pub rate: u32,
    /// Read the kernel's audit log and store it (KlogStorage; `--audit`), in `audit_file`
    /// (`--audit-file=PATH`) when there is a VFS.
    pub audit: bool,
    pub audit_file: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            level: Level::Info,
            file: "/log/ostrog.log".into(),
            rotate_size: 1 << 20,
            rotate_files: 4,
            clients: 64,
            burst: 256,
            rate: 128,
            audit: false,
            audit_file: "/log/audit.log".into(),
        }
    }
}

/// Largest `--clients`, `--burst`, `--rate` and `--rotate-files`: what a configuration can
/// make the server keep stays bounded.
pub const CLIENTS_MAX: usize = 1024;
pub const ROTATE_FILES_MAX: u32 = 100;

impl Config {
    /// The configuration the arguments give; an unknown or malformed argument is an error
    /// naming it.
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Config, String> {
        let mut c = Config::default();
        for arg in args {
            let (key, value) = arg.split_once('=').unwrap_or((arg, ""));
            let number = |max: u64| -> Result<u64, String> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| format!("{key}: expected a number from 1 to {max}"))
            };
            match key {
                "--level" => {
                    c.level = Level::from_name(value)
                        .ok_or_else(|| format!("--level: unknown level `{value}`"))?
                }
                "--file" if value.starts_with('/') => c.file = value.into(),
                "--audit-file" if value.starts_with('/') => c.audit_file = value.into(),
                "--rotate-size" => c.rotate_size = number(1 << 40)?,
                "--rotate-files" => {
                    c.rotate_files = number(u64::from(ROTATE_FILES_MAX))?.max(2) as u32
                }
                "--clients" => c.clients = number(CLIENTS_MAX as u64)? as usize,
                "--burst" => c.burst = number(1 << 20)? as u32,
                "--rate" => c.rate = number(1 << 20)? as u32,
                "--audit" if value.is_empty() => c.audit = true,
                _ => return Err(format!("unknown argument `{arg}`")),
            }
        }
        Ok(c)
    }
}

/// Who sent a message: the class names Einit gave for SIDs, and the class numbers learned
/// from the kernel's stamps on their messages (for processes Einit did not start, such as a
/// Linux program's children, which have their creator's class).
#[derive(Debug, Default)]
pub struct Identities {
    by_sid: BTreeMap<u64, String>,
    by_class: BTreeMap<u32, String>,
}

/// Most entries read from [`IDENTITIES_ENV`] (Einit starts at most this many processes a
/// server could name).
pub const IDENTITIES_MAX: usize = 256;

impl Identities {
    /// From the value of [`IDENTITIES_ENV`]; malformed entries are skipped.
    pub fn parse(value: &str) -> Identities {
        let mut ids = Identities::default();
        for entry in value.split(',').take(IDENTITIES_MAX) {
            let Some((sid, class)) = entry.split_once(':') else {
                continue;
            };
            let ok = !class.is_empty()
                && class.len() <= 128
                && class
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
            if let (Ok(sid), true) = (sid.parse::<u64>(), ok) {
                ids.by_sid.insert(sid, class.into());
            }
        }
        ids
    }

    /// How many SIDs Einit named.
    pub fn known(&self) -> usize {
        self.by_sid.len()
    }

    /// The name of the sender the kernel stamped as (`sid`, `class`): `CLASS(SID)` as the
    /// audit log writes it, with the class number when nothing names it (`class#N(SID)`).
    pub fn name(&mut self, sid: u64, class: u32) -> String {
        if let Some(name) = self.by_sid.get(&sid) {
            // At most one entry per class number the kernel uses: bounded by the policy.
            self.by_class.entry(class).or_insert_with(|| name.clone());
            return format!("{name}({sid})");
        }
        match self.by_class.get(&class) {
            Some(name) => format!("{name}({sid})"),
            None => format!("class#{class}({sid})"),
        }
    }
}

/// One client's quota and losses.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Client {
    /// Tokens in thousandths of a record, and when they were last refilled (ns).
    milli_tokens: u64,
    refilled_ns: u64,
    /// Records dropped since the client started, and since the last report.
    dropped: u64,
    unreported: u64,
    /// Its name for reports.
    name: String,
}

/// The key of the shared overflow bucket in [`Quotas`] (no process has SID 0).
pub const OVERFLOW: u64 = 0;

/// The per-client quotas: see the crate's documentation.
#[derive(Debug)]
pub struct Quotas {
    clients: BTreeMap<u64, Client>,
    max: usize,
    burst: u64,
    rate: u64,
    total_dropped: u64,
}

/// What [`Quotas::admit`] decided about one record.
#[derive(Debug, PartialEq, Eq)]
pub struct Admission {
    /// The record may be shown.
    pub accepted: bool,
    /// Report lines to print first (a client forgotten, or this client's earlier losses).
    pub reports: Vec<String>,
}

impl Quotas {
    pub fn new(max_clients: usize, burst: u32, rate: u32) -> Quotas {
        Quotas {
            clients: BTreeMap::new(),
            max: max_clients.max(1),
            burst: u64::from(burst.max(1)),
            rate: u64::from(rate.max(1)),
            total_dropped: 0,
        }
    }

    fn report(name: &str, n: u64) -> String {
        format!(
            "logrr: {n} record{} from {name} dropped",
            if n == 1 { "" } else { "s" }
        )
    }

    /// Decides about a record from `sid` (named `name`) at time `now_ns`; `alive` says
    /// whether a process still exists (asked only when the table is full).
    pub fn admit(
        &mut self,
        sid: u64,
        name: &str,
        now_ns: u64,
        mut alive: impl FnMut(u64) -> bool,
    ) -> Admission {
        let mut reports = Vec::new();
        let mut key = sid;
        if !self.clients.contains_key(&sid) {
            if self.clients.len() >= self.max {
                // Forget the clients that have ended, their losses reported first.
                let gone: Vec<u64> = self
                    .clients
                    .keys()
                    .copied()
                    .filter(|&s| s != OVERFLOW && !alive(s))
                    .collect();
                for s in gone {
                    if let Some(c) = self.clients.remove(&s) {
                        if c.unreported > 0 {
                            reports.push(Self::report(&c.name, c.unreported));
                        }
                    }
                }
            }
            // One slot stays for the overflow bucket.
            let reserved = usize::from(!self.clients.contains_key(&OVERFLOW));
            let room = self.clients.len() + reserved < self.max || self.max == 1;
            if !room {
                key = OVERFLOW;
            }
            let (burst, overflow_name) = (self.burst, "clients beyond the quota table");
            self.clients.entry(key).or_insert_with(|| Client {
                milli_tokens: burst * 1000,
                refilled_ns: now_ns,
                dropped: 0,
                unreported: 0,
                name: if key == OVERFLOW {
                    overflow_name.into()
                } else {
                    name.into()
                },
            });
        }
        let (burst, rate) = (self.burst, self.rate);
        let Some(c) = self.clients.get_mut(&key) else {
            return Admission {
                accepted: false,
                reports,
            };
        };
        let elapsed = now_ns.saturating_sub(c.refilled_ns);
        // rate records per second = rate milli-tokens per millisecond.
        let gained = (elapsed / 1_000_000).saturating_mul(rate);
        if gained > 0 {
            c.milli_tokens = c.milli_tokens.saturating_add(gained).min(burst * 1000);
            c.refilled_ns = now_ns;
        }
        if c.milli_tokens >= 1000 {
            c.milli_tokens -= 1000;
            if c.unreported > 0 {
                reports.push(Self::report(&c.name, c.unreported));
                c.unreported = 0;
            }
            Admission {
                accepted: true,
                reports,
            }
        } else {
            c.dropped += 1;
            c.unreported += 1;
            self.total_dropped += 1;
            Admission {
                accepted: false,
                reports,
            }
        }
    }

    /// Records of `sid` dropped since it started (those of the overflow bucket if it has no
    /// entry of its own), and of all clients.
    pub fn losses(&self, sid: u64) -> (u64, u64) {
        let mine = self
            .clients
            .get(&sid)
            .or_else(|| self.clients.get(&OVERFLOW))
            .map_or(0, |c| c.dropped);
        (mine, self.total_dropped)
    }

    /// The report lines of every loss not yet reported (then they are reported).
    pub fn take_reports(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.clients.values_mut() {
            if c.unreported > 0 {
                out.push(Self::report(&c.name, c.unreported));
                c.unreported = 0;
            }
        }
        out
    }

    /// How many clients have an entry (the overflow bucket included).
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

/// Why a record is refused before its quota is looked at.
#[derive(Debug, PartialEq, Eq)]
pub enum BadRecord {
    Level,
    Utf8,
    TooLong,
}

/// Checks a record as it came: its level and UTF-8 text of at most [`RECORD_MAX`] bytes.
pub fn check_record(level: u8, text: &[u8]) -> Result<(Level, &str), BadRecord> {
    let level = Level::from_wire(level).ok_or(BadRecord::Level)?;
    if text.len() > RECORD_MAX {
        return Err(BadRecord::TooLong);
    }
    let text = core::str::from_utf8(text).map_err(|_| BadRecord::Utf8)?;
    Ok((level, text))
}

/// The console lines of a record: `[log] LEVEL WHO: line` for each line of `text` (a final
/// newline ends the last line, it does not add an empty one), control characters other than
/// tab shown as `?`, so that no record can forge a line of another's or move the cursor.
pub fn record_lines(level: Level, who: &str, text: &str) -> Vec<String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let clean: String = line
                .chars()
                .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
                .collect();
            format!("[log] {} {who}: {clean}", level.name())
        })
        .collect()
}

/// The file operations [`RotatingFile`] needs (a VFS client on Ostrog, a map in tests).
/// Errors are errno values.
pub trait Store {
    /// Opens `path` for appending, creating it; returns its size.
    fn open_append(&mut self, path: &str) -> Result<u64, i32>;
    /// Appends all of `data` to the open file.
    fn append(&mut self, data: &[u8]) -> Result<(), i32>;
    /// Closes the open file.
    fn close(&mut self);
    /// Renames `from` to `to`, replacing `to`; `Err(2)` (ENOENT) if `from` does not exist.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), i32>;
}

/// A log file of at most `size` bytes with `files - 1` older ones: when a line would not
/// fit, `path.(files-2)` becomes `path.(files-1)` (replacing the oldest), ..., `path`
/// becomes `path.1`, and a new `path` starts. A line longer than `size` goes alone into a
/// file of its own.
#[derive(Debug)]
pub struct RotatingFile {
    path: String,
    size: u64,
    files: u32,
    written: u64,
    open: bool,
    /// Rotations done, bytes written.
    pub rotations: u64,
    pub bytes: u64,
}

impl RotatingFile {
    pub fn new(path: &str, size: u64, files: u32) -> RotatingFile {
        RotatingFile {
            path: path.into(),
            size: size.max(1),
            files: files.max(2),
            written: 0,
            open: false,
            rotations: 0,
            bytes: 0,
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The renames of one rotation, oldest first: `(path.(files-2), path.(files-1))` ...
    /// `(path, path.1)`.
    pub fn renames(&self) -> Vec<(String, String)> {
        let name = |i: u32| match i {
            0 => self.path.clone(),
            i => format!("{}.{i}", self.path),
        };
        (1..self.files)
            .rev()
            .map(|i| (name(i - 1), name(i)))
            .collect()
    }

    /// Appends `line` (a whole line with its newline), rotating first if it would not fit.
    pub fn append(&mut self, store: &mut impl Store, line: &[u8]) -> Result<(), i32> {
        if !self.open {
            self.written = store.open_append(&self.path)?;
            self.open = true;
        }
        let len = line.len() as u64;
        if self.written > 0 && self.written.saturating_add(len) > self.size {
            store.close();
            self.open = false;
            for (from, to) in self.renames() {
                match store.rename(&from, &to) {
                    Ok(()) | Err(2) => {}
                    Err(e) => return Err(e),
                }
            }
            self.rotations += 1;
            self.written = store.open_append(&self.path)?;
            self.open = true;
        }
        store.append(line)?;
        self.written += len;
        self.bytes += len;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
