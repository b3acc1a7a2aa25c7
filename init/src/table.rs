//! The Einit table: the checked solution in a binary form that Einit reads in place.
//!
//! The host tool compiles `init.yaml` into this table and packs it into the ROMFS; Einit,
//! a `no_std` program with no allocator to speak of, reads it at boot to create processes
//! and channels. That split decides the format: everything that can be checked is checked
//! on the host, where there is a person to read a diagnostic, and the table is laid out so
//! the decoder needs neither an allocator nor any trust in its input.
//!
//! # Format (version 3)
//!
//! All integers are little-endian `u32`. A *string* is a `u32` byte length followed by that
//! many bytes of UTF-8, with no terminator and no padding.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `OSTEINIT` |
//! | 8 | 4 | version, `3` |
//! | 12 | 4 | total length of the table in bytes |
//! | 16 | 4 | process count `P` (at most [`MAX_PROCESSES`]) |
//! | 20 | 4 | channel count `C` (at most [`MAX_CHANNELS`]) |
//! | 24 | 4·P | offset of each process record from the start of the table |
//! | 24+4·P | 4·C | offset of each channel record |
//! | … | | `P` process records, then `C` channel records, back to back |
//!
//! A *process record* is `flags` (bit 0: the process is the dynamic connection manager;
//! bit 1: the executable is a Linux program, started through the personality `linux`
//! ([`LINUX_PERSONALITY`]); bit 8: a priority is given, in bits 16 to 23, at most [`MAX_PRIORITY`]; the other bits
//! are reserved and zero), the task name, the class name and the executable
//! path as strings, an argument count (at most [`MAX_ARGS`]) and that many strings, an
//! environment count (at most [`MAX_ENV`]) and that many key/value string pairs, and the
//! process's memory limit in 4 KiB pages (`memory:`, an Ostrog extension; 0: the kernel's
//! default).
//!
//! A *channel record* is the client's process index, the server's process index and the
//! channel id string. The client looks the channel up by that id; the server registers
//! under it.
//!
//! # Validation
//!
//! [`Table::parse`] checks the whole table once, so that the accessors afterwards cannot
//! fail: the magic, the version, that the declared length is the slice's length, that the
//! offset tables point exactly at the records laid back to back (so each table has one
//! encoding and nothing hides between records), every length against the bytes that
//! remain, UTF-8, the name rules of [`crate::names`], the reserved flag bits, the counts
//! against their limits, that channel ends are existing processes and different ones,
//! that task names are unique, that a client's channel ids are unique and that a
//! process's environment names are unique. The uniqueness checks are quadratic, which the
//! count limits keep to a few million comparisons at worst.
//!
//! The decoder never panics: every read goes through [`Reader`], which returns an error
//! instead of indexing past the end, and all arithmetic on untrusted numbers is checked.

use core::fmt;

use crate::names::{self, NameKind};

#[cfg(feature = "alloc")]
mod encode;
#[cfg(feature = "alloc")]
pub use encode::encode;

/// The first eight bytes of every table.
pub const MAGIC: &[u8; 8] = b"OSTEINIT";
/// The format version this crate writes and reads. Version 2 added the Linux flag
/// ([`FLAG_LINUX`]), version 3 the memory limit at the end of a process record; an older
/// table is refused rather than read with a different meaning.
pub const VERSION: u32 = 3;
/// Bytes of one page of a memory limit.
pub const MEMORY_PAGE: u64 = 4096;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 24;
/// The most processes one table may describe.
pub const MAX_PROCESSES: usize = 1024;
/// The most channels one table may describe.
pub const MAX_CHANNELS: usize = 4096;
/// The most arguments one process may have.
pub const MAX_ARGS: usize = 256;
/// The most environment variables one process may have.
pub const MAX_ENV: usize = 256;
/// Process flag: this process is the dynamic connection manager.
pub const FLAG_DYNAMIC_CONNECTION_MANAGER: u32 = 1;
/// Process flag: the executable is a static Linux program. Einit creates the process from
/// the personality [`LINUX_PERSONALITY`] with the program's path as its first argument,
/// under the entity's own task and class.
pub const FLAG_LINUX: u32 = 1 << 1;
/// The ROMFS file of the Linux personality (`system/linux`).
pub const LINUX_PERSONALITY: &str = "linux";
/// Process flag: bits 16 to 23 hold the process's priority (ceiling).
pub const FLAG_PRIORITY: u32 = 1 << 8;
/// Where the priority sits in the flags.
pub const PRIORITY_SHIFT: u32 = 16;
/// The highest priority a process of the table may have: below Einit's, so that Einit
/// creates, connects and starts every process before any of them runs.
pub const MAX_PRIORITY: u8 = ostrog_abi::priority::EINIT - 1;
/// The priority of a process the table gives none.
pub const DEFAULT_PRIORITY: u8 = ostrog_abi::priority::DEFAULT;
/// Flag bits with a meaning.
const KNOWN_FLAGS: u32 =
    FLAG_DYNAMIC_CONNECTION_MANAGER | FLAG_LINUX | FLAG_PRIORITY | 0xff << PRIORITY_SHIFT;

/// What is wrong with a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableErrorKind {
    /// The bytes end before the structure does.
    Truncated,
    /// The first eight bytes are not [`MAGIC`].
    BadMagic,
    /// A version this decoder does not know.
    UnsupportedVersion(u32),
    /// The header's length is not the length of the bytes given.
    LengthMismatch,
    /// The table would not fit a `u32` length (encoder only).
    TooLarge,
    /// More processes than [`MAX_PROCESSES`].
    TooManyProcesses,
    /// More channels than [`MAX_CHANNELS`].
    TooManyChannels,
    /// More arguments than [`MAX_ARGS`].
    TooManyArgs,
    /// More environment variables than [`MAX_ENV`].
    TooManyEnv,
    /// An offset table entry does not point at the end of the previous record.
    BadOffset,
    /// A string is not UTF-8.
    BadUtf8,
    /// A name breaks its rule.
    BadName(NameKind, names::NameProblem),
    /// An argument or environment value contains a NUL.
    BadValue,
    /// Reserved flag bits are set.
    ReservedFlags,
    /// A priority above [`MAX_PRIORITY`].
    BadPriority,
    /// A Linux program whose path is the personality itself.
    BadLinux,
    /// A channel names a process index that does not exist.
    BadProcessIndex,
    /// A channel's client and server are the same process.
    SelfConnection,
    /// Two processes have the same task name.
    DuplicateTask,
    /// One client has two channels with the same id.
    DuplicateChannel,
    /// One process has two environment variables with the same name.
    DuplicateEnv,
    /// Bytes after the last record.
    TrailingBytes,
}

/// A table was refused: what and at which byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableError {
    /// Byte offset in the table where the problem was found.
    pub offset: usize,
    /// What the problem is.
    pub kind: TableErrorKind,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Einit table, byte {}: ", self.offset)?;
        match self.kind {
            TableErrorKind::Truncated => f.write_str("the table ends too early"),
            TableErrorKind::BadMagic => f.write_str("not an Einit table (bad magic)"),
            TableErrorKind::UnsupportedVersion(v) => {
                write!(f, "version {v} is not supported (expected {VERSION})")
            }
            TableErrorKind::LengthMismatch => {
                f.write_str("the declared length is not the table's length")
            }
            TableErrorKind::TooLarge => f.write_str("the table is larger than 4 GiB"),
            TableErrorKind::TooManyProcesses => {
                write!(f, "more than {MAX_PROCESSES} processes")
            }
            TableErrorKind::TooManyChannels => write!(f, "more than {MAX_CHANNELS} channels"),
            TableErrorKind::TooManyArgs => write!(f, "more than {MAX_ARGS} arguments"),
            TableErrorKind::TooManyEnv => {
                write!(f, "more than {MAX_ENV} environment variables")
            }
            TableErrorKind::BadOffset => f.write_str("a record offset is wrong"),
            TableErrorKind::BadUtf8 => f.write_str("a string is not UTF-8"),
            TableErrorKind::BadName(kind, problem) => {
                write!(f, "invalid {}: {problem}", kind.noun())
            }
            TableErrorKind::BadValue => f.write_str("a value contains a NUL character"),
            TableErrorKind::ReservedFlags => f.write_str("reserved flag bits are set"),
            TableErrorKind::BadPriority => {
                write!(f, "a priority is above {MAX_PRIORITY}")
            }
            TableErrorKind::BadLinux => f.write_str("a Linux program is the personality itself"),
            TableErrorKind::BadProcessIndex => {
                f.write_str("a channel names a process that does not exist")
            }
            TableErrorKind::SelfConnection => f.write_str("a process is connected to itself"),
            TableErrorKind::DuplicateTask => f.write_str("two processes have one task name"),
            TableErrorKind::DuplicateChannel => {
                f.write_str("a client has two channels with one id")
            }
            TableErrorKind::DuplicateEnv => {
                f.write_str("a process has two environment variables with one name")
            }
            TableErrorKind::TrailingBytes => f.write_str("bytes after the last record"),
        }
    }
}

/// A cursor over untrusted bytes: every read is bounds-checked and returns an error at the
/// offset where it failed.
#[derive(Clone, Debug)]
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn at(bytes: &'a [u8], pos: usize) -> Self {
        Reader { bytes, pos }
    }

    fn error(&self, kind: TableErrorKind) -> TableError {
        TableError {
            offset: self.pos,
            kind,
        }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], TableError> {
        let end = self
            .pos
            .checked_add(len)
            .ok_or(self.error(TableErrorKind::Truncated))?;
        let bytes = self
            .bytes
            .get(self.pos..end)
            .ok_or(self.error(TableErrorKind::Truncated))?;
        self.pos = end;
        Ok(bytes)
    }

    fn u32(&mut self) -> Result<u32, TableError> {
        let b = self.take(4)?;
        let mut word = [0u8; 4];
        word.copy_from_slice(b);
        Ok(u32::from_le_bytes(word))
    }

    /// A count, checked against `max` before anything is read on its account.
    fn count(&mut self, max: usize, kind: TableErrorKind) -> Result<usize, TableError> {
        let start = self.pos;
        let n = self.u32()? as usize;
        if n > max {
            return Err(TableError {
                offset: start,
                kind,
            });
        }
        Ok(n)
    }

    fn str(&mut self) -> Result<&'a str, TableError> {
        let len = self.u32()? as usize;
        let start = self.pos;
        let bytes = self.take(len)?;
        core::str::from_utf8(bytes).map_err(|_| TableError {
            offset: start,
            kind: TableErrorKind::BadUtf8,
        })
    }

    fn name(&mut self, kind: NameKind) -> Result<&'a str, TableError> {
        let start = self.pos;
        let s = self.str()?;
        names::check(kind, s).map_err(|p| TableError {
            offset: start,
            kind: TableErrorKind::BadName(kind, p),
        })?;
        Ok(s)
    }

    fn value(&mut self) -> Result<&'a str, TableError> {
        let start = self.pos;
        let s = self.str()?;
        names::check_value(s).map_err(|_| TableError {
            offset: start,
            kind: TableErrorKind::BadValue,
        })?;
        Ok(s)
    }
}

/// A validated Einit table borrowed from its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    bytes: &'a [u8],
    processes: usize,
    channels: usize,
}

impl<'a> Table<'a> {
    /// Checks `bytes` completely (see the module documentation) and returns the table.
    pub fn parse(bytes: &'a [u8]) -> Result<Table<'a>, TableError> {
        let mut r = Reader::at(bytes, 0);
        if r.take(MAGIC.len())? != MAGIC {
            return Err(TableError {
                offset: 0,
                kind: TableErrorKind::BadMagic,
            });
        }
        let version = r.u32()?;
        if version != VERSION {
            return Err(TableError {
                offset: 8,
                kind: TableErrorKind::UnsupportedVersion(version),
            });
        }
        if r.u32()? as usize != bytes.len() {
            return Err(TableError {
                offset: 12,
                kind: TableErrorKind::LengthMismatch,
            });
        }
        let processes = r.count(MAX_PROCESSES, TableErrorKind::TooManyProcesses)?;
        let channels = r.count(MAX_CHANNELS, TableErrorKind::TooManyChannels)?;
        let table = Table {
            bytes,
            processes,
            channels,
        };
        // Both counts are bounded, so the offset tables' size cannot overflow.
        let mut end = HEADER_LEN + 4 * (processes + channels);
        if end > bytes.len() {
            return Err(TableError {
                offset: HEADER_LEN,
                kind: TableErrorKind::Truncated,
            });
        }
        for i in 0..processes {
            let p = table.check_offset(i, end)?;
            end = table.check_process(i, p)?;
        }
        for i in 0..channels {
            let c = table.check_offset(processes + i, end)?;
            end = table.check_channel(i, c)?;
        }
        if end != bytes.len() {
            return Err(TableError {
                offset: end,
                kind: TableErrorKind::TrailingBytes,
            });
        }
        Ok(table)
    }

    /// Reads offset table entry `slot` and checks it points at `expected`.
    fn check_offset(&self, slot: usize, expected: usize) -> Result<usize, TableError> {
        let mut r = Reader::at(self.bytes, HEADER_LEN + 4 * slot);
        let at = r.pos;
        match r.u32()? as usize == expected {
            true => Ok(expected),
            false => Err(TableError {
                offset: at,
                kind: TableErrorKind::BadOffset,
            }),
        }
    }

    /// Checks process record `index` at `offset`; returns where it ends.
    fn check_process(&self, index: usize, offset: usize) -> Result<usize, TableError> {
        let (process, end) = read_process(self.bytes, index, offset)?;
        for earlier in 0..index {
            if self.task_at(earlier) == Some(process.task) {
                return Err(TableError {
                    offset,
                    kind: TableErrorKind::DuplicateTask,
                });
            }
        }
        let mut env = process.env();
        while let Some((key, _)) = env.next() {
            if env.clone().any(|(other, _)| other == key) {
                return Err(TableError {
                    offset,
                    kind: TableErrorKind::DuplicateEnv,
                });
            }
        }
        Ok(end)
    }

    /// Checks channel record `index` at `offset`; returns where it ends.
    fn check_channel(&self, index: usize, offset: usize) -> Result<usize, TableError> {
        let (channel, end) = read_channel(self.bytes, offset)?;
        let error = |kind| Err(TableError { offset, kind });
        if channel.client as usize >= self.processes || channel.server as usize >= self.processes {
            return error(TableErrorKind::BadProcessIndex);
        }
        if channel.client == channel.server {
            return error(TableErrorKind::SelfConnection);
        }
        for earlier in 0..index {
            if self
                .channel(earlier)
                .is_some_and(|c| c.client == channel.client && c.id == channel.id)
            {
                return error(TableErrorKind::DuplicateChannel);
            }
        }
        Ok(end)
    }

    /// Where record `slot` of the offset tables starts. Only called on validated tables
    /// (or, during validation, on records already checked).
    fn record_offset(&self, slot: usize) -> Option<usize> {
        Reader::at(self.bytes, HEADER_LEN + 4 * slot)
            .u32()
            .ok()
            .map(|o| o as usize)
    }

    /// The task name of an already checked process record, read without walking the rest
    /// of the record (so the duplicate check costs one string per earlier process).
    fn task_at(&self, index: usize) -> Option<&'a str> {
        let offset = self.record_offset(index)?;
        Reader::at(self.bytes, offset.checked_add(4)?).str().ok()
    }

    /// The table's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of processes.
    pub fn process_count(&self) -> usize {
        self.processes
    }

    /// Number of channels.
    pub fn channel_count(&self) -> usize {
        self.channels
    }

    /// Process number `index`, in the order of `init.yaml`.
    pub fn process(&self, index: usize) -> Option<Process<'a>> {
        if index >= self.processes {
            return None;
        }
        let offset = self.record_offset(index)?;
        read_process(self.bytes, index, offset).ok().map(|(p, _)| p)
    }

    /// Channel number `index`.
    pub fn channel(&self, index: usize) -> Option<Channel<'a>> {
        if index >= self.channels {
            return None;
        }
        let offset = self.record_offset(self.processes + index)?;
        read_channel(self.bytes, offset).ok().map(|(c, _)| c)
    }

    /// The process with this task name.
    pub fn find_task(&self, task: &str) -> Option<Process<'a>> {
        self.processes().find(|p| p.task == task)
    }

    /// Every process, in order.
    pub fn processes(&self) -> Processes<'a> {
        Processes {
            table: *self,
            next: 0,
        }
    }

    /// Every channel, in order.
    pub fn channels(&self) -> Channels<'a> {
        Channels {
            table: *self,
            next: 0,
        }
    }
}

fn read_process(
    bytes: &[u8],
    index: usize,
    offset: usize,
) -> Result<(Process<'_>, usize), TableError> {
    let mut r = Reader::at(bytes, offset);
    let flags = r.u32()?;
    let priority = flags >> PRIORITY_SHIFT & 0xff;
    if flags & !KNOWN_FLAGS != 0 || (flags & FLAG_PRIORITY == 0 && priority != 0) {
        return Err(TableError {
            offset,
            kind: TableErrorKind::ReservedFlags,
        });
    }
    if priority > u32::from(MAX_PRIORITY) {
        return Err(TableError {
            offset,
            kind: TableErrorKind::BadPriority,
        });
    }
    let task = r.name(NameKind::Task)?;
    let class = r.name(NameKind::Class)?;
    let path = r.name(NameKind::Path)?;
    if flags & FLAG_LINUX != 0 && path == LINUX_PERSONALITY {
        return Err(TableError {
            offset,
            kind: TableErrorKind::BadLinux,
        });
    }
    let argc = r.count(MAX_ARGS, TableErrorKind::TooManyArgs)?;
    let args_start = r.pos;
    for _ in 0..argc {
        r.value()?;
    }
    let args = Args {
        reader: Reader::at(bytes.get(..r.pos).unwrap_or_default(), args_start),
        remaining: argc,
    };
    let envc = r.count(MAX_ENV, TableErrorKind::TooManyEnv)?;
    let env_start = r.pos;
    for _ in 0..envc {
        r.name(NameKind::EnvKey)?;
        r.value()?;
    }
    let env = Env {
        reader: Reader::at(bytes.get(..r.pos).unwrap_or_default(), env_start),
        remaining: envc,
    };
    let memory_pages = r.u32()?;
    let process = Process {
        memory_pages,
        index,
        flags,
        task,
        class,
        path,
        args,
        env,
    };
    Ok((process, r.pos))
}

fn read_channel(bytes: &[u8], offset: usize) -> Result<(Channel<'_>, usize), TableError> {
    let mut r = Reader::at(bytes, offset);
    let client = r.u32()?;
    let server = r.u32()?;
    let id = r.name(NameKind::ChannelId)?;
    Ok((Channel { client, server, id }, r.pos))
}

/// One process to start.
#[derive(Clone, Debug)]
pub struct Process<'a> {
    memory_pages: u32,
    index: usize,
    flags: u32,
    task: &'a str,
    class: &'a str,
    path: &'a str,
    args: Args<'a>,
    env: Env<'a>,
}

impl<'a> Process<'a> {
    /// Position in the table; channels refer to processes by it.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The task (process) name, unique in the table.
    pub fn task(&self) -> &'a str {
        self.task
    }

    /// The EDL class, the security module's name for the process.
    pub fn class(&self) -> &'a str {
        self.class
    }

    /// The executable's name in the ROMFS.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// Whether this process uses the dynamic connection manager: Einit connects it to the
    /// process of class `kl.core.DCM` by a channel of that name.
    pub fn dynamic_connection_manager(&self) -> bool {
        self.flags & FLAG_DYNAMIC_CONNECTION_MANAGER != 0
    }

    /// Whether the executable is a Linux program (`linux: true`): Einit starts it as
    /// [`Process::executable`] with [`Process::personality_args`].
    pub fn linux(&self) -> bool {
        self.flags & FLAG_LINUX != 0
    }

    /// The ROMFS file Einit creates the process from: the personality
    /// [`LINUX_PERSONALITY`] for a Linux program, else [`Process::path`].
    pub fn executable(&self) -> &'a str {
        match self.linux() {
            true => LINUX_PERSONALITY,
            false => self.path,
        }
    }

    /// The arguments Einit passes at creation: for a Linux program the program's path and
    /// then [`Process::args`] (what the personality takes), else just [`Process::args`].
    pub fn personality_args(&self) -> impl Iterator<Item = &'a str> {
        let program = match self.linux() {
            true => Some(self.path),
            false => None,
        };
        program.into_iter().chain(self.args())
    }

    /// The priority `init.yaml` gives the process (its ceiling), if any; at most
    /// [`MAX_PRIORITY`].
    pub fn priority(&self) -> Option<u8> {
        match self.flags & FLAG_PRIORITY {
            0 => None,
            _ => u8::try_from(self.flags >> PRIORITY_SHIFT & 0xff).ok(),
        }
    }

    /// The memory limit `init.yaml` gives the process in bytes (`memory:`), if any.
    pub fn memory(&self) -> Option<u64> {
        match self.memory_pages {
            0 => None,
            pages => Some(u64::from(pages) * MEMORY_PAGE),
        }
    }

    /// The command-line arguments (not including a program name).
    pub fn args(&self) -> Args<'a> {
        self.args.clone()
    }

    /// The environment, as (name, value) pairs.
    pub fn env(&self) -> Env<'a> {
        self.env.clone()
    }
}

/// One static channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel<'a> {
    client: u32,
    server: u32,
    id: &'a str,
}

impl<'a> Channel<'a> {
    /// Index of the client process.
    pub fn client(&self) -> usize {
        self.client as usize
    }

    /// Index of the server process.
    pub fn server(&self) -> usize {
        self.server as usize
    }

    /// The channel's name.
    pub fn id(&self) -> &'a str {
        self.id
    }
}

/// Iterator over a process's arguments.
#[derive(Clone, Debug)]
pub struct Args<'a> {
    reader: Reader<'a>,
    remaining: usize,
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.remaining = self.remaining.checked_sub(1)?;
        self.reader.str().ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Args<'_> {}

/// Iterator over a process's environment.
#[derive(Clone, Debug)]
pub struct Env<'a> {
    reader: Reader<'a>,
    remaining: usize,
}

impl<'a> Iterator for Env<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        self.remaining = self.remaining.checked_sub(1)?;
        let key = self.reader.str().ok()?;
        let value = self.reader.str().ok()?;
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Env<'_> {}

/// Iterator over a table's processes.
#[derive(Clone, Debug)]
pub struct Processes<'a> {
    table: Table<'a>,
    next: usize,
}

impl<'a> Iterator for Processes<'a> {
    type Item = Process<'a>;

    fn next(&mut self) -> Option<Process<'a>> {
        let p = self.table.process(self.next)?;
        self.next += 1;
        Some(p)
    }
}

/// Iterator over a table's channels.
#[derive(Clone, Debug)]
pub struct Channels<'a> {
    table: Table<'a>,
    next: usize,
}

impl<'a> Iterator for Channels<'a> {
    type Item = Channel<'a>;

    fn next(&mut self) -> Option<Channel<'a>> {
        let c = self.table.channel(self.next)?;
        self.next += 1;
        Some(c)
    }
}
