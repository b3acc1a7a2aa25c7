//! What a well-formed name is: process classes, task names, executable paths, channel ids,
//! environment variables.
//!
//! The rules live here, in the `no_std` part of the crate, because two parties apply them:
//! the host checker, which turns a broken name into a diagnostic pointing at `init.yaml`,
//! and the table decoder in Einit, which must not start a process whose name the checker
//! would have refused. One function per kind of name keeps the two in step.
//!
//! The rules are deliberately narrow. Task names and channel ids end up as lookup keys in
//! the kernel and in `ServiceLocatorConnect`-style calls, class names must match EDL
//! declarations, and paths are ROMFS member names; none of them gains anything from spaces,
//! quotes or control characters, and every one of those is a way to make two names look
//! alike to a reader while differing to the machine.

use core::fmt;

/// The longest name of any kind, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Which kind of name is being checked; each kind has its own rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// An EDL process class: dotted identifiers, `net.Client`.
    Class,
    /// A task (process) name: the class name by default.
    Task,
    /// An executable's name in the ROMFS, `/`-separated.
    Path,
    /// An IPC channel's name.
    ChannelId,
    /// An environment variable's name.
    EnvKey,
}

impl NameKind {
    /// What the name is called in messages (`task name`).
    pub fn noun(self) -> &'static str {
        match self {
            NameKind::Class => "class name",
            NameKind::Task => "task name",
            NameKind::Path => "executable path",
            NameKind::ChannelId => "channel id",
            NameKind::EnvKey => "environment variable name",
        }
    }

    /// The rule, in one sentence, for help texts.
    pub fn rule(self) -> &'static str {
        match self {
            NameKind::Class => {
                "a class name is dot-separated identifiers (letters, digits and `_`, not starting with a digit), like `net.Client`, at most 255 bytes"
            }
            NameKind::Task => {
                "a task name is 1 to 255 letters, digits, `_`, `.` and `-`, like `net.Client` or `client-1`"
            }
            NameKind::Path => {
                "an executable path is `/`-separated names of letters, digits, `_`, `.`, `+` and `-` (no empty, `.` or `..` parts), at most 255 bytes"
            }
            NameKind::ChannelId => {
                "a channel id is 1 to 255 letters, digits, `_`, `.` and `-`, like `server_connection`"
            }
            NameKind::EnvKey => {
                "an environment variable name is letters, digits and `_`, not starting with a digit, at most 255 bytes"
            }
        }
    }
}

/// Why a name is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameProblem {
    /// Nothing at all.
    Empty,
    /// More than [`MAX_NAME_LEN`] bytes.
    TooLong,
    /// A space, tab or line break.
    Whitespace,
    /// A character outside the kind's alphabet.
    BadChar(char),
    /// Two separators in a row, or one at either end.
    EmptySegment,
    /// A part that starts with a character it may not start with.
    BadStart(char),
    /// The name starts with a character it may not start with.
    BadFirst(char),
    /// A `.` or `..` path part.
    DotSegment,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::Empty => f.write_str("it is empty"),
            NameProblem::TooLong => write!(f, "it is longer than {MAX_NAME_LEN} bytes"),
            NameProblem::Whitespace => f.write_str("it contains whitespace"),
            NameProblem::BadChar(c) => write!(f, "it contains {c:?}"),
            NameProblem::EmptySegment => f.write_str("it has an empty part"),
            NameProblem::BadStart(c) => write!(f, "a part starts with {c:?}"),
            NameProblem::BadFirst(c) => write!(f, "it starts with {c:?}"),
            NameProblem::DotSegment => f.write_str("it has a `.` or `..` part"),
        }
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Checks `name` against the rule for `kind`.
pub fn check(kind: NameKind, name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameProblem::TooLong);
    }
    if name.chars().any(char::is_whitespace) {
        return Err(NameProblem::Whitespace);
    }
    match kind {
        NameKind::Class => segments(name, '.', is_ident_char, |c| !c.is_ascii_digit()),
        NameKind::EnvKey => {
            if let Some(c) = name.chars().find(|c| !is_ident_char(*c)) {
                return Err(NameProblem::BadChar(c));
            }
            match name.chars().next() {
                Some(c) if c.is_ascii_digit() => Err(NameProblem::BadFirst(c)),
                _ => Ok(()),
            }
        }
        NameKind::Task | NameKind::ChannelId => {
            match name
                .chars()
                .find(|c| !(is_ident_char(*c) || *c == '.' || *c == '-'))
            {
                Some(c) => Err(NameProblem::BadChar(c)),
                None => Ok(()),
            }
        }
        NameKind::Path => {
            segments(
                name,
                '/',
                |c| is_ident_char(c) || matches!(c, '.' | '+' | '-'),
                |_| true,
            )?;
            if name.split('/').any(|s| s == "." || s == "..") {
                return Err(NameProblem::DotSegment);
            }
            Ok(())
        }
    }
}

/// Checks a separator-delimited name: no empty part, every character allowed, every part
/// starting with an allowed character.
fn segments(
    name: &str,
    separator: char,
    allowed: impl Fn(char) -> bool,
    may_start: impl Fn(char) -> bool,
) -> Result<(), NameProblem> {
    for part in name.split(separator) {
        let Some(first) = part.chars().next() else {
            return Err(NameProblem::EmptySegment);
        };
        if let Some(c) = part.chars().find(|c| !allowed(*c)) {
            return Err(NameProblem::BadChar(c));
        }
        if !may_start(first) {
            return Err(NameProblem::BadStart(first));
        }
    }
    Ok(())
}

/// Checks an argument or an environment variable's value: anything but a NUL, which a C
/// program would take for the end of the string.
pub fn check_value(value: &str) -> Result<(), NameProblem> {
    match value.contains('\0') {
        true => Err(NameProblem::BadChar('\0')),
        false => Ok(()),
    }
}

/// The executable path a class runs by default: its last dotted part (`net.Client` ->
/// `Client`).
pub fn default_path(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(check(NameKind::Class, "net.Client"), Ok(()));
        assert_eq!(check(NameKind::Class, "Einit"), Ok(()));
        assert_eq!(
            check(NameKind::Class, "net..Client"),
            Err(NameProblem::EmptySegment)
        );
        assert_eq!(
            check(NameKind::Class, "net.1x"),
            Err(NameProblem::BadStart('1'))
        );
        assert_eq!(
            check(NameKind::Class, "net-x"),
            Err(NameProblem::BadChar('-'))
        );
        assert_eq!(check(NameKind::Class, ""), Err(NameProblem::Empty));
        assert_eq!(check(NameKind::Class, "a b"), Err(NameProblem::Whitespace));
    }

    #[test]
    fn tasks_channels_paths_keys() {
        assert_eq!(check(NameKind::Task, "client-1.a_b"), Ok(()));
        assert_eq!(check(NameKind::Task, "a/b"), Err(NameProblem::BadChar('/')));
        assert_eq!(check(NameKind::ChannelId, "server_connection"), Ok(()));
        assert_eq!(check(NameKind::Path, "bin/srv+1.elf"), Ok(()));
        assert_eq!(
            check(NameKind::Path, "/srv"),
            Err(NameProblem::EmptySegment)
        );
        assert_eq!(
            check(NameKind::Path, "a/../b"),
            Err(NameProblem::DotSegment)
        );
        assert_eq!(check(NameKind::EnvKey, "MODE_2"), Ok(()));
        assert_eq!(
            check(NameKind::EnvKey, "2MODE"),
            Err(NameProblem::BadFirst('2'))
        );
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert_eq!(check(NameKind::Task, &long), Err(NameProblem::TooLong));
        assert_eq!(check_value("x\0"), Err(NameProblem::BadChar('\0')));
    }

    #[test]
    fn default_paths() {
        assert_eq!(default_path("net.Client"), "Client");
        assert_eq!(default_path("Server"), "Server");
    }
}
