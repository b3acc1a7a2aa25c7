//! Channel ids from C headers: KasperskyOS solutions write `id: {var: NAME, include:
//! path/header.h}` so that the C program and `init.yaml` share one `#define`. The header is
//! searched in the folder of `init.yaml`, then in the include folders; the id is the string
//! literal NAME is defined to (directly, or through other names defined in the same header,
//! at most [`MAX_DEPTH`] deep). Nothing else of C is read: no `#include` inside the header,
//! no conditionals (the first definition of a name counts).

use std::path::{Path, PathBuf};

/// How many names a definition may go through before reaching its string.
pub const MAX_DEPTH: usize = 8;

/// The largest header read.
pub const MAX_HEADER: u64 = 1 << 20;

/// Why no id came out.
#[derive(Debug, PartialEq, Eq)]
pub enum Missing {
    /// The header is in none of the folders (the folders searched, for the message).
    Header(String),
    /// The header has no definition of the name to a string (the header's path).
    Define(String),
}

/// The string `var` is defined to in the header `include`, searched in `dirs` in order.
pub fn define(include: &str, var: &str, dirs: &[PathBuf]) -> Result<String, Missing> {
    let relative = Path::new(include);
    let found = dirs
        .iter()
        .map(|d| d.join(relative))
        .find(|p| p.is_file() && p.metadata().is_ok_and(|m| m.len() <= MAX_HEADER));
    let Some(path) = found else {
        let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(Missing::Header(searched.join(", ")));
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    lookup(&text, var, 0).ok_or_else(|| Missing::Define(path.display().to_string()))
}

/// The string `var` stands for in `text`.
fn lookup(text: &str, var: &str, depth: usize) -> Option<String> {
    if depth > MAX_DEPTH {
        return None;
    }
    let value = text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix('#')?.trim_start();
        let rest = rest.strip_prefix("define")?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let (name, value) = rest.trim_start().split_once([' ', '\t'])?;
        (name == var).then(|| value.trim().to_string())
    })?;
    // A trailing `//` or `/* */` comment is not part of the value.
    let value = value
        .split("//")
        .next()
        .unwrap_or("")
        .split("/*")
        .next()
        .unwrap_or("")
        .trim();
    if let Some(s) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        return (!s.contains(['"', '\\'])).then(|| s.to_string());
    }
    let inner = value.trim_start_matches('(').trim_end_matches(')').trim();
    let is_name = !inner.is_empty()
        && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !inner.starts_with(|c: char| c.is_ascii_digit());
    if is_name {
        return lookup(text, inner, depth + 1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_names_and_comments() {
        let h = "#ifndef X\n#define SERVER \"server_connection\" // the server\n\
                 # define ALIAS (SERVER)\n#define LOOP LOOP\n#define NUM 3\n\
                 #define BAD \"a\\\"b\"\n";
        assert_eq!(lookup(h, "SERVER", 0).as_deref(), Some("server_connection"));
        assert_eq!(lookup(h, "ALIAS", 0).as_deref(), Some("server_connection"));
        assert_eq!(lookup(h, "LOOP", 0), None);
        assert_eq!(lookup(h, "NUM", 0), None);
        assert_eq!(lookup(h, "BAD", 0), None);
        assert_eq!(lookup(h, "NONE", 0), None);
    }
}
